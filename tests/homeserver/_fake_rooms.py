"""An in-memory stand-in for the rooms helper's ``EventStore`` (the read contract sync,
``/messages`` and the user directory use), with helpers to make rooms and send events.

Events are appended in stream order and the notifier is told about each one, as the
real event persistence does; state events get ``replaces_state``/``prev_content``/
``prev_sender`` in ``unsigned`` and every event ``age_ts``.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from synapse_modhost.events import Event, RoomVersions

StateKey = Tuple[str, str]


def stream_of(event: Event) -> int:
    """An event's stream ordering."""
    return int(event.internal_metadata.stream_ordering or 0)


_so = stream_of


class FakeRooms:
    """Rooms and events in memory; installed as ``hs.event_store``."""

    def __init__(self, hs: Any) -> None:
        self.hs = hs
        self.events: List[Event] = []
        self.by_id: Dict[str, Event] = {}
        self._rooms = 0

    @classmethod
    def install(cls, hs: Any) -> "FakeRooms":
        """Replace ``hs.event_store`` with a new fake."""
        fake = cls(hs)
        hs.__dict__["event_store"] = fake
        return fake

    # ------------------------------------------------------------------ writing

    def send(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: Dict[str, Any],
        state_key: Optional[str] = None,
        internal: Optional[Dict[str, Any]] = None,
        unsigned: Optional[Dict[str, Any]] = None,
    ) -> Event:
        """Append an event and notify."""
        position = len(self.events) + 1
        pdu: Dict[str, Any] = {
            "event_id": "$ev%d:test.local" % position,
            "room_id": room_id,
            "sender": sender,
            "type": event_type,
            "content": content,
            "origin_server_ts": self.hs.time_msec(),
            "depth": position,
            "prev_events": [],
            "auth_events": [],
            "hashes": {"sha256": "x"},
            "unsigned": dict(unsigned or {}, age_ts=self.hs.time_msec()),
        }
        if state_key is not None:
            pdu["state_key"] = state_key
            previous = self._state_at(room_id, position).get((event_type, state_key))
            if previous is not None:
                pdu["unsigned"]["replaces_state"] = previous.event_id
                pdu["unsigned"]["prev_content"] = dict(previous.content)
                pdu["unsigned"]["prev_sender"] = previous.sender
        event = Event(pdu, RoomVersions.V1, internal)
        event.internal_metadata.stream_ordering = position
        self.events.append(event)
        self.by_id[event.event_id] = event
        self.hs.notifier.on_new_room_event(event, position)
        return event

    def create_room(
        self,
        creator: str,
        join_rule: str = "invite",
        history_visibility: str = "shared",
        name: Optional[str] = None,
    ) -> str:
        self._rooms += 1
        room_id = "!room%d:test.local" % self._rooms
        self.send(room_id, creator, "m.room.create", {"room_version": "1"}, "")
        self.member(room_id, creator, creator, "join")
        self.send(room_id, creator, "m.room.join_rules", {"join_rule": join_rule}, "")
        self.send(
            room_id,
            creator,
            "m.room.history_visibility",
            {"history_visibility": history_visibility},
            "",
        )
        if name is not None:
            self.send(room_id, creator, "m.room.name", {"name": name}, "")
        return room_id

    def member(self, room_id: str, sender: str, target: str, membership: str) -> Event:
        return self.send(room_id, sender, "m.room.member", {"membership": membership}, target)

    def join(self, room_id: str, user_id: str) -> Event:
        return self.member(room_id, user_id, user_id, "join")

    def message(self, room_id: str, sender: str, body: str, **internal: Any) -> Event:
        return self.send(
            room_id, sender, "m.room.message", {"msgtype": "m.text", "body": body}, None, internal
        )

    # ------------------------------------------------------------------ the read contract

    def _room_events(self, room_id: str) -> List[Event]:
        return [e for e in self.events if e.room_id == room_id]

    def _state_at(self, room_id: str, position: int) -> Dict[StateKey, Event]:
        state: Dict[StateKey, Event] = {}
        for event in self._room_events(room_id):
            if _so(event) <= position and event.get_state_key() is not None:
                state[(event.type, event.state_key)] = event
        return state

    def get_current_stream_position(self) -> int:
        return len(self.events)

    async def get_event(self, event_id: str) -> Optional[Event]:
        return self.by_id.get(event_id)

    async def get_events(self, event_ids: Iterable[str]) -> Dict[str, Event]:
        return {e: self.by_id[e] for e in event_ids if e in self.by_id}

    async def get_current_state(self, room_id: str) -> Dict[StateKey, Event]:
        return self._state_at(room_id, len(self.events))

    async def get_current_state_ids(self, room_id: str) -> Dict[StateKey, str]:
        return {k: e.event_id for k, e in self._state_at(room_id, len(self.events)).items()}

    async def get_rooms_for_user_with_membership(
        self, user_id: str
    ) -> Dict[str, Tuple[str, str, int]]:
        out: Dict[str, Tuple[str, str, int]] = {}
        for event in self.events:
            if event.type == "m.room.member" and event.state_key == user_id:
                out[event.room_id] = (event.membership, event.event_id, _so(event))
        return out

    async def get_room_events_between(
        self, room_ids: Iterable[str], from_exclusive: int, to_inclusive: int, limit: int
    ) -> List[Event]:
        rooms = set(room_ids)
        found = [
            e for e in self.events if e.room_id in rooms and from_exclusive < _so(e) <= to_inclusive
        ]
        return found[-limit:]

    async def paginate_room_events(
        self,
        room_id: str,
        from_pos: int,
        direction: str,
        limit: int,
        to_pos: Optional[int] = None,
    ) -> Tuple[List[Event], int]:
        events = self._room_events(room_id)
        if direction == "b":
            page = [
                e
                for e in reversed(events)
                if _so(e) <= from_pos and (to_pos is None or _so(e) > to_pos)
            ][:limit]
            return page, (_so(page[-1]) - 1 if page else from_pos)
        page = [e for e in events if _so(e) > from_pos and (to_pos is None or _so(e) <= to_pos)][
            :limit
        ]
        return page, (_so(page[-1]) if page else from_pos)

    async def get_state_changes_between(
        self, room_id: str, from_exclusive: int, to_inclusive: int
    ) -> List[Event]:
        return [
            e
            for e in self._room_events(room_id)
            if e.get_state_key() is not None and from_exclusive < _so(e) <= to_inclusive
        ]
