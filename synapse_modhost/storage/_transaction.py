"""``LoggingTransaction``: the ``txn`` a module's ``run_db_interaction`` function receives.

A thin wrapper over a DB-API cursor with Synapse's interface: ``execute`` /
``executemany`` (SQL logged at DEBUG on ``synapse.storage.SQL``), the fetch methods,
``rowcount`` / ``description`` / ``lastrowid``, and callbacks to run once the transaction
has committed (``call_after``, ``async_call_after``) or failed (``call_on_exception``).

SQL uses ``?`` placeholders. Synapse modules write ``?`` too: on SQLite the driver takes
them as they are (as it does inside Synapse), and an engine for a ``%s`` driver
(PostgreSQL) converts them through its ``convert_param_style``.
"""

from __future__ import annotations

import logging
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

from twisted.internet import defer
from twisted.python.failure import Failure

__all__ = [
    "CallbackEntry",
    "LoggingTransaction",
    "run_after_callbacks",
    "run_exception_callbacks",
]

sql_logger = logging.getLogger("synapse.storage.SQL")

T = TypeVar("T")

#: ``(callback, args, kwargs)`` as stored by ``call_after`` / ``call_on_exception``.
CallbackEntry = Tuple[Callable[..., Any], Tuple[Any, ...], Dict[str, Any]]

_MAX_LOGGED_VALUES = 1000


class LoggingTransaction:
    """Proxies a DB-API cursor, logging each statement.

    ``database_engine`` may provide ``convert_param_style(sql)`` (e.g. to turn ``?``
    placeholders into ``%s`` for PostgreSQL); without it the SQL is passed unchanged.
    A callback list given as ``None`` means such callbacks are not allowed (asserted,
    as on Synapse).
    """

    __slots__ = (
        "txn",
        "name",
        "server_name",
        "database_engine",
        "after_callbacks",
        "async_after_callbacks",
        "exception_callbacks",
    )

    def __init__(
        self,
        *,
        txn: Any,
        name: str,
        server_name: str = "",
        database_engine: Any = None,
        after_callbacks: Optional[List[CallbackEntry]] = None,
        async_after_callbacks: Optional[List[CallbackEntry]] = None,
        exception_callbacks: Optional[List[CallbackEntry]] = None,
    ) -> None:
        self.txn = txn
        self.name = name
        self.server_name = server_name
        self.database_engine = database_engine
        self.after_callbacks = after_callbacks
        self.async_after_callbacks = async_after_callbacks
        self.exception_callbacks = exception_callbacks

    # ---------------------------------------------------------------- callbacks

    def call_after(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Run ``callback(*args, **kwargs)`` on the reactor thread once the transaction has
        committed (callbacks from failed, retried attempts accumulate and run too)."""
        assert self.after_callbacks is not None
        self.after_callbacks.append((callback, args, kwargs))

    def async_call_after(
        self, callback: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> None:
        """As ``call_after`` for a coroutine function; these run before the others."""
        assert self.async_after_callbacks is not None
        self.async_after_callbacks.append((callback, args, kwargs))

    def call_on_exception(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Run ``callback(*args, **kwargs)`` if the transaction finally fails."""
        assert self.exception_callbacks is not None
        self.exception_callbacks.append((callback, args, kwargs))

    # ---------------------------------------------------------------- cursor API

    def fetchone(self) -> Optional[Tuple[Any, ...]]:
        return self.txn.fetchone()

    def fetchmany(self, size: Optional[int] = None) -> List[Tuple[Any, ...]]:
        if size is None:
            return self.txn.fetchmany()
        return self.txn.fetchmany(size)

    def fetchall(self) -> List[Tuple[Any, ...]]:
        return self.txn.fetchall()

    def __iter__(self) -> Iterator[Tuple[Any, ...]]:
        return iter(self.txn)

    @property
    def rowcount(self) -> int:
        return self.txn.rowcount

    @property
    def description(self) -> Optional[Sequence[Any]]:
        return self.txn.description

    @property
    def lastrowid(self) -> Optional[int]:
        """The rowid of the last row inserted by ``execute`` (SQLite semantics)."""
        return self.txn.lastrowid

    def execute(self, sql: str, parameters: Any = ()) -> None:
        self._do_execute(self.txn.execute, sql, parameters)

    def executemany(self, sql: str, *args: Any) -> None:
        """Run ``sql`` once per parameter sequence (not for statements returning rows)."""
        self._do_execute(self.txn.executemany, sql, *args)

    def execute_batch(self, sql: str, args: Iterable[Iterable[Any]]) -> None:
        """As ``executemany`` (``rowcount`` is unreliable afterwards)."""
        self.executemany(sql, args)

    def executescript(self, sql: str) -> None:
        """Run several statements (SQLite cursors only)."""
        script = getattr(self.txn, "executescript", None)
        if script is None:
            raise NotImplementedError("executescript only exists for the sqlite driver")
        self._do_execute(script, sql)

    def _do_execute(self, func: Callable[..., Any], sql: str, *args: Any) -> Any:
        if sql_logger.isEnabledFor(logging.DEBUG):
            one_line = " ".join(line.strip() for line in sql.splitlines() if line.strip())
            sql_logger.debug("[SQL] {%s} %s", self.name, one_line)
            if args:
                values = repr(args[0])
                if len(values) > _MAX_LOGGED_VALUES:
                    values = values[:_MAX_LOGGED_VALUES] + "... [truncated]"
                sql_logger.debug("[SQL values] {%s} %s", self.name, values)
        convert = getattr(self.database_engine, "convert_param_style", None)
        if convert is not None:
            sql = convert(sql)
        return func(sql, *args)

    def close(self) -> None:
        self.txn.close()

    def __enter__(self) -> "LoggingTransaction":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_after_callbacks(
    result: T,
    after: List[CallbackEntry],
    async_after: List[CallbackEntry],
    on_exception: List[CallbackEntry],
) -> Any:
    """After the commit, on the reactor thread: the ``async_call_after`` callbacks, then the
    ``call_after`` ones; ``result`` passes through (in a Deferred when any is async). If a
    callback raises, the ``call_on_exception`` ones run and the exception propagates."""
    if async_after:
        return defer.ensureDeferred(_run_after_async(result, after, async_after, on_exception))
    _call_after(after, on_exception)
    return result


def run_exception_callbacks(failure: Failure, on_exception: List[CallbackEntry]) -> Failure:
    """After the rollback: the ``call_on_exception`` callbacks; ``failure`` passes through."""
    _run_on_exception(on_exception)
    return failure


async def _run_after_async(
    result: T,
    after: List[CallbackEntry],
    async_after: List[CallbackEntry],
    on_exception: List[CallbackEntry],
) -> T:
    try:
        for callback, args, kwargs in async_after:
            await callback(*args, **kwargs)
    except BaseException:
        _run_on_exception(on_exception)
        raise
    _call_after(after, on_exception)
    return result


def _call_after(after: List[CallbackEntry], on_exception: List[CallbackEntry]) -> None:
    try:
        for callback, args, kwargs in after:
            callback(*args, **kwargs)
    except BaseException:
        _run_on_exception(on_exception)
        raise


def _run_on_exception(on_exception: List[CallbackEntry]) -> None:
    for callback, args, kwargs in on_exception:
        callback(*args, **kwargs)
