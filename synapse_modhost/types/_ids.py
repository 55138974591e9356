"""Matrix identifiers: ``@user:server``, ``#alias:server``, ``!room:server``."""

from __future__ import annotations

import re
import string
from typing import Dict, Optional, Type, TypeVar

import attr

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError

__all__ = [
    "DomainSpecificString",
    "RoomAlias",
    "RoomID",
    "UserID",
    "contains_invalid_mxid_characters",
    "is_valid_server_name",
]

DS = TypeVar("DS", bound="DomainSpecificString")


@attr.s(slots=True, frozen=True, repr=False, auto_attribs=True)
class DomainSpecificString:
    """``<sigil>localpart:domain``; equal and hashable by value; ``str()`` is the string."""

    SIGIL = ""

    localpart: str
    domain: str

    def __copy__(self: DS) -> DS:
        return self

    def __deepcopy__(self: DS, memo: Dict[int, object]) -> DS:
        return self

    @classmethod
    def from_string(cls: Type[DS], s: str) -> DS:
        """Parse ``s``, splitting at the first ``:``."""
        if not isinstance(s, str) or len(s) < 1 or s[0:1] != cls.SIGIL:
            raise SynapseError(
                400,
                "Expected %s string to start with '%s'" % (cls.__name__, cls.SIGIL),
                Codes.INVALID_PARAM,
            )
        parts = s[1:].split(":", 1)
        if len(parts) != 2:
            raise SynapseError(
                400,
                "Expected %s of the form '%slocalname:domain'" % (cls.__name__, cls.SIGIL),
                Codes.INVALID_PARAM,
            )
        return cls(localpart=parts[0], domain=parts[1])

    def to_string(self) -> str:
        return "%s%s:%s" % (self.SIGIL, self.localpart, self.domain)

    @classmethod
    def is_valid(cls, s: str) -> bool:
        """Whether ``s`` parses and its domain is a valid server name."""
        try:
            obj = cls.from_string(s)
        except Exception:
            return False
        return is_valid_server_name(obj.domain)

    __repr__ = to_string
    __str__ = to_string


@attr.s(slots=True, frozen=True, repr=False)
class UserID(DomainSpecificString):
    """``@localpart:domain``."""

    SIGIL = "@"

    @classmethod
    def is_valid_strict(cls, s: str) -> bool:
        """Valid, at most 255 bytes, with a non-empty localpart of printable ASCII."""
        if not cls.is_valid(s) or len(s.encode("utf-8")) > 255:
            return False
        localpart = cls.from_string(s).localpart
        return bool(localpart) and all("\x21" <= c <= "\x7e" for c in localpart)


@attr.s(slots=True, frozen=True, repr=False)
class RoomAlias(DomainSpecificString):
    """``#localpart:domain``."""

    SIGIL = "#"


@attr.s(slots=True, frozen=True, repr=False)
class RoomID:
    """``!opaque:domain`` or, from room version 12, ``!<43 url-safe base64 chars>``."""

    SIGIL = "!"

    id: str = attr.ib()
    room_id_with_domain: Optional[DomainSpecificString] = attr.ib()

    @classmethod
    def from_string(cls, s: str) -> "RoomID":
        if not isinstance(s, str) or s[0:1] != cls.SIGIL:
            raise SynapseError(
                400, "Expected RoomID string to start with '!'", Codes.INVALID_PARAM
            )
        if ":" in s:
            local, domain = s[1:].split(":", 1)
            return cls(id=s, room_id_with_domain=_RoomIdWithDomain(local, domain))
        if not _V12_ROOM_ID.fullmatch(s[1:]):
            raise SynapseError(
                400, "Expected RoomID string to be valid urlsafe unpadded base64 '%s'" % (s[1:],), Codes.INVALID_PARAM
            )
        return cls(id=s, room_id_with_domain=None)

    @classmethod
    def is_valid(cls, s: str) -> bool:
        try:
            room_id = cls.from_string(s)
        except Exception:
            return False
        domain = room_id.get_domain()
        return domain is None or is_valid_server_name(domain)

    def get_domain(self) -> Optional[str]:
        return self.room_id_with_domain.domain if self.room_id_with_domain else None

    def to_string(self) -> str:
        return self.id

    __repr__ = to_string
    __str__ = to_string


@attr.s(slots=True, frozen=True, repr=False)
class _RoomIdWithDomain(DomainSpecificString):
    SIGIL = "!"


_V12_ROOM_ID = re.compile(r"[A-Za-z0-9_\-]{43}")
_MXID_ALLOWED = frozenset(string.ascii_lowercase + string.digits + "._=-/+")
_DNS_NAME = re.compile(r"\A[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*\Z")
_IPV6_LITERAL = re.compile(r"\A\[[0-9a-fA-F:.]+\]\Z")


def contains_invalid_mxid_characters(localpart: str) -> bool:
    """Whether ``localpart`` holds a character outside ``a-z 0-9 . _ = - / +``."""
    return any(c not in _MXID_ALLOWED for c in localpart)


def is_valid_server_name(name: str) -> bool:
    """A DNS name, IPv4 address or bracketed IPv6 literal, with an optional numeric port."""
    host, port = name, ""
    if name.startswith("["):
        end = name.find("]")
        if end == -1:
            return False
        host, rest = name[: end + 1], name[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return False
            port = rest[1:]
        if not _IPV6_LITERAL.match(host):
            return False
    else:
        if ":" in name:
            host, port = name.rsplit(":", 1)
        if not _DNS_NAME.match(host):
            return False
    return port == "" or (port.isascii() and port.isdigit())
