"""``DatabaseThread``: one worker thread running submitted calls in order.

Lighter than a one-thread ``ThreadPool`` with ``deferToThreadPool``: a plain queue, no
per-call context copying, and results handed back to the reactor in batches — when
calls queue up (concurrent requests), the worker runs those already waiting and wakes
the reactor once for all of them (at most :data:`MAX_BATCH` at a time). :attr:`idle`
tells the reactor thread when nothing it submitted is still queued, running or waiting
to be delivered, so that the engine may run a short transaction inline.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, List, Tuple, TypeVar

from twisted.internet import defer
from twisted.python.failure import Failure

__all__ = ["MAX_BATCH", "DatabaseThread"]

T = TypeVar("T")

#: most results delivered to the reactor in one wake-up
MAX_BATCH = 64

_Job = Tuple["defer.Deferred[Any]", Callable[..., Any], Tuple[Any, ...]]
_Result = Tuple["defer.Deferred[Any]", bool, Any]

_STOP = object()


class DatabaseThread:
    """Runs ``submit``-ted calls one at a time on its own thread; results on the reactor."""

    def __init__(self, reactor: Any, name: str) -> None:
        self._reactor = reactor
        self._queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        # a daemon: an engine never closed must not keep the process alive (commits are
        # durable when they return, so nothing acknowledged is lost)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False
        #: calls submitted whose results the reactor has not yet been handed (any thread
        #: may submit, hence the lock)
        self._pending = 0
        self._pending_lock = threading.Lock()

    @property
    def idle(self) -> bool:
        """No submitted call is queued, running or undelivered."""
        return self._pending == 0

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def start(self) -> None:
        self._started = True
        self._thread.start()

    def submit(self, func: Callable[..., T], *args: Any) -> "defer.Deferred[T]":
        """Queue ``func(*args)``; the Deferred fires on the reactor thread."""
        d: "defer.Deferred[T]" = defer.Deferred()
        with self._pending_lock:
            self._pending += 1
        self._queue.put((d, func, args))
        return d

    def stop(self) -> None:
        """Finish queued calls (their results still delivered), then end the thread."""
        if not self._started:
            return
        self._queue.put(_STOP)
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        while True:
            item: Any = get()
            results: List[_Result] = []
            while True:
                if item is _STOP:
                    if results:
                        self._reactor.callFromThread(self._deliver, results)
                    return
                d, func, args = item
                try:
                    results.append((d, True, func(*args)))
                except BaseException:
                    results.append((d, False, Failure()))
                if len(results) >= MAX_BATCH:
                    break
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            self._reactor.callFromThread(self._deliver, results)

    def _deliver(self, results: List[_Result]) -> None:
        for d, ok, value in results:
            with self._pending_lock:
                self._pending -= 1
            if ok:
                d.callback(value)
            else:
                d.errback(value)
