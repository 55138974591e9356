"""``EventStore.persist_events``: on a threaded engine the writes of one reactor turn
share one transaction (group commit); inline, each is written at once."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Set, Tuple

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.events import KNOWN_ROOM_VERSIONS
from synapse_modhost.storage import EventStore, PersistRow
from synapse_modhost.testing import make_event

ROOM = "!room:test.local"


class _RecordingEngine:
    """Just enough of a DatabaseEngine: records each persist transaction's rows."""

    running = True

    def __init__(self, threaded: bool, reactor_running: bool = True) -> None:
        self.threaded = threaded
        self.reactor = MemoryReactorClock()
        self.reactor.running = reactor_running
        self.writes: List[List[str]] = []
        #: event ids whose transaction fails
        self.bad: Set[str] = set()

    def run_interaction(self, desc: str, func: Any, *args: Any, **kwargs: Any) -> "defer.Deferred[Any]":
        assert desc == "load_stream_position", desc
        return defer.succeed(0)

    def run_short_interaction(
        self, desc: str, func: Any, rows: Sequence[PersistRow]
    ) -> "defer.Deferred[List[Optional[str]]]":
        ids = [row.event.event_id for row in rows]
        self.writes.append(ids)
        if self.bad.intersection(ids):
            return defer.fail(ValueError("bad row"))
        # as persist_events_txn: a row whose event is already written is kept out
        return defer.succeed([i if i in ids[:n] else None for n, i in enumerate(ids)])


def _row(n: int) -> PersistRow:
    event = make_event(room_id=ROOM, content={"msgtype": "m.text", "body": str(n)}, event_id="$event%d" % n)
    return PersistRow(stream_ordering=0, event=event)  # type: ignore[arg-type]


class GroupCommitTests(SynchronousTestCase):
    """Writes queued in one reactor turn are committed together, in order."""

    def _store(self, threaded: bool, reactor_running: bool = True) -> Tuple[EventStore, _RecordingEngine]:
        engine = _RecordingEngine(threaded, reactor_running)
        store = EventStore(engine, "test.local")  # type: ignore[arg-type]
        store.add_room_to_cache(ROOM, KNOWN_ROOM_VERSIONS["10"], "@alice:test.local")
        return store, engine

    def test_threaded_writes_of_one_turn_share_a_transaction(self) -> None:
        """Two persist calls before the reactor turns end in one transaction, each caller getting its own events."""
        store, engine = self._store(threaded=True)
        first, second = _row(1), _row(2)
        d1 = defer.ensureDeferred(store.persist_events([first]))
        d2 = defer.ensureDeferred(store.persist_events([second]))
        self.assertEqual(engine.writes, [])
        engine.reactor.advance(0)
        self.assertEqual(engine.writes, [[first.event.event_id, second.event.event_id]])
        self.assertEqual(self.successResultOf(d1), [first.event])
        self.assertEqual(self.successResultOf(d2), [second.event])
        self.assertEqual((first.stream_ordering, second.stream_ordering), (1, 2))

    def test_inline_writes_at_once(self) -> None:
        """On an inline engine (the test kit) each persist call is written before it returns."""
        store, engine = self._store(threaded=False)
        first, second = _row(1), _row(2)
        d1 = defer.ensureDeferred(store.persist_events([first]))
        self.assertEqual(self.successResultOf(d1), [first.event])
        d2 = defer.ensureDeferred(store.persist_events([second]))
        self.assertEqual(self.successResultOf(d2), [second.event])
        self.assertEqual(engine.writes, [[first.event.event_id], [second.event.event_id]])

    def test_reactor_not_running_writes_at_once(self) -> None:
        """With the reactor not running (shutting down, or never started) a threaded engine writes at once."""
        store, engine = self._store(threaded=True, reactor_running=False)
        row = _row(1)
        d = defer.ensureDeferred(store.persist_events([row]))
        self.assertEqual(self.successResultOf(d), [row.event])
        self.assertEqual(engine.writes, [[row.event.event_id]])

    def test_failed_group_written_again_one_by_one(self) -> None:
        """When a shared transaction fails, each batch is written on its own: only the bad one fails."""
        store, engine = self._store(threaded=True)
        good, bad = _row(1), _row(2)
        engine.bad.add(bad.event.event_id)
        d_good = defer.ensureDeferred(store.persist_events([good]))
        d_bad = defer.ensureDeferred(store.persist_events([bad]))
        engine.reactor.advance(0)
        self.assertEqual(self.successResultOf(d_good), [good.event])
        self.failureResultOf(d_bad, ValueError)
        self.assertEqual(
            engine.writes,
            [[good.event.event_id, bad.event.event_id], [good.event.event_id], [bad.event.event_id]],
        )

    def test_listener_error_does_not_rewrite(self) -> None:
        """A persist listener that raises is logged; the batch is not written again and its caller gets its events."""
        store, engine = self._store(threaded=False)

        def broken(event: Any, stream: int) -> None:
            raise RuntimeError("listener")

        store.add_persist_listener(broken)
        row = _row(1)
        with self.assertLogs("synapse_modhost.storage._events", "ERROR"):
            d = defer.ensureDeferred(store.persist_events([row]))
        self.assertEqual(self.successResultOf(d), [row.event])
        self.assertEqual(engine.writes, [[row.event.event_id]])

    def test_same_event_twice_in_one_group(self) -> None:
        """The same event in two batches of one group: written once, both callers get it, listeners see it once."""
        store, engine = self._store(threaded=True)
        seen: List[str] = []
        store.add_persist_listener(lambda event, stream: seen.append(event.event_id))
        first, again = _row(1), _row(1)
        d1 = defer.ensureDeferred(store.persist_events([first]))
        d2 = defer.ensureDeferred(store.persist_events([again]))
        engine.reactor.advance(0)
        self.assertEqual(self.successResultOf(d1), [first.event])
        self.assertEqual(self.successResultOf(d2), [first.event])
        self.assertEqual(seen, [first.event.event_id])
        self.assertIs(store.get_cached_event(first.event.event_id), first.event)
