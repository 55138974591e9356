"""Room facts the membership handler decides on: is this server in the room, who invited
a user, can guests join, and restricted joins (MSC3083) — Synapse's
``_should_perform_remote_join`` for rooms this server is in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from synapse_modhost.events import Event
from synapse_modhost.homeserver.handlers import _event_auth as event_auth

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["MembershipRules"]

StateIds = Dict[Tuple[str, str], str]


class MembershipRules:
    """Helpers mixed into the membership handler."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.event_store

    async def is_host_in_room(self, state_ids: StateIds) -> bool:
        """A local user is joined (or the room is being created: only its create event)."""
        if len(state_ids) == 1 and ("m.room.create", "") in state_ids:
            return True
        for (event_type, state_key), event_id in state_ids.items():
            if event_type != "m.room.member" or not self.hs.is_mine_id(state_key):
                continue
            event = await self.store.get_event(event_id)
            if event is not None and event.content.get("membership") == "join":
                return True
        return False

    async def get_inviter(self, user_id: str, room_id: str) -> Optional[str]:
        """Who invited a local user, when their current membership is an invite."""
        membership, event_id = await self.store.get_local_current_membership(user_id, room_id)
        if membership == "invite" and event_id:
            invite = await self.store.get_event(event_id)
            if invite is not None:
                return invite.sender
        return None

    async def _can_guest_join(self, state_ids: StateIds) -> bool:
        event_id = state_ids.get(("m.room.guest_access", ""))
        if not event_id:
            return False
        event = await self.store.get_event(event_id)
        return bool(event is not None and event.content.get("guest_access") == "can_join")

    async def _state_events(self, state_ids: StateIds) -> Dict[Tuple[str, str], Event]:
        return await self.store.state_events_from_ids(state_ids)

    async def should_perform_remote_join(
        self,
        user_id: str,
        room_id: str,
        remote_room_hosts: List[str],
        content: Dict[str, Any],
        host_in_room: bool,
        state_ids: StateIds,
    ) -> Tuple[bool, List[str]]:
        """``(remote join needed, servers to try)``; for a local restricted join that is
        allowed, sets ``join_authorised_via_users_server`` in ``content``."""
        if not host_in_room:
            return True, remote_room_hosts
        prev_id = state_ids.get(("m.room.member", user_id))
        prev = await self.store.get_event(prev_id) if prev_id else None
        previous_membership = prev.content.get("membership") if prev is not None else None
        room = await self.store.get_room_cache(room_id)
        if room is None or not room.room_version.restricted_join_rule:
            return False, []
        state = await self._state_events(state_ids)
        join_rules = state.get(("m.room.join_rules", ""))
        rule = join_rules.content.get("join_rule") if join_rules is not None else None
        restricted = rule == "restricted" or (
            room.room_version.knock_restricted_join_rule and rule == "knock_restricted"
        )
        if not restricted or previous_membership in ("join", "invite"):
            return False, []
        inviters = self._users_which_can_invite(state)
        if not any(self.hs.is_mine_id(u) for u in inviters):
            return True, sorted({u.split(":", 1)[1] for u in inviters})
        allowed_rooms = self._allowed_rooms(join_rules)
        joined = await self.store.get_rooms_for_user(user_id)
        if not set(allowed_rooms) & set(joined):
            return True, []
        content["join_authorised_via_users_server"] = next(
            u for u in inviters if self.hs.is_mine_id(u)
        )
        return False, []

    @staticmethod
    def _allowed_rooms(join_rules: Optional[Event]) -> List[str]:
        allow = join_rules.content.get("allow", []) if join_rules is not None else []
        if not isinstance(allow, list):
            return []
        return [
            a["room_id"]
            for a in allow
            if isinstance(a, dict)
            and a.get("type") == "m.room_membership"
            and isinstance(a.get("room_id"), str)
        ]

    @staticmethod
    def _users_which_can_invite(state: Dict[Tuple[str, str], Event]) -> List[str]:
        invite_level = event_auth.get_named_level(state, "invite", 0)
        out = []
        for (event_type, state_key), event in state.items():
            if event_type != "m.room.member" or event.content.get("membership") != "join":
                continue
            if event_auth.get_user_power_level(state_key, state) >= invite_level:
                out.append(state_key)
        return out
