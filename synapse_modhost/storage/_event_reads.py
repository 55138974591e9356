"""Stream and history reads of :class:`~._events.EventStore`: events between two stream
positions, pagination, and the state of a room at a stream position.

Stream positions are ``events.stream_ordering`` values. A room's history is linear on
this server (every event is local), so the state at a position is, for each
``(type, state_key)``, the last state event at or before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple

from synapse_modhost.events import Event
from synapse_modhost.storage._event_persist import EVENT_COLUMNS, event_from_row
from synapse_modhost.storage._room_records import StateKey
from synapse_modhost.storage._transaction import LoggingTransaction

if TYPE_CHECKING:
    from synapse_modhost.storage._interface import DatabaseEngine

__all__ = ["EventReadsMixin"]

_FROM = "FROM events e JOIN rooms r ON r.room_id = e.room_id"


class EventReadsMixin:
    """Reads by stream position (mixed into ``EventStore``)."""

    _engine: "DatabaseEngine"

    async def get_events(
        self, event_ids: Iterable[str], redact: bool = True, get_prev_content: bool = False
    ) -> Dict[str, Event]:
        raise NotImplementedError  # provided by EventStore

    def _cache_event(self, event: Event) -> None:
        raise NotImplementedError  # provided by EventStore

    def get_cached_event(self, event_id: str) -> Optional[Event]:
        raise NotImplementedError  # provided by EventStore

    async def _add_prev_content(self, events: Iterable[Event]) -> None:
        raise NotImplementedError  # provided by EventStore

    async def _rows_to_events(self, rows: Sequence[Tuple[Any, ...]]) -> List[Event]:
        """Events for rows (the cached objects where there are some), with
        ``prev_content`` filled in for state events."""
        events: List[Event] = []
        for row in rows:
            event = self.get_cached_event(row[1])
            if event is None:
                event = event_from_row(row)
                self._cache_event(event)
            events.append(event)
        await self._add_prev_content(events)
        return events

    async def get_room_events_between(
        self,
        room_ids: Iterable[str],
        from_pos_exclusive: int,
        to_pos_inclusive: int,
        limit: Optional[int] = None,
    ) -> List[Event]:
        """Events of ``room_ids`` with ``from < stream_ordering <= to``, ascending.

        With ``limit``, the **newest** ``limit`` events of the range (what a sync
        timeline shows), still in ascending order.
        """
        ids = list(room_ids)
        if not ids or to_pos_inclusive <= from_pos_exclusive:
            return []

        def txn_func(txn: LoggingTransaction) -> List[Tuple[Any, ...]]:
            marks = ",".join("?" * len(ids))
            sql = (
                f"SELECT {EVENT_COLUMNS} {_FROM} WHERE e.room_id IN ({marks}) "
                "AND e.stream_ordering > ? AND e.stream_ordering <= ? "
                "ORDER BY e.stream_ordering DESC"
            )
            args: List[Any] = [*ids, from_pos_exclusive, to_pos_inclusive]
            if limit is not None:
                sql += " LIMIT ?"
                args.append(limit)
            txn.execute(sql, args)
            return list(reversed(txn.fetchall()))

        rows = await self._engine.run_interaction("get_room_events_between", txn_func)
        return await self._rows_to_events(rows)

    async def paginate_room_events(
        self,
        room_id: str,
        from_pos: int,
        direction: str,
        limit: int,
        to_pos: Optional[int] = None,
    ) -> Tuple[List[Event], int]:
        """A page of a room's events from a position, and the position to continue from.

        A position sits *after* the event with that stream ordering:

        - ``direction="b"``: events with ``stream_ordering <= from_pos`` (and ``> to_pos``
          when given), newest first; continue from ``oldest returned - 1``;
        - ``direction="f"``: events with ``stream_ordering > from_pos`` (and ``<= to_pos``
          when given), oldest first; continue from ``newest returned``.

        With no event left, the returned position is ``from_pos`` (or ``to_pos`` when
        that bounds the page).
        """
        if direction not in ("b", "f"):
            raise ValueError("direction must be 'b' or 'f', not %r" % (direction,))

        def txn_func(txn: LoggingTransaction) -> List[Tuple[Any, ...]]:
            if direction == "b":
                sql = f"SELECT {EVENT_COLUMNS} {_FROM} WHERE e.room_id = ? AND e.stream_ordering <= ?"
                args: List[Any] = [room_id, from_pos]
                if to_pos is not None:
                    sql += " AND e.stream_ordering > ?"
                    args.append(to_pos)
                sql += " ORDER BY e.stream_ordering DESC LIMIT ?"
            else:
                sql = f"SELECT {EVENT_COLUMNS} {_FROM} WHERE e.room_id = ? AND e.stream_ordering > ?"
                args = [room_id, from_pos]
                if to_pos is not None:
                    sql += " AND e.stream_ordering <= ?"
                    args.append(to_pos)
                sql += " ORDER BY e.stream_ordering ASC LIMIT ?"
            args.append(limit)
            txn.execute(sql, args)
            return txn.fetchall()

        rows = await self._engine.run_interaction("paginate_room_events", txn_func)
        events = await self._rows_to_events(rows)
        if not rows:
            if to_pos is not None and limit > 0:
                return events, to_pos
            return events, from_pos
        last = int(rows[-1][0])
        return events, (last - 1 if direction == "b" else last)

    async def get_state_changes_between(
        self, room_id: str, from_pos_exclusive: int, to_pos_inclusive: int
    ) -> List[Event]:
        """The state events of a room with ``from < stream_ordering <= to``, ascending."""

        def txn_func(txn: LoggingTransaction) -> List[Tuple[Any, ...]]:
            txn.execute(
                f"SELECT {EVENT_COLUMNS} {_FROM} WHERE e.room_id = ? AND e.state_key IS NOT NULL "
                "AND e.stream_ordering > ? AND e.stream_ordering <= ? ORDER BY e.stream_ordering",
                (room_id, from_pos_exclusive, to_pos_inclusive),
            )
            return txn.fetchall()

        rows = await self._engine.run_interaction("get_state_changes_between", txn_func)
        return await self._rows_to_events(rows)

    async def get_state_ids_at(self, room_id: str, stream_pos: int) -> Dict[StateKey, str]:
        """The room's state right after the event at ``stream_pos`` (state IDs)."""

        def txn_func(txn: LoggingTransaction) -> Dict[StateKey, str]:
            txn.execute(
                "SELECT type, state_key, event_id, MAX(stream_ordering) FROM events "
                "WHERE room_id = ? AND state_key IS NOT NULL AND stream_ordering <= ? "
                "GROUP BY type, state_key",
                (room_id, stream_pos),
            )
            return {(t, k): e for t, k, e, _ in txn.fetchall()}

        return await self._engine.run_interaction("get_state_ids_at", txn_func)

    async def get_state_at(self, room_id: str, stream_pos: int) -> Dict[StateKey, Event]:
        """The room's state right after the event at ``stream_pos`` (events)."""
        state_ids = await self.get_state_ids_at(room_id, stream_pos)
        events = await self.get_events(state_ids.values())
        return {key: events[eid] for key, eid in state_ids.items() if eid in events}

    async def get_last_stream_ordering_in_room(
        self, room_id: str, at_or_before: Optional[int] = None
    ) -> Optional[int]:
        """The stream position of the room's last event (at or before a position)."""

        def txn_func(txn: LoggingTransaction) -> Optional[int]:
            if at_or_before is None:
                txn.execute("SELECT MAX(stream_ordering) FROM events WHERE room_id = ?", (room_id,))
            else:
                txn.execute(
                    "SELECT MAX(stream_ordering) FROM events WHERE room_id = ? AND stream_ordering <= ?",
                    (room_id, at_or_before),
                )
            row = txn.fetchone()
            return int(row[0]) if row and row[0] is not None else None

        return await self._engine.run_interaction("get_last_stream_ordering_in_room", txn_func)
