"""``SqliteEngine.run_short_interaction``: inline on the reactor thread when the database
thread has nothing in hand, queued behind it otherwise."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, Generator, List

from twisted.internet import defer

from synapse_modhost.storage import LoggingTransaction
from tests.storage._helpers import ThreadedEngineCase


def _insert_where(txn: LoggingTransaction, value: str) -> threading.Thread:
    txn.execute("INSERT INTO t (v) VALUES (?)", (value,))
    return threading.current_thread()


def _values(txn: LoggingTransaction) -> List[str]:
    txn.execute("SELECT v FROM t ORDER BY id")
    return [row[0] for row in txn.fetchall()]


class ShortInteractionTests(ThreadedEngineCase):
    """Short host transactions skip the thread hand-off only when that keeps the order."""

    def test_idle_runs_inline(self) -> None:
        """With nothing queued, the transaction runs on the calling thread and has committed on return."""
        d = self.engine.run_short_interaction("short", _insert_where, "a")
        where = self.successResultOf(d)
        self.assertIs(where, threading.current_thread())
        self.assertEqual(self.successResultOf(self.engine.run_short_interaction("v", _values)), ["a"])

    @defer.inlineCallbacks
    def test_busy_queues_behind(self) -> Generator[Any, Any, None]:
        """With an interaction still in hand, a short one queues after it on the database thread."""
        first = self.engine.run_interaction("first", _insert_where, "1")
        second = self.engine.run_short_interaction("second", _insert_where, "2")
        self.assertNoResult(second)
        first_thread = yield first
        second_thread = yield second
        self.assertIs(second_thread, self.engine.db_thread)
        self.assertIs(first_thread, second_thread)
        values = yield self.engine.run_interaction("values", _values)
        self.assertEqual(values, ["1", "2"])

    @defer.inlineCallbacks
    def test_idle_again_after_delivery(self) -> Generator[Any, Any, None]:
        """Once queued results are delivered, the next short interaction runs inline again."""
        yield self.engine.run_interaction("queued", _insert_where, "q")
        where = self.successResultOf(self.engine.run_short_interaction("short", _insert_where, "s"))
        self.assertIs(where, threading.current_thread())

    def test_inline_failure_rolls_back(self) -> None:
        """A short interaction that raises rolls back and fails its Deferred with the exception."""

        def fail(txn: LoggingTransaction) -> None:
            _insert_where(txn, "lost")
            raise KeyError("short")

        failure = self.failureResultOf(self.engine.run_short_interaction("fail", fail), KeyError)
        self.assertEqual(failure.value.args, ("short",))
        self.assertEqual(self.successResultOf(self.engine.run_short_interaction("v", _values)), [])

    def test_inline_call_after_runs(self) -> None:
        """call_after callbacks of an inline short interaction run after its commit."""
        seen: List[str] = []

        def func(txn: LoggingTransaction) -> str:
            txn.call_after(seen.append, "after")
            return "done"

        self.assertEqual(self.successResultOf(self.engine.run_short_interaction("f", func)), "done")
        self.assertEqual(seen, ["after"])

    @defer.inlineCallbacks
    def test_refused_when_closing(self) -> Generator[Any, Any, None]:
        """After close has begun a short interaction fails like any other."""
        from synapse_modhost.storage import DatabaseClosedError

        closing = self.engine.close()
        d = self.engine.run_short_interaction("late", _values)
        yield closing
        self.failureResultOf(d, DatabaseClosedError)

    @defer.inlineCallbacks
    def test_locked_database_hands_over(self) -> Generator[Any, Any, None]:
        """With another process holding the write lock, the inline attempt gives up at once and the DB thread waits and retries."""
        other = sqlite3.connect(self.path, isolation_level=None)
        self.addCleanup(other.close)
        other.execute("BEGIN IMMEDIATE")
        with self.assertLogs("synapse.storage.txn", "WARNING") as logs:
            d = self.engine.run_short_interaction("short", _insert_where, "waited")
        self.assertIn("1/5", logs.output[0])
        self.assertNoResult(d)
        other.execute("COMMIT")
        where = yield d
        self.assertIs(where, self.engine.db_thread)
        values = yield self.engine.run_interaction("values", _values)
        self.assertEqual(values, ["waited"])

    @defer.inlineCallbacks
    def test_queues_while_a_batch_is_being_delivered(self) -> Generator[Any, Any, None]:
        """Started from the callback of one result of a batch, a short interaction waits for the batch's later ones."""
        release = threading.Event()

        def wait(txn: LoggingTransaction) -> None:
            release.wait(30)

        first = self.engine.run_interaction("block", wait)
        second = self.engine.run_interaction("second", _insert_where, "2")
        third = self.engine.run_interaction("third", _insert_where, "3")
        inner: List["defer.Deferred[threading.Thread]"] = []
        second.addCallback(
            lambda _: inner.append(self.engine.run_short_interaction("inner", _insert_where, "inner"))
        )
        release.set()
        yield defer.gatherResults([first, second, third])
        where = yield inner[0]
        self.assertIs(where, self.engine.db_thread)
        values = yield self.engine.run_interaction("values", _values)
        self.assertEqual(values, ["2", "3", "inner"])
