"""WAL checkpoints on their own thread and connection (``WalCheckpointer``), never in a
commit of the host's connection."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from typing import Any, Generator, Tuple

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

import synapse_modhost
from synapse_modhost.storage import LoggingTransaction, SqliteEngine
from synapse_modhost.storage import _checkpoint as checkpoint_module
from synapse_modhost.storage._checkpoint import FALLBACK, TRUNCATE, WalCheckpointer
from tests.storage._helpers import ThreadedEngineCase


def _insert_many(txn: LoggingTransaction, n: int) -> None:
    txn.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 200,)] * n)


def _autocheckpoint(txn: LoggingTransaction) -> int:
    txn.execute("PRAGMA wal_autocheckpoint")
    return int(txn.fetchone()[0])


def _count(txn: LoggingTransaction) -> int:
    txn.execute("SELECT COUNT(*) FROM t")
    return int(txn.fetchone()[0])


def _count_where(txn: LoggingTransaction) -> Tuple[int, threading.Thread]:
    return _count(txn), threading.current_thread()


class EngineCheckpointTests(ThreadedEngineCase):
    """The threaded engine on a file hands checkpoints to a WalCheckpointer."""

    DB_NAME = "ckpt.db"

    @defer.inlineCallbacks
    def test_automatic_checkpoints_off(self) -> Generator[Any, Any, None]:
        """The host's connection never checkpoints in a commit (wal_autocheckpoint is 0)."""
        value = yield self.engine.run_interaction("pragma", _autocheckpoint)
        self.assertEqual(value, 0)
        self.assertIsNotNone(self.engine.checkpointer)

    @defer.inlineCallbacks
    def test_poked_after_enough_changes(self) -> Generator[Any, Any, None]:
        """Enough changed rows start the checkpointer, which checkpoints on its own thread."""
        self.patch(checkpoint_module, "POKE_AFTER_CHANGES", 10)
        checkpointer = self.engine.checkpointer
        assert checkpointer is not None
        self.assertIsNone(checkpointer.thread)
        yield self.engine.run_interaction("few", _insert_many, 5)
        self.assertIsNone(checkpointer.thread)
        yield self.engine.run_interaction("many", _insert_many, 20)
        self.assertIsNotNone(checkpointer.thread)
        self.assertIsNot(checkpointer.thread, self.engine.db_thread)
        yield self.engine.close()
        self.assertGreaterEqual(checkpointer.checkpoints, 1)

    @defer.inlineCallbacks
    def test_close_stops_checkpointer_and_keeps_rows(self) -> Generator[Any, Any, None]:
        """Closing ends the checkpointer's thread, folds the WAL into the file and loses no row."""
        self.patch(checkpoint_module, "POKE_AFTER_CHANGES", 10)
        for _ in range(5):
            yield self.engine.run_short_interaction("rows", _insert_many, 30)
        checkpointer = self.engine.checkpointer
        assert checkpointer is not None and checkpointer.thread is not None
        yield self.engine.close()
        self.assertFalse(checkpointer.thread.is_alive())
        self.assertFalse(os.path.exists(self.path + "-wal"))
        again = SqliteEngine(self.reactor, self.path, threaded=True)
        again.start()
        self.addCleanup(again.close)
        count = yield again.run_interaction("count", _count)
        self.assertEqual(count, 150)

    @defer.inlineCallbacks
    def test_truncate_request_runs_on_db_thread(self) -> Generator[Any, Any, None]:
        """A truncate request empties the WAL on the database thread before the next interaction runs."""
        yield self.engine.run_interaction("rows", _insert_many, 100)
        self.assertGreater(os.path.getsize(self.path + "-wal"), 0)
        checkpointer = self.engine.checkpointer
        assert checkpointer is not None
        checkpointer.request = TRUNCATE
        where = yield self.engine.run_short_interaction("count", _count_where)
        self.assertEqual(where, (100, self.engine.db_thread))
        self.assertEqual(os.path.getsize(self.path + "-wal"), 0)
        self.assertIsNone(checkpointer.request)

    @defer.inlineCallbacks
    def test_fallback_request_restores_sqlite_checkpoints(self) -> Generator[Any, Any, None]:
        """A fallback request drops the checkpointer and turns SQLite's own checkpoints back on."""
        checkpointer = self.engine.checkpointer
        assert checkpointer is not None
        checkpointer.request = FALLBACK
        value = yield self.engine.run_interaction("pragma", _autocheckpoint)
        self.assertEqual(value, 1000)
        self.assertIsNone(self.engine.checkpointer)

    @defer.inlineCallbacks
    def test_thread_start_failure_keeps_the_commit(self) -> Generator[Any, Any, None]:
        """No thread for the checkpointer: the committed transaction stands, SQLite checkpoints again, close works."""
        self.patch(checkpoint_module, "POKE_AFTER_CHANGES", 10)
        checkpointer = self.engine.checkpointer
        assert checkpointer is not None

        class NoThread(threading.Thread):
            def start(self) -> None:
                raise RuntimeError("can't start new thread")

        self.patch(checkpoint_module.threading, "Thread", NoThread)
        with self.assertLogs("synapse_modhost.storage._engine", "ERROR"):
            yield self.engine.run_interaction("many", _insert_many, 20)
        self.assertIsNone(checkpointer.thread)
        self.assertEqual(checkpointer.request, FALLBACK)
        count = yield self.engine.run_interaction("count", _count)
        self.assertEqual(count, 20)
        self.assertIsNone(self.engine.checkpointer)
        value = yield self.engine.run_interaction("pragma", _autocheckpoint)
        self.assertEqual(value, 1000)
        yield self.engine.close()
        self.assertFalse(self.engine.running)

    @defer.inlineCallbacks
    def test_truncate_blocked_by_reader_backs_off(self) -> Generator[Any, Any, None]:
        """A reader elsewhere keeps the WAL from being emptied: a warning, and the next ask only at twice the size."""
        yield self.engine.run_interaction("rows", _insert_many, 50)
        reader = sqlite3.connect(self.path, isolation_level=None)
        self.addCleanup(reader.close)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM t").fetchall()
        yield self.engine.run_interaction("more", _insert_many, 50)
        checkpointer = self.engine.checkpointer
        assert checkpointer is not None
        before = checkpointer.restart_frames
        checkpointer.ask(TRUNCATE)
        with self.assertLogs("synapse_modhost.storage._engine", "WARNING") as logs:
            yield self.engine.run_interaction("count", _count)
        self.assertIn("could not be truncated", logs.output[0])
        self.assertEqual(checkpointer.restart_frames, 2 * before)
        reader.execute("COMMIT")

    def test_inline_and_memory_engines_keep_sqlite_checkpoints(self) -> None:
        """Only a threaded engine on a file has a checkpointer."""
        inline = SqliteEngine(self.reactor, os.path.join(self.mktemp(), "i.db"), threaded=False)
        inline.start()
        self.addCleanup(inline.close)
        memory = SqliteEngine(self.reactor, ":memory:", threaded=True)
        memory.start()
        self.addCleanup(memory.close)
        self.assertIsNone(inline.checkpointer)
        self.assertIsNone(memory.checkpointer)


