"""WAL checkpoints on their own thread and connection (``WalCheckpointer``), never in a
commit of the host's connection."""

from __future__ import annotations

import os
import sqlite3
from typing import Any, Generator

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.storage import LoggingTransaction, SqliteEngine
from synapse_modhost.storage import _engine as engine_module
from synapse_modhost.storage._checkpoint import WalCheckpointer
from tests.storage._helpers import ThreadedEngineCase


def _insert_many(txn: LoggingTransaction, n: int) -> None:
    txn.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 200,)] * n)


def _autocheckpoint(txn: LoggingTransaction) -> int:
    txn.execute("PRAGMA wal_autocheckpoint")
    return int(txn.fetchone()[0])


def _count(txn: LoggingTransaction) -> int:
    txn.execute("SELECT COUNT(*) FROM t")
    return int(txn.fetchone()[0])


class EngineCheckpointTests(ThreadedEngineCase):
    """The threaded engine on a file hands checkpoints to a WalCheckpointer."""

    @defer.inlineCallbacks
    def test_automatic_checkpoints_off(self) -> Generator[Any, Any, None]:
        """The host's connection never checkpoints in a commit (wal_autocheckpoint is 0)."""
        value = yield self.engine.run_interaction("pragma", _autocheckpoint)
        self.assertEqual(value, 0)
        self.assertIsNotNone(self.engine.checkpointer)

    @defer.inlineCallbacks
    def test_poked_after_enough_changes(self) -> Generator[Any, Any, None]:
        """Enough changed rows start the checkpointer, which checkpoints on its own thread."""
        self.patch(engine_module, "POKE_AFTER_CHANGES", 10)
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
    def test_close_leaves_no_wal_and_keeps_rows(self) -> Generator[Any, Any, None]:
        """Closing stops the checkpointer, folds the WAL into the file and loses no row."""
        self.patch(engine_module, "POKE_AFTER_CHANGES", 10)
        for _ in range(5):
            yield self.engine.run_short_interaction("rows", _insert_many, 30)
        yield self.engine.close()
        self.assertFalse(os.path.exists(self.path + "-wal"))
        again = SqliteEngine(self.reactor, self.path, threaded=True)
        again.start()
        self.addCleanup(again.close)
        count = yield again.run_interaction("count", _count)
        self.assertEqual(count, 150)

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

    def test_restart_when_log_too_long(self) -> None:
        """A log at or past restart_frames gets a RESTART checkpoint after the passive one."""
        checkpointer = WalCheckpointer(self.path, restart_frames=1)
        checkpointer.poke()
        checkpointer.stop()
        self.assertEqual((checkpointer.checkpoints, checkpointer.restarts), (2, 1))

    def test_no_poke_no_thread(self) -> None:
        """Without a poke no thread starts, and stop is harmless."""
        checkpointer = WalCheckpointer(self.path)
        checkpointer.stop()
        checkpointer.poke()
        self.assertIsNone(checkpointer.thread)
        self.assertEqual(checkpointer.checkpoints, 0)

    def test_unopenable_database_logs_warning(self) -> None:
        """A database it cannot open is logged as a warning naming the path, not raised."""
        missing = os.path.join(self.mktemp(), "no", "such", "dir", "x.db")
        checkpointer = WalCheckpointer(missing)
        with self.assertLogs("synapse_modhost.storage._checkpoint", "WARNING") as logs:
            checkpointer.poke()
            checkpointer.stop()
        self.assertIn(missing, logs.output[0])
        self.assertEqual(checkpointer.checkpoints, 0)
