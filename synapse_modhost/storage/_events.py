"""``EventStore``: rooms' events, state and memberships, with in-memory caches.

The one place events are read and written (the sync machinery reads only through it).
Writes go through :meth:`EventStore.persist_events`: one transaction per call, stream
positions assigned in submission order (the engine runs interactions in that order), the
caches updated once the transaction has committed.

Caches: every room's current state IDs, room version and forward extremities (loaded
once per room, then kept up to date by writes), and an LRU of events. The current state
map of a room is replaced, never mutated, so a snapshot taken for one event stays valid.
"""

from __future__ import annotations

import collections
import logging
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
)

from twisted.internet import defer
from twisted.python.failure import Failure

from synapse_modhost.events import Event, RoomVersion
from synapse_modhost.events._room_versions import KNOWN_ROOM_VERSIONS
from synapse_modhost.storage._event_persist import (
    PersistRow,
    event_from_row,
    fetch_events_txn,
    load_room_txn,
    membership_rows_txn,
    persist_events_txn,
)
from synapse_modhost.storage._event_reads import EventReadsMixin
from synapse_modhost.storage._interface import DatabaseEngine
from synapse_modhost.storage._room_records import MembershipRecord, StateKey
from synapse_modhost.storage._rooms import RoomStore
from synapse_modhost.storage._transaction import LoggingTransaction

__all__ = ["EventStore", "RoomCache"]

logger = logging.getLogger(__name__)

#: events kept in memory
EVENT_CACHE_SIZE = 50_000


class RoomCache:
    """What the store keeps in memory about one room.

    ``state_ids`` is replaced on every state change (never mutated), so a reference to it
    is a consistent snapshot. ``extremities`` are ``(event_id, depth)`` pairs.
    """

    __slots__ = ("room_id", "room_version", "creator", "state_ids", "extremities")

    def __init__(
        self,
        room_id: str,
        room_version: RoomVersion,
        creator: Optional[str],
        state_ids: Dict[StateKey, str],
        extremities: List[Tuple[str, int]],
    ) -> None:
        self.room_id = room_id
        self.room_version = room_version
        self.creator = creator
        self.state_ids = state_ids
        self.extremities = extremities

    def max_depth(self) -> int:
        return max((d for _, d in self.extremities), default=0)