class WalCheckpointerTests(SynchronousTestCase):
    """The checkpointer itself, against a WAL database written by another connection."""

    def setUp(self) -> None:
        directory = self.mktemp()
        os.makedirs(directory)
        self.path = os.path.join(directory, "wal.db")
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.addCleanup(self.conn.close)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA wal_autocheckpoint=0")
        self.conn.execute("CREATE TABLE t (v TEXT)")
        self.conn.executemany("INSERT INTO t VALUES (?)", [("y" * 500,)] * 200)

    def test_checkpoint_copies_the_log(self) -> None:
        """A poke followed by stop has run a passive checkpoint of every frame in the log."""
        checkpointer = WalCheckpointer(self.path)
        checkpointer.poke()
        checkpointer.stop()
        self.assertEqual(checkpointer.checkpoints, 1)
        assert checkpointer.last_result is not None
        busy, frames, done = checkpointer.last_result
        self.assertEqual((busy, done), (0, frames))
        self.assertGreater(frames, 0)
        self.assertIsNone(checkpointer.request)

    def test_long_log_asks_for_truncate(self) -> None:
        """A log at or past restart_frames asks the engine for a truncate (it never blocks the writer itself)."""
        checkpointer = WalCheckpointer(self.path, restart_frames=1)
        checkpointer.poke()
        checkpointer.stop()
        self.assertEqual(checkpointer.checkpoints, 1)
        self.assertEqual(checkpointer.request, TRUNCATE)

    def test_fallback_is_never_replaced(self) -> None:
        """Once a fallback is asked for, a later truncate request does not hide it; taking it clears it."""
        checkpointer = WalCheckpointer(self.path)
        checkpointer.ask(FALLBACK)
        checkpointer.ask(TRUNCATE)
        self.assertEqual(checkpointer.take_request(), FALLBACK)
        self.assertIsNone(checkpointer.take_request())

    def test_no_poke_no_thread(self) -> None:
        """Without a poke no thread starts, and stop is harmless."""
        checkpointer = WalCheckpointer(self.path)
        checkpointer.stop()
        checkpointer.poke()
        self.assertIsNone(checkpointer.thread)
        self.assertEqual(checkpointer.checkpoints, 0)

    def test_unopenable_database_asks_for_fallback(self) -> None:
        """A database it cannot open is logged as a warning naming the path, and it asks for the fallback."""
        missing = os.path.join(self.mktemp(), "no", "such", "dir", "x.db")
        checkpointer = WalCheckpointer(missing)
        with self.assertLogs("synapse_modhost.storage._checkpoint", "WARNING") as logs:
            checkpointer.poke()
            checkpointer.stop()
        self.assertIn(missing, logs.output[0])
        self.assertEqual(checkpointer.checkpoints, 0)
        self.assertEqual(checkpointer.request, FALLBACK)

    def test_unexpected_error_asks_for_fallback(self) -> None:
        """An unexpected error ends the thread with an error log and a fallback request; later pokes do nothing."""
        checkpointer = WalCheckpointer(self.path)

        def boom(conn: sqlite3.Connection) -> None:
            raise ValueError("unexpected")

        checkpointer._checkpoint = boom  # type: ignore[method-assign]
        with self.assertLogs("synapse_modhost.storage._checkpoint", "ERROR"):
            checkpointer.poke()
            assert checkpointer.thread is not None
            checkpointer.thread.join()
        self.assertEqual(checkpointer.request, FALLBACK)
        checkpointer.poke()
        checkpointer.stop()
        self.assertFalse(checkpointer.thread.is_alive())


