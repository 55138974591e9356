"""Background work for modules: looping and delayed calls, background processes, threads.

Everything here runs on the reactor (clock) it is given; nothing imports the global
reactor. Synapse runs each looping or delayed call of a module "as a background process":
an exception is logged as ``Background process '<desc>' threw an exception`` and swallowed,
so a failing looping call keeps looping.

This module also provides the helpers modules import from ``synapse.module_api``,
``synapse.logging.context`` and ``synapse.metrics.background_process_metrics``
(``run_in_background``, ``make_deferred_yieldable``, the deprecated module-level
``run_as_background_process`` and ``wrap_as_background_process``). The host has no
logcontexts, so the logcontext rules those helpers enforce in Synapse are moot here.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import (
    Any,
    Awaitable,
    Callable,
    Coroutine,
    TypeVar,
    cast,
)

from twisted.internet import defer, task
from twisted.internet.interfaces import IDelayedCall, IReactorThreads, IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure

__all__ = [
    "BackgroundLoopingCall",
    "defer_to_thread",
    "defer_to_threadpool",
    "delayed_background_call",
    "looping_background_call",
    "make_deferred_yieldable",
    "metrics_run_as_background_process",
    "module_run_as_background_process",
    "run_as_background_process",
    "run_in_background",
    "sleep",
    "wrap_as_background_process",
]

logger = logging.getLogger("synapse_modhost.module_api")

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: the server name Synapse's deprecated module-level ``run_as_background_process`` runs under
UNKNOWN_SERVER_NAME = "synapse_module_running_from_unknown_server"


# ---------------------------------------------------------------------- background processes


def run_as_background_process(
    desc: str,
    func: Callable[..., Any],
    *args: Any,
    module: str | None = None,
    **kwargs: Any,
) -> defer.Deferred[Any]:
    """Run ``func(*args, **kwargs)`` as a background process.

    ``func`` may be synchronous or return an awaitable (coroutine or Deferred). The returned
    Deferred fires with its result, or with ``None`` when it raised: the exception is logged
    with ``desc`` (and the module it belongs to) and never propagates.
    """

    async def run() -> Any:
        try:
            result = func(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result
        except Exception:
            if module is None:
                logger.exception("Background process '%s' threw an exception", desc)
            else:
                logger.exception(
                    "Background process '%s' threw an exception (module %s)", desc, module
                )
            return None

    return defer.ensureDeferred(run())


def module_run_as_background_process(
    desc: str,
    func: Callable[..., Awaitable[T | None]],
    *args: Any,
    bg_start_span: bool = True,
    **kwargs: Any,
) -> defer.Deferred[T | None]:
    """``synapse.module_api.run_as_background_process``: deprecated in Synapse.

    Logs Synapse's deprecation warning on every call (as Synapse does), then behaves like
    :func:`run_as_background_process`. ``bg_start_span`` is accepted and ignored (no tracing).
    """
    logger.warning(
        "Using deprecated `run_as_background_process` that's exported from the Module API. "
        "Prefer `ModuleApi.run_as_background_process` instead.",
    )
    return run_as_background_process(desc, func, *args, **kwargs)


def metrics_run_as_background_process(
    desc: str,
    server_name: str,
    func: Callable[..., Awaitable[T | None]],
    *args: Any,
    bg_start_span: bool = True,
    **kwargs: Any,
) -> defer.Deferred[T | None]:
    """``synapse.metrics.background_process_metrics.run_as_background_process``: takes the
    server name as its second argument (used only for metrics in Synapse)."""
    return run_as_background_process(desc, func, *args, **kwargs)


def wrap_as_background_process(
    desc: str,
) -> Callable[[Callable[..., Any]], Callable[..., defer.Deferred[Any]]]:
    """Decorator: calling the decorated function runs it as a background process named
    ``desc`` (arguments forwarded verbatim, ``self`` included) and returns the Deferred.

    Synapse's version only decorates methods of objects with an ``hs`` attribute; this one
    works on any function or method.
    """

    def wrapper(func: Callable[..., Any]) -> Callable[..., defer.Deferred[Any]]:
        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> defer.Deferred[Any]:
            return run_as_background_process(desc, func, *args, **kwargs)

        return wrapped

    return wrapper


# ---------------------------------------------------------------------- logcontext helpers


def run_in_background(f: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
    """Call ``f`` now and return its outcome as a Deferred.

    A coroutine is started with ``ensureDeferred``; a Deferred is returned as is; another
    awaitable is awaited; a plain value gives a fired Deferred; an exception raised by ``f``
    gives a failed Deferred.
    """
    try:
        res = f(*args, **kwargs)
    except Exception:
        return defer.fail(Failure())
    if isinstance(res, defer.Deferred):
        return res
    if isinstance(res, Coroutine):
        return defer.ensureDeferred(res)
    if inspect.isawaitable(res):
        return defer.ensureDeferred(_await(res))
    return defer.succeed(res)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def make_deferred_yieldable(deferred: defer.Deferred[T]) -> defer.Deferred[T]:
    """Return ``deferred`` itself, ready to ``await`` (the host has no logcontexts)."""
    return deferred


# ---------------------------------------------------------------------- looping and delayed


class BackgroundLoopingCall(task.LoopingCall):
    """The handle of a module's looping call: a ``twisted.internet.task.LoopingCall``
    whose :meth:`stop` may be called any number of times (the host calls it on shutdown).

    While a run is in progress, stopping lets that run finish and schedules no other.
    """

    def stop(self) -> None:
        if self.running:
            super().stop()


def looping_background_call(
    clock: IReactorTime,
    f: Callable[..., Any],
    msec: float,
    *args: Any,
    desc: str,
    module: str | None = None,
    **kwargs: Any,
) -> BackgroundLoopingCall:
    """Call ``f(*args, **kwargs)`` every ``msec`` ms on ``clock``, first after ``msec``.

    Each call runs as a background process (exceptions logged, the loop continues); ``f``
    may be sync or async. The next call is scheduled only once the previous one has
    finished (``LoopingCall`` semantics: a run longer than the interval skips the missed
    ticks rather than overlapping). Returns the started handle; ``handle.stop()`` ends it.
    """

    def run_once() -> defer.Deferred[Any]:
        return run_as_background_process(desc, f, *args, module=module, **kwargs)

    call = BackgroundLoopingCall(run_once)
    call.clock = clock
    d = call.start(msec / 1000.0, now=False)
    d.addErrback(_log_loop_death, desc, module)
    return call


def _log_loop_death(failure: Failure, desc: str, module: str | None) -> None:
    logger.error(
        "Looping call died: %s (module %s)",
        desc,
        module,
        exc_info=failure.value,
    )


def delayed_background_call(
    clock: IReactorTime,
    msec: float,
    f: Callable[..., Any],
    *args: Any,
    desc: str,
    module: str | None = None,
    **kwargs: Any,
) -> IDelayedCall:
    """Call ``f(*args, **kwargs)`` once after ``msec`` ms as a background process.

    Returns the reactor's ``IDelayedCall``; ``cancel()`` it to prevent the call.
    """
    return clock.callLater(
        msec / 1000.0,
        run_as_background_process,
        desc,
        f,
        *args,
        module=module,
        **kwargs,
    )


def sleep(clock: IReactorTime, seconds: float) -> defer.Deferred[None]:
    """A Deferred firing with ``None`` after ``seconds`` on ``clock`` (cancellable)."""
    return task.deferLater(clock, seconds, lambda: None)


# ---------------------------------------------------------------------- threads


def defer_to_thread(
    reactor: IReactorThreads, f: Callable[..., T], *args: Any, **kwargs: Any
) -> defer.Deferred[T]:
    """Run ``f(*args, **kwargs)`` on the reactor's thread pool; the result comes back on
    the reactor thread."""
    return defer_to_threadpool(reactor, reactor.getThreadPool(), f, *args, **kwargs)


def defer_to_threadpool(
    reactor: IReactorThreads,
    threadpool: Any,
    f: Callable[..., T],
    *args: Any,
    **kwargs: Any,
) -> defer.Deferred[T]:
    """Run ``f(*args, **kwargs)`` on ``threadpool`` (a ``twisted.python.threadpool.ThreadPool``
    or anything with ``callInThreadWithCallback``); the result comes back on the reactor
    thread."""
    return cast("defer.Deferred[T]", deferToThreadPool(reactor, threadpool, f, *args, **kwargs))
