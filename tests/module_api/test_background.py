"""Looping/delayed calls, background processes and the logcontext helpers."""

from __future__ import annotations

from typing import Any, List

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.module_api._background import (
    defer_to_thread,
    defer_to_threadpool,
    delayed_background_call,
    looping_background_call,
    make_deferred_yieldable,
    module_run_as_background_process,
    run_as_background_process,
    run_in_background,
    sleep,
    wrap_as_background_process,
)
from tests.module_api._fakes import SyncThreadPool, ThreadsMemoryReactor

LOGGER = "synapse_modhost.module_api"


class LoopingCallTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = MemoryReactorClock()

    def test_first_call_after_msec_then_repeats(self) -> None:
        """The first call happens after msec, not at once, and then every msec."""
        calls: List[float] = []
        looping_background_call(
            self.clock, lambda: calls.append(self.clock.seconds()), 1000, desc="t", module="m"
        )
        self.assertEqual(calls, [])
        self.clock.advance(0.999)
        self.assertEqual(calls, [])
        self.clock.advance(0.001)
        self.assertEqual(calls, [1.0])
        self.clock.advance(1)
        self.clock.advance(1)
        self.assertEqual(calls, [1.0, 2.0, 3.0])

    def test_args_and_kwargs_are_passed(self) -> None:
        """Extra positional and keyword arguments reach the function on every call."""
        seen: List[Any] = []
        looping_background_call(
            self.clock, lambda *a, **k: seen.append((a, k)), 10, 1, 2, desc="t", x=3
        )
        self.clock.advance(0.01)
        self.assertEqual(seen, [((1, 2), {"x": 3})])

    def test_exception_is_logged_and_loop_continues(self) -> None:
        """A failing run is logged with its desc and module, and the next run still happens."""
        runs: List[int] = []

        def boom() -> None:
            runs.append(1)
            raise RuntimeError("kaboom")

        looping_background_call(self.clock, boom, 500, desc="my_task", module="my.Module")
        with self.assertLogs(LOGGER, "ERROR") as logs:
            self.clock.advance(0.5)
        self.assertIn("Background process 'my_task' threw an exception", logs.output[0])
        self.assertIn("my.Module", logs.output[0])
        self.assertIn("kaboom", logs.output[0])
        with self.assertLogs(LOGGER, "ERROR"):
            self.clock.advance(0.5)
        self.assertEqual(len(runs), 2)

    def test_async_function_runs_do_not_overlap(self) -> None:
        """A slow async run delays the next one instead of overlapping with it."""
        started: List[float] = []
        gates: List[defer.Deferred[None]] = []

        async def slow() -> None:
            started.append(self.clock.seconds())
            gate: defer.Deferred[None] = defer.Deferred()
            gates.append(gate)
            await gate

        looping_background_call(self.clock, slow, 1000, desc="slow")
        self.clock.advance(1)
        self.assertEqual(started, [1.0])
        self.clock.advance(1)
        self.clock.advance(1)
        self.assertEqual(started, [1.0], "a second run started while the first was running")
        gates[0].callback(None)
        self.clock.advance(1)
        self.assertEqual(len(started), 2)
        self.assertGreater(started[1], 3.0)

    def test_async_exception_logged_and_loop_continues(self) -> None:
        """An async function raising after an await is logged and the loop goes on."""
        runs: List[int] = []

        async def fail() -> None:
            runs.append(1)
            await defer.succeed(None)
            raise ValueError("late")

        looping_background_call(self.clock, fail, 100, desc="late_fail")
        with self.assertLogs(LOGGER, "ERROR"):
            self.clock.advance(0.1)
            self.clock.advance(0.1)
        self.assertEqual(len(runs), 2)

    def test_stop_ends_loop_and_is_idempotent(self) -> None:
        """stop() prevents further runs and may be called again without error."""
        calls: List[int] = []
        handle = looping_background_call(self.clock, lambda: calls.append(1), 100, desc="t")
        self.clock.advance(0.1)
        handle.stop()
        handle.stop()
        self.clock.advance(1)
        self.assertEqual(calls, [1])
        self.assertFalse(handle.running)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop_during_a_run_schedules_nothing_more(self) -> None:
        """Stopping while an async run is in progress lets it finish and schedules no more."""
        gate: defer.Deferred[None] = defer.Deferred()
        runs: List[int] = []

        async def slow() -> None:
            runs.append(1)
            await gate

        handle = looping_background_call(self.clock, slow, 100, desc="t")
        self.clock.advance(0.1)
        handle.stop()
        gate.callback(None)
        self.clock.advance(1)
        self.assertEqual(runs, [1])
        self.assertEqual(self.clock.getDelayedCalls(), [])


class DelayedCallTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = MemoryReactorClock()

    def test_fires_once_after_msec(self) -> None:
        """The function runs once, after msec milliseconds, with its arguments."""
        calls: List[Any] = []
        call = delayed_background_call(
            self.clock, 250, lambda x, y: calls.append((x, y)), 1, desc="d", y=2
        )
        self.clock.advance(0.249)
        self.assertEqual(calls, [])
        self.clock.advance(0.001)
        self.assertEqual(calls, [(1, 2)])
        self.clock.advance(10)
        self.assertEqual(calls, [(1, 2)])
        self.assertFalse(call.active())

    def test_cancel_prevents_call(self) -> None:
        """Cancelling the returned IDelayedCall means the function never runs."""
        calls: List[int] = []
        call = delayed_background_call(self.clock, 100, lambda: calls.append(1), desc="d")
        self.assertTrue(call.active())
        call.cancel()
        self.clock.advance(1)
        self.assertEqual(calls, [])

    def test_failure_is_logged_not_raised(self) -> None:
        """An exception from a delayed async function is logged with the desc."""

        async def fail() -> None:
            raise KeyError("nope")

        delayed_background_call(self.clock, 10, fail, desc="delayed_fail", module="m")
        with self.assertLogs(LOGGER, "ERROR") as logs:
            self.clock.advance(0.01)
        self.assertIn("Background process 'delayed_fail' threw an exception", logs.output[0])


class RunAsBackgroundProcessTests(SynchronousTestCase):
    def test_async_result_is_returned(self) -> None:
        """The Deferred fires with the coroutine's result."""

        async def f(a: int, b: int = 0) -> int:
            return a + b

        d = run_as_background_process("add", f, 1, b=2)
        self.assertEqual(self.successResultOf(d), 3)

    def test_sync_result_is_returned(self) -> None:
        """A synchronous function's return value is the result."""
        d = run_as_background_process("sync", lambda: "value")
        self.assertEqual(self.successResultOf(d), "value")

    def test_failure_is_logged_and_result_none(self) -> None:
        """A raising function gives None and an ERROR naming desc and module."""

        async def f() -> None:
            raise RuntimeError("bad thing")

        with self.assertLogs(LOGGER, "ERROR") as logs:
            d = run_as_background_process("proc", f, module="mod.Name")
        self.assertIsNone(self.successResultOf(d))
        self.assertIn("Background process 'proc' threw an exception", logs.output[0])
        self.assertIn("mod.Name", logs.output[0])
        self.assertIn("RuntimeError: bad thing", logs.output[0])

    def test_sync_failure_is_logged_and_result_none(self) -> None:
        """A synchronous raise is caught too."""

        def f() -> None:
            raise ValueError("sync bad")

        with self.assertLogs(LOGGER, "ERROR"):
            d = run_as_background_process("sync_proc", f)
        self.assertIsNone(self.successResultOf(d))

    def test_waits_for_pending_deferred(self) -> None:
        """The returned Deferred fires only when the function's Deferred does."""
        inner: defer.Deferred[str] = defer.Deferred()
        d = run_as_background_process("wait", lambda: inner)
        self.assertNoResult(d)
        inner.callback("done")
        self.assertEqual(self.successResultOf(d), "done")

    def test_deprecated_module_level_logs_warning_each_call(self) -> None:
        """synapse.module_api.run_as_background_process warns (every call) and still runs."""

        async def f() -> int:
            return 7

        with self.assertLogs(LOGGER, "WARNING") as logs:
            d1 = module_run_as_background_process("x", f, bg_start_span=False)
            d2 = module_run_as_background_process("x", f)
        self.assertEqual(self.successResultOf(d1), 7)
        self.assertEqual(self.successResultOf(d2), 7)
        warnings = [
            line for line in logs.output if "deprecated `run_as_background_process`" in line
        ]
        self.assertEqual(len(warnings), 2)

    def test_wrap_as_background_process(self) -> None:
        """The decorated method runs as a background process: result returned, errors logged."""

        class Thing:
            @wrap_as_background_process("thing_work")
            async def work(self, x: int) -> int:
                if x < 0:
                    raise ValueError("negative")
                return x * 2

        thing = Thing()
        self.assertEqual(self.successResultOf(thing.work(4)), 8)
        with self.assertLogs(LOGGER, "ERROR") as logs:
            d = thing.work(-1)
        self.assertIsNone(self.successResultOf(d))
        self.assertIn("'thing_work'", logs.output[0])
        self.assertEqual(Thing.work.__name__, "work")


