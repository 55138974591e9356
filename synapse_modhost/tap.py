"""``twist synapse-modhost -c homeserver.yaml``: the twist plugin's Options and makeService.

The dropin in ``twisted/plugins/synapse_modhost_plugin.py`` points here.
"""

from __future__ import annotations

import sys
from typing import Any, List

from twisted.application import service
from twisted.python import usage

__all__ = ["Options", "makeService"]


class Options(usage.Options):
    """Command-line options for ``twist synapse-modhost``."""

    optFlags = [
        ["strict", None, "refuse to start when a module misuses the API"],
        ["verbose", "v", "log at DEBUG"],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["config_paths"] = []

    def opt_config_path(self, path: str) -> None:
        """a homeserver.yaml; repeat to merge several"""
        paths: List[str] = self["config_paths"]
        paths.append(path)

    opt_c = opt_config_path

    def postOptions(self) -> None:
        if not self["config_paths"]:
            raise usage.UsageError("-c CONFIG_FILE is required")


class _HostService(service.Service):
    """Starts the host when the reactor runs; a failed start stops the reactor."""

    def __init__(self, host: Any, reactor: Any) -> None:
        self.host = host
        self.reactor = reactor

    def startService(self) -> None:
        super().startService()
        from synapse_modhost.host import format_startup_error

        def failed(f: Any) -> None:
            sys.stderr.write(format_startup_error(f.value) + "\n")
            self.reactor.stop()

        self.host.start().addErrback(failed)

    def stopService(self) -> Any:
        super().stopService()
        return self.host.stop()


def makeService(options: Options) -> service.IService:
    """Build the host from the options; a config error exits with status 1."""
    from twisted.internet import reactor

    from synapse_modhost import build_host
    from synapse_modhost.config import ConfigError, read_config
    from synapse_modhost.host import format_startup_error
    from synapse_modhost.logging_setup import setup_logging

    try:
        config = read_config(options["config_paths"])
        setup_logging(config, verbose=bool(options["verbose"]))
        host = build_host(config, reactor, strict=bool(options["strict"]))
    except ConfigError as e:
        sys.stderr.write(format_startup_error(e) + "\n")
        raise SystemExit(1) from None
    return _HostService(host, reactor)
