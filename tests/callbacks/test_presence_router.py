"""PresenceRouterCallbacks: pairing rule, union, ALL short-circuit and failure policy."""

from __future__ import annotations

from typing import Any, List

from twisted.internet import defer

from synapse_modhost.callbacks.presence_router import PresenceRouterCallbacks
from synapse_modhost.types import PRESENCE_ALL_USERS, UserPresenceState
from tests.callbacks._support import ALL_LOGS, CategoryTestCase, raising, recording, returning

LOGGER = "synapse_modhost.callbacks.presence_router"

ALICE = UserPresenceState.default("@alice:test")
BOB = UserPresenceState(user_id="@bob:test", state="online")
CAROL = UserPresenceState(user_id="@carol:test", state="unavailable")


class RouterTestBase(CategoryTestCase[PresenceRouterCallbacks]):
    category_class = PresenceRouterCallbacks


class RegistrationTests(RouterTestBase):
    def test_pair_registered(self) -> None:
        """Registering both callbacks stores one of each under its name."""
        r = self.cat
        r.register_callbacks(
            "m", get_users_for_states=returning({}), get_interested_users=returning(set())
        )
        self.assertEqual(len(r.callbacks("get_users_for_states")), 1)
        self.assertEqual(len(r.callbacks("get_interested_users")), 1)
        self.assertEqual(r.callbacks("get_interested_users")[0].module, "m")

    def test_only_one_of_pair_raises(self) -> None:
        """Giving exactly one of the pair raises Synapse's RuntimeError and registers nothing."""
        r = self.cat
        with self.assertRaises(RuntimeError) as cm:
            r.register_callbacks("m", get_users_for_states=returning({}))
        self.assertEqual(
            str(cm.exception),
            "PresenceRouter modules must register neither or both of the paired callbacks: "
            "[get_users_for_states, get_interested_users]",
        )
        self.assertEqual(r.registered(), [])
        with self.assertRaises(RuntimeError):
            r.register_callbacks("m", get_interested_users=returning(set()))

    def test_neither_is_a_no_op(self) -> None:
        """Giving neither callback is accepted and registers nothing."""
        r = self.cat
        r.register_callbacks("m")
        self.assertEqual(r.registered(), [])

    def test_same_function_twice_runs_twice(self) -> None:
        """Every registration appends; the same function registered twice runs twice."""
        r = self.cat
        calls: List[Any] = []
        cb = recording({"@x:test": {ALICE}}, calls)
        r.register_callbacks("m", get_users_for_states=cb, get_interested_users=returning(set()))
        r.register_callbacks("m", get_users_for_states=cb, get_interested_users=returning(set()))
        self.successResultOf(defer.ensureDeferred(r.get_users_for_states([ALICE])))
        self.assertEqual(len(calls), 2)


class GetUsersForStatesTests(RouterTestBase):
    def register(self, r: PresenceRouterCallbacks, cb: Any) -> None:
        r.register_callbacks("m", get_users_for_states=cb, get_interested_users=returning(set()))

    def test_no_callbacks_empty_dict(self) -> None:
        """Without callbacks the result is an empty dict."""
        r = self.cat
        self.assertEqual(
            self.successResultOf(defer.ensureDeferred(r.get_users_for_states([ALICE]))), {}
        )

    def test_results_unioned(self) -> None:
        """Sets for the same user from several callbacks are unioned."""
        r = self.cat
        self.register(r, returning({"@x:test": {ALICE}, "@y:test": {BOB}}))
        self.register(r, returning({"@x:test": {BOB}}))
        res = self.successResultOf(defer.ensureDeferred(r.get_users_for_states([ALICE, BOB])))
        self.assertEqual(res, {"@x:test": {ALICE, BOB}, "@y:test": {BOB}})

    def test_callback_gets_state_updates(self) -> None:
        """Each callback receives the state updates it was asked about."""
        r = self.cat
        calls: List[Any] = []
        self.register(r, recording({}, calls))
        updates = [ALICE, BOB]
        self.successResultOf(defer.ensureDeferred(r.get_users_for_states(updates)))
        self.assertEqual(calls, [(updates,)])

    def test_exception_skipped_with_warning(self) -> None:
        """A raising callback is logged as a warning and the others still count."""
        r = self.cat
        self.register(r, raising(ValueError("boom")))
        self.register(r, returning({"@x:test": {ALICE}}))
        with self.assertLogs(LOGGER, "WARNING") as logs:
            res = self.successResultOf(defer.ensureDeferred(r.get_users_for_states([ALICE])))
        self.assertEqual(res, {"@x:test": {ALICE}})
        self.assertIn("Failed to run module API callback", logs.output[0])
        self.assertIn("boom", logs.output[0])

    def test_non_dict_skipped(self) -> None:
        """A result that is not a dict is logged and ignored."""
        r = self.cat
        self.register(r, returning([("@x:test", {ALICE})]))
        self.register(r, returning({"@y:test": {BOB}}))
        with self.assertLogs(LOGGER, "WARNING") as logs:
            res = self.successResultOf(defer.ensureDeferred(r.get_users_for_states([ALICE])))
        self.assertEqual(res, {"@y:test": {BOB}})
        self.assertIn("expected Dict", logs.output[0])

    def test_non_set_value_stops_that_dict(self) -> None:
        """A non-set value is logged; earlier entries of that dict stay, later ones are dropped."""
        r = self.cat
        self.register(r, returning({"@a:test": {ALICE}, "@b:test": [BOB], "@c:test": {CAROL}}))
        self.register(r, returning({"@d:test": {CAROL}}))
        with self.assertLogs(LOGGER, "WARNING") as logs:
            res = self.successResultOf(defer.ensureDeferred(r.get_users_for_states([ALICE])))
        self.assertEqual(res, {"@a:test": {ALICE}, "@d:test": {CAROL}})
        self.assertIn("expected Set", logs.output[0])

    def test_sync_callback_skipped(self) -> None:
        """A synchronous callback fails with TypeError in the dispatcher and is skipped."""
        r = self.cat
        self.register(r, lambda updates: {"@x:test": {ALICE}})
        with self.assertLogs(ALL_LOGS, "WARNING") as logs:
            res = self.successResultOf(defer.ensureDeferred(r.get_users_for_states([ALICE])))
        self.assertEqual(res, {})
        self.assertTrue(any("can't be used in 'await' expression" in line for line in logs.output))

    def test_deferred_result_accepted(self) -> None:
        """A callback returning a Deferred is awaited like a coroutine."""
        r = self.cat
        self.register(r, lambda updates: defer.succeed({"@x:test": {BOB}}))
        res = self.successResultOf(defer.ensureDeferred(r.get_users_for_states([BOB])))
        self.assertEqual(res, {"@x:test": {BOB}})


