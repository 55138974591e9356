"""Shared helpers for the storage tests."""

from __future__ import annotations

import os
from typing import Any, Optional

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from synapse_modhost.storage import SqliteEngine, open_database


def open_inline(
    case: SynchronousTestCase, path: str = ":memory:", clock: Optional[Any] = None
) -> SqliteEngine:
    """An inline engine on ``path`` with the schema applied, closed at cleanup."""
    engine = case.successResultOf(
        open_database(clock if clock is not None else Clock(), path, threaded=False)
    )
    case.addCleanup(engine.close)
    return engine


def create_table(txn: Any) -> None:
    """``t (id, v)``: the table the threaded-engine tests write to."""
    txn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")


class ThreadedEngineCase(TestCase):
    """A threaded engine on a fresh file (``self.path``) on the real reactor, with table
    ``t`` created; closed at cleanup."""

    DB_NAME = "threaded.db"

    def setUp(self) -> "defer.Deferred[None]":  # type: ignore[override]
        from twisted.internet import reactor

        self.reactor: Any = reactor
        self.path = os.path.join(self.mktemp(), self.DB_NAME)
        self.engine = SqliteEngine(reactor, self.path, threaded=True)
        self.engine.start()
        self.addCleanup(self.engine.close)
        return self.engine.run_interaction("create", create_table)
