"""Value types modules receive and return, shaped as Synapse 1.163's.

``synapse.types``, ``synapse.module_api`` and ``synapse.spam_checker_api`` re-export these.

The constants, aliases, enums and typed dicts live here. The attrs classes live in private
submodules by concern and are imported on first use of their name: creating an attrs
class generates and compiles its methods, and a module that only needs ``NOT_SPAM`` or
``JsonDict`` (as most do while loading) should not pay for thirteen of them at start-up.
``from synapse_modhost.types import UserID`` works as for any other name.
"""

from __future__ import annotations

import enum
import importlib
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple, TypedDict, TypeVar

if TYPE_CHECKING:
    from synapse_modhost.types._ids import (
        DomainSpecificString,
        RoomAlias,
        RoomID,
        UserID,
        contains_invalid_mxid_characters,
        is_valid_server_name,
    )
    from synapse_modhost.types._media import FileInfo, MediaUploadLimit
    from synapse_modhost.types._presence import UserPresenceState
    from synapse_modhost.types._requester import Requester, create_requester
    from synapse_modhost.types._users import (
        ProfileInfo,
        RatelimitOverride,
        UserInfo,
        UserIpAndAgent,
    )

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
    "contains_invalid_mxid_characters",
    "create_requester",
    "is_valid_server_name",
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


class RegistrationBehaviour(enum.Enum):
    """What ``check_registration_for_spam`` decides."""

    ALLOW = "allow"
    SHADOW_BAN = "shadow_ban"
    DENY = "deny"


#: name -> the submodule that defines it, imported on first use (see the module's doc)
_LAZY: Dict[str, str] = {
    "DomainSpecificString": "_ids",
    "RoomAlias": "_ids",
    "RoomID": "_ids",
    "UserID": "_ids",
    "contains_invalid_mxid_characters": "_ids",
    "is_valid_server_name": "_ids",
    "Requester": "_requester",
    "create_requester": "_requester",
    "FileInfo": "_media",
    "MediaUploadLimit": "_media",
    "UserPresenceState": "_presence",
    "ProfileInfo": "_users",
    "RatelimitOverride": "_users",
    "UserInfo": "_users",
    "UserIpAndAgent": "_users",
}


def __getattr__(name: str) -> Any:
    submodule = _LAZY.get(name)
    if submodule is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = getattr(importlib.import_module("%s.%s" % (__name__, submodule)), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))