class GetInterestedUsersTests(RouterTestBase):
    def register(self, r: PresenceRouterCallbacks, cb: Any) -> None:
        r.register_callbacks("m", get_users_for_states=returning({}), get_interested_users=cb)

    def test_no_callbacks_empty_set(self) -> None:
        """Without callbacks the result is an empty set."""
        r = self.cat
        self.assertEqual(
            self.successResultOf(defer.ensureDeferred(r.get_interested_users("@a:test"))), set()
        )

    def test_union(self) -> None:
        """The sets of all callbacks are unioned, and each gets the user id."""
        r = self.cat
        calls: List[Any] = []
        self.register(r, recording({"@b:test"}, calls))
        self.register(r, returning({"@c:test", "@b:test"}))
        res = self.successResultOf(defer.ensureDeferred(r.get_interested_users("@a:test")))
        self.assertEqual(res, {"@b:test", "@c:test"})
        self.assertEqual(calls, [("@a:test",)])

    def test_all_users_short_circuits(self) -> None:
        """PRESENCE_ALL_USERS is returned at once; later callbacks do not run."""
        r = self.cat
        later: List[Any] = []
        self.register(r, returning({"@b:test"}))
        self.register(r, returning(PRESENCE_ALL_USERS))
        self.register(r, recording({"@c:test"}, later))
        res = self.successResultOf(defer.ensureDeferred(r.get_interested_users("@a:test")))
        self.assertEqual(res, PRESENCE_ALL_USERS)
        self.assertEqual(later, [])

    def test_equal_all_string_counts(self) -> None:
        """A runtime-built string equal to "ALL" also means all users (compared with ==)."""
        r = self.cat
        self.register(r, returning("".join(["A", "LL"])))
        self.assertEqual(
            self.successResultOf(defer.ensureDeferred(r.get_interested_users("@a:test"))), "ALL"
        )

    def test_exception_skipped(self) -> None:
        """A raising callback is logged and skipped."""
        r = self.cat
        self.register(r, raising(RuntimeError("nope")))
        self.register(r, returning({"@b:test"}))
        with self.assertLogs(LOGGER, "WARNING") as logs:
            res = self.successResultOf(defer.ensureDeferred(r.get_interested_users("@a:test")))
        self.assertEqual(res, {"@b:test"})
        self.assertIn("nope", logs.output[0])

    def test_non_set_skipped(self) -> None:
        """A result that is neither a set nor "ALL" (e.g. a list) is logged and ignored."""
        r = self.cat
        self.register(r, returning(["@x:test"]))
        self.register(r, returning({"@b:test"}))
        with self.assertLogs(LOGGER, "WARNING") as logs:
            res = self.successResultOf(defer.ensureDeferred(r.get_interested_users("@a:test")))
        self.assertEqual(res, {"@b:test"})
        self.assertIn("expected set", logs.output[0])

    def test_sync_callback_skipped(self) -> None:
        """A synchronous callback fails with TypeError and is skipped."""
        r = self.cat
        self.register(r, lambda user_id: {"@x:test"})
        with self.assertLogs(ALL_LOGS, "WARNING"):
            res = self.successResultOf(defer.ensureDeferred(r.get_interested_users("@a:test")))
        self.assertEqual(res, set())

    def test_cancellation_delayed_until_callback_finishes(self) -> None:
        """Cancelling waits for the running callback, then fails with CancelledError."""
        r = self.cat
        pending: defer.Deferred[Any] = defer.Deferred()
        self.register(r, lambda user_id: pending)
        d = defer.ensureDeferred(r.get_interested_users("@a:test"))
        d.cancel()
        self.assertNoResult(d)
        self.assertFalse(pending.called)
        pending.callback({"@b:test"})
        self.failureResultOf(d, defer.CancelledError)
