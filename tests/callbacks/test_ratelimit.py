"""Ratelimit callbacks: registration and the first-truthy rule."""

from __future__ import annotations

from typing import Any, List

from twisted.internet import defer

from synapse_modhost.callbacks.ratelimit import RatelimitCallbacks
from synapse_modhost.types import RatelimitOverride
from tests.callbacks._support import CategoryTestCase, returning

LOGGER = "synapse_modhost.callbacks"


class RatelimitTests(CategoryTestCase[RatelimitCallbacks]):
    category_class = RatelimitCallbacks

    def override(self) -> Any:
        return self.run_ok(self.cat.get_ratelimit_override_for_user("@a:t", "rc_invites.per_room"))

    def test_registration(self) -> None:
        """The callback registers (appending), None is ignored, unknown names fail."""
        self.reg(get_ratelimit_override_for_user=None)
        self.assertFalse(self.cat.has("get_ratelimit_override_for_user"))
        cb = returning(None)
        self.reg(get_ratelimit_override_for_user=cb)
        self.reg(get_ratelimit_override_for_user=cb)
        self.assertEqual(len(self.cat.callbacks("get_ratelimit_override_for_user")), 2)
        self.assertRaises(TypeError, self.cat.register_callbacks, "m", foo=cb)

    def test_none_registered(self) -> None:
        """No callbacks → None."""
        self.assertIsNone(self.override())

    def test_first_truthy_wins(self) -> None:
        """None falls through; the first override is returned; later ones do not run."""
        log: List[Any] = []
        first = RatelimitOverride(per_second=0.5, burst_count=2)
        self.reg(get_ratelimit_override_for_user=returning(None, log, "a"))
        self.reg(get_ratelimit_override_for_user=returning(first, log, "b"))
        self.reg(get_ratelimit_override_for_user=returning(RatelimitOverride(9, 9), log, "c"))
        self.assertIs(self.override(), first)
        self.assertEqual(
            log, [("a", ("@a:t", "rc_invites.per_room")), ("b", ("@a:t", "rc_invites.per_room"))]
        )

    def test_falsy_results_fall_through(self) -> None:
        """Falsy non-None results (False, 0) are skipped like None (truthiness test)."""
        second = RatelimitOverride(per_second=1.0, burst_count=3)
        self.reg(get_ratelimit_override_for_user=returning(False))
        self.reg(get_ratelimit_override_for_user=returning(0))
        self.reg(get_ratelimit_override_for_user=returning(second))
        self.assertIs(self.override(), second)

    def test_all_none(self) -> None:
        """When every callback returns None the result is None."""
        self.reg(get_ratelimit_override_for_user=returning(None))
        self.assertIsNone(self.override())

    def test_exception_propagates(self) -> None:
        """An exception from the callback propagates."""

        async def boom(*a: Any) -> Any:
            raise ValueError("x")

        self.reg(get_ratelimit_override_for_user=boom)
        d = defer.ensureDeferred(self.cat.get_ratelimit_override_for_user("@a:t", "l"))
        self.failureResultOf(d, ValueError)

    def test_sync_callback_typeerror(self) -> None:
        """A non-async callback fails with TypeError and a dispatcher warning."""
        self.reg(get_ratelimit_override_for_user=lambda u, n: RatelimitOverride(1, 1))
        with self.assertLogs(LOGGER, "WARNING"):
            d = defer.ensureDeferred(self.cat.get_ratelimit_override_for_user("@a:t", "l"))
        self.failureResultOf(d, TypeError)

    def test_shielded_from_cancellation(self) -> None:
        """The callback runs under delay_cancellation."""
        pending: defer.Deferred[Any] = defer.Deferred()
        self.reg(get_ratelimit_override_for_user=lambda u, n: pending)
        d = defer.ensureDeferred(self.cat.get_ratelimit_override_for_user("@a:t", "l"))
        d.cancel()
        self.assertNoResult(d)
        pending.callback(None)
        self.failureResultOf(d, defer.CancelledError)
