"""delay_cancellation: callbacks are shielded from cancellation, as on Synapse."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.callbacks._dispatch import delay_cancellation


async def _value(v: Any) -> Any:
    return v


async def _boom() -> Any:
    raise ValueError("boom")


async def _wait(d: "defer.Deferred[Any]") -> Any:
    return await d


class DelayCancellationTests(SynchronousTestCase):
    """What a caller of delay_cancellation sees for finished, failed and pending callbacks."""

    def test_finished_coroutine_result_is_ready(self) -> None:
        """A coroutine that never waited gives its result at once."""
        d = delay_cancellation(_value(7))
        self.assertEqual(self.successResultOf(d), 7)

    def test_finished_coroutine_cancel_is_harmless(self) -> None:
        """Cancelling after the callback finished changes nothing: the result stands."""
        d = delay_cancellation(_value("x"))
        d.cancel()
        self.assertEqual(self.successResultOf(d), "x")

    def test_failed_coroutine_failure_is_delivered(self) -> None:
        """A coroutine that raised before waiting hands its failure to the caller."""
        d = delay_cancellation(_boom())
        self.failureResultOf(d, ValueError)

    def test_pending_callback_runs_to_its_end_when_cancelled(self) -> None:
        """Cancelling a pending callback waits for it, then fails with CancelledError."""
        pending: "defer.Deferred[Any]" = defer.Deferred()
        finished = []
        inner = defer.ensureDeferred(_wait(pending))
        inner.addCallback(lambda r: finished.append(r) or r)
        d = delay_cancellation(inner)
        d.cancel()
        self.assertNoResult(d)
        self.assertFalse(pending.called)
        pending.callback("done")
        self.assertEqual(finished, ["done"])
        self.failureResultOf(d, defer.CancelledError)

    def test_pending_callback_result_is_relayed(self) -> None:
        """A pending callback's result reaches the caller once it fires."""
        pending: "defer.Deferred[Any]" = defer.Deferred()
        d = delay_cancellation(_wait(pending))
        self.assertNoResult(d)
        pending.callback(3)
        self.assertEqual(self.successResultOf(d), 3)