class EventStore(EventReadsMixin):
    """Events, state and memberships on a :class:`DatabaseEngine` (schema ``002_rooms``).

    ``server_name`` tells local users (whose memberships are indexed) from remote ones.
    ``rooms`` is the :class:`RoomStore` (rooms, aliases, the published list) on the same
    engine. All methods returning Deferreds (or coroutines) may be awaited from the
    reactor thread; :meth:`get_current_stream_position` is synchronous.
    """

    def __init__(self, engine: DatabaseEngine, server_name: str = "", clock: Any = None) -> None:
        self._engine = engine
        self._server_name = server_name
        self._clock = clock if clock is not None else engine.reactor
        self.rooms = RoomStore(engine, self)
        self._events: "collections.OrderedDict[str, Event]" = collections.OrderedDict()
        self._room_caches: Dict[str, RoomCache] = {}
        self._room_loads: Dict[str, List["defer.Deferred[Optional[RoomCache]]"]] = {}
        self._stream_pos = 0
        self._next_stream = 1
        self._loaded = False
        self._listeners: List[Callable[[Event, int], None]] = []
        self._persist_queue: List[Tuple[List[PersistRow], "defer.Deferred[List[Event]]"]] = []
        self._persisting = False
        #: (room, user, device) -> {txn_id: event_id}, for the keys read once
        self._txn_ids: Dict[Tuple[str, str, str], Dict[str, str]] = {}
        self._ready = engine.run_interaction("load_stream_position", _stream_position_txn)
        self._ready.addCallback(self._set_stream_position)

    # ------------------------------------------------------------------ stream

    def _set_stream_position(self, pos: int) -> None:
        self._stream_pos = pos
        self._next_stream = max(self._next_stream, pos + 1)
        self._loaded = True

    async def ready(self) -> None:
        """Wait until the stream position has been read from the database."""
        if not self._loaded:
            await self._ready

    def get_current_stream_position(self) -> int:
        """The highest stream position persisted (committed) so far."""
        return self._stream_pos

    def add_persist_listener(self, listener: Callable[[Event, int], None]) -> None:
        """Call ``listener(event, stream_ordering)`` after each persisted event (in order)."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------ rooms in memory

    def is_mine_id(self, string: str) -> bool:
        parts = string.split(":", 1)
        return len(parts) == 2 and parts[1] == self._server_name

    async def get_room_cache(self, room_id: str) -> Optional[RoomCache]:
        """The in-memory view of ``room_id`` (loaded on first use), or ``None``."""
        cache = self._room_caches.get(room_id)
        if cache is not None:
            return cache
        waiters = self._room_loads.get(room_id)
        if waiters is not None:
            waiter: "defer.Deferred[Optional[RoomCache]]" = defer.Deferred()
            waiters.append(waiter)
            return await waiter
        waiters = self._room_loads[room_id] = []
        try:
            loaded = await self._engine.run_interaction("load_room", load_room_txn, room_id)
            cache = self._room_loaded(loaded, room_id)
        except BaseException:
            failure = Failure()
            del self._room_loads[room_id]
            for waiter in waiters:
                waiter.errback(failure)
            raise
        del self._room_loads[room_id]
        for waiter in waiters:
            waiter.callback(cache)
        return cache

    def _room_loaded(self, loaded: Any, room_id: str) -> Optional[RoomCache]:
        if room_id in self._room_caches:
            return self._room_caches[room_id]
        if loaded is None:
            return None
        room, state, rows, extremities = loaded
        for row in rows:
            self._cache_event(event_from_row(row))
        cache = RoomCache(room_id, KNOWN_ROOM_VERSIONS[room[1]], room[2], state, extremities)
        self._room_caches[room_id] = cache
        return cache

    def cached_room(self, room_id: str) -> Optional[RoomCache]:
        """The room's cache if it is loaded (no I/O)."""
        return self._room_caches.get(room_id)

    def add_room_to_cache(self, room_id: str, room_version: RoomVersion, creator: Optional[str]) -> RoomCache:
        """Register a room just stored (no state, no events yet)."""
        cache = RoomCache(room_id, room_version, creator, {}, [])
        self._room_caches[room_id] = cache
        return cache

    def forget_room_cache(self, room_id: str) -> None:
        """Drop a purged room (and its events) from memory."""
        self._room_caches.pop(room_id, None)
        for key in [k for k in self._txn_ids if k[0] == room_id]:
            del self._txn_ids[key]
        for event_id in [e for e, ev in self._events.items() if ev.room_id == room_id]:
            del self._events[event_id]

    # ------------------------------------------------------------------ events

    def _cache_event(self, event: Event) -> None:
        events = self._events
        events[event.event_id] = event
        events.move_to_end(event.event_id)
        if len(events) > EVENT_CACHE_SIZE:
            events.popitem(last=False)

    def get_cached_event(self, event_id: str) -> Optional[Event]:
        """An event if it is in memory (no I/O)."""
        return self._events.get(event_id)

    async def get_event(self, event_id: str, redact: bool = True) -> Optional[Event]:
        """The event (pruned if redacted, unless ``redact`` is false), or ``None``."""
        found = await self.get_events([event_id], redact=redact)
        return found.get(event_id)

    async def get_events(
        self,
        event_ids: Iterable[str],
        redact: bool = True,
        get_prev_content: bool = False,
    ) -> Dict[str, Event]:
        """``{event_id: event}`` for the IDs that exist; each event's
        ``internal_metadata.stream_ordering`` is set. With ``get_prev_content``, state
        events that replaced another get ``unsigned.prev_content`` and ``prev_sender``."""
        ids = list(dict.fromkeys(event_ids))
        out: Dict[str, Event] = {}
        missing: List[str] = []
        for event_id in ids:
            event = self._events.get(event_id)
            if event is None or (not redact and event.internal_metadata.redacted_by):
                missing.append(event_id)
            else:
                out[event_id] = event
        if missing:
            rows = await self._engine.run_interaction("get_events", fetch_events_txn, missing)
            for row in rows:
                event = event_from_row(row, redact=redact)
                if redact:
                    self._cache_event(event)
                out[event.event_id] = event
        if get_prev_content:
            await self._add_prev_content(out.values())
        return {e: out[e] for e in ids if e in out}

    async def _add_prev_content(self, events: Iterable[Event]) -> None:
        wanted: Dict[str, List[Event]] = {}
        for event in events:
            if not event.is_state() or "prev_content" in event.unsigned:
                continue
            replaces = event.unsigned.get("replaces_state")
            if isinstance(replaces, str):
                wanted.setdefault(replaces, []).append(event)
        if not wanted:
            return
        previous = await self.get_events(wanted)
        for prev_id, targets in wanted.items():
            prev = previous.get(prev_id)
            if prev is None:
                continue
            for event in targets:
                event.unsigned["prev_content"] = prev.content.copy()
                event.unsigned["prev_sender"] = prev.sender

    # ------------------------------------------------------------------ state

    async def get_current_state_ids(self, room_id: str) -> Dict[StateKey, str]:
        """``{(type, state_key): event_id}``; ``{}`` for an unknown room."""
        cache = await self.get_room_cache(room_id)
        return dict(cache.state_ids) if cache is not None else {}

    async def get_current_state(self, room_id: str) -> Dict[StateKey, Event]:
        """``{(type, state_key): event}`` of the room's current state."""
        cache = await self.get_room_cache(room_id)
        if cache is None:
            return {}
        return await self.state_events_from_ids(cache.state_ids)

    async def state_events_from_ids(self, state_ids: Dict[StateKey, str]) -> Dict[StateKey, Event]:
        """The events of a state map (entries whose event is gone are left out)."""
        events = await self.get_events(state_ids.values())
        return {key: events[eid] for key, eid in state_ids.items() if eid in events}

    async def get_current_state_event(
        self, room_id: str, event_type: str, state_key: str = ""
    ) -> Optional[Event]:
        cache = await self.get_room_cache(room_id)
        if cache is None:
            return None
        event_id = cache.state_ids.get((event_type, state_key))
        return await self.get_event(event_id) if event_id else None

    async def get_room_version(self, room_id: str) -> Optional[RoomVersion]:
        cache = await self.get_room_cache(room_id)
        return cache.room_version if cache is not None else None

    # ------------------------------------------------------------------ memberships

    async def get_rooms_for_user_with_membership(
        self, user_id: str, include_forgotten: bool = False
    ) -> Dict[str, Tuple[str, str, int]]:
        """``{room_id: (membership, membership event_id, its stream_ordering)}`` for a local
        user, every membership (join, invite, leave, ban, knock); forgotten rooms are left
        out unless ``include_forgotten``."""
        rows = await self.get_memberships_for_user(user_id, include_forgotten)
        return {r.room_id: (r.membership, r.event_id, r.stream_ordering) for r in rows}

    def get_memberships_for_user(
        self, user_id: str, include_forgotten: bool = False
    ) -> "defer.Deferred[List[MembershipRecord]]":
        return self._engine.run_interaction(
            "get_memberships_for_user", membership_rows_txn, user_id, include_forgotten
        )

    async def get_rooms_for_user(self, user_id: str) -> List[str]:
        """The rooms a local user is joined to (in the order they joined)."""
        rows = await self.get_memberships_for_user(user_id)
        return [r.room_id for r in rows if r.membership == "join"]

    async def get_local_current_membership(
        self, user_id: str, room_id: str
    ) -> Tuple[Optional[str], Optional[str]]:
        """``(membership, event_id)`` of a local user in a room, ``(None, None)`` if none."""

        def txn_func(txn: LoggingTransaction) -> Tuple[Optional[str], Optional[str]]:
            txn.execute(
                "SELECT membership, event_id FROM local_current_membership "
                "WHERE user_id = ? AND room_id = ?",
                (user_id, room_id),
            )
            row = txn.fetchone()
            return (row[0], row[1]) if row else (None, None)

        return await self._engine.run_interaction("get_local_current_membership", txn_func)

    async def did_forget(self, user_id: str, room_id: str) -> bool:
        def txn_func(txn: LoggingTransaction) -> bool:
            txn.execute(
                "SELECT forgotten FROM local_current_membership WHERE user_id = ? AND room_id = ?",
                (user_id, room_id),
            )
            row = txn.fetchone()
            return bool(row and row[0])

        return await self._engine.run_interaction("did_forget", txn_func)

    def forget(self, user_id: str, room_id: str) -> "defer.Deferred[None]":
        """Mark a room forgotten for a user (``/forget``, shutdown)."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "UPDATE local_current_membership SET forgotten = 1 WHERE user_id = ? AND room_id = ?",
                (user_id, room_id),
            )

        return self._engine.run_interaction("forget", txn_func)

    async def get_local_users_related_to_room(self, room_id: str) -> List[Tuple[str, str]]:
        """``[(user_id, membership)]`` of local users with any membership in the room."""

        def txn_func(txn: LoggingTransaction) -> List[Tuple[str, str]]:
            txn.execute(
                "SELECT user_id, membership FROM local_current_membership WHERE room_id = ? "
                "ORDER BY stream_ordering",
                (room_id,),
            )
            return [(u, m) for u, m in txn.fetchall()]

        return await self._engine.run_interaction("get_local_users_related_to_room", txn_func)

    # ------------------------------------------------------------------ transactions

    async def get_event_id_for_txn(
        self, room_id: str, user_id: str, device: str, txn_id: str
    ) -> Optional[str]:
        """The event a (user, device, transaction ID) already sent in a room.

        The transaction IDs of a (room, user, device) are read from the database once,
        then kept in memory (every later write goes through this store).
        """
        key = (room_id, user_id, device)
        known = self._txn_ids.get(key)
        if known is None:

            def txn_func(txn: LoggingTransaction) -> Dict[str, str]:
                txn.execute(
                    "SELECT txn_id, event_id FROM events WHERE room_id = ? AND sender = ? "
                    "AND device_id = ? AND txn_id IS NOT NULL",
                    (room_id, user_id, device),
                )
                return {t: e for t, e in txn.fetchall()}

            loaded = await self._engine.run_interaction("get_event_ids_for_txns", txn_func)
            known = self._txn_ids.setdefault(key, {})
            for t, e in loaded.items():
                known.setdefault(t, e)
        return known.get(txn_id)

    # ------------------------------------------------------------------ writes

    async def persist_events(
        self, rows: Sequence[PersistRow], *, now_ms: int = 0
    ) -> List[Event]:
        """Write events and return them as persisted.

        Calls queue up (group commit): on a threaded engine with the reactor running the
        first call waits for the end of the reactor turn, so the batches of every request
        read in that turn share one transaction; while a write is in flight, the batches
        submitted meanwhile are written together in the next one. Each batch's events
        stay in order; on an inline engine (the test kit) a lone call is written at once.
        (So an interaction submitted in the same turn after a persist call, without
        awaiting it, runs before the write.) If the transaction fails, the batches are
        written again one by one, so one bad batch fails only its own caller; nothing
        after the commit (listeners, reading a duplicate back) can make a batch be
        written twice. Stream positions are assigned at write time, in submission order.
        An event identical to one already stored is not written again: the stored one is
        returned in its place. The room of every event must be loaded (it is, for events built by
        the handlers).
        """
        await self.ready()
        waiter: "defer.Deferred[List[Event]]" = defer.Deferred()
        self._persist_queue.append((list(rows), waiter))
        if not self._persisting:
            self._persisting = True
            engine = self._engine
            if engine.threaded and engine.running and getattr(engine.reactor, "running", False):
                # group commit: the writes that arrive in this reactor turn (requests
                # read from several connections at once) share one transaction
                engine.reactor.callLater(0, self._start_persist_loop)
            else:
                defer.ensureDeferred(self._persist_loop())
        return await waiter

    def _start_persist_loop(self) -> None:
        defer.ensureDeferred(self._persist_loop())

    async def _persist_loop(self) -> None:
        try:
            while self._persist_queue:
                queued, self._persist_queue = self._persist_queue, []
                try:
                    await self._write(queued)
                except Exception:
                    if len(queued) == 1:
                        queued[0][1].errback(Failure())
                        continue
                    # one bad batch must not fail the others: write each on its own
                    for item in queued:
                        try:
                            await self._write([item])
                        except Exception:
                            item[1].errback(Failure())
        finally:
            self._persisting = False

    async def _write(self, queued: List[Tuple[List[PersistRow], "defer.Deferred[List[Event]]"]]) -> None:
        rows = [row for batch, _ in queued for row in batch]
        extremities: Dict[str, List[Tuple[str, int]]] = {}
        for row in rows:
            row.stream_ordering = self._next_stream
            self._next_stream += 1
            event = row.event
            room = self._room_caches[event.room_id]
            extrems = extremities.get(event.room_id, room.extremities)
            prevs = set(event.prev_event_ids())
            extremities[event.room_id] = [x for x in extrems if x[0] not in prevs] + [
                (event.event_id, event.depth)
            ]
        # only this await may raise to _persist_loop (which then writes the batches one
        # by one): everything after it happens once the rows are committed
        stored_as = await self._engine.run_short_interaction(
            "persist_events", persist_events_txn, rows
        )
        #: rows kept out by an event already stored -> that event's ID
        duplicates = {
            id(row): other for row, other in zip(rows, stored_as, strict=True) if other is not None
        }
        for row in rows:
            if id(row) not in duplicates:
                row.event.internal_metadata.stream_ordering = row.stream_ordering
                self._apply_persisted(row)
        for room_id, extrems in extremities.items():
            cache = self._room_caches.get(room_id)
            if cache is not None:
                cache.extremities = extrems
        for row in rows:
            if id(row) not in duplicates:
                for listener in self._listeners:
                    try:
                        listener(row.event, row.stream_ordering)
                    except Exception:
                        logger.exception(
                            "persist listener %r failed on %s", listener, row.event.event_id
                        )
        for batch, waiter in queued:
            try:
                persisted: List[Event] = []
                for row in batch:
                    event = row.event
                    if id(row) in duplicates:
                        existing = await self.get_event(duplicates[id(row)])
                        assert existing is not None
                        event = existing
                    persisted.append(event)
            except Exception:
                waiter.errback(Failure())
            else:
                waiter.callback(persisted)

    def _apply_persisted(self, row: PersistRow) -> None:
        event = row.event
        self._cache_event(event)
        if row.txn_key is not None:
            user_id, device, txn_id = row.txn_key
            known = self._txn_ids.get((event.room_id, user_id, device))
            if known is not None:
                known.setdefault(txn_id, event.event_id)
        state_key = event.get_state_key()
        if state_key is not None:
            cache = self._room_caches.get(event.room_id)
            if cache is not None:
                new_state = dict(cache.state_ids)
                new_state[(event.type, state_key)] = event.event_id
                cache.state_ids = new_state
        if row.redacts is not None:
            # reloaded (pruned) on next use
            self._events.pop(row.redacts, None)
        if row.stream_ordering > self._stream_pos:
            self._stream_pos = row.stream_ordering


def _stream_position_txn(txn: LoggingTransaction) -> int:
    txn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
    row = txn.fetchone()
    if row is not None and row[0] is not None:
        return int(row[0])
    txn.execute("SELECT MAX(stream_ordering) FROM events")
    row = txn.fetchone()
    return int(row[0]) if row and row[0] is not None else 0

