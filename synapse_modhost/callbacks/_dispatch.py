"""Running one module callback: awaiting it, timing it, logging it, telling observers.

Every callback the host runs goes through :meth:`Dispatcher.call`, so the log, a future
inspector page and metrics all see each dispatch with its arguments, outcome and time.
"""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Set, Tuple

from twisted.internet import defer
from twisted.python.failure import Failure

__all__ = [
    "CallbackRef",
    "DispatchRecord",
    "Dispatcher",
    "callable_name",
    "delay_cancellation",
    "summarise_args",
]

logger = logging.getLogger("synapse_modhost.callbacks")


def callable_name(func: Callable[..., Any]) -> str:
    """``module.qualname`` of a function or bound method (falls back to ``repr``)."""
    target = getattr(func, "__func__", func)
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if module and qualname:
        return "%s.%s" % (module, qualname)
    return repr(func)


class CallbackRef(NamedTuple):
    """A registered callback, attributed to the module that registered it."""

    func: Callable[..., Any]
    #: the ``module:`` string of the ``modules:`` entry (or ``legacy:<path>``)
    module: str
    #: the category, e.g. ``spam_checker``
    category: str
    #: the callback name, e.g. ``check_event_for_spam``
    name: str

    @property
    def qualname(self) -> str:
        return callable_name(self.func)

    def __repr__(self) -> str:
        return "<callback %s.%s = %s from %s>" % (
            self.category,
            self.name,
            self.qualname,
            self.module,
        )


class DispatchRecord(NamedTuple):
    """One finished callback dispatch."""

    callback: CallbackRef
    args: Tuple[Any, ...]
    kwargs: Dict[str, Any]
    #: ``"ok"`` or ``"error"``
    outcome: str
    result: Any
    error: Optional[BaseException]
    #: reactor time when the call started (seconds)
    started_at: float
    #: wall-clock duration in seconds
    duration: float


Observer = Callable[[DispatchRecord], None]


def summarise_args(args: Tuple[Any, ...], kwargs: Dict[str, Any], limit: int = 60) -> str:
    """A short, one-line rendering of call arguments for logs."""
    parts = [_short(a, limit) for a in args]
    parts += ["%s=%s" % (k, _short(v, limit)) for k, v in kwargs.items()]
    return ", ".join(parts)


def _short(value: Any, limit: int) -> str:
    try:
        text = repr(value)
    except Exception:  # a module object whose repr fails must not break dispatch
        text = "<%s>" % type(value).__name__
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


class Dispatcher:
    """Invokes callbacks and reports each call."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._observers: List[Observer] = []
        self._warned_sync: Set[Tuple[str, str, str]] = set()

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(record)`` after every dispatch."""
        self._observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        self._observers.remove(observer)

    async def call(self, cb: CallbackRef, *args: Any, **kwargs: Any) -> Any:
        """Run ``cb`` with the arguments and await its result.

        Synapse awaits every callback. A callback that returns a plain value (a
        synchronous function) therefore fails there with ``TypeError: object X can't
        be used in 'await' expression``; it fails the same way here, with a warning that
        names the callback, and the category's failure policy then applies.
        """
        started_at = self._clock.seconds()
        t0 = time.perf_counter()
        try:
            res = cb.func(*args, **kwargs)
            if not inspect.isawaitable(res):
                self._warn_sync(cb, res)
                raise TypeError(
                    "object %s can't be used in 'await' expression" % (type(res).__name__,)
                )
            res = await res
        except BaseException as e:
            self._report(cb, args, kwargs, "error", None, e, started_at, t0)
            raise
        self._report(cb, args, kwargs, "ok", res, None, started_at, t0)
        return res

    def _warn_sync(self, cb: CallbackRef, res: Any) -> None:
        key = (cb.module, cb.category, cb.name)
        if key in self._warned_sync:
            return
        self._warned_sync.add(key)
        logger.warning(
            "Callback %s (%s.%s, registered by %s) is not async: it returned %s instead "
            "of an awaitable. Synapse awaits every callback, so this call fails there as "
            "it does here; make it 'async def' or return a Deferred.",
            cb.qualname,
            cb.category,
            cb.name,
            cb.module,
            _short(res, 40),
        )

    def _report(
        self,
        cb: CallbackRef,
        args: Tuple[Any, ...],
        kwargs: Dict[str, Any],
        outcome: str,
        result: Any,
        error: Optional[BaseException],
        started_at: float,
        t0: float,
    ) -> None:
        duration = time.perf_counter() - t0
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s.%s %s(%s) -> %s in %.3f ms",
                cb.category,
                cb.name,
                cb.qualname,
                summarise_args(args, kwargs),
                _short(result, 80) if error is None else "raised %r" % (error,),
                duration * 1000,
            )
        if self._observers:
            record = DispatchRecord(
                callback=cb,
                args=args,
                kwargs=kwargs,
                outcome=outcome,
                result=result,
                error=error,
                started_at=started_at,
                duration=duration,
            )
            for observer in list(self._observers):
                try:
                    observer(record)
                except Exception:
                    logger.exception("Dispatch observer %r failed", observer)


def delay_cancellation(awaitable: Any) -> "defer.Deferred[Any]":
    """Shield ``awaitable`` from cancellation, as Synapse does for decision callbacks.

    Cancelling the returned Deferred lets the callback run to its end; the Deferred then
    fails with ``CancelledError``.
    """
    inner: defer.Deferred[Any] = defer.ensureDeferred(awaitable) if not isinstance(
        awaitable, defer.Deferred
    ) else awaitable
    if inner.called and not inner.paused:
        # Already finished (a callback that never waited on anything, the usual case):
        # there is nothing left to shield, and the result is handed over as it is.
        return inner

    def cancel(outer: "defer.Deferred[Any]") -> None:
        outer.pause()
        outer.errback(Failure(defer.CancelledError()))

        def resume(result: Any) -> None:
            outer.unpause()
            return None

        inner.addBoth(resume)

    outer: defer.Deferred[Any] = defer.Deferred(cancel)

    def relay(result: Any) -> None:
        if outer.called:
            return None
        if isinstance(result, Failure):
            outer.errback(result)
        else:
            outer.callback(result)
        return None

    inner.addBoth(relay)
    return outer