class RunInBackgroundTests(SynchronousTestCase):
    def test_coroutine_function(self) -> None:
        """An async function is started at once and its result delivered."""
        started: List[int] = []

        async def f(x: int) -> int:
            started.append(x)
            return x + 1

        d = run_in_background(f, 1)
        self.assertEqual(started, [1])
        self.assertEqual(self.successResultOf(d), 2)

    def test_plain_value(self) -> None:
        """A sync function's value gives a fired Deferred."""
        self.assertEqual(self.successResultOf(run_in_background(lambda: 5)), 5)

    def test_deferred_returned_as_is(self) -> None:
        """A returned Deferred is passed through."""
        inner: defer.Deferred[int] = defer.Deferred()
        d = run_in_background(lambda: inner)
        self.assertIs(d, inner)

    def test_exception_gives_failed_deferred(self) -> None:
        """A synchronous exception becomes a failed Deferred, not a raise."""

        def f() -> None:
            raise KeyError("k")

        d = run_in_background(f)
        self.failureResultOf(d, KeyError)

    def test_other_awaitable(self) -> None:
        """A non-coroutine awaitable is awaited."""

        class Awaitable:
            def __await__(self) -> Any:
                return (yield from defer.succeed("awaited").__await__())

        d = run_in_background(Awaitable)
        self.assertEqual(self.successResultOf(d), "awaited")

    def test_make_deferred_yieldable_returns_same(self) -> None:
        """make_deferred_yieldable hands back the Deferred itself."""
        d: defer.Deferred[int] = defer.Deferred()
        self.assertIs(make_deferred_yieldable(d), d)


class SleepAndThreadTests(SynchronousTestCase):
    def test_sleep_uses_the_clock(self) -> None:
        """sleep fires only after the fake clock advances by the duration."""
        clock = MemoryReactorClock()
        d = sleep(clock, 2.5)
        clock.advance(2.4)
        self.assertNoResult(d)
        clock.advance(0.1)
        self.assertIsNone(self.successResultOf(d))

    def test_sleep_cancel_removes_call(self) -> None:
        """Cancelling a sleep removes its delayed call."""
        clock = MemoryReactorClock()
        d = sleep(clock, 5)
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_defer_to_threadpool(self) -> None:
        """The function runs on the given pool; its result comes back via the reactor."""
        reactor = ThreadsMemoryReactor()
        pool = SyncThreadPool()
        d = defer_to_threadpool(reactor, pool, lambda a, b: a * b, 6, b=7)
        self.assertEqual(len(pool.calls), 1)
        self.assertNoResult(d)
        reactor.advance(0)
        self.assertEqual(self.successResultOf(d), 42)

    def test_defer_to_threadpool_failure(self) -> None:
        """An exception in the thread fails the Deferred with it."""
        reactor = ThreadsMemoryReactor()

        def f() -> None:
            raise OSError("disk")

        d = defer_to_threadpool(reactor, SyncThreadPool(), f)
        reactor.advance(0)
        self.failureResultOf(d, OSError)

    def test_defer_to_thread_uses_reactor_pool(self) -> None:
        """defer_to_thread uses reactor.getThreadPool()."""
        reactor = ThreadsMemoryReactor()
        d = defer_to_thread(reactor, lambda: "t")
        reactor.advance(0)
        self.assertEqual(self.successResultOf(d), "t")
        self.assertEqual(len(reactor.threadpool.calls), 1)
