"""Media keys: ``media_store_path``, ``max_upload_size``, ``media_upload_limits``."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, List, Mapping, Tuple
from urllib.parse import quote

from synapse_modhost.config._base import parse_duration, parse_size
from synapse_modhost.config._errors import ConfigError
from synapse_modhost.config._model import MediaConfig
from synapse_modhost.config._util import EXPECTED_BOOLEAN, EXPECTED_STRING

if TYPE_CHECKING:
    from synapse_modhost.types import MediaUploadLimit

__all__ = ["BAD_LIMIT", "DEFAULT_MAX_UPLOAD_SIZE", "normalise_url", "read_media_config"]

KEYS = frozenset(
    ("media_store_path", "max_upload_size", "media_upload_limits", "enable_media_repo")
)

DEFAULT_MAX_UPLOAD_SIZE = "50M"

#: Synapse's one message for every bad ``media_upload_limits`` entry (the detail is the cause)
BAD_LIMIT = "Could not validate media_upload_limits entry"

BAD_SIZE = "expected a size: a number of bytes, or a string with a K, M, G or T suffix"


def read_media_config(config: Mapping[str, Any]) -> MediaConfig:
    """Build :class:`MediaConfig`; the store path is made absolute (not created)."""
    store = config.get("media_store_path", "media_store")
    if not isinstance(store, str) or not store:
        raise ConfigError(EXPECTED_STRING, ("media_store_path",))

    raw_size = config.get("max_upload_size", DEFAULT_MAX_UPLOAD_SIZE)
    try:
        max_upload_size = parse_size(raw_size)
    except (TypeError, ValueError) as e:
        raise ConfigError(BAD_SIZE, ("max_upload_size",)) from e

    # Synapse: false (exactly) disables the media repository on the main process
    enable_media_repo = config.get("enable_media_repo", True) is not False

    return MediaConfig(
        media_store_path=os.path.abspath(store),
        max_upload_size=max_upload_size,
        media_upload_limits=_read_limits(config.get("media_upload_limits", [])),
        enable_media_repo=enable_media_repo,
    )


def _read_limits(value: Any) -> Tuple[MediaUploadLimit, ...]:
    path = ("media_upload_limits",)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("expected a list", path)
    limits: List[MediaUploadLimit] = []
    for entry in value:
        try:
            limits.append(_read_limit(entry))
        except (TypeError, ValueError) as e:
            raise ConfigError(BAD_LIMIT, path) from e
    # longest period first; equal periods keep their order (a stable sort)
    limits.sort(key=lambda limit: limit.time_period_ms, reverse=True)
    return tuple(limits)


def _read_limit(entry: Any) -> MediaUploadLimit:
    """One entry, checked as strictly as Synapse's model (unknown keys are ignored)."""
    if not isinstance(entry, Mapping):
        raise TypeError("an entry must be a mapping with time_period and max_size")
    for key in ("time_period", "max_size"):
        if key not in entry:
            raise ValueError(f"{key}: field required")
    max_bytes = parse_size(entry["max_size"])
    time_period_ms = parse_duration(entry["time_period"])

    info_uri: str | None = entry.get("info_uri")
    if info_uri is not None:
        if not isinstance(info_uri, str):
            raise TypeError(f"info_uri: {EXPECTED_STRING}")
        info_uri = normalise_url(info_uri)

    can_upgrade = entry.get("can_upgrade", False)
    if not isinstance(can_upgrade, bool):
        raise TypeError(f"can_upgrade: {EXPECTED_BOOLEAN}")

    from synapse_modhost.types import MediaUploadLimit  # an attrs class: built on first use

    return MediaUploadLimit(
        max_bytes=max_bytes,
        time_period_ms=time_period_ms,
        info_uri=info_uri,
        can_upgrade=can_upgrade,
    )


_SCHEME = re.compile(r"\A([A-Za-z][A-Za-z0-9+.\-]*):(.*)\Z", re.S)
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}
_HOST_CHARS = re.compile(r"\A[A-Za-z0-9.\-_~!$&'()*+,;=]+\Z")
_SAFE = "/?#[]@!$&'()*+,;=:%~-._"


def normalise_url(value: str) -> str:
    """An absolute URL, normalised as Synapse's config model does; ``ValueError`` if not.

    Any scheme is accepted. For http(s), ws(s) and ftp a host is required; scheme and
    host are lower-cased, non-ASCII host names IDNA-encoded, a default port removed and
    an empty path written ``/`` (``https://example.com`` becomes
    ``https://example.com/``). Non-ASCII characters elsewhere are percent-encoded.
    Leading or trailing spaces, or a string without a scheme, are errors.
    """
    if not value:
        raise ValueError("invalid URL: input is empty")
    if value != value.strip(" \t\r\n\x00\x0b\x0c") or any(ord(c) < 0x20 for c in value):
        raise ValueError("invalid URL: leading or trailing space or control character")
    m = _SCHEME.match(value)
    if not m:
        raise ValueError("invalid URL: relative URL without a base")
    scheme, rest = m.group(1).lower(), m.group(2)
    if scheme not in _DEFAULT_PORTS:
        return scheme + ":" + quote(rest, safe=_SAFE)

    rest = rest.replace("\\", "/")
    if not rest.startswith("//"):
        raise ValueError("invalid URL: expected // after the scheme")
    rest = rest[2:]
    end = len(rest)
    for sep in "/?#":
        pos = rest.find(sep)
        if pos != -1:
            end = min(end, pos)
    authority, tail = rest[:end], rest[end:]
    userinfo, _, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        close = hostport.find("]")
        if close == -1:
            raise ValueError("invalid URL: invalid IPv6 address")
        host, port = hostport[: close + 1].lower(), hostport[close + 1 :]
        if port and not port.startswith(":"):
            raise ValueError("invalid URL: invalid port number")
        port = port[1:]
    else:
        host, _, port = hostport.partition(":")
        if not host:
            raise ValueError("invalid URL: empty host")
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as e:
            raise ValueError("invalid URL: invalid international domain name") from e
        if not _HOST_CHARS.match(host):
            raise ValueError("invalid URL: invalid international domain name")
    if port:
        if not port.isdigit() or int(port) > 65535:
            raise ValueError("invalid URL: invalid port number")
        port = str(int(port))
        if port == _DEFAULT_PORTS[scheme]:
            port = ""
    if not tail.startswith("/"):
        tail = "/" + tail
    out = scheme + "://"
    if userinfo:
        out += quote(userinfo, safe=_SAFE) + "@"
    out += host + (":" + port if port else "")
    return out + quote(tail, safe=_SAFE)
