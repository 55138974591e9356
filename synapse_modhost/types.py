"""Value types modules receive and return, shaped as Synapse 1.163's.

``synapse.types``, ``synapse.module_api`` and ``synapse.spam_checker_api`` re-export these.
"""

from __future__ import annotations

import enum
import re
import string
from typing import (
    Any,
    Collection,
    Dict,
    FrozenSet,
    Mapping,
    Optional,
    Tuple,
    Type,
    TypedDict,
    TypeVar,
    Union,
)

import attr

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError

__all__ = [
    "NOT_SPAM",
    "PRESENCE_ALL_USERS",
    "Absent",
    "AbsentType",
    "DomainSpecificString",
    "FileInfo",
    "JsonDict",
    "JsonMapping",
    "JsonSerializable",
    "LoginResponse",
    "MediaUploadLimit",
    "ProfileInfo",
    "RatelimitOverride",
    "RegistrationBehaviour",
    "Requester",
    "RoomAlias",
    "RoomID",
    "StateKey",
    "StateMap",
    "UserID",
    "UserInfo",
    "UserIpAndAgent",
    "UserPresenceState",
    "UserProfile",
    "create_requester",
]

JsonDict = Dict[str, Any]
JsonMapping = Mapping[str, Any]
JsonSerializable = object
StateKey = Tuple[str, str]
T = TypeVar("T")
StateMap = Mapping[StateKey, T]

#: Returned by spam-checker callbacks to allow; compared by identity, as Synapse does.
NOT_SPAM = "NOT_SPAM"
#: Returned by ``get_interested_users`` for "every user".
PRESENCE_ALL_USERS = "ALL"


class AbsentType(enum.Enum):
    """A falsy sentinel for "argument not given"."""

    Absent = enum.auto()

    def __bool__(self) -> bool:
        return False


Absent = AbsentType.Absent

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


@attr.s(frozen=True, slots=True, auto_attribs=True, repr=False)
class Requester:
    """Who made a request; read-only, as Synapse's."""

    user: UserID
    access_token_id: Optional[int] = None
    is_guest: bool = False
    scope: FrozenSet[str] = frozenset()
    shadow_banned: bool = False
    device_id: Optional[str] = None
    app_service_id: Optional[str] = None
    authenticated_entity: str = ""

    @property
    def user_id(self) -> str:
        return self.user.to_string()

    def serialize(self) -> Dict[str, Any]:
        return {
            "user_id": self.user.to_string(),
            "access_token_id": self.access_token_id,
            "is_guest": self.is_guest,
            "scope": sorted(self.scope),
            "shadow_banned": self.shadow_banned,
            "device_id": self.device_id,
            "app_server_id": self.app_service_id,
            "authenticated_entity": self.authenticated_entity,
        }

    @staticmethod
    def deserialize(input: Mapping[str, Any]) -> "Requester":
        return create_requester(
            input["user_id"],
            access_token_id=input.get("access_token_id"),
            is_guest=input.get("is_guest", False),
            scope=input.get("scope", ()),
            shadow_banned=input.get("shadow_banned", False),
            device_id=input.get("device_id"),
            authenticated_entity=input.get("authenticated_entity"),
        )

    def __repr__(self) -> str:
        def opt(v: Any) -> str:
            return "None" if v is None else "Some(%s)" % (
                '"%s"' % v if isinstance(v, str) else v
            )

        return (
            "Requester(user_id=%s, access_token_id=%s, is_guest=%s, scope={%s}, "
            "shadow_banned=%s, device_id=%s, app_service_id=%s, authenticated_entity=%s)"
            % (
                self.user_id,
                opt(self.access_token_id),
                str(self.is_guest).lower(),
                ", ".join('"%s"' % x for x in sorted(self.scope)),
                str(self.shadow_banned).lower(),
                opt(self.device_id),
                opt(self.app_service_id),
                self.authenticated_entity,
            )
        )


