"""Third-party (email/phone) invites: ``POST /rooms/{roomId}/invite`` with ``medium`` and
``address`` (TRIGGERS.md §3), in Synapse 1.163's order.

The stand-in has no identity server. Its stand-in for the lookup is the local user
directory: an address bound to a local user (``user_threepids``) invites that user
through the normal invite path (``user_may_invite``); any other address gets an
``m.room.third_party_invite`` event as Synapse would send after the identity server's
reply, with a random token and a display name that masks the address (the identity
server's ``public_key``/``key_validity_url`` are placeholders naming ``id_server``).
"""

from __future__ import annotations

import logging
import random
import secrets
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from twisted.internet import task

from synapse_modhost._codes import Codes
from synapse_modhost.errors import ShadowBanError, SynapseError
from synapse_modhost.types import NOT_SPAM, Requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer
    from synapse_modhost.homeserver.handlers._room_config import RoomSettings

__all__ = ["ThreepidInviteMixin", "mask_address"]

logger = logging.getLogger(__name__)


def mask_address(medium: str, address: str) -> str:
    """What an identity server shows of an invited address (``al...@ex...``)."""
    if medium == "email" and "@" in address:
        local, _, domain = address.partition("@")
        return "%s...@%s..." % (local[:2], domain[:2])
    return address[:3] + "..."


class ThreepidInviteMixin:
    """``do_3pid_invite`` (mixed into the membership handler)."""

    hs: "HomeServer"
    settings: "RoomSettings"

    async def do_3pid_invite(
        self,
        room_id: str,
        requester: Requester,
        medium: str,
        address: str,
        id_server: str,
        id_access_token: str,
        txn_id: Optional[str] = None,
        prev_event_ids: Optional[List[str]] = None,
        depth: Optional[int] = None,
    ) -> Tuple[str, int]:
        """``(event_id, stream_ordering)`` of the invite (membership or third-party)."""
        hs = self.hs
        if self.settings.block_non_admin_invites and not await hs.auth.is_server_admin(requester):
            raise SynapseError(403, "Invites have been disabled on this server", Codes.FORBIDDEN)
        if requester.shadow_banned:
            await task.deferLater(hs.reactor, random.randint(1, 10), lambda: None)
            raise ShadowBanError()

        async def state() -> Dict[Tuple[str, str], Any]:
            return await hs.event_store.get_current_state(room_id)

        third_party = hs.callbacks.third_party_rules
        if not await third_party.check_threepid_can_be_invited(medium, address, state):
            raise SynapseError(
                403, "This third-party identifier can not be invited in this room", Codes.FORBIDDEN
            )
        invitee = await hs.user_store.get_user_id_by_threepid(medium, address)
        if invitee:
            return await hs.membership.update_membership(
                requester, invitee, room_id, "invite", txn_id=txn_id
            )
        spam_checker = hs.callbacks.spam_checker
        spam = await spam_checker.user_may_send_3pid_invite(requester.user_id, medium, address, room_id)
        if spam != NOT_SPAM:
            raise spam_checker.denial_error("user_may_send_3pid_invite", spam)
        token = secrets.token_urlsafe(24)
        key_validity_url = "https://%s/_matrix/identity/v2/pubkey/isvalid" % (id_server,)
        public_key = "stand-in-key"
        event = await hs.events.create_and_send_nonmember_event(
            requester,
            {
                "type": "m.room.third_party_invite",
                "content": {
                    "display_name": mask_address(medium, address),
                    "public_keys": [{"key_validity_url": key_validity_url, "public_key": public_key}],
                    "key_validity_url": key_validity_url,
                    "public_key": public_key,
                },
                "room_id": room_id,
                "sender": requester.user_id,
                "state_key": token,
            },
            ratelimit=False,
            txn_id=txn_id,
            prev_event_ids=prev_event_ids,
            depth=depth,
        )
        return event.event_id, int(event.internal_metadata.stream_ordering or 0)
