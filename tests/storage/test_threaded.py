"""``SqliteEngine`` in threaded mode on the real reactor, and ``DatabasePool.runInteraction``
as ``ModuleApi.run_db_interaction`` uses it."""

from __future__ import annotations

import threading
from typing import Any, Generator, List

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from synapse_modhost.storage import (
    DatabaseClosedError,
    DatabasePool,
    LoggingTransaction,
    SqliteEngine,
    UserStore,
    open_database,
)
from tests.storage._helpers import ThreadedEngineCase, create_table


def _insert(txn: LoggingTransaction, value: str) -> None:
    txn.execute("INSERT INTO t (v) VALUES (?)", (value,))


def _values(txn: LoggingTransaction) -> List[str]:
    txn.execute("SELECT v FROM t ORDER BY id")
    return [row[0] for row in txn.fetchall()]


class ThreadedEngineTests(ThreadedEngineCase):
    """One dedicated database thread runs every interaction."""

    @defer.inlineCallbacks
    def test_runs_on_db_thread(self) -> Generator[Any, Any, None]:
        """func runs on one thread that is not the caller's, the same for every interaction."""

        def where(txn: LoggingTransaction) -> threading.Thread:
            return threading.current_thread()

        first = yield self.engine.run_interaction("where", where)
        second = yield self.engine.run_interaction("where", where)
        self.assertIsNot(first, threading.current_thread())
        self.assertIs(first, second)
        self.assertIs(self.engine.db_thread, first)

    @defer.inlineCallbacks
    def test_commit_and_rollback(self) -> Generator[Any, Any, None]:
        """Returning commits; raising rolls back and the exception reaches the caller."""
        yield self.engine.run_interaction("insert", _insert, "kept")

        def fail(txn: LoggingTransaction) -> None:
            _insert(txn, "lost")
            raise ValueError("no")

        with self.assertRaises(ValueError):
            yield self.engine.run_interaction("fail", fail)
        values = yield self.engine.run_interaction("values", _values)
        self.assertEqual(values, ["kept"])

    @defer.inlineCallbacks
    def test_call_after_on_reactor_thread(self) -> Generator[Any, Any, None]:
        """call_after callbacks run on the reactor (calling) thread, after the commit."""
        seen: List[threading.Thread] = []

        def func(txn: LoggingTransaction) -> None:
            txn.call_after(lambda: seen.append(threading.current_thread()))

        yield self.engine.run_interaction("f", func)
        self.assertEqual(seen, [threading.current_thread()])

    @defer.inlineCallbacks
    def test_submission_order(self) -> Generator[Any, Any, None]:
        """Interactions submitted without waiting run in submission order."""
        ds = [self.engine.run_interaction("i", _insert, str(i)) for i in range(50)]
        yield defer.gatherResults(ds)
        values = yield self.engine.run_interaction("values", _values)
        self.assertEqual(values, [str(i) for i in range(50)])

    @defer.inlineCallbacks
    def test_queued_failures_isolated(self) -> Generator[Any, Any, None]:
        """Queued interactions delivered together keep their own results and failures."""

        def fail(txn: LoggingTransaction, i: int) -> None:
            _insert(txn, f"lost{i}")
            raise ValueError(i)

        ds = []
        for i in range(30):
            if i % 3 == 1:
                ds.append(self.engine.run_interaction("fail", fail, i))
            else:
                ds.append(self.engine.run_interaction("i", _insert, str(i)))
        outcomes = yield defer.DeferredList(ds, consumeErrors=True)
        failed = [i for i, (ok, value) in enumerate(outcomes) if not ok]
        self.assertEqual(failed, [i for i in range(30) if i % 3 == 1])
        self.assertEqual(outcomes[1][1].value.args, (1,))
        values = yield self.engine.run_interaction("values", _values)
        self.assertEqual(values, [str(i) for i in range(30) if i % 3 != 1])

    @defer.inlineCallbacks
    def test_close_finishes_queue_then_refuses(self) -> Generator[Any, Any, None]:
        """close lets queued interactions commit, then refuses new ones; data persists."""
        ds = [self.engine.run_interaction("i", _insert, str(i)) for i in range(20)]
        closing = self.engine.close()
        late = self.engine.run_interaction("late", _values)
        yield defer.gatherResults(ds)
        yield closing
        with self.assertRaises(DatabaseClosedError):
            yield late
        self.assertIsNone(self.engine._worker)

        again = SqliteEngine(self.reactor, self.path, threaded=True)
        again.start()
        self.addCleanup(again.close)
        values = yield again.run_interaction("values", _values)
        self.assertEqual(values, [str(i) for i in range(20)])


class RunDbInteractionTests(TestCase):
    """``DatabasePool.runInteraction``: what ``ModuleApi.run_db_interaction`` calls."""

    def setUp(self) -> "defer.Deferred[None]":  # type: ignore[override]
        from twisted.internet import reactor

        self.reactor: Any = reactor
        d = open_database(reactor, ":memory:", threaded=True)

        def opened(engine: SqliteEngine) -> "defer.Deferred[None]":
            self.engine = engine
            self.addCleanup(engine.close)
            self.pool = DatabasePool(engine)
            return engine.run_interaction("create", create_table)

        return d.addCallback(opened)

    @defer.inlineCallbacks
    def test_module_style_interaction(self) -> Generator[Any, Any, None]:
        """func(txn, *args, **kwargs) runs in a thread with a DB-API transaction and its result returns."""
        caller = threading.current_thread()

        def func(txn: LoggingTransaction, value: str, *, times: int) -> Any:
            txn.executemany("INSERT INTO t (v) VALUES (?)", [(value,)] * times)
            count = txn.rowcount
            txn.execute("SELECT COUNT(*) AS n FROM t WHERE v = ?", (value,))
            return (
                threading.current_thread() is not caller,
                count,
                txn.description[0][0],  # type: ignore[index]
                txn.fetchone(),
            )

        result = yield defer.ensureDeferred(
            self.pool.runInteraction("module_txn", func, "m", times=3)
        )
        self.assertEqual(result, (True, 3, "n", (3,)))

    @defer.inlineCallbacks
    def test_exception_propagates(self) -> Generator[Any, Any, None]:
        """An exception raised by func reaches the awaiting module, with nothing written."""

        def func(txn: LoggingTransaction) -> None:
            _insert(txn, "x")
            raise LookupError("module error")

        with self.assertRaises(LookupError):
            yield self.pool.runInteraction("module_txn", func)
        rows = yield self.pool.execute("count", "SELECT COUNT(*) FROM t")
        self.assertEqual(rows, [(0,)])

    @defer.inlineCallbacks
    def test_synapse_keyword_arguments_accepted(self) -> Generator[Any, Any, None]:
        """db_autocommit and isolation_level are accepted (and not passed to func)."""

        def func(txn: LoggingTransaction) -> str:
            return "ok"

        result = yield self.pool.runInteraction("f", func, db_autocommit=True, isolation_level=None)
        self.assertEqual(result, "ok")

    @defer.inlineCallbacks
    def test_user_store_on_threaded_engine(self) -> Generator[Any, Any, None]:
        """The user store works the same on the threaded engine (schema applied by open_database)."""
        store = UserStore(self.engine)
        yield store.create_user("@t:test", password_hash="h")
        token_id = yield store.add_access_token("@t:test", "tok", "DEV")
        info = yield store.get_user_by_access_token("tok")
        self.assertEqual(
            (info.user_id, info.token_id, info.device_id), ("@t:test", token_id, "DEV")
        )
