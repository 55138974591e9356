"""The ``listeners:`` list.

Every item is checked the way Synapse reads it; errors carry ``listeners.<item N>...``
paths. ``http``, ``metrics`` and ``manhole`` listeners are accepted (the host serves only
``http`` ones and logs the others); UNIX-socket listeners (``path:``) are rejected.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from synapse_modhost.config._errors import ConfigError, item_path
from synapse_modhost.config._model import (
    AdditionalResourceConfig,
    HttpResourceConfig,
    ListenerConfig,
)
from synapse_modhost.config._modules import check_module_path
from synapse_modhost.config._util import (
    EXPECTED_MAPPING,
    Path,
    expect_bool,
    expect_list,
    expect_str,
    expect_str_list,
)

__all__ = ["DEFAULT_BIND_ADDRESSES", "KNOWN_LISTENER_TYPES", "KNOWN_RESOURCES", "read_listeners"]

#: Synapse listens on both so that IPv4 works where ``::`` is IPv6-only
DEFAULT_BIND_ADDRESSES = ("::", "0.0.0.0")

KNOWN_LISTENER_TYPES = ("http", "manhole", "metrics")

KNOWN_RESOURCES = frozenset(
    (
        "client",
        "consent",
        "federation",
        "health",
        "keys",
        "media",
        "metrics",
        "openid",
        "replication",
        "static",
    )
)

#: Synapse's message for ``type: replication`` (direct TCP replication was removed)
DIRECT_TCP_ERROR = """
Using direct TCP replication for workers is no longer supported.

Please see https://element-hq.github.io/synapse/latest/upgrade.html#direct-tcp-replication-is-no-longer-supported-migrate-to-redis
"""

BAD_PORT = "Listener configuration is lacking a valid 'port' option"
BAD_TYPE = "Listener configuration is lacking a valid 'type' option"
UNIX_SOCKET = "UNIX socket listeners ('path') are not supported by synapse-modhost; use 'port'"
UNKNOWN_RESOURCE = "Unknown listener resource"


def read_listeners(value: Any) -> Tuple[ListenerConfig, ...]:
    """Parse the ``listeners`` value (a list; missing means none)."""
    if not isinstance(value, list):
        raise ConfigError("Expected a list", ("listeners",))
    return tuple(_read_listener(i, item) for i, item in enumerate(value))


def _read_listener(index: int, listener: Any) -> ListenerConfig:
    path: Path = ("listeners", item_path(index))
    if not isinstance(listener, Mapping):
        raise ConfigError("Expected a dictionary", path)

    listener_type = listener.get("type")
    if not isinstance(listener_type, str):
        raise ConfigError(BAD_TYPE, path + ("type",))
    if listener_type == "replication":
        raise ConfigError(DIRECT_TCP_ERROR, path + ("type",))
    if listener_type not in KNOWN_LISTENER_TYPES:
        raise ConfigError(
            "Unknown listener type {!r}: expected one of {}".format(
                listener_type, ", ".join(repr(t) for t in KNOWN_LISTENER_TYPES)
            ),
            path + ("type",),
        )

    if listener.get("path") is not None:
        raise ConfigError(UNIX_SOCKET, path + ("path",))

    port = listener.get("port")
    if type(port) is not int or not 0 <= port <= 65535:
        raise ConfigError(BAD_PORT, path + ("port",))

    bind_addresses = expect_str_list(listener.get("bind_addresses"), path + ("bind_addresses",))
    bind_address = expect_str(
        listener.get("bind_address"), path + ("bind_address",), allow_none=True
    )
    if bind_address:
        bind_addresses.append(bind_address)
    if not bind_addresses:
        bind_addresses = ["0.0.0.0"] if listener_type == "metrics" else list(DEFAULT_BIND_ADDRESSES)

    tls = expect_bool(listener.get("tls"), path + ("tls",))

    if listener_type != "http":
        return ListenerConfig(
            port=port,
            bind_addresses=tuple(bind_addresses),
            type=listener_type,
            tls=tls,
            tag=str(port),
            config_path=path,
        )

    tag = expect_str(listener.get("tag"), path + ("tag",), allow_none=True)
    site_tag = tag if tag is not None else str(port)
    return ListenerConfig(
        port=port,
        bind_addresses=tuple(bind_addresses),
        type=listener_type,
        tls=tls,
        x_forwarded=expect_bool(listener.get("x_forwarded"), path + ("x_forwarded",)),
        resources=_read_resources(listener.get("resources"), path + ("resources",)),
        additional_resources=_read_additional_resources(
            listener.get("additional_resources"), path + ("additional_resources",), site_tag
        ),
        tag=site_tag,
        config_path=path,
    )


def _read_resources(value: Any, path: Path) -> Tuple[HttpResourceConfig, ...]:
    items = expect_list(value, path)
    out: List[HttpResourceConfig] = []
    for k, res in enumerate(items):
        res_path = path + (item_path(k),)
        if not isinstance(res, Mapping):
            raise ConfigError(EXPECTED_MAPPING, res_path)
        for key in res:
            if key not in ("names", "compress"):
                raise ConfigError(
                    f"Unknown option {key!r} in a listener resource", res_path + (str(key),)
                )
        names = res.get("names")
        if names is None:
            names = []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(UNKNOWN_RESOURCE, res_path + ("names",)) from ValueError(
                "'names' must be a list of resource names"
            )
        for n in names:
            if n not in KNOWN_RESOURCES:
                raise ConfigError(UNKNOWN_RESOURCE, res_path + ("names",)) from ValueError(
                    "{!r} is not one of: {}".format(n, ", ".join(sorted(KNOWN_RESOURCES)))
                )
        compress = expect_bool(res.get("compress"), res_path + ("compress",))
        out.append(HttpResourceConfig(names=tuple(names), compress=compress))
    return tuple(out)


def _read_additional_resources(
    value: Any, path: Path, site_tag: str
) -> Tuple[AdditionalResourceConfig, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigError(EXPECTED_MAPPING, path)
    out: List[AdditionalResourceConfig] = []
    for res_path, entry in value.items():
        if not isinstance(res_path, str):
            raise ConfigError("expected a string (the path to serve)", path + (str(res_path),))
        # Synapse's path for everything about this entry, as its loader reports it
        entry_path: Path = ("listeners", site_tag, "additional_resources", f"<{res_path}>")
        if not isinstance(entry, Mapping):
            raise ConfigError(EXPECTED_MAPPING, entry_path)
        module = check_module_path(entry.get("module"), entry_path + ("module",))
        config: Dict[str, Any] = entry.get("config") or {}
        out.append(
            AdditionalResourceConfig(
                path=res_path, module=module, config=config, config_path=entry_path
            )
        )
    return tuple(out)
