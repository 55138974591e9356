"""Which room events a user may see, and their membership at each (Synapse's
``visibility.filter_and_transform_events_for_client``).

Rooms on the stand-in have a linear history, so the state after an event is the fold of
the room's state events up to the event's stream ordering; :class:`RoomStateHistory`
answers that from the room's state changes. The rules are Synapse's:

- dummy events and ``m.room.aliases`` are never shown; non-state events from users in
  the requester's ``m.ignored_user_list`` are dropped;
- events whose ID is in ``always_include_ids`` (current state) are shown;
- history visibility at the event (after it; a visibility change counts with the more
  permissive of its old and new values): ``world_readable``, or ``shared`` when not
  peeking, shows the event;
- otherwise the user's membership at the event decides: ``join`` shows it; ``joined``
  hides it; ``invited`` shows it to invitees; ``shared`` hides it from peekers; anything
  else shows it. For the user's own membership event the more privileged of the new and
  previous membership counts, and leaving after ``join``/``invite`` is always shown.

Not modelled: erased senders (Synapse shows them redacted to users not joined at the
time), room retention policies, outliers.
"""

from __future__ import annotations

import bisect
from typing import Any, Collection, Dict, List, Optional, Sequence, Tuple

from synapse_modhost.types import StateKey

__all__ = [
    "FilteredEvent",
    "RoomStateHistory",
    "StateKey",
    "filter_events_for_client",
    "load_room_history",
]

#: ``(event, the requester's membership after it)``
FilteredEvent = Tuple[Any, str]

_MEMBERSHIP_PRIORITY = ("join", "invite", "knock", "leave", "ban")
_VISIBILITY_PRIORITY = ("world_readable", "shared", "invited", "joined")
_HISTORY_KEY: StateKey = ("m.room.history_visibility", "")
_HIDDEN_TYPES = frozenset({"org.matrix.dummy_event", "m.room.aliases"})


def _stream(event: Any) -> int:
    return int(event.internal_metadata.stream_ordering or 0)


class RoomStateHistory:
    """A room's state events in stream order, answering "the state after position p"."""

    def __init__(self, changes: Sequence[Any]) -> None:
        ordered = sorted(changes, key=_stream)
        self._changes = ordered
        self._by_key: Dict[StateKey, Tuple[List[int], List[Any]]] = {}
        for event in ordered:
            positions, events = self._by_key.setdefault((event.type, event.state_key), ([], []))
            positions.append(_stream(event))
            events.append(event)

    def value_at(self, key: StateKey, position: int) -> Optional[Any]:
        """The state event for ``key`` after ``position`` (inclusive), or ``None``."""
        entry = self._by_key.get(key)
        if entry is None:
            return None
        positions, events = entry
        i = bisect.bisect_right(positions, position)
        return events[i - 1] if i else None

    def state_at(self, position: int) -> Dict[StateKey, Any]:
        """The whole state after ``position`` (inclusive), in stream order."""
        state: Dict[StateKey, Any] = {}
        for event in self._changes:
            if _stream(event) > position:
                break
            key = (event.type, event.state_key)
            state.pop(key, None)
            state[key] = event
        return state

    def membership_at(self, user_id: str, position: int) -> Optional[str]:
        event = self.value_at(("m.room.member", user_id), position)
        return None if event is None else event.membership


async def load_room_history(event_store: Any, room_id: str, upto: int) -> RoomStateHistory:
    """The state history of ``room_id`` up to stream position ``upto``."""
    changes = await event_store.get_state_changes_between(room_id, 0, upto)
    return RoomStateHistory(changes)


def _visibility_at(history: RoomStateHistory, position: int) -> str:
    event = history.value_at(_HISTORY_KEY, position)
    if event is None:
        return "shared"
    visibility = event.content.get("history_visibility", "shared")
    return visibility if visibility in _VISIBILITY_PRIORITY else "shared"


def _lax_visibility_allows(event: Any, visibility: str, is_peeking: bool) -> bool:
    if event.type == "m.room.history_visibility":
        prev_content = event.unsigned.get("prev_content", {}) or {}
        prev = prev_content.get("history_visibility")
        if prev not in _VISIBILITY_PRIORITY:
            prev = "shared"
        if _VISIBILITY_PRIORITY.index(prev) < _VISIBILITY_PRIORITY.index(visibility):
            visibility = prev
    if visibility == "shared" and not is_peeking:
        return True
    return visibility == "world_readable"


def _membership_allows(
    user_id: str, event: Any, visibility: str, history: RoomStateHistory, is_peeking: bool
) -> bool:
    membership: Optional[str] = None
    if event.type == "m.room.member" and event.state_key == user_id:
        membership = event.content.get("membership")
        if membership not in _MEMBERSHIP_PRIORITY:
            membership = "leave"
        prev_content = event.unsigned.get("prev_content", {}) or {}
        prev = prev_content.get("membership")
        if prev not in _MEMBERSHIP_PRIORITY:
            prev = "leave"
        if membership == "leave" and prev in ("join", "invite"):
            return True
        if _MEMBERSHIP_PRIORITY.index(prev) < _MEMBERSHIP_PRIORITY.index(membership):
            membership = prev
    if membership is None:
        membership = history.membership_at(user_id, _stream(event))
    if membership == "join":
        return True
    if visibility == "joined":
        return False
    if visibility == "invited":
        return membership == "invite"
    if visibility == "shared" and is_peeking:
        return False
    return True


def _membership_after(user_id: str, event: Any, history: RoomStateHistory) -> str:
    if event.type == "m.room.member" and event.state_key == user_id:
        return str(event.membership)
    return history.membership_at(user_id, _stream(event)) or "leave"


def filter_events_for_client(
    user_id: str,
    events: Sequence[Any],
    history: RoomStateHistory,
    *,
    is_peeking: bool = False,
    ignored_users: Collection[str] = (),
    always_include_ids: Collection[str] = (),
) -> List[FilteredEvent]:
    """The events of one room ``user_id`` may see, in order, each with the user's
    membership after it."""
    out: List[FilteredEvent] = []
    for event in events:
        if event.type in _HIDDEN_TYPES:
            continue
        if event.sender in ignored_users and not event.is_state():
            continue
        if event.event_id not in always_include_ids:
            visibility = _visibility_at(history, _stream(event))
            if not _lax_visibility_allows(event, visibility, is_peeking) and not _membership_allows(
                user_id, event, visibility, history, is_peeking
            ):
                continue
        out.append((event, _membership_after(user_id, event, history)))
    return out
