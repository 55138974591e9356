"""``SqliteEngine`` in inline mode: transactions, callbacks, retries, opening and closing."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from typing import Any, List

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

import synapse_modhost
from synapse_modhost.storage import (
    DatabaseClosedError,
    DatabaseOpenError,
    LoggingTransaction,
    SqliteEngine,
)


def _create_table(txn: LoggingTransaction) -> None:
    txn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")


def _insert(txn: LoggingTransaction, value: str) -> int:
    txn.execute("INSERT INTO t (v) VALUES (?)", (value,))
    rowid = txn.lastrowid
    assert rowid is not None
    return rowid


def _values(txn: LoggingTransaction) -> List[str]:
    txn.execute("SELECT v FROM t ORDER BY id")
    return [row[0] for row in txn.fetchall()]


class InlineEngineTests(SynchronousTestCase):
    """Interactions run on the calling thread and return fired Deferreds."""

    def setUp(self) -> None:
        self.engine = SqliteEngine(Clock(), ":memory:", threaded=False)
        self.engine.start()
        self.addCleanup(self.engine.close)
        self.successResultOf(self.engine.run_interaction("create", _create_table))

    def values(self) -> List[str]:
        return self.successResultOf(self.engine.run_interaction("values", _values))

    def test_commit_on_return(self) -> None:
        """A returning function's writes are committed and its result is the Deferred's."""
        rowid = self.successResultOf(self.engine.run_interaction("insert", _insert, "a"))
        self.assertEqual(rowid, 1)
        self.assertEqual(self.values(), ["a"])

    def test_rollback_on_exception(self) -> None:
        """A raising function's writes are rolled back and its exception propagates."""

        def fail(txn: LoggingTransaction) -> None:
            _insert(txn, "lost")
            raise ValueError("boom")

        failure = self.failureResultOf(self.engine.run_interaction("fail", fail), ValueError)
        self.assertEqual(str(failure.value), "boom")
        self.assertEqual(self.values(), [])

    def test_args_and_kwargs(self) -> None:
        """Positional and keyword arguments reach the function after the transaction."""

        def func(txn: LoggingTransaction, a: int, *, b: int) -> Any:
            return (type(txn).__name__, a, b)

        result = self.successResultOf(self.engine.run_interaction("f", func, 1, b=2))
        self.assertEqual(result, ("LoggingTransaction", 1, 2))

    def test_transaction_attributes(self) -> None:
        """The txn names the interaction, points at its engine and exposes the cursor API."""

        def func(txn: LoggingTransaction) -> Any:
            txn.executemany("INSERT INTO t (v) VALUES (?)", [("x",), ("y",)])
            rowcount = txn.rowcount
            txn.execute("SELECT id, v FROM t ORDER BY id")
            names = [d[0] for d in txn.description or ()]
            rows = list(txn)
            return txn.name, txn.database_engine, rowcount, names, rows

        name, engine, rowcount, names, rows = self.successResultOf(
            self.engine.run_interaction("attrs", func)
        )
        self.assertTrue(name.startswith("attrs-"), name)
        self.assertIs(engine, self.engine)
        self.assertEqual((rowcount, names, rows), (2, ["id", "v"], [(1, "x"), (2, "y")]))

    def test_call_after_sees_commit(self) -> None:
        """call_after callbacks run once the transaction has committed, with their arguments."""
        seen: List[Any] = []

        def func(txn: LoggingTransaction) -> None:
            _insert(txn, "a")
            txn.call_after(lambda tag: seen.append((tag, self.values())), "after")

        self.successResultOf(self.engine.run_interaction("f", func))
        self.assertEqual(seen, [("after", ["a"])])

    def test_call_on_exception(self) -> None:
        """call_on_exception callbacks run when the transaction fails, and not call_after ones."""
        seen: List[str] = []

        def func(txn: LoggingTransaction) -> None:
            txn.call_after(seen.append, "after")
            txn.call_on_exception(seen.append, "exception")
            raise KeyError("x")

        self.failureResultOf(self.engine.run_interaction("f", func), KeyError)
        self.assertEqual(seen, ["exception"])

    def test_async_call_after_runs_first(self) -> None:
        """async_call_after callbacks are awaited before the call_after ones."""
        seen: List[str] = []

        async def async_cb(tag: str) -> None:
            seen.append(tag)

        def func(txn: LoggingTransaction) -> str:
            txn.call_after(seen.append, "sync")
            txn.async_call_after(async_cb, "async")
            return "result"

        self.assertEqual(self.successResultOf(self.engine.run_interaction("f", func)), "result")
        self.assertEqual(seen, ["async", "sync"])

    def test_failing_after_callback_fails_the_interaction(self) -> None:
        """An exception in a call_after callback fails the Deferred and runs the exception callbacks."""
        seen: List[str] = []

        def func(txn: LoggingTransaction) -> None:
            txn.call_after(lambda: 1 / 0)
            txn.call_on_exception(seen.append, "exception")

        self.failureResultOf(self.engine.run_interaction("f", func), ZeroDivisionError)
        self.assertEqual(seen, ["exception"])

    def test_operational_error_retried(self) -> None:
        """An OperationalError is retried up to five attempts in all, each logged, then raised."""
        attempts: List[int] = []

        def func(txn: LoggingTransaction) -> None:
            attempts.append(1)
            txn.execute("SELEC nonsense")

        with self.assertLogs("synapse.storage.txn", logging.WARNING) as logs:
            self.failureResultOf(self.engine.run_interaction("bad", func), sqlite3.OperationalError)
        self.assertEqual(len(attempts), 5)
        self.assertEqual(len(logs.output), 5)
        self.assertIn("[TXN OPERROR] {bad-", logs.output[0])
        self.assertIn("1/5", logs.output[0])

    def test_operational_error_then_success(self) -> None:
        """A transaction that succeeds on a retry commits once, with only its last attempt's writes."""
        attempts: List[int] = []

        def func(txn: LoggingTransaction) -> None:
            _insert(txn, f"attempt{len(attempts)}")
            attempts.append(1)
            if len(attempts) < 3:
                raise sqlite3.OperationalError("database is locked")

        with self.assertLogs("synapse.storage.txn", logging.WARNING):
            self.successResultOf(self.engine.run_interaction("retry", func))
        self.assertEqual(self.values(), ["attempt2"])

    def test_nested_interaction_refused(self) -> None:
        """Starting an interaction from inside a transaction fails instead of corrupting it."""
        inner: List[Any] = []

        def func(txn: LoggingTransaction) -> None:
            _insert(txn, "outer")
            inner.append(self.engine.run_interaction("inner", _insert, "inner"))

        self.successResultOf(self.engine.run_interaction("outer", func))
        self.failureResultOf(inner[0], RuntimeError)
        self.assertEqual(self.values(), ["outer"])

    def test_execute(self) -> None:
        """execute runs one parameterised statement and returns all its rows."""
        self.successResultOf(self.engine.run_interaction("i", _insert, "a"))
        rows = self.successResultOf(self.engine.execute("q", "SELECT v, ? FROM t", 7))
        self.assertEqual(rows, [("a", 7)])

    def test_closed_engine_refuses(self) -> None:
        """After close, interactions fail with DatabaseClosedError; close is idempotent."""
        self.successResultOf(self.engine.close())
        self.assertFalse(self.engine.running)
        self.failureResultOf(self.engine.run_interaction("late", _values), DatabaseClosedError)
        self.successResultOf(self.engine.close())

    def test_not_started_refuses(self) -> None:
        """An engine that was never started refuses interactions."""
        engine = SqliteEngine(Clock(), ":memory:", threaded=False)
        self.failureResultOf(engine.run_interaction("x", _values), DatabaseClosedError)

    def test_memory_databases_are_private(self) -> None:
        """Two ':memory:' engines do not share tables."""
        other = SqliteEngine(Clock(), ":memory:", threaded=False)
        other.start()
        self.addCleanup(other.close)
        self.assertEqual(self.engine.journal_mode, "memory")
        with self.assertLogs("synapse.storage.txn", logging.WARNING):
            self.failureResultOf(other.run_interaction("v", _values), sqlite3.OperationalError)


