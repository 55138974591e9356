"""synapse-modhost: a Twisted-native host for Synapse modules.

Build a host from a Synapse-format config and the reactor your program runs, then
start it::

    from synapse_modhost import build_host

    host = build_host(["homeserver.yaml"], reactor)
    host.start()      # constructs modules, builds the sites, binds the listeners
    reactor.run()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

from synapse_modhost._version import SYNAPSE_VERSION, __version__

if TYPE_CHECKING:
    from synapse_modhost.config import ConfigError, HomeServerConfig
    from synapse_modhost.host import ModuleHost

__all__ = [
    "SYNAPSE_VERSION",
    "ConfigError",
    "ModuleHost",
    "__version__",
    "build_host",
]


def build_host(
    config: Union["HomeServerConfig", Sequence[str], Mapping[str, Any]],
    reactor: Any,
    *,
    strict: bool = False,
    database_threaded: Optional[bool] = None,
) -> "ModuleHost":
    """Read the config (paths, a mapping or a parsed config), import every module class
    and run its ``parse_config``; raises ``ConfigError`` naming the YAML path on failure.

    Nothing is constructed or bound until ``host.start()``.
    """
    from synapse_modhost import compat
    from synapse_modhost.config import HomeServerConfig, parse_config_dict, read_config
    from synapse_modhost.host import ModuleHost

    compat.install()
    if isinstance(config, HomeServerConfig):
        parsed = config
    elif isinstance(config, Mapping):
        parsed = parse_config_dict(config)
    else:
        parsed = read_config(list(config))
    return ModuleHost(parsed, reactor, strict=strict, database_threaded=database_threaded)


def __getattr__(name: str) -> Any:
    # Loaded on first use: ``python -m synapse_modhost`` imports this package before the
    # command line runs, and the command line wants to choose what start-up imports when.
    if name == "ModuleHost":
        from synapse_modhost.host import ModuleHost

        return ModuleHost
    if name == "ConfigError":
        from synapse_modhost.config import ConfigError

        return ConfigError
    raise AttributeError("module 'synapse_modhost' has no attribute %r" % (name,))
