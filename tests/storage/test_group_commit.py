"""``EventStore.persist_events``: on a threaded engine the writes of one reactor turn
share one transaction (group commit); inline, each is written at once."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.events import KNOWN_ROOM_VERSIONS
from synapse_modhost.storage import EventStore, PersistRow
from synapse_modhost.testing import make_event

ROOM = "!room:test.local"


class _RecordingEngine:
    """Just enough of a DatabaseEngine: records each persist transaction's rows."""

    def __init__(self, threaded: bool) -> None:
        self.threaded = threaded
        self.reactor = MemoryReactorClock()
        self.writes: List[List[str]] = []

    def run_interaction(self, desc: str, func: Any, *args: Any, **kwargs: Any) -> "defer.Deferred[Any]":
        assert desc == "load_stream_position", desc
        return defer.succeed(0)

    def run_short_interaction(self, desc: str, func: Any, rows: Sequence[PersistRow]) -> "defer.Deferred[Dict[str, str]]":
        self.writes.append([row.event.event_id for row in rows])
        return defer.succeed({})


def _row(n: int) -> PersistRow:
    event = make_event(room_id=ROOM, content={"msgtype": "m.text", "body": str(n)})
    return PersistRow(stream_ordering=0, event=event)  # type: ignore[arg-type]


class GroupCommitTests(SynchronousTestCase):
    """Writes queued in one reactor turn are committed together, in order."""

    def _store(self, threaded: bool) -> Tuple[EventStore, _RecordingEngine]:
        engine = _RecordingEngine(threaded)
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
