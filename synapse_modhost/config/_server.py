"""The server section: ``server_name``, ``public_baseurl``, worker keys, templates."""

from __future__ import annotations

import os
import re
from typing import Any, List, Mapping, Tuple
from urllib.parse import urlsplit

from synapse_modhost.config._errors import ConfigError
from synapse_modhost.config._listeners import read_listeners
from synapse_modhost.config._model import ServerConfig

__all__ = ["MISSING_SERVER_NAME", "parse_and_validate_server_name", "read_server_config"]

#: Synapse's text, trailing newline included
MISSING_SERVER_NAME = "Missing mandatory `server_name` config option.\n"

#: the instance name of the main process (``run_background_tasks_on`` default)
MAIN_PROCESS_INSTANCE_NAME = "master"

#: keys this section reads
KEYS = frozenset(
    (
        "server_name",
        "public_baseurl",
        "web_client_location",
        "pid_file",
        "templates",
        "worker_name",
        "worker_app",
        "run_background_tasks_on",
        "listeners",
    )
)

# letters, digits and hyphens, in dot-separated labels (RFC 1035-ish, as Synapse checks)
_HOST = re.compile(r"\A[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*\Z")


def parse_and_validate_server_name(server_name: str) -> Tuple[str, int | None]:
    """Split ``host[:port]`` and check the host; ``ValueError`` with Synapse's messages."""
    try:
        if server_name and server_name[-1] == "]":
            host, port = server_name, None
        else:
            parts = server_name.rsplit(":", 1)
            host = parts[0]
            port = int(parts[1]) if parts[1:] else None
    except Exception as e:
        raise ValueError(f"Invalid server name '{server_name}'") from e

    if host and host[0] == "[":
        if host[-1] != "]":
            raise ValueError(f"Mismatched [...] in server name '{server_name}'")
        literal = host[1:-1]
        if not literal or not _is_ipv6(literal):
            raise ValueError(f"Server name '{server_name}' is not a valid IPv6 address")
    elif not _HOST.match(host):
        raise ValueError(f"Server name '{server_name}' has an invalid format")
    return host, port


def _is_ipv6(text: str) -> bool:
    import ipaddress  # only for IPv6-literal server names

    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _read_server_name(config: Mapping[str, Any]) -> str:
    if "server_name" not in config:
        raise ConfigError(MISSING_SERVER_NAME)
    server_name = config["server_name"]
    if not isinstance(server_name, str):
        raise ConfigError("Must be a string", ("server_name",))
    try:
        parse_and_validate_server_name(server_name)
    except ValueError as e:
        raise ConfigError(str(e), ("server_name",)) from None
    return server_name


def _read_public_baseurl(config: Mapping[str, Any], server_name: str) -> Tuple[str, bool]:
    value = config.get("public_baseurl")
    if value is None:
        return f"https://{server_name}/", False
    if not isinstance(value, str):
        raise ConfigError("Must be a string", ("public_baseurl",))
    if not value.endswith("/"):
        value += "/"
    try:
        splits = urlsplit(value)
    except ValueError as e:
        raise ConfigError(f"Unable to parse URL: {e}", ("public_baseurl",)) from None
    if splits.scheme not in ("https", "http"):
        raise ConfigError(
            f"Invalid scheme '{splits.scheme}': only https and http are supported",
            ("public_baseurl",),
        )
    if splits.query or splits.fragment:
        raise ConfigError(
            "public_baseurl cannot contain query parameters or a #-fragment",
            ("public_baseurl",),
        )
    return value, True


def _read_web_client_location(config: Mapping[str, Any]) -> str | None:
    value = config.get("web_client_location")
    if not value:
        return None
    if not isinstance(value, str):
        raise ConfigError("Must be a string", ("web_client_location",))
    if not value.startswith(("http://", "https://")):
        raise ConfigError(
            "web_client_location must point to a HTTP(S) URL.", ("web_client_location",)
        )
    return value


def _read_template_dir(config: Mapping[str, Any]) -> str | None:
    # Synapse reads only ``templates.custom_template_directory``; a top-level key of that
    # name is ignored by Synapse and therefore listed as unused here.
    templates = config.get("templates") or {}
    if not isinstance(templates, Mapping):
        raise ConfigError("The 'templates' section must be a dictionary", ("templates",))
    directory = templates.get("custom_template_directory")
    if directory is not None and not isinstance(directory, str):
        raise ConfigError(
            "'custom_template_directory' must be a string",
            ("templates", "custom_template_directory"),
        )
    return directory


def _read_optional_str(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError("Must be a string", (key,))
    return value


def read_server_config(config: Mapping[str, Any], notes: List[str]) -> ServerConfig:
    """Build :class:`ServerConfig` from the merged top-level mapping."""
    server_name = _read_server_name(config)
    public_baseurl, explicit = _read_public_baseurl(config, server_name)
    if not explicit:
        notes.append(f"Using default public_baseurl {public_baseurl}")

    pid_file = _read_optional_str(config, "pid_file")

    worker_app = _read_optional_str(config, "worker_app")
    if worker_app == "synapse.app.homeserver":
        worker_app = None
    worker_name = config.get("worker_name", worker_app)
    if worker_name is not None and not isinstance(worker_name, str):
        raise ConfigError("Must be a string", ("worker_name",))
    background_on = config.get("run_background_tasks_on") or MAIN_PROCESS_INSTANCE_NAME
    if not isinstance(background_on, str):
        raise ConfigError("Must be a string", ("run_background_tasks_on",))
    run_background_tasks = (
        worker_name is None and background_on == MAIN_PROCESS_INSTANCE_NAME
    ) or worker_name == background_on

    return ServerConfig(
        server_name=server_name,
        public_baseurl=public_baseurl,
        listeners=read_listeners(config.get("listeners", [])),
        web_client_location=_read_web_client_location(config),
        pid_file=os.path.abspath(pid_file) if pid_file else None,
        custom_template_directory=_read_template_dir(config),
        worker_name=worker_name,
        worker_app=worker_app,
        run_background_tasks=run_background_tasks,
        serve_client_wellknown=explicit,
    )
