"""ModuleApi members for users, devices, tokens, profiles and 3PIDs (mixed into ``ModuleApi``).

They call the stand-in's handlers (``self._host.hs``), the same ones the REST layer uses,
so a module's ``register_user`` runs the same callbacks as ``POST /register``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from twisted.internet import defer

from synapse_modhost.types import Absent, AbsentType

# The attrs value types (UserID, UserInfo, ...) are imported where they are used, so that
# loading a module does not build them (see synapse_modhost.types).
if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer
    from synapse_modhost.host import ModuleHost
    from synapse_modhost.types import ProfileInfo, Requester, UserID, UserInfo, UserIpAndAgent

__all__ = ["UsersApiMixin"]

logger = logging.getLogger("synapse_modhost.module_api")


class UsersApiMixin:
    """ModuleApi members for users, devices, tokens, profiles and 3PIDs."""

    _host: "ModuleHost"
    _module_name: str

    @property
    def _hs_(self) -> "HomeServer":
        return self._host.hs

    async def get_userinfo_by_id(self, user_id: str) -> Optional[UserInfo]:
        """The account's details, or ``None``. Added in Synapse v1.41.0."""
        from synapse_modhost.types import UserID, UserInfo

        user = await self._hs_.user_store.get_user(user_id)
        if user is None:
            return None
        return UserInfo(
            user_id=UserID.from_string(user.user_id),
            appservice_id=user.appservice_id,
            consent_server_notice_sent=user.consent_server_notice_sent,
            consent_version=user.consent_version,
            consent_ts=user.consent_ts,
            user_type=user.user_type,
            creation_ts=user.creation_ts,
            is_admin=user.is_admin,
            is_deactivated=user.deactivated,
            is_guest=user.is_guest,
            is_shadow_banned=user.shadow_banned,
            approved=user.approved,
            locked=user.locked,
            suspended=user.suspended,
        )

    async def get_user_by_req(
        self, req: Any, allow_guest: bool = False, allow_expired: bool = False
    ) -> Requester:
        """Authenticate a request as the client API does (``is_user_expired`` included);
        a second call on the same request raises ``AssertionError``. Added in v1.39.0."""
        return await self._hs_.auth.get_user_by_req(req, allow_guest, allow_expired=allow_expired)

    async def is_user_admin(self, user_id: str) -> bool:
        """Whether the user is a server admin. Added in Synapse v1.39.0."""
        return await self._hs_.auth.is_server_admin(user_id)

    async def set_user_admin(self, user_id: str, admin: bool) -> None:
        """Make the user a server admin, or not. Added in Synapse v1.56.0."""
        from synapse_modhost.types import UserID

        await self._hs_.user_store.set_admin(UserID.from_string(user_id).to_string(), admin)

    async def get_profile_for_user(self, localpart: str) -> ProfileInfo:
        """The local user's profile (``ProfileInfo(None, None)`` without one).
        Added in Synapse v1.39.0."""
        from synapse_modhost.types import UserID

        user_id = UserID.from_string("@%s:%s" % (localpart, self._hs_.server_name))
        return await self._hs_.profile.get_profileinfo(user_id.to_string())

    async def get_threepids_for_user(self, user_id: str) -> List[Dict[str, Any]]:
        """``[{"medium", "address", "validated_at", "added_at"}]``. Added in v1.39.0."""
        return await self._hs_.threepids.get_threepids(user_id)

    def check_user_exists(self, user_id: str) -> "defer.Deferred[Optional[str]]":
        """The canonical (case-corrected) user id, or ``None``. Added in Synapse v0.25.0."""
        return defer.ensureDeferred(self._hs_.login.check_user_exists(user_id))

    def register(
        self, localpart: str, displayname: Optional[str] = None, emails: Optional[List[str]] = None
    ) -> "defer.Deferred[Tuple[str, str]]":
        """Deprecated: register a user and a device; ``(user_id, access_token)``."""
        logger.warning("Using deprecated ModuleApi.register which creates a dummy user device.")

        async def run() -> Tuple[str, str]:
            user_id = await self.register_user(localpart, displayname, emails or [])
            _, access_token, _, _ = await self.register_device(user_id)
            return user_id, access_token

        return defer.ensureDeferred(run())

    def register_user(
        self,
        localpart: str,
        displayname: Optional[str] = None,
        emails: Optional[List[str]] = None,
        admin: bool = False,
    ) -> "defer.Deferred[str]":
        """Register a user through the full registration path (``check_registration_for_spam``,
        username checks, ``on_user_registration``, then 3PID callbacks per email); the user
        id. Added in Synapse v1.2.0 (``admin`` in v1.56.0)."""
        return defer.ensureDeferred(
            self._hs_.registration.register_user(
                localpart=localpart, default_display_name=displayname,
                bind_emails=emails or [], admin=admin,
            )  # fmt: skip
        )

    def register_device(
        self,
        user_id: str,
        device_id: Optional[str] = None,
        initial_display_name: Optional[str] = None,
    ) -> "defer.Deferred[Tuple[str, str, Optional[int], Optional[str]]]":
        """A device (a new id when ``None``) and access token for the user:
        ``(device_id, access_token, valid_until_ms, refresh_token)``. Added in v1.2.0."""
        return defer.ensureDeferred(
            self._hs_.login.register_device(user_id, device_id, initial_display_name)
        )

    def record_user_external_id(
        self, auth_provider_id: str, remote_user_id: str, registered_user_id: str
    ) -> "defer.Deferred[None]":
        """Map an SSO provider's user id to a user. Added in Synapse v1.9.0."""
        return self._hs_.user_store.record_user_external_id(
            auth_provider_id, remote_user_id, registered_user_id
        )

    async def create_login_token(
        self,
        user_id: str,
        duration_in_ms: int = 2 * 60 * 1000,
        auth_provider_id: Optional[str] = None,
        auth_provider_session_id: Optional[str] = None,
    ) -> str:
        """A token for ``m.login.token`` logins. Added in Synapse v1.69.0."""
        return await self._hs_.login.create_login_token(
            user_id, duration_in_ms, auth_provider_id, auth_provider_session_id
        )

    def invalidate_access_token(self, access_token: str) -> "defer.Deferred[None]":
        """Delete the token's device (or only the token when it has none), running
        ``on_logged_out``; an unknown token fails with ``InvalidClientTokenError``.
        Added in Synapse v0.25.0."""
        return defer.ensureDeferred(self._hs_.login.invalidate_access_token(access_token))

    async def check_username(self, username: str) -> None:
        """Raise ``SynapseError`` (``M_INVALID_USERNAME``, ``M_USER_IN_USE``) unless the
        localpart could be registered. Added in Synapse v1.52.0."""
        await self._hs_.registration.check_username(username)

    async def get_user_ip_and_agents(
        self, user_id: str, since_ts: int = 0
    ) -> List[UserIpAndAgent]:
        """The (IP, user agent, last seen) of each token the user used since ``since_ts``
        (ms); ``[]`` for remote or malformed ids. Added in Synapse v1.44.0."""
        from synapse_modhost.types import UserID, UserIpAndAgent

        try:
            mine = self._hs_.is_mine_id(user_id) and UserID.is_valid(user_id)
        except Exception:
            mine = False
        if not mine:
            return []
        records = await self._hs_.auth.ips.get_user_ips(user_id, since_ts)
        return [UserIpAndAgent(ip=r.ip, user_agent=r.user_agent, last_seen=r.last_seen)
                for r in records]  # fmt: skip

    async def store_remote_3pid_association(
        self, user_id: str, medium: str, address: str, id_server: str
    ) -> None:
        """Record a 3PID binding that exists on an identity server. Added in v1.56.0."""
        await self._hs_.threepids.store_remote_association(user_id, medium, address, id_server)

    async def set_displayname(
        self,
        user_id: UserID,
        new_displayname: str,
        deactivation: Union[bool, AbsentType] = Absent,
    ) -> None:
        """Set the user's display name as an admin would (``on_profile_update`` with
        ``by_admin=True``, then the rooms are updated). ``deactivation`` is deprecated.
        Added in Synapse v1.76.0."""
        if deactivation is not Absent:
            logger.error(
                "Deprecated `deactivation` parameter passed to `set_displayname` Module API "
                "(value: %r). This will break in 2027.",
                deactivation,
            )
        from synapse_modhost.types import create_requester

        await self._hs_.profile.set_field(
            user_id, create_requester(user_id), "displayname", new_displayname, by_admin=True
        )
