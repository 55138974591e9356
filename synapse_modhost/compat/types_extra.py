"""Small ``synapse.types`` helpers that ``synapse_modhost.types`` does not define.

Behaviour as Synapse 1.163's functions of the same names.
"""

from __future__ import annotations

import re
import string
from typing import AbstractSet, Any, List, MutableMapping, Tuple, TypeVar, Union

import attr

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.types import DomainSpecificString, StateKey

__all__ = [
    "MXID_LOCALPART_ALLOWED_CHARACTERS",
    "EventID",
    "JsonValue",
    "MutableStateMap",
    "SimpleJsonValue",
    "StrCollection",
    "StrSequence",
    "get_domain_from_id",
    "get_localpart_from_id",
    "is_compliant_user_id_localpart",
    "map_username_to_mxid_localpart",
]

T = TypeVar("T")
MutableStateMap = MutableMapping[StateKey, T]
SimpleJsonValue = Union[str, int, bool, None]
JsonValue = Union[List[SimpleJsonValue], Tuple[SimpleJsonValue, ...], SimpleJsonValue]
StrCollection = Union[Tuple[str, ...], List[str], AbstractSet[str]]
StrSequence = Union[Tuple[str, ...], List[str]]

MXID_LOCALPART_ALLOWED_CHARACTERS = set("_-./=+" + string.ascii_lowercase + string.digits)


@attr.s(slots=True, frozen=True, repr=False)
class EventID(DomainSpecificString):
    """``$opaque:domain`` (room versions 1 and 2 only)."""

    SIGIL = "$"


def _split_at_colon(s: str) -> int:
    idx = s.find(":")
    if idx == -1:
        raise SynapseError(400, "Invalid ID: %r" % (s,), Codes.UNKNOWN)
    return idx


def get_domain_from_id(string: str) -> str:
    """Everything after the first ``:``; ``SynapseError(400)`` if there is none."""
    return string[_split_at_colon(string) + 1 :]


def get_localpart_from_id(string: str) -> str:
    """Between the sigil and the first ``:``; ``SynapseError(400)`` if there is no ``:``."""
    return string[1 : _split_at_colon(string)]


def is_compliant_user_id_localpart(localpart: str) -> bool:
    """Non-empty and only characters U+0021 to U+007E (historical user IDs)."""
    return bool(localpart) and all("\x21" <= c <= "\x7e" for c in localpart)


_ESCAPED = re.compile(
    ("[^%s]" % re.escape("".join(sorted(MXID_LOCALPART_ALLOWED_CHARACTERS - {"="})))).encode(
        "ascii"
    )
)
_UPPER_OR_UNDERSCORE = re.compile(b"[A-Z_]")


def map_username_to_mxid_localpart(
    username: Union[str, bytes], case_sensitive: bool = False
) -> str:
    """Map any username onto a valid localpart (the spec's "mapping from other character
    sets"): upper case is lowered (or, case-sensitively, ``_``-prefixed), other bytes
    become ``=xx``, and a leading ``_`` becomes ``=5f``."""
    raw = username if isinstance(username, bytes) else username.encode("utf-8")

    def lower_with_underscore(m: Any) -> bytes:
        return b"_" + m.group().lower()

    if case_sensitive:
        raw = _UPPER_OR_UNDERSCORE.sub(lower_with_underscore, raw)
    else:
        raw = raw.lower()
    raw = _ESCAPED.sub(lambda m: b"=%02x" % (m.group()[0],), raw)
    if raw.startswith(b"_"):
        raw = b"=5f" + raw[1:]
    return raw.decode("ascii")
