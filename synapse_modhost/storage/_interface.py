"""``DatabaseEngine``: what handlers and stores need from a database.

Nothing above the storage layer knows which database is underneath: the SQLite engine
(``_engine.SqliteEngine``) implements this, and a PostgreSQL engine can be added beside it
without touching the stores or handlers.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, Concatenate, List, ParamSpec, Protocol, Tuple, TypeVar

from twisted.internet import defer

from synapse_modhost.storage._transaction import LoggingTransaction

__all__ = ["DatabaseEngine"]

T = TypeVar("T")
P = ParamSpec("P")


class DatabaseEngine(Protocol):
    """What handlers and stores need from a database.

    SQL is written with ``?`` placeholders; an engine whose driver wants another style
    converts it in :meth:`convert_param_style` (``LoggingTransaction`` applies it).
    """

    #: the driver's name as in ``database.name`` (``"sqlite3"``, ``"psycopg2"``)
    name: str
    #: the DB-API module (for ``module.IntegrityError`` and friends)
    module: ModuleType
    #: whether ``INSERT ... RETURNING`` works
    supports_returning: bool

    @property
    def reactor(self) -> Any:
        """The reactor results are delivered on (also the stores' default clock)."""

    @property
    def running(self) -> bool:
        """``True`` between :meth:`start` and :meth:`close`."""

    @property
    def threaded(self) -> bool:
        """Whether interactions run on a thread of their own (else inline, already fired)."""

    def start(self) -> None:
        """Open the connection(s); raises :class:`DatabaseOpenError`."""

    def close(self) -> "defer.Deferred[None]":
        """Finish queued interactions, then close; idempotent."""

    def run_interaction(
        self,
        desc: str,
        func: Callable[Concatenate[LoggingTransaction, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> "defer.Deferred[T]":
        """Run ``func(txn, *args, **kwargs)`` in one transaction; fires with its result
        after the commit, or fails with its exception after the rollback."""

    def run_short_interaction(
        self,
        desc: str,
        func: Callable[Concatenate[LoggingTransaction, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> "defer.Deferred[T]":
        """:meth:`run_interaction` for a transaction known to be short, which an engine
        may run without a thread hand-off (the host's own hot paths; never modules')."""

    def execute(self, desc: str, sql: str, *args: Any) -> "defer.Deferred[List[Tuple[Any, ...]]]":
        """Run one statement in its own transaction; fires with all its rows."""

    def convert_param_style(self, sql: str) -> str:
        """Turn ``?`` placeholders into the driver's style."""
