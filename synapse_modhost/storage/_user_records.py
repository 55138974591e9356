"""The values :class:`~synapse_modhost.storage.UserStore` returns, its errors, and the
access-token cache behind ``get_user_by_access_token``."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Set

import attr

from synapse_modhost.storage._errors import StorageError

__all__ = [
    "AccessTokenRecord",
    "ClientIpRecord",
    "DeviceRecord",
    "ExternalIdReuseError",
    "FullProfile",
    "LoginTokenExpired",
    "LoginTokenNotFound",
    "LoginTokenRecord",
    "LoginTokenReused",
    "Profile",
    "ProfileTooLargeError",
    "RefreshTokenRecord",
    "ThreepidRecord",
    "TokenCache",
    "TokenInfo",
    "UserDirectoryEntry",
    "UserExistsError",
    "UserListEntry",
    "UserRecord",
]


# ---------------------------------------------------------------------- errors


class UserExistsError(StorageError):
    """``create_user`` for a user id that is taken (Synapse: 400 ``M_USER_IN_USE``)."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"User ID already taken: {user_id}")
        self.user_id = user_id


class ExternalIdReuseError(StorageError):
    """``record_user_external_id`` for an (auth_provider, external_id) already mapped."""


class ProfileTooLargeError(StorageError):
    """A profile update would take the profile over 64 KiB (Synapse: 400
    ``M_PROFILE_TOO_LARGE`` "Profile too large")."""


class LoginTokenNotFound(StorageError):
    """No such login token."""


class LoginTokenReused(StorageError):
    """The login token was consumed before."""


class LoginTokenExpired(StorageError):
    """The login token's ``expiry_ts`` has passed."""


# ---------------------------------------------------------------------- records


@attr.s(frozen=True, slots=True, auto_attribs=True)
class UserRecord:
    """A row of ``users`` (the password hash has its own getter)."""

    user_id: str
    creation_ts: int  # seconds
    is_admin: bool = False
    is_guest: bool = False
    deactivated: bool = False
    erased: bool = False
    shadow_banned: bool = False
    locked: bool = False
    suspended: bool = False
    approved: bool = True
    user_type: Optional[str] = None
    appservice_id: Optional[str] = None
    consent_version: Optional[str] = None
    consent_ts: Optional[int] = None
    consent_server_notice_sent: Optional[str] = None


@attr.s(frozen=True, slots=True, auto_attribs=True)
class DeviceRecord:
    user_id: str
    device_id: str
    display_name: Optional[str] = None
    last_seen_ts: Optional[int] = None
    last_seen_ip: Optional[str] = None
    last_seen_user_agent: Optional[str] = None
    hidden: bool = False


@attr.s(frozen=True, slots=True, auto_attribs=True)
class TokenInfo:
    """What an access token authenticates (the hot path of every request).

    ``token_owner`` is ``puppets_user_id``'s counterpart: the user who holds the token
    (an admin logged in as ``user_id``), else ``user_id``.
    """

    user_id: str
    token_id: int
    device_id: Optional[str]
    valid_until_ms: Optional[int]
    token_owner: str
    is_guest: bool
    is_admin: bool
    shadow_banned: bool
    deactivated: bool
    locked: bool
    suspended: bool
    approved: bool
    refresh_token_id: Optional[int] = None


@attr.s(frozen=True, slots=True, auto_attribs=True)
class AccessTokenRecord:
    """A deleted (or listed) access token: enough to fire ``on_logged_out`` per token."""

    token: str
    token_id: int
    user_id: str
    device_id: Optional[str]


@attr.s(frozen=True, slots=True, auto_attribs=True)
class RefreshTokenRecord:
    token_id: int
    user_id: str
    device_id: str
    next_token_id: Optional[int]
    expiry_ts: Optional[int]
    ultimate_session_expiry_ts: Optional[int]


@attr.s(frozen=True, slots=True, auto_attribs=True)
class Profile:
    displayname: Optional[str] = None
    avatar_url: Optional[str] = None


@attr.s(frozen=True, slots=True, auto_attribs=True)
class FullProfile:
    """A profile row with its custom fields (``{}`` when none)."""

    displayname: Optional[str]
    avatar_url: Optional[str]
    fields: Dict[str, Any]


@attr.s(frozen=True, slots=True, auto_attribs=True)
class ClientIpRecord:
    """One (access token, IP) a user was seen with, and when (ms)."""

    access_token: str
    ip: str
    user_agent: str
    last_seen: int


@attr.s(frozen=True, slots=True, auto_attribs=True)
class UserListEntry:
    """A row of the admin user list (``GET /_synapse/admin/v2/users``)."""

    name: str
    user_type: Optional[str]
    is_guest: bool
    admin: bool
    deactivated: bool
    shadow_banned: bool
    displayname: Optional[str]
    avatar_url: Optional[str]
    creation_ts: int  # milliseconds, as Synapse lists them
    erased: bool
    last_seen_ts: Optional[int]
    locked: bool


@attr.s(frozen=True, slots=True, auto_attribs=True)
class ThreepidRecord:
    """As ``ModuleApi.get_threepids_for_user`` lists them (``attr.asdict`` gives the dict)."""

    medium: str
    address: str
    validated_at: int
    added_at: int


@attr.s(frozen=True, slots=True, auto_attribs=True)
class LoginTokenRecord:
    user_id: str
    auth_provider_id: Optional[str]
    auth_provider_session_id: Optional[str]


@attr.s(frozen=True, slots=True, auto_attribs=True)
class UserDirectoryEntry:
    user_id: str
    displayname: Optional[str]
    avatar_url: Optional[str]


# ---------------------------------------------------------------------- token cache


class TokenCache:
    """``token -> TokenInfo`` on the reactor thread, bounded (oldest entries dropped).

    Entries are indexed by user and by token owner, for per-user invalidation. Every
    change that could alter a cached answer invalidates before it is submitted
    and again once committed; each invalidation bumps :attr:`generation`, and a lookup
    only fills the cache when no invalidation happened while it was in flight.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self.generation = 0
        self._entries: Dict[str, TokenInfo] = {}
        self._by_user: Dict[str, Set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> Optional[TokenInfo]:
        return self._entries.get(token)

    def fill(self, info: Optional[TokenInfo], token: str, generation: int) -> Optional[TokenInfo]:
        """Callback for a lookup started at ``generation``; passes ``info`` through."""
        if info is not None and generation == self.generation and self.max_entries > 0:
            while len(self._entries) >= self.max_entries:
                self._forget(next(iter(self._entries)))
            self._entries[token] = info
            self._by_user.setdefault(info.user_id, set()).add(token)
            if info.token_owner != info.user_id:
                self._by_user.setdefault(info.token_owner, set()).add(token)
        return info

    def invalidate_tokens(self, tokens: Iterable[str]) -> None:
        self.generation += 1
        for token in tokens:
            self._forget(token)

    def invalidate_user(self, user_id: str) -> None:
        self.generation += 1
        for token in list(self._by_user.get(user_id, ())):
            self._forget(token)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._by_user.clear()

    def _forget(self, token: str) -> None:
        info = self._entries.pop(token, None)
        if info is None:
            return
        for user_id in (info.user_id, info.token_owner):
            tokens = self._by_user.get(user_id)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._by_user[user_id]
