"""Deactivating and reactivating accounts (TRIGGERS.md §7).

Synapse's order: ``check_can_deactivate_user(user, by_admin)`` (``False`` → 403
``M_FORBIDDEN`` "Deactivation of this user is forbidden") → identity-server unbinding →
each local 3PID removed (``on_remove_user_third_party_identifier``) → every device and
token deleted (``on_logged_out`` per token) → password cleared → with ``erase``, the
profile deleted (``on_profile_update(..., deactivation=True)``) → the deactivated flag →
``on_user_deactivation_status_changed(user, True, by_admin)``; then, in the background,
the user leaves every room (the membership handler's ``leave_all_rooms(user_id)``,
skipped while that handler does not exist yet).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

from twisted.internet import defer

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.types import Requester, UserID

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["DeactivationHandler"]

logger = logging.getLogger(__name__)


class DeactivationHandler:
    """Deactivation, erasure and reactivation."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.user_store
        self._rules = hs.callbacks.third_party_rules

    async def deactivate_account(
        self,
        user_id: str,
        erase_data: bool,
        requester: Requester,
        id_server: Optional[str] = None,
        by_admin: bool = False,
    ) -> bool:
        """Deactivate ``user_id``; whether the identity servers unbound its 3PIDs
        (``True`` when there was nothing to unbind)."""
        if not await self._rules.check_can_deactivate_user(user_id, by_admin):
            raise SynapseError(403, "Deactivation of this user is forbidden", Codes.FORBIDDEN)
        logger.info("%s requested deactivation of %s erase_data=%s id_server=%s",
                    requester.user, user_id, erase_data, id_server)  # fmt: skip
        threepids = self.hs.threepids
        supports_unbinding = True
        for medium, address, _server in await self.store.get_bound_threepids(user_id):
            supports_unbinding &= await threepids.try_unbind_threepid(
                user_id, medium, address, id_server
            )
        for threepid in await self.store.get_threepids(user_id):
            await threepids.delete_local_threepid(user_id, threepid.medium, threepid.address)
        login = self.hs.login
        await login.delete_all_devices_for_user(user_id)
        await login.delete_access_tokens_for_user(user_id)
        await self.store.set_password_hash(user_id, None)
        if erase_data:
            await self.hs.profile.delete_profile_upon_deactivation(
                UserID.from_string(user_id), requester, by_admin
            )
            logger.info("Marking %s as erased", user_id)
            await self.store.set_erased(user_id, True)
        await self.store.set_deactivated(user_id, True)
        await self._rules.on_user_deactivation_status_changed(user_id, True, by_admin)
        self._part_user(user_id)
        return supports_unbinding

    def _part_user(self, user_id: str) -> None:
        try:
            leave_all_rooms = self.hs.membership.leave_all_rooms
        except (ImportError, AttributeError):
            logger.debug("No membership handler: %s not parted from rooms", user_id)
            return
        d = defer.ensureDeferred(leave_all_rooms(user_id))
        d.addErrback(lambda f: logger.warning("Failed to part %s from rooms: %s", user_id, f.value))

    async def activate_account(self, user_id: str) -> None:
        """Reactivate: not erased, an empty profile row if none, the flag, then
        ``on_user_deactivation_status_changed(user, False, True)``. Rooms, 3PIDs and the
        password are not restored."""
        await self.store.set_erased(user_id, False)
        await self.store.create_profile(user_id)
        await self.store.set_deactivated(user_id, False)
        await self._rules.on_user_deactivation_status_changed(user_id, False, True)
