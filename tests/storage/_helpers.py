"""Shared helpers for the storage tests."""

from __future__ import annotations

from typing import Any, Optional

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

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
