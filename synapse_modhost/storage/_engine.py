"""The SQLite implementation of the :class:`DatabaseEngine` interface (``_interface``).

Handlers and stores talk to a :class:`DatabaseEngine`; nothing above the storage layer
knows which database is underneath, so a PostgreSQL engine can be added beside
:class:`SqliteEngine` without touching them.

:class:`SqliteEngine` owns one connection, in WAL mode with ``synchronous=NORMAL``: a
transaction whose commit has returned survives the process being killed (the WAL is in
the operating system's hands), while commits cost no ``fsync``. Two ways to run:

- **threaded** (the host): one dedicated database thread (:class:`DatabaseThread`) runs
  every interaction, in submission order (``ModuleApi.run_db_interaction`` promises
  modules their function runs "in a thread"); interactions that queued up together are
  handed back in one reactor wake-up. The one exception is
  :meth:`SqliteEngine.run_short_interaction`, which the host uses for its own short
  writes: when the database thread has nothing in hand it runs on the reactor thread.
  WAL checkpoints run on a thread of their own (:class:`WalCheckpointer`), so no commit
  waits for an ``fsync``;
- **inline** (the in-memory test kit, e.g. with a ``MemoryReactorClock``): interactions
  run on the calling thread and return an already-fired Deferred.

Every interaction is one transaction: committed when ``func`` returns, rolled back when
it raises (the exception propagates). As on Synapse, a transaction failing with the
driver's ``OperationalError`` (a locked database, but also bad SQL) is retried, up to
five attempts in all, with a warning on ``synapse.storage.txn``; callbacks registered by
failed attempts accumulate. ``call_after`` callbacks run on the reactor thread after the
commit (``async_call_after`` ones first); ``call_on_exception`` ones when it finally fails.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from types import ModuleType
from typing import Any, Callable, Concatenate, List, Optional, ParamSpec, Tuple, TypeVar

from twisted.internet import defer

from synapse_modhost.storage import _checkpoint
from synapse_modhost.storage._checkpoint import FALLBACK, TRUNCATE, WalCheckpointer
from synapse_modhost.storage._errors import DatabaseClosedError, DatabaseOpenError
from synapse_modhost.storage._thread import DatabaseThread
from synapse_modhost.storage._transaction import (
    CallbackEntry,
    LoggingTransaction,
    run_after_callbacks,
    run_exception_callbacks,
)

__all__ = ["MEMORY", "SqliteEngine"]

T = TypeVar("T")
P = ParamSpec("P")

txn_logger = logging.getLogger("synapse.storage.txn")
logger = logging.getLogger(__name__)

#: the path of a private in-memory database
MEMORY = ":memory:"

#: attempts of a transaction failing with ``OperationalError`` (as Synapse)
MAX_ATTEMPTS = 5

_MAX_TXN_ID = 0x100000

#: SQLite's own checkpoint threshold (pages), restored when the checkpointer gives up
_SQLITE_AUTOCHECKPOINT = 1000

#: how long a WAL truncate waits for readers on other connections (the writes queued
#: behind it wait as long)
_TRUNCATE_WAIT_MS = 100


class _HandedOver(Exception):
    """An inline attempt found the database locked: retry on the database thread."""


def _is_memory(path: str) -> bool:
    return path == MEMORY or path.startswith("file::memory:")


class SqliteEngine:
    """One SQLite connection, run on a dedicated thread or inline (see the module doc).

    ``path`` is a file (its directory is created on :meth:`start`) or ``":memory:"``.
    """

    name = "sqlite3"
    module: ModuleType = sqlite3
    supports_returning = sqlite3.sqlite_version_info >= (3, 35, 0)
    # the names Synapse's Sqlite3Engine has, for modules that look at txn.database_engine
    single_threaded = True
    supports_using_any_list = False

    def __init__(
        self,
        reactor: Any,
        path: str,
        *,
        threaded: bool,
        server_name: str = "",
        busy_timeout_ms: int = 10_000,
        cache_size_kib: int = 16_384,
        cached_statements: int = 512,
    ) -> None:
        if not path:
            raise DatabaseOpenError(path, "no path given")
        self._reactor = reactor
        self._path = path
        self._threaded = threaded
        self._server_name = server_name
        self._busy_timeout_ms = busy_timeout_ms
        self._cache_size_kib = cache_size_kib
        self._cached_statements = cached_statements
        self._conn: Optional[sqlite3.Connection] = None
        self._journal_mode = ""
        self._worker: Optional[DatabaseThread] = None
        self._shutdown_trigger: Any = None
        self._closing = False
        self._close_waiters: Optional[List["defer.Deferred[None]"]] = None
        self._txn_id = 0
        #: the thread running a transaction right now (to refuse nested interactions)
        self._txn_thread: Optional[int] = None
        self._db_thread: Optional[threading.Thread] = None
        self._checkpointer: Optional[WalCheckpointer] = None
        #: ``conn.total_changes`` when the checkpointer was last poked
        self._changes_at_poke = 0
        #: held by whichever thread is using the connection (threaded mode)
        self._conn_lock = threading.Lock()
        #: an inline transaction could not restore ``busy_timeout`` (see _locked)
        self._busy_timeout_lost = False

    def __repr__(self) -> str:
        mode = "threaded" if self._threaded else "inline"
        return f"<SqliteEngine {self._path!r} {mode}>"

    # ------------------------------------------------------------------ properties

    @property
    def reactor(self) -> Any:
        return self._reactor

    @property
    def path(self) -> str:
        return self._path

    @property
    def threaded(self) -> bool:
        return self._threaded

    @property
    def running(self) -> bool:
        return self._conn is not None and not self._closing

    @property
    def journal_mode(self) -> str:
        """The journal mode in effect (``"wal"`` for a file, ``"memory"`` in memory)."""
        return self._journal_mode

    @property
    def checkpointer(self) -> Optional[WalCheckpointer]:
        """What copies the WAL into the database file (threaded, on a file, only)."""
        return self._checkpointer

    @property
    def db_thread(self) -> Optional[threading.Thread]:
        """The thread interactions run on (``None`` inline)."""
        return self._db_thread

    def convert_param_style(self, sql: str) -> str:
        return sql

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Open the database (creating the file's directory) and start the DB thread."""
        if self._conn is not None or self._closing:
            raise RuntimeError(f"{self!r} was already started")
        path = self._path
        if not _is_memory(path) and not path.startswith("file:"):
            directory = os.path.dirname(os.path.abspath(path))
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as e:
                raise DatabaseOpenError(
                    path, f"cannot create the directory {directory!r}: {e.strerror or e}"
                ) from e
            if os.path.isdir(path):
                raise DatabaseOpenError(path, "it is a directory")
        conn: Optional[sqlite3.Connection] = None
        try:
            conn = sqlite3.connect(
                path,
                timeout=self._busy_timeout_ms / 1000.0,
                isolation_level=None,  # transactions are begun and ended explicitly
                check_same_thread=False,  # opened here, used on the DB thread
                cached_statements=self._cached_statements,
                uri=path.startswith("file:"),
            )
            self._journal_mode = self._configure(conn)
            if self._threaded and self._journal_mode == "wal":
                # checkpoints leave the commit path (see _checkpoint.py)
                conn.execute("PRAGMA wal_autocheckpoint=0")
                self._checkpointer = WalCheckpointer(
                    path,
                    uri=path.startswith("file:"),
                    busy_timeout_ms=self._busy_timeout_ms,
                    restart_frames=_checkpoint.RESTART_FRAMES,
                    name=f"db-checkpoint-{os.path.basename(path) or 'sqlite'}",
                )
        except sqlite3.Error as e:
            if conn is not None:
                conn.close()
            raise DatabaseOpenError(path, str(e)) from e
        self._conn = conn
        if self._threaded:
            worker = DatabaseThread(self._reactor, f"db-{os.path.basename(path) or 'sqlite'}")
            worker.start()
            self._worker = worker
            self._db_thread = worker.thread
            self._shutdown_trigger = self._reactor.addSystemEventTrigger(
                "before", "shutdown", self.close
            )

    def _configure(self, conn: sqlite3.Connection) -> str:
        (mode,) = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode != "wal" and not _is_memory(self._path):
            logger.warning("%s: WAL journal mode unavailable; using %r", self._path, mode)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
        conn.execute(f"PRAGMA cache_size=-{int(self._cache_size_kib)}")
        conn.execute("PRAGMA temp_store=MEMORY")
        # reads the header: a file that is not a database fails here
        conn.execute("PRAGMA schema_version").fetchone()
        return str(mode)

    def close(self) -> "defer.Deferred[None]":
        """Let queued interactions finish, close the connection, stop the DB thread."""
        if self._close_waiters is not None:  # closing
            waiter: "defer.Deferred[None]" = defer.Deferred()
            self._close_waiters.append(waiter)
            return waiter
        if self._conn is None:  # never started, or closed
            return defer.succeed(None)
        self._closing = True
        self._close_waiters = []
        if self._shutdown_trigger is not None:
            self._reactor.removeSystemEventTrigger(self._shutdown_trigger)
            self._shutdown_trigger = None
        worker = self._worker
        if worker is None:
            self._close_connection()
            self._closed()
            return defer.succeed(None)
        d = worker.submit(self._locked, self._close_connection)

        def stopped(result: object) -> object:
            worker.stop()
            self._worker = None
            self._closed()
            return result

        d.addBoth(stopped)
        return d

    def _close_connection(self) -> None:
        conn = self._conn
        assert conn is not None
        try:
            if self._checkpointer is not None:
                # the last connection to close checkpoints and removes the WAL
                self._checkpointer.stop()
        except Exception:  # pragma: no cover - stop() joins a thread that has ended
            logger.exception("%s: stopping the WAL checkpointer failed", self._path)
        try:
            conn.execute("PRAGMA optimize")
        except sqlite3.Error:  # pragma: no cover - best effort
            pass
        finally:
            conn.close()

    def _closed(self) -> None:
        self._conn = None
        waiters, self._close_waiters = self._close_waiters or [], None
        for waiter in waiters:
            waiter.callback(None)

    # ------------------------------------------------------------------ interactions

    def run_interaction(
        self,
        desc: str,
        func: Callable[Concatenate[LoggingTransaction, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> "defer.Deferred[T]":
        return self._run(desc, func, args, kwargs, inline_if_idle=False)

    def run_short_interaction(
        self,
        desc: str,
        func: Callable[Concatenate[LoggingTransaction, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> "defer.Deferred[T]":
        """As :meth:`run_interaction`, for a transaction known to be short.

        Threaded, it runs right here on the reactor thread when the database thread has
        nothing queued, running or undelivered (so order is kept and the connection is
        free), and is queued like any other otherwise. Handing a transaction to the
        database thread and its result back costs more than a short one takes (two
        thread wake-ups and the GIL changing hands twice); the host's event writes go
        this way. Module interactions never do: they always run on the database thread.
        """
        return self._run(desc, func, args, kwargs, inline_if_idle=True)

    def _run(
        self,
        desc: str,
        func: Callable[..., T],
        args: Tuple[Any, ...],
        kwargs: Any,
        *,
        inline_if_idle: bool,
    ) -> "defer.Deferred[T]":
        if self._conn is None or self._closing:
            return defer.fail(DatabaseClosedError(f"{self!r} is not running ({desc})"))
        if self._txn_thread == threading.get_ident():
            return defer.fail(
                RuntimeError(f"run_interaction({desc!r}) called from inside a transaction")
            )
        after: List[CallbackEntry] = []
        async_after: List[CallbackEntry] = []
        on_exception: List[CallbackEntry] = []
        d: Optional["defer.Deferred[T]"] = None
        worker = self._worker
        if worker is None:
            try:
                result = self._transaction(
                    desc, after, async_after, on_exception, func, args, kwargs
                )
            except BaseException:
                d = defer.fail()
            else:
                d = defer.succeed(result)
        else:
            if self._checkpointer is not None and self._checkpointer.request is not None:
                self._serve_checkpointer_request(worker, self._checkpointer)
            handed_over = False
            # inline only when nothing submitted earlier is still in hand (order) and no
            # other thread has the connection
            if inline_if_idle and worker.idle and self._conn_lock.acquire(blocking=False):
                try:
                    d = defer.succeed(
                        self._inline_transaction(
                            desc, after, async_after, on_exception, func, args, kwargs
                        )
                    )
                except _HandedOver:
                    handed_over = True
                    d = None
                except BaseException:
                    d = defer.fail()
                finally:
                    self._conn_lock.release()
            if d is None:
                d = worker.submit(
                    self._locked,
                    self._transaction,
                    desc,
                    after,
                    async_after,
                    on_exception,
                    func,
                    args,
                    kwargs,
                    # after a failed inline attempt, the remaining ones
                    (2 if handed_over else 1, MAX_ATTEMPTS),
                )
        d.addCallbacks(
            run_after_callbacks,
            run_exception_callbacks,
            callbackArgs=(after, async_after, on_exception),
            errbackArgs=(on_exception,),
        )
        return d

    def execute(self, desc: str, sql: str, *args: Any) -> "defer.Deferred[List[Tuple[Any, ...]]]":
        return self.run_interaction(desc, _execute_txn, sql, args)

    def _locked(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` holding the connection (on the database thread)."""
        with self._conn_lock:
            if self._busy_timeout_lost and self._conn is not None:
                self._conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
                self._busy_timeout_lost = False
            return func(*args)

    def _inline_transaction(
        self,
        desc: str,
        after: List[CallbackEntry],
        async_after: List[CallbackEntry],
        on_exception: List[CallbackEntry],
        func: Callable[..., T],
        args: Tuple[Any, ...],
        kwargs: Any,
    ) -> T:
        """One attempt on the reactor thread, never waiting for a lock another process
        holds: a locked database raises :class:`_HandedOver` (the retries, with their
        waits, happen on the database thread)."""
        conn = self._conn
        assert conn is not None
        try:
            conn.execute("PRAGMA busy_timeout=0")
        except sqlite3.Error as e:  # pragma: no cover - a PRAGMA that sets a number
            raise _HandedOver() from e
        try:
            return self._transaction(
                desc, after, async_after, on_exception, func, args, kwargs, attempts=(1, 1)
            )
        except sqlite3.OperationalError as e:
            raise _HandedOver() from e
        finally:
            try:
                conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            except sqlite3.Error:  # pragma: no cover - never fail a committed transaction
                self._busy_timeout_lost = True

    def _serve_checkpointer_request(self, worker: DatabaseThread, checkpointer: WalCheckpointer) -> None:
        """Queue what the checkpointer asked for (see ``_checkpoint``) on the database thread."""
        request = checkpointer.take_request()
        job: Callable[[], None]
        if request == FALLBACK:
            self._checkpointer = None
            try:
                checkpointer.stop()
            except Exception:  # pragma: no cover - stop() joins a thread that has ended
                logger.exception("%s: stopping the WAL checkpointer failed", self._path)
            job = self._restore_autocheckpoint
        elif request == TRUNCATE:
            job = self._truncate_wal
        else:
            return
        worker.submit(self._locked, job)

    def _truncate_wal(self) -> None:
        """Checkpoint the whole WAL and empty it, waiting at most :data:`_TRUNCATE_WAIT_MS`
        for readers elsewhere; if one holds on, ask again only when the log is twice as long."""
        conn = self._conn
        assert conn is not None
        try:
            conn.execute(f"PRAGMA busy_timeout={_TRUNCATE_WAIT_MS}")
            try:
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()[0][0]
            finally:
                conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
        except sqlite3.Error as e:
            logger.warning("%s: truncating the WAL failed: %s", self._path, e)
            return
        checkpointer = self._checkpointer
        if busy and checkpointer is not None:
            checkpointer.back_off()
            logger.warning(
                "%s: the WAL could not be truncated (another connection is reading); "
                "trying again at %d frames",
                self._path,
                checkpointer.restart_frames,
            )

    def _restore_autocheckpoint(self) -> None:
        conn = self._conn
        assert conn is not None
        try:
            conn.execute(f"PRAGMA wal_autocheckpoint={_SQLITE_AUTOCHECKPOINT}")
        except sqlite3.Error as e:  # pragma: no cover - a PRAGMA that sets a number
            logger.warning("%s: restoring automatic checkpoints failed: %s", self._path, e)

    def _poke_checkpointer(self, conn: sqlite3.Connection) -> None:
        checkpointer = self._checkpointer
        if checkpointer is None:
            return
        changes = conn.total_changes
        if changes - self._changes_at_poke < _checkpoint.POKE_AFTER_CHANGES:
            return
        self._changes_at_poke = changes
        try:
            checkpointer.poke()
        except Exception:  # e.g. no thread can be started: never fail a committed txn
            logger.exception("%s: cannot run the WAL checkpointer; SQLite checkpoints again", self._path)
            checkpointer.ask(FALLBACK)

    def _transaction(
        self,
        desc: str,
        after: List[CallbackEntry],
        async_after: List[CallbackEntry],
        on_exception: List[CallbackEntry],
        func: Callable[..., T],
        args: Tuple[Any, ...],
        kwargs: Any,
        attempts: Tuple[int, int] = (1, MAX_ATTEMPTS),
    ) -> T:
        """Run ``func`` in a transaction (on the DB thread, or inline); ``attempts``: the
        first and last attempt numbers to make (of :data:`MAX_ATTEMPTS`)."""
        conn = self._conn
        if conn is None:  # closed while queued (cannot happen: close queues behind)
            raise DatabaseClosedError(f"{self!r} is closed ({desc})")
        self._txn_id = (self._txn_id + 1) % _MAX_TXN_ID
        name = "%s-%x" % (desc, self._txn_id)
        debug = txn_logger.isEnabledFor(logging.DEBUG)
        if debug:
            txn_logger.debug("[TXN START] {%s}", name)
        self._txn_thread = threading.get_ident()
        try:
            first, last = attempts
            for attempt in range(first, last + 1):
                cursor = conn.cursor()
                txn = LoggingTransaction(
                    txn=cursor,
                    name=name,
                    server_name=self._server_name,
                    database_engine=self,
                    after_callbacks=after,
                    async_after_callbacks=async_after,
                    exception_callbacks=on_exception,
                )
                try:
                    cursor.execute("BEGIN")
                    result = func(txn, *args, **kwargs)
                    # (a module's executescript may already have committed)
                    if conn.in_transaction:
                        cursor.execute("COMMIT")
                except sqlite3.OperationalError as e:
                    txn_logger.warning("[TXN OPERROR] {%s} %s %d/%d", name, e, attempt, MAX_ATTEMPTS)
                    self._rollback(conn, name)
                    if attempt < last:
                        continue
                    raise
                except BaseException:
                    self._rollback(conn, name)
                    raise
                finally:
                    cursor.close()
                self._poke_checkpointer(conn)
                return result
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            self._txn_thread = None
            if debug:
                txn_logger.debug("[TXN END] {%s}", name)

    @staticmethod
    def _rollback(conn: sqlite3.Connection, name: str) -> None:
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as e:  # pragma: no cover - the connection is broken
            txn_logger.warning("[TXN EROLL] {%s} %s", name, e)


def _execute_txn(txn: LoggingTransaction, sql: str, args: Tuple[Any, ...]) -> List[Tuple[Any, ...]]:
    txn.execute(sql, args)
    return txn.fetchall()