def create_requester(
    user_id: Union[str, UserID],
    access_token_id: Optional[int] = None,
    is_guest: bool = False,
    scope: Collection[str] = (),
    shadow_banned: bool = False,
    device_id: Optional[str] = None,
    app_service: Any = None,
    authenticated_entity: Optional[str] = None,
) -> Requester:
    """Build a ``Requester``; ``authenticated_entity`` defaults to the user id."""
    if not isinstance(user_id, UserID):
        user_id = UserID.from_string(user_id)
    return Requester(
        user=user_id,
        access_token_id=access_token_id,
        is_guest=is_guest,
        scope=frozenset(scope),
        shadow_banned=shadow_banned,
        device_id=device_id,
        app_service_id=getattr(app_service, "id", None),
        authenticated_entity=(
            user_id.to_string() if authenticated_entity is None else authenticated_entity
        ),
    )


@attr.s(auto_attribs=True, frozen=True, slots=True)
class ProfileInfo:
    """A user's profile: ``avatar_url`` and ``display_name``."""

    avatar_url: Optional[str]
    display_name: Optional[str]


class UserProfile(TypedDict):
    """The profile handed to ``check_username_for_spam``."""

    user_id: str
    display_name: Optional[str]
    avatar_url: Optional[str]


class LoginResponse(TypedDict, total=False):
    """The ``/login`` response handed to a password provider's ``post_login``."""

    user_id: str
    access_token: str
    home_server: str
    expires_in_ms: Optional[int]
    refresh_token: Optional[str]
    device_id: Optional[str]
    well_known: Optional[Dict[str, Dict[str, str]]]


@attr.s(auto_attribs=True, frozen=True, slots=True)
class UserInfo:
    """What ``ModuleApi.get_userinfo_by_id`` returns."""

    user_id: UserID
    appservice_id: Optional[str]
    consent_server_notice_sent: Optional[str]
    consent_version: Optional[str]
    consent_ts: Optional[int]
    user_type: Optional[str]
    creation_ts: int
    is_admin: bool
    is_deactivated: bool
    is_guest: bool
    is_shadow_banned: bool
    approved: bool
    locked: bool
    suspended: bool


@attr.s(auto_attribs=True, frozen=True, slots=True)
class UserIpAndAgent:
    """One (ip, user agent) pair a user was seen with."""

    ip: str
    user_agent: str
    last_seen: int


class RegistrationBehaviour(enum.Enum):
    """What ``check_registration_for_spam`` decides."""

    ALLOW = "allow"
    SHADOW_BAN = "shadow_ban"
    DENY = "deny"


@attr.s(auto_attribs=True)
class RatelimitOverride:
    """A per-user rate limit returned by ``get_ratelimit_override_for_user``."""

    per_second: float
    burst_count: int


@attr.s(auto_attribs=True, frozen=True, slots=True)
class MediaUploadLimit:
    """A cap on bytes uploaded in a period, from config or a media-repository module."""

    max_bytes: int
    time_period_ms: int
    info_uri: Optional[str] = None
    can_upgrade: bool = False


@attr.s(auto_attribs=True, frozen=True, slots=True)
class UserPresenceState:
    """A user's presence, as presence-router callbacks see it."""

    user_id: str
    state: str
    last_active_ts: int = 0
    last_federation_update_ts: int = 0
    last_user_sync_ts: int = 0
    status_msg: Optional[str] = None
    currently_active: bool = False

    def as_dict(self) -> JsonDict:
        return attr.asdict(self)

    def copy_and_replace(self, **kwargs: Any) -> "UserPresenceState":
        return attr.evolve(self, **kwargs)

    @classmethod
    def default(cls, user_id: str) -> "UserPresenceState":
        return cls(user_id=user_id, state="offline")


@attr.s(auto_attribs=True, frozen=True, slots=True)
class FileInfo:
    """Which media file ``check_media_file_for_spam`` is looking at.

    ``server_name`` is ``None`` for local media.
    """

    server_name: Optional[str]
    file_id: str
    url_cache: bool = False
    thumbnail: Optional[Any] = None

    @property
    def thumbnail_width(self) -> Optional[int]:
        return getattr(self.thumbnail, "width", None)

    @property
    def thumbnail_height(self) -> Optional[int]:
        return getattr(self.thumbnail, "height", None)

    @property
    def thumbnail_method(self) -> Optional[str]:
        return getattr(self.thumbnail, "method", None)

    @property
    def thumbnail_type(self) -> Optional[str]:
        return getattr(self.thumbnail, "type", None)

    @property
    def thumbnail_length(self) -> Optional[int]:
        return getattr(self.thumbnail, "length", None)