class OpeningTests(SynchronousTestCase):
    """Opening files: directories, pragmas and clear errors."""

    def test_creates_parent_directories(self) -> None:
        """A path in missing directories is created, in WAL mode with the documented pragmas."""
        path = os.path.join(self.mktemp(), "a", "b", "homeserver.db")
        engine = SqliteEngine(Clock(), path, threaded=False, busy_timeout_ms=1234)
        engine.start()
        self.addCleanup(engine.close)
        self.assertTrue(os.path.isfile(path))

        def pragmas(txn: LoggingTransaction) -> List[Any]:
            result = []
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout"):
                txn.execute(f"PRAGMA {name}")
                result.append(txn.fetchone()[0])  # type: ignore[index]
            return result

        self.assertEqual(
            self.successResultOf(engine.run_interaction("p", pragmas)), ["wal", 1, 1, 1234]
        )
        self.assertEqual(engine.journal_mode, "wal")

    def test_unwritable_directory(self) -> None:
        """A directory that cannot be created gives DatabaseOpenError naming the path."""
        blocker = self.mktemp()
        with open(blocker, "w") as f:
            f.write("a file where a directory should be")
        path = os.path.join(blocker, "sub", "homeserver.db")
        engine = SqliteEngine(Clock(), path, threaded=False)
        error = self.assertRaises(DatabaseOpenError, engine.start)
        self.assertIn(repr(path), str(error))
        self.assertIn("cannot create the directory", str(error))
        self.assertFalse(engine.running)

    def test_path_is_a_directory(self) -> None:
        """A path naming a directory is refused with DatabaseOpenError."""
        path = self.mktemp()
        os.makedirs(path)
        error = self.assertRaises(
            DatabaseOpenError, SqliteEngine(Clock(), path, threaded=False).start
        )
        self.assertIn("is a directory", str(error))

    def test_not_a_database(self) -> None:
        """A file that is not an SQLite database is refused with DatabaseOpenError."""
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"this is not a database file, just some text padding it out" * 20)
        error = self.assertRaises(
            DatabaseOpenError, SqliteEngine(Clock(), path, threaded=False).start
        )
        self.assertIn(repr(path), str(error))
        self.assertIn("not a database", str(error))

    def test_empty_path(self) -> None:
        """An empty path is refused at construction."""
        self.assertRaises(DatabaseOpenError, SqliteEngine, Clock(), "", threaded=False)

    def test_committed_rows_survive_kill(self) -> None:
        """Rows whose commit returned are in the database after the process is killed (-9)."""
        path = os.path.join(self.mktemp(), "kill.db")
        script = textwrap.dedent(
            f"""
            import os, signal
            from twisted.internet.task import Clock
            from synapse_modhost.storage import SqliteEngine

            engine = SqliteEngine(Clock(), {path!r}, threaded=False)
            engine.start()

            def create(txn):
                txn.execute("CREATE TABLE t (v INTEGER)")

            def insert(txn, v):
                txn.execute("INSERT INTO t VALUES (?)", (v,))

            engine.run_interaction("create", create)
            for i in range(200):
                engine.run_interaction("insert", insert, i)
            os.kill(os.getpid(), signal.SIGKILL)
            """
        )
        root = os.path.dirname(os.path.dirname(os.path.abspath(synapse_modhost.__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, timeout=60, env=env
        )
        self.assertEqual(result.returncode, -signal.SIGKILL, result.stderr)
        conn = sqlite3.connect(path)
        self.addCleanup(conn.close)
        self.assertEqual(conn.execute("SELECT COUNT(*), SUM(v) FROM t").fetchone(), (200, 19900))