class KillDuringCheckpointsTests(SynchronousTestCase):
    """kill -9 while the checkpointer works loses no committed row."""

    def test_committed_rows_survive_kill(self) -> None:
        """Short writes committed inline while checkpoints run are all there after SIGKILL."""
        path = os.path.join(self.mktemp(), "kill.db")
        script = textwrap.dedent(
            f"""
            import os, signal
            from twisted.internet import reactor
            from synapse_modhost.storage import SqliteEngine, _checkpoint

            _checkpoint.POKE_AFTER_CHANGES = 50
            engine = SqliteEngine(reactor, {path!r}, threaded=True)
            engine.start()

            def create(txn):
                txn.execute("CREATE TABLE t (v INTEGER, pad TEXT)")

            def insert(txn, v):
                txn.execute("INSERT INTO t VALUES (?, ?)", (v, "x" * 300))

            engine.run_short_interaction("create", create)
            for i in range(2000):
                engine.run_short_interaction("insert", insert, i)
            assert engine.checkpointer.thread is not None
            os.kill(os.getpid(), signal.SIGKILL)
            """
        )
        root = os.path.dirname(os.path.dirname(os.path.abspath(synapse_modhost.__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, env=env)
        self.assertEqual(result.returncode, -signal.SIGKILL, result.stderr)
        conn = sqlite3.connect(path)
        self.addCleanup(conn.close)
        self.assertEqual(conn.execute("SELECT COUNT(*), SUM(v) FROM t").fetchone(), (2000, 1999000))
