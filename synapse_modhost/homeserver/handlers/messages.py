"""``GET /rooms/{roomId}/messages`` and ``GET /rooms/{roomId}/context/{eventId}``.

Pagination positions are stream orderings (see ``notifier.StreamToken``): backwards
from position ``p`` gives the events at or before ``p``, newest first, and the next
token is just before the last one; forwards gives the events after ``p``, oldest first,
and the next token is the last one. Tokens are written ``t<depth>-<stream>`` when an
event gives the depth, as Synapse's ``/messages`` tokens look; only the stream part is
read back. Without ``from``, forwards starts at the beginning (``s0_...``) and
backwards at the room's latest position.

Access is Synapse's: members, and past members up to their leave (backwards pagination
is moved back to the leave event), may read; anyone may read a ``world_readable`` room
(as a peeker); others get 403 "User <id> not in room <room>, and room previews are
disabled". Events pass the visibility rules, carry ``unsigned.membership`` and are in
Synapse's default (v1) client format, or raw with ``raw`` / a ``federation`` filter.

Differences: the ``filter`` is applied after a page is read, so a filtered page may hold
fewer than ``limit`` events while more exist (Synapse filters in the query).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from synapse_modhost.errors import AuthError, SynapseError
from synapse_modhost.homeserver.handlers._filtering import EventFilter
from synapse_modhost.homeserver.handlers._serialize import serialize_events_for_client
from synapse_modhost.homeserver.handlers._visibility import (
    FilteredEvent,
    _stream,
    filter_events_for_client,
    load_room_history,
)
from synapse_modhost.homeserver.handlers.notifier import StreamToken
from synapse_modhost.types import Requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["MessageHandler"]

JsonDict = Dict[str, Any]


class MessageHandler:
    """Reads a room's history for a client."""

    def __init__(self, hs: "HomeServer") -> None:
        self._hs = hs

    async def check_user_in_room_or_world_readable(
        self, room_id: str, requester: Requester
    ) -> Tuple[str, Optional[str]]:
        """``(membership, membership event ID)`` for members and past members; ``("join",
        None)`` for anyone when the room is world readable; else 403."""
        user_id = requester.user.to_string()
        rooms = await self._hs.event_store.get_rooms_for_user_with_membership(user_id)
        entry = rooms.get(room_id)
        if entry is not None and entry[0] in ("join", "leave"):
            return entry[0], entry[1]
        state = await self._hs.event_store.get_current_state(room_id)
        visibility = state.get(("m.room.history_visibility", ""))
        if (
            visibility is not None
            and visibility.content.get("history_visibility") == "world_readable"
        ):
            return "join", None
        raise AuthError(
            403, "User %s not in room %s, and room previews are disabled" % (user_id, room_id)
        )

    async def get_messages(
        self,
        requester: Requester,
        room_id: str,
        *,
        from_token: Optional[StreamToken],
        to_token: Optional[StreamToken],
        direction: str,
        limit: int,
        event_filter: Optional[EventFilter] = None,
        as_client_event: bool = True,
    ) -> JsonDict:
        """The ``/messages`` response body."""
        store = self._hs.event_store
        if from_token is None:
            if direction == "f":
                from_token = StreamToken()
            else:
                from_token = await self._current_token_for_pagination(room_id)
        membership, member_event_id = await self.check_user_in_room_or_world_readable(
            room_id, requester
        )
        if direction == "b" and membership == "leave" and member_event_id is not None:
            leave = await store.get_event(member_event_id)
            if leave is not None and _stream(leave) < from_token.room:
                from_token = from_token.copy_and_replace_room(_stream(leave), leave.depth)

        events, _ = await store.paginate_room_events(
            room_id,
            from_token.room,
            direction,
            limit,
            to_pos=to_token.room if to_token is not None else None,
        )
        response: JsonDict = {"chunk": [], "start": from_token.to_string()}
        if not events:
            return response
        response["end"] = self._next_token(from_token, events, direction).to_string()
        if event_filter is not None:
            events = event_filter.filter(events)
        history = await load_room_history(
            store, room_id, max(_stream(e) for e in events) if events else 0
        )
        visible = filter_events_for_client(
            requester.user.to_string(), events, history, is_peeking=member_event_id is None
        )
        if not visible:
            return response
        response["chunk"] = await self._serialize(requester, visible, as_client_event)
        if event_filter is not None and event_filter.lazy_load_members:
            senders = {e.sender for e, _ in visible}
            state = history.state_at(_stream(visible[0][0]))
            members = [e for k, e in state.items() if k[0] == "m.room.member" and k[1] in senders]
            response["state"] = await serialize_events_for_client(
                self._hs, members, requester, as_client_event=as_client_event
            )
        return response

    async def get_event_context(
        self,
        requester: Requester,
        room_id: str,
        event_id: str,
        limit: int,
        event_filter: Optional[EventFilter] = None,
    ) -> JsonDict:
        """The ``/context`` response body (``limit`` split half before, half after)."""
        store = self._hs.event_store
        user_id = requester.user.to_string()
        before_limit = limit // 2
        after_limit = limit - before_limit
        rooms = await store.get_rooms_for_user_with_membership(user_id)
        is_peeking = rooms.get(room_id, ("leave",))[0] != "join"
        event = await store.get_event(event_id)
        if event is None or event.room_id != room_id:
            raise SynapseError(404, "Event not found.", errcode="M_NOT_FOUND")
        position = _stream(event)
        before, _ = await store.paginate_room_events(room_id, position - 1, "b", before_limit)
        after, _ = await store.paginate_room_events(room_id, position, "f", after_limit)
        upto = max([position] + [_stream(e) for e in after])
        history = await load_room_history(store, room_id, upto)

        def visible(events: List[Any]) -> List[FilteredEvent]:
            return filter_events_for_client(user_id, events, history, is_peeking=is_peeking)

        target = visible([event])
        if not target:
            raise AuthError(403, "You don't have permission to access that event.")
        if event_filter is not None:
            before, after = event_filter.filter(before), event_filter.filter(after)
        shown_before, shown_after = visible(before), visible(after)
        last = shown_after[-1][0] if shown_after else event
        state = list(history.state_at(_stream(last)).values())
        if event_filter is not None:
            if event_filter.lazy_load_members:
                senders = {e.sender for e, _ in shown_before + target + shown_after}
                state = [s for s in state if s.type != "m.room.member" or s.state_key in senders]
            state = event_filter.filter(state)
        start = (
            StreamToken(room=_stream(before[-1]) - 1, topological=before[-1].depth)
            if before
            else StreamToken(room=position - 1, topological=event.depth - 1)
        )
        end = (
            StreamToken(room=_stream(after[-1]), topological=after[-1].depth)
            if after
            else StreamToken(room=position, topological=event.depth)
        )
        return {
            "events_before": await self._serialize(requester, shown_before, True),
            "event": (await self._serialize(requester, target, True))[0],
            "events_after": await self._serialize(requester, shown_after, True),
            "state": await serialize_events_for_client(self._hs, state, requester),
            "start": start.to_string(),
            "end": end.to_string(),
        }

    # ------------------------------------------------------------------ helpers

    async def _serialize(
        self, requester: Requester, events: List[FilteredEvent], as_client_event: bool
    ) -> List[JsonDict]:
        return await serialize_events_for_client(
            self._hs,
            [e for e, _ in events],
            requester,
            as_client_event=as_client_event,
            memberships={e.event_id: m for e, m in events},
        )

    async def _current_token_for_pagination(self, room_id: str) -> StreamToken:
        now = await self._hs.notifier.get_current_token()
        latest, _ = await self._hs.event_store.paginate_room_events(room_id, now.room, "b", 1)
        depth = latest[0].depth if latest else 0
        return StreamToken(room=now.room, topological=depth)

    @staticmethod
    def _next_token(from_token: StreamToken, events: List[Any], direction: str) -> StreamToken:
        last = events[-1]
        if direction == "b":
            return from_token.copy_and_replace_room(_stream(last) - 1, last.depth)
        return from_token.copy_and_replace_room(_stream(last), last.depth)
