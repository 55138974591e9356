"""What modules learn about users: profile, account details, IPs, rate-limit overrides."""

from __future__ import annotations

from typing import Optional

import attr

from synapse_modhost.types._ids import UserID

__all__ = ["ProfileInfo", "RatelimitOverride", "UserInfo", "UserIpAndAgent"]


@attr.s(auto_attribs=True, frozen=True, slots=True)
class ProfileInfo:
    """A user's profile: ``avatar_url`` and ``display_name``."""

    avatar_url: Optional[str]
    display_name: Optional[str]


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


@attr.s(auto_attribs=True)
class RatelimitOverride:
    """A per-user rate limit returned by ``get_ratelimit_override_for_user``."""

    per_second: float
    burst_count: int
