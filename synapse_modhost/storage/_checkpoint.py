"""``WalCheckpointer``: copies an SQLite write-ahead log back into the database file on its
own thread and connection, so that no commit waits for the disk.

Left to itself SQLite checkpoints on the committing connection: the commit that takes the
log past 1,000 pages copies the log into the database file and ``fsync``s it before it
returns. The host commits short transactions on the reactor thread (see
``SqliteEngine.run_short_interaction``), where that would stall every connection for
milliseconds. So the engine turns automatic checkpoints off (``PRAGMA
wal_autocheckpoint=0``) and pokes this checkpointer after every :data:`POKE_AFTER_CHANGES`
changed rows instead: a ``PASSIVE`` checkpoint on a second connection, which neither
takes the write lock nor waits for the writer, so no commit can fail or wait because of it.

Two things it leaves to the engine, which does them on its database thread with the main
connection (:attr:`WalCheckpointer.request`):

- ``"truncate"``: a passive checkpoint never stops the writer, so under unbroken load the
  log can keep growing. Once it holds :data:`RESTART_FRAMES` frames the engine runs one
  ``TRUNCATE`` checkpoint there (requests wait behind it, as behind any queued work),
  waiting at most 100 ms for readers on other connections; if one holds on, the next
  request comes at twice the size.
- ``"fallback"``: the checkpointer cannot work (its connection does not open, or
  something unexpected failed); the engine turns SQLite's automatic checkpoints back on.

Durability is unchanged: a commit is in the log, in the operating system's hands, when it
returns, checkpointed or not. The thread starts, and its connection opens, on the first
poke, so start-up pays nothing for it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Optional, Tuple

__all__ = ["FALLBACK", "POKE_AFTER_CHANGES", "RESTART_FRAMES", "TRUNCATE", "WalCheckpointer"]

logger = logging.getLogger(__name__)

#: changed rows between two pokes (a message is about ten rows; SQLite's own default
#: checkpoints every 1,000 pages, about 150 messages)
POKE_AFTER_CHANGES = 1_000

#: frames in the log (pages of 4 KiB by default) at which the engine truncates it
RESTART_FRAMES = 65_536

#: :attr:`WalCheckpointer.request` values
TRUNCATE = "truncate"
FALLBACK = "fallback"


class WalCheckpointer:
    """Runs ``PRAGMA wal_checkpoint`` on its own thread whenever :meth:`poke`-d."""

    def __init__(
        self,
        path: str,
        *,
        uri: bool = False,
        busy_timeout_ms: int = 10_000,
        restart_frames: int = RESTART_FRAMES,
        name: str = "db-checkpoint",
    ) -> None:
        self._path = path
        self._uri = uri
        self._busy_timeout_ms = busy_timeout_ms
        self._restart_frames = restart_frames
        self._name = name
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._poked = False
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        #: passive checkpoints run
        self.checkpoints = 0
        #: ``(busy, frames in the log, frames checkpointed)`` of the last checkpoint
        self.last_result: Optional[Tuple[int, int, int]] = None
        #: what the engine should do on its database thread (:data:`TRUNCATE`,
        #: :data:`FALLBACK`, or ``None``); set under the lock (:meth:`ask`), taken by the
        #: engine with :meth:`take_request`. A fallback is never replaced by a truncate.
        self.request: Optional[str] = None

    @property
    def restart_frames(self) -> int:
        """Frames in the log at which a truncate is asked for."""
        return self._restart_frames

    def back_off(self) -> None:
        """A truncate could not finish (a reader elsewhere): ask again only at twice the size."""
        self._restart_frames *= 2

    def ask(self, request: str) -> None:
        """Record a request for the engine (from any thread)."""
        with self._lock:
            if self.request != FALLBACK:
                self.request = request

    def take_request(self) -> Optional[str]:
        """The pending request, cleared (the engine, on the reactor thread)."""
        with self._lock:
            request, self.request = self.request, None
            return request

    @property
    def thread(self) -> Optional[threading.Thread]:
        """The checkpointing thread, once the first poke has started it."""
        return self._thread

    def poke(self) -> None:
        """Ask for a checkpoint soon (from any thread); starts the thread the first time."""
        with self._lock:
            if self._stopping:
                return
            self._poked = True
            if self._thread is None:
                thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                thread.start()  # may raise: then there is no thread to join later
                self._thread = thread
        self._wake.set()

    def stop(self) -> None:
        """Run a checkpoint already asked for, close the connection, end the thread."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        conn: Optional[sqlite3.Connection] = None
        try:
            while True:
                self._wake.wait()
                with self._lock:
                    self._wake.clear()
                    poked, self._poked = self._poked, False
                    stopping = self._stopping
                if poked:
                    if conn is None:
                        conn = self._connect()
                        if conn is None:
                            return
                    self._checkpoint(conn)
                if stopping:
                    return
        except Exception:
            logger.exception("%s: the WAL checkpointer failed; SQLite checkpoints again", self._path)
            self.ask(FALLBACK)
        finally:
            with self._lock:
                self._stopping = True
            if conn is not None:
                conn.close()

    def _connect(self) -> Optional[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout_ms / 1000.0,
                isolation_level=None,
                uri=self._uri,
            )
            conn.execute("PRAGMA wal_autocheckpoint=0")
        except sqlite3.Error as e:
            logger.warning(
                "%s: cannot open a connection to checkpoint the WAL (%s); SQLite checkpoints again",
                self._path,
                e,
            )
            self.ask(FALLBACK)
            return None
        return conn

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
        except sqlite3.Error as e:
            logger.warning("%s: WAL checkpoint failed: %s", self._path, e)
            return
        self.checkpoints += 1
        self.last_result = (busy, frames, done)
        if frames >= self._restart_frames:
            self.ask(TRUNCATE)
