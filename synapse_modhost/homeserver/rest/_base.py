"""Path patterns for servlets, as Synapse writes them, and parameter checks the REST
modules share."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, List, Pattern

import attr

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError

if TYPE_CHECKING:
    from synapse_modhost.homeserver.handlers.notifier import StreamToken

__all__ = [
    "MAX_INT64",
    "admin_patterns",
    "check_int64_param",
    "client_patterns",
    "fits_int64",
    "media_patterns",
    "parse_stream_token",
]

#: the largest integer the database stores (SQLite's INTEGER, PostgreSQL's BIGINT)
MAX_INT64 = 2**63 - 1

CLIENT_API_PREFIX = "/_matrix/client"


def client_patterns(
    path_regex: str,
    releases: Iterable[str] = ("r0", "v3"),
    unstable: bool = True,
    v1: bool = False,
) -> List[Pattern[str]]:
    """``^/_matrix/client/<version><path_regex>`` for each version the endpoint answers on."""
    versions: List[str] = []
    if unstable:
        versions.append("unstable")
    if v1:
        versions.append("api/v1")
    versions.extend(releases)
    return [
        re.compile("^" + CLIENT_API_PREFIX + "/" + re.escape(v) + path_regex) for v in versions
    ]


def admin_patterns(path_regex: str, version: str = "v1") -> List[Pattern[str]]:
    """``^/_synapse/admin/<version><path_regex>``."""
    return [re.compile("^/_synapse/admin/" + version + path_regex)]


def media_patterns(path_regex: str, versions: Iterable[str] = ("r0", "v3", "v1")) -> List[Pattern[str]]:
    """``^/_matrix/media/<version><path_regex>``."""
    return [re.compile("^/_matrix/media/" + v + path_regex) for v in versions]


def fits_int64(value: int) -> bool:
    """Whether ``value`` can be stored in (or compared with) a 64-bit database integer."""
    return -MAX_INT64 - 1 <= value <= MAX_INT64


def check_int64_param(name: str, value: int) -> int:
    """``value`` of the integer query parameter ``name``; 400 ``M_INVALID_PARAM`` "Query
    parameter <name> must be at most 9223372036854775807." when the database cannot take
    it (Synapse passes it on and answers 500)."""
    if value > MAX_INT64:
        raise SynapseError(
            400, f"Query parameter {name} must be at most {MAX_INT64}.", Codes.INVALID_PARAM
        )
    return value


def parse_stream_token(text: str) -> "StreamToken":
    """``StreamToken.parse(text)`` (``ValueError`` if it is not a token), with a position
    beyond 64 bits read as the largest one: it is past everything the server has, as any
    position ahead of the server's is (the database cannot compare it; Synapse's ``/sync``
    bounds such a token to its current position)."""
    from synapse_modhost.homeserver.handlers.notifier import StreamToken

    token = StreamToken.parse(text)
    return attr.evolve(
        token,
        room=min(token.room, MAX_INT64),
        presence=min(token.presence, MAX_INT64),
        account_data=min(token.account_data, MAX_INT64),
    )
