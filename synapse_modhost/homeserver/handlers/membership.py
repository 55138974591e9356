"""``MembershipHandler``: joins, invites, leaves, kicks, bans and unbans with Synapse
1.163's checks and callback order (``handlers/room_member.py``; TRIGGERS.md §3).

``update_membership`` takes the room's membership lock, then: suspension and content
checks → profile data → blocked room → for invites ``user_may_invite`` (non-admins) →
the target's current membership (unban/ban/kick rules, no-op repeats) → for joins
``user_may_join_room(user, room, is_invited)`` (not for admins nor during createRoom) →
the membership event (``check_event_allowed`` → authorization rules → persist →
``on_new_event``). No spam-checker event callback runs for membership events.

Rooms this server is not in cannot be joined (no federation): 404 "Can't join remote
room because no servers that are in the room have been provided." without servers to
try, 502 "Failed to make_join via any server" with some.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from twisted.internet import task

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, ShadowBanError, SynapseError
from synapse_modhost.events import Event
from synapse_modhost.homeserver.handlers._invite_ratelimit import InviteRatelimiters
from synapse_modhost.homeserver.handlers._linearizer import Linearizer
from synapse_modhost.homeserver.handlers._membership_rules import MembershipRules
from synapse_modhost.homeserver.handlers._room_config import RoomSettings
from synapse_modhost.homeserver.handlers._threepid_invite import ThreepidInviteMixin
from synapse_modhost.types import NOT_SPAM, Requester, RoomAlias, RoomID, create_requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["MembershipHandler"]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]
MEMBERSHIPS = ("invite", "join", "leave", "ban", "knock")
MAX_DISPLAYNAME_LEN = 256
MAX_AVATAR_URL_LEN = 1000


class MembershipHandler(ThreepidInviteMixin, MembershipRules):
    """Changes memberships (``hs.membership``)."""

    def __init__(self, hs: "HomeServer") -> None:
        super().__init__(hs)
        self.settings = RoomSettings.from_config(hs.config)
        self.ratelimiters = InviteRatelimiters(
            hs.reactor, hs.callbacks.ratelimit, self.settings.rc_invites
        )
        self.member_linearizer = Linearizer()
        self._spam = hs.callbacks.spam_checker

    # ------------------------------------------------------------------ entry point

    async def update_membership(
        self,
        requester: Requester,
        target: str,
        room_id: str,
        action: str,
        *,
        txn_id: Optional[str] = None,
        remote_room_hosts: Optional[List[str]] = None,
        ratelimit: bool = True,
        content: Optional[JsonDict] = None,
        new_room: bool = False,
        prev_event_ids: Optional[List[str]] = None,
        depth: Optional[int] = None,
    ) -> Tuple[str, int]:
        """Change ``target``'s membership; ``(event_id, stream_ordering)`` of the
        membership event (an earlier one when nothing changed)."""
        if ratelimit and action == "invite":
            await self.ratelimiters.ratelimit_invite(requester, room_id, target)
        if action == "invite" and requester.shadow_banned:
            await task.deferLater(self.hs.reactor, random.randint(1, 10), lambda: None)
            raise ShadowBanError()
        async with self.member_linearizer.queue(room_id):
            return await self.update_membership_locked(
                requester,
                target,
                room_id,
                action,
                txn_id=txn_id,
                remote_room_hosts=remote_room_hosts,
                content=content,
                new_room=new_room,
                prev_event_ids=prev_event_ids,
                depth=depth,
            )

    async def update_membership_locked(
        self,
        requester: Requester,
        target: str,
        room_id: str,
        action: str,
        *,
        txn_id: Optional[str] = None,
        remote_room_hosts: Optional[List[str]] = None,
        content: Optional[JsonDict] = None,
        new_room: bool = False,
        prev_event_ids: Optional[List[str]] = None,
        depth: Optional[int] = None,
    ) -> Tuple[str, int]:
        """``update_membership`` with the room's membership lock already held."""
        content = dict(content or {})
        if requester.authenticated_entity != self.hs.server_name:
            await self._check_suspension(requester, target, action)
        if not self.settings.allow_per_room_profiles or requester.shadow_banned:
            content.pop("displayname", None)
            content.pop("avatar_url", None)
        for key, name in (("displayname", "Displayname"), ("avatar_url", "Avatar URL")):
            if content.get(key) is not None and not isinstance(content[key], str):
                # Synapse: a 500 (len() of a number), or a member event carrying it
                raise SynapseError(400, "%s must be a string" % (name,), Codes.BAD_JSON)
        if len(content.get("displayname") or "") > MAX_DISPLAYNAME_LEN:
            raise SynapseError(
                400, "Displayname is too long (max %d)" % MAX_DISPLAYNAME_LEN, Codes.BAD_JSON
            )
        if len(content.get("avatar_url") or "") > MAX_AVATAR_URL_LEN:
            raise SynapseError(
                400, "Avatar URL is too long (max %d)" % MAX_AVATAR_URL_LEN, Codes.BAD_JSON
            )
        content.pop("join_authorised_via_users_server", None)
        effective = "leave" if action in ("kick", "unban") else action
        if effective not in MEMBERSHIPS:
            raise SynapseError(400, "Invalid membership key")
        if effective in ("join", "knock") or (
            effective == "invite" and self.settings.include_profile_data_on_invite
        ):
            await self._add_profile(content, target)
        if effective not in ("leave", "ban") and await self.store.rooms.is_room_blocked(room_id):
            raise SynapseError(403, "This room has been blocked on this server")
        if effective == "invite":
            await self._check_invite(requester, target, room_id)
        if prev_event_ids is not None:
            return await self.local_membership_update(
                requester, target, room_id, effective, content,
                txn_id=txn_id, prev_event_ids=prev_event_ids, depth=depth,
            )  # fmt: skip

        room = await self.store.get_room_cache(room_id)
        state_ids = room.state_ids if room is not None else {}
        latest: Optional[List[str]] = None
        host_in_room = await self.is_host_in_room(state_ids)
        if host_in_room:
            old = await self._old_membership(state_ids, target)
            if old is not None:
                old_event, old_membership = old
                if action == "unban" and old_membership != "ban":
                    raise SynapseError(
                        403,
                        "Cannot unban user who was not banned (membership=%s)" % (old_membership,),
                        Codes.BAD_STATE,
                    )
                if old_membership == "ban" and action not in ("ban", "unban", "leave"):
                    raise SynapseError(403, "Cannot %s user who was banned" % (action,), Codes.BAD_STATE)
                if (
                    requester.user_id == old_event.sender
                    and old_membership == effective
                    and content == old_event.content.copy()
                ):
                    return old_event.event_id, int(old_event.internal_metadata.stream_ordering or 0)
                if old_membership in ("ban", "leave") and action == "kick":
                    raise AuthError(403, "The target user is not in the room")
            elif action == "kick":
                raise AuthError(403, "The target user is not in the room")

        if effective == "join":
            await self._before_join(
                requester, target, room_id, state_ids, host_in_room, new_room, content, remote_room_hosts
            )
        elif effective == "leave" and not host_in_room:
            latest = await self._before_remote_leave(target, room_id)
        elif effective == "knock" and not host_in_room:
            raise SynapseError(502, "Failed to make_knock via any server")
        return await self.local_membership_update(
            requester, target, room_id, effective, content, txn_id=txn_id, prev_event_ids=latest
        )

    # ------------------------------------------------------------------ steps

    async def _check_suspension(self, requester: Requester, target: str, action: str) -> None:
        requester_suspended = await self._is_suspended(requester.user_id)
        if action == "invite" and requester_suspended:
            raise SynapseError(
                403,
                "Sending invites while account is suspended is not allowed.",
                Codes.USER_ACCOUNT_SUSPENDED,
            )
        target_suspended = (
            await self._is_suspended(target) if target != requester.user_id else requester_suspended
        )
        if action == "join" and target_suspended:
            raise SynapseError(
                403,
                "Joining rooms while account is suspended is not allowed.",
                Codes.USER_ACCOUNT_SUSPENDED,
            )
        if action == "knock" and target_suspended:
            raise SynapseError(
                403,
                "Knocking on rooms while account is suspended is not allowed.",
                Codes.USER_ACCOUNT_SUSPENDED,
            )

    async def _is_suspended(self, user_id: str) -> bool:
        if not self.hs.is_mine_id(user_id):
            return False
        user = await self.hs.user_store.get_user(user_id)
        return bool(user is not None and user.suspended)

    async def _add_profile(self, content: JsonDict, target: str) -> None:
        if not self.hs.is_mine_id(target):
            return
        profile = await self.hs.user_store.get_profile(target)
        if profile is None:
            logger.info("Failed to get profile information for %r: no profile", target)
            return
        if "displayname" not in content and profile.displayname is not None:
            content["displayname"] = profile.displayname
        if "avatar_url" not in content and profile.avatar_url is not None:
            content["avatar_url"] = profile.avatar_url

    async def _check_invite(self, requester: Requester, target: str, room_id: str) -> None:
        block: Optional[Tuple[Any, JsonDict]] = None
        is_admin = await self.hs.auth.is_server_admin(requester)
        if not is_admin:
            if self.settings.block_non_admin_invites:
                logger.info("Blocking invite: user is not admin and non-admin invites disabled")
                block = (Codes.FORBIDDEN, {})
            spam = await self._spam.user_may_invite(requester.user_id, target, room_id)
            if spam != NOT_SPAM:
                logger.info("Blocking invite due to spam checker")
                block = spam  # type: ignore[assignment]
        if block is not None:
            raise SynapseError(
                403, "Invites have been disabled on this server", block[0], block[1]
            )

    async def _old_membership(
        self, state_ids: Dict[Tuple[str, str], str], target: str
    ) -> Optional[Tuple[Event, Optional[str]]]:
        old_id = state_ids.get(("m.room.member", target))
        if not old_id:
            return None
        old_event = await self.store.get_event(old_id)
        if old_event is None:
            return None
        return old_event, old_event.content.get("membership")

    async def _before_join(
        self,
        requester: Requester,
        target: str,
        room_id: str,
        state_ids: Dict[Tuple[str, str], str],
        host_in_room: bool,
        new_room: bool,
        content: JsonDict,
        remote_room_hosts: Optional[List[str]],
    ) -> None:
        if requester.is_guest and not await self._can_guest_join(state_ids):
            raise AuthError(403, "Guest access not allowed")
        bypass_spam_checker = await self.hs.auth.is_server_admin(requester)
        inviter = await self.get_inviter(target, room_id)
        if not bypass_spam_checker and not new_room:
            spam = await self._spam.user_may_join_room(target, room_id, inviter is not None)
            if spam != NOT_SPAM:
                raise self._spam.denial_error("user_may_join_room", spam)
        remote, hosts = await self.should_perform_remote_join(
            target, room_id, remote_room_hosts or [], content, host_in_room, state_ids
        )
        if remote:
            hosts = [h for h in hosts if h != self.hs.server_name]
            if not hosts:
                raise SynapseError(
                    404,
                    "Can't join remote room because no servers that are in the room have been provided.",
                )
            raise SynapseError(502, "Failed to make_join via any server")

    async def _before_remote_leave(self, target: str, room_id: str) -> Optional[List[str]]:
        membership, event_id = await self.store.get_local_current_membership(target, room_id)
        if not membership or not event_id:
            logger.info(
                "%s sent a leave request to %s, but that is not an active room on this "
                "server, or there is no pending invite or knock",
                target,
                room_id,
            )
            raise SynapseError(404, "Not a known room")
        if membership == "invite":
            room = await self.store.get_room_cache(room_id)
            if room is None or not room.extremities:
                return [event_id]
            return None
        raise SynapseError(502, "Failed to make_leave via any server")

    # ------------------------------------------------------------------ the event

    async def local_membership_update(
        self,
        requester: Requester,
        target: str,
        room_id: str,
        membership: str,
        content: JsonDict,
        *,
        txn_id: Optional[str] = None,
        prev_event_ids: Optional[List[str]] = None,
        depth: Optional[int] = None,
    ) -> Tuple[str, int]:
        """Build, check and send the membership event."""
        content["membership"] = membership
        if requester.is_guest:
            content["kind"] = "guest"
        events = self.hs.events
        if txn_id:
            existing = await events.get_event_from_transaction(requester, txn_id, room_id)
            if existing is not None:
                return existing.event_id, int(existing.internal_metadata.stream_ordering or 0)
        event, context = await events.create_event(
            requester,
            {
                "type": "m.room.member",
                "content": content,
                "room_id": room_id,
                "sender": requester.user_id,
                "state_key": target,
            },
            txn_id=txn_id,
            prev_event_ids=prev_event_ids,
            depth=depth,
        )
        result = await events.handle_new_client_event(requester, [(event, context)])
        return result.event_id, int(result.internal_metadata.stream_ordering or 0)

    # ------------------------------------------------------------------ aliases

    async def lookup_room_alias(self, room_alias: RoomAlias) -> Tuple[RoomID, List[str]]:
        """``(room ID, servers)`` an alias points to (its server first)."""
        mapping = await self.hs.directory.get_association(room_alias)
        if not mapping:
            raise SynapseError(404, "No such room alias")
        servers: List[str] = list(mapping["servers"])
        if room_alias.domain in servers:
            servers.remove(room_alias.domain)
            servers.insert(0, room_alias.domain)
        return RoomID.from_string(mapping["room_id"]), servers

    # ------------------------------------------------------------------ for other handlers

    async def forget(self, user_id: str, room_id: str) -> None:
        """``POST /rooms/{roomId}/forget``: only when left or banned (or never joined)."""
        member = await self.store.get_current_state_event(room_id, "m.room.member", user_id)
        membership = member.content.get("membership") if member is not None else None
        if membership is not None and membership not in ("leave", "ban"):
            raise SynapseError(400, "User %s in room %s" % (user_id, room_id))
        await self.store.forget(user_id, room_id)

    async def update_profile_in_joined_rooms(self, requester: Requester, user_id: str) -> None:
        """A new join event (with the new profile) in every room the user is joined to;
        each failure is logged, never raised (Synapse's ``_update_join_states``)."""
        for room_id in await self.store.get_rooms_for_user(user_id):
            try:
                await self.update_membership(requester, user_id, room_id, "join", ratelimit=False)
            except Exception as e:
                logger.warning("Failed to update join event for room %s - %s", room_id, e)

    async def leave_all_rooms(self, user_id: str) -> None:
        """Deactivation: reject pending invites and knocks, then leave (and forget) every
        joined room; each failure is logged and skipped (Synapse's
        ``_reject_pending_invites_and_knocks_for_user`` and ``_part_user``)."""
        requester = create_requester(user_id, authenticated_entity=self.hs.server_name)
        memberships = await self.store.get_rooms_for_user_with_membership(user_id)
        pending = [r for r, (m, _, _) in memberships.items() if m in ("invite", "knock")]
        joined = [r for r, (m, _, _) in memberships.items() if m == "join"]
        for room_id in pending + joined:
            try:
                await self.update_membership(requester, user_id, room_id, "leave", ratelimit=False)
                if room_id in joined:
                    await self.forget(user_id, room_id)
            except Exception:
                logger.exception("Failed to part user %r from room %r", user_id, room_id)
