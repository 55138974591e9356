"""``RoomStateHandler``: reading a room as a client may (``GET .../state``, ``.../members``,
``.../joined_members``, ``.../event/{eventId}``), with Synapse 1.163's access rules
(``handlers/message.py``, ``api/auth/base.py``).

A current member sees the current state; a user who left (and did not forget the room)
sees the state as it was when they left; anyone sees a ``world_readable`` room; the rest
get 403 "User … not in room …, and room previews are disabled".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, SynapseError
from synapse_modhost.events import Event
from synapse_modhost.homeserver.handlers._serialize import serialize_events_for_client
from synapse_modhost.types import Requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["RoomStateHandler", "get_state_handler"]

JsonDict = Dict[str, Any]
StateKey = Tuple[str, str]


def get_state_handler(hs: "HomeServer") -> "RoomStateHandler":
    """The host's one ``RoomStateHandler`` (built on first use)."""
    handler = hs.__dict__.get("_room_state_handler")
    if handler is None:
        handler = hs.__dict__["_room_state_handler"] = RoomStateHandler(hs)
    return handler


class RoomStateHandler:
    """Room reads with membership checks."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.event_store

    # ------------------------------------------------------------------ access

    async def check_user_in_room(
        self, room_id: str, requester: Requester, allow_departed_users: bool = False
    ) -> Tuple[str, Optional[str]]:
        """``(membership, membership event ID)``: joined, or left (and not forgotten)
        when ``allow_departed_users``; else 403 "User … not in room …"."""
        user_id = requester.user_id
        membership, event_id = await self.store.get_local_current_membership(user_id, room_id)
        if membership == "join":
            return membership, event_id
        if membership == "leave" and allow_departed_users:
            if not await self.store.did_forget(user_id, room_id):
                return membership, event_id
        raise AuthError(403, "User %s not in room %s" % (user_id, room_id))

    async def check_user_in_room_or_world_readable(
        self, room_id: str, requester: Requester, allow_departed_users: bool = False
    ) -> Tuple[str, Optional[str]]:
        """As :meth:`check_user_in_room`, or ``("join", None)`` for a world-readable room."""
        try:
            return await self.check_user_in_room(room_id, requester, allow_departed_users)
        except AuthError:
            visibility = await self.store.get_current_state_event(
                room_id, "m.room.history_visibility", ""
            )
            if visibility is not None and visibility.content.get("history_visibility") == "world_readable":
                return "join", None
            raise AuthError(
                403,
                "User %s not in room %s, and room previews are disabled" % (requester.user_id, room_id),
            ) from None

    async def _visible_state(
        self, requester: Requester, room_id: str
    ) -> Dict[StateKey, Event]:
        membership, event_id = await self.check_user_in_room_or_world_readable(
            room_id, requester, allow_departed_users=True
        )
        if membership == "join":
            return await self.store.get_current_state(room_id)
        assert event_id is not None
        event = await self.store.get_event(event_id)
        if event is None or event.internal_metadata.stream_ordering is None:
            return {}
        return await self.store.get_state_at(room_id, event.internal_metadata.stream_ordering)

    # ------------------------------------------------------------------ reads

    async def get_state_events(
        self, requester: Requester, room_id: str, types: Optional[Iterable[Tuple[str, Optional[str]]]] = None
    ) -> List[JsonDict]:
        """``GET /rooms/{roomId}/state`` (client format), optionally filtered by type and
        state key (``None`` for any state key)."""
        state = await self._visible_state(requester, room_id)
        events = list(state.values())
        if types is not None:
            wanted = list(types)
            events = [
                e for e in events if any(e.type == t and (k is None or e.state_key == k) for t, k in wanted)
            ]
        return await serialize_events_for_client(self.hs, events, requester)

    async def get_room_data(
        self, requester: Requester, room_id: str, event_type: str, state_key: str
    ) -> Optional[Event]:
        """One state event as the requester may see it (``None`` if there is none)."""
        state = await self._visible_state(requester, room_id)
        return state.get((event_type, state_key))

    async def get_members(
        self,
        requester: Requester,
        room_id: str,
        membership: Optional[str] = None,
        not_membership: Optional[str] = None,
    ) -> List[JsonDict]:
        """``GET /rooms/{roomId}/members`` chunk."""
        state = await self._visible_state(requester, room_id)
        chunk = []
        for (event_type, _), event in state.items():
            if event_type != "m.room.member":
                continue
            value = event.content.get("membership")
            if (membership and value != membership) or (not_membership and value == not_membership):
                continue
            chunk.append(event)
        return await serialize_events_for_client(self.hs, chunk, requester)

    async def get_joined_members(self, requester: Requester, room_id: str) -> JsonDict:
        """``GET /rooms/{roomId}/joined_members``: ``{user_id: {avatar_url, display_name}}``."""
        if requester.app_service_id is None:
            membership, _ = await self.check_user_in_room_or_world_readable(
                room_id, requester, allow_departed_users=True
            )
            if membership != "join":
                raise SynapseError(
                    403,
                    "Getting joined members while not being a current member of the room is forbidden.",
                    Codes.FORBIDDEN,
                )
        state = await self.store.get_current_state(room_id)
        joined: JsonDict = {}
        for (event_type, state_key), event in state.items():
            if event_type == "m.room.member" and event.content.get("membership") == "join":
                joined[state_key] = {
                    "avatar_url": event.content.get("avatar_url"),
                    "display_name": event.content.get("displayname"),
                }
        return joined

    async def get_event_for_client(self, requester: Requester, room_id: str, event_id: str) -> JsonDict:
        """``GET /rooms/{roomId}/event/{eventId}``; 404 "Event not found." when it is
        not in the room or the requester may not see it."""
        from synapse_modhost.homeserver.handlers._visibility import (
            filter_events_for_client,
            load_room_history,
        )

        not_found = SynapseError(404, "Event not found.", Codes.NOT_FOUND)
        event = await self.store.get_event(event_id)
        if event is None or event.room_id != room_id:
            raise not_found
        position = int(event.internal_metadata.stream_ordering or 0)
        membership, _ = await self.store.get_local_current_membership(requester.user_id, room_id)
        history = await load_room_history(self.store, room_id, position)
        filtered = filter_events_for_client(
            requester.user_id, [event], history, is_peeking=membership != "join"
        )
        if not filtered:
            raise not_found
        shown, member_after = filtered[0]
        serialized = await serialize_events_for_client(
            self.hs, [shown], requester, memberships={shown.event_id: member_after}
        )
        return serialized[0]
