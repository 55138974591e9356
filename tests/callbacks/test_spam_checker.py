"""Spam-checker callbacks: registration, combination rules, normalisation, denials."""

from __future__ import annotations

from typing import Any, Callable, Coroutine, Dict, List, Tuple

from twisted.internet import defer

from synapse_modhost._codes import Codes
from synapse_modhost.callbacks.spam_checker import SpamCheckerCallbacks
from synapse_modhost.errors import SynapseError
from synapse_modhost.types import NOT_SPAM, RegistrationBehaviour, RoomAlias, UserProfile
from tests.callbacks._support import CategoryTestCase, raising, returning

LOGGER = "synapse_modhost.callbacks"
SPAM_LOGGER = "synapse_modhost.callbacks.spam_checker"

ALL_NAMES = [
    "check_event_for_spam",
    "should_drop_federated_event",
    "user_may_join_room",
    "user_may_invite",
    "federated_user_may_invite",
    "user_may_send_3pid_invite",
    "user_may_create_room",
    "user_may_create_room_alias",
    "user_may_publish_room",
    "user_may_send_state_event",
    "check_username_for_spam",
    "check_registration_for_spam",
    "check_media_file_for_spam",
    "check_login_for_spam",
]


class FakeEvent:
    sender = "@evil:remote"
    state_key = "@bob:test"
    room_id = "!room:test"
    type = "m.room.member"


Invoke = Callable[[SpamCheckerCallbacks], Coroutine[Any, Any, Any]]

#: family-A callback name -> (how to call it, the <what> of the invalid-value warning)
FAMILY_A: Dict[str, Tuple[Invoke, str]] = {
    "user_may_join_room": (lambda s: s.user_may_join_room("@a:t", "!r:t", False), "join"),
    "user_may_invite": (lambda s: s.user_may_invite("@a:t", "@b:t", "!r:t"), "invite"),
    "federated_user_may_invite": (lambda s: s.federated_user_may_invite(FakeEvent()), "invite"),
    "user_may_send_3pid_invite": (
        lambda s: s.user_may_send_3pid_invite("@a:t", "email", "x@y", "!r:t"),
        "3pid invite",
    ),
    "user_may_create_room": (lambda s: s.user_may_create_room("@a:t", {}), "room creation"),
    "user_may_create_room_alias": (
        lambda s: s.user_may_create_room_alias("@a:t", RoomAlias.from_string("#x:t")),
        "room create",
    ),
    "user_may_publish_room": (
        lambda s: s.user_may_publish_room("@a:t", "!r:t"),
        "room publication",
    ),
}


class SpamTestBase(CategoryTestCase[SpamCheckerCallbacks]):
    category_class = SpamCheckerCallbacks

    def fresh(self) -> None:
        self.setUp()


class RegistrationTests(SpamTestBase):
    def test_every_name_registers(self) -> None:
        """Each of the 14 spam-checker names is accepted and recorded under its name."""
        for name in ALL_NAMES:
            self.reg(**{name: returning(NOT_SPAM)})
        for name in ALL_NAMES:
            self.assertTrue(self.cat.has(name), name)
        self.assertEqual(len(self.cat.registered()), 14)
        self.assertEqual({r.category for r in self.cat.registered()}, {"spam_checker"})

    def test_none_is_ignored(self) -> None:
        """Passing None for every name registers nothing."""
        self.reg(**{name: None for name in ALL_NAMES})
        self.assertEqual(self.cat.registered(), [])

    def test_same_function_twice_runs_twice(self) -> None:
        """Registering one function twice appends it twice; it runs twice."""
        log: List[Any] = []
        cb = returning(NOT_SPAM, log)
        self.reg(user_may_invite=cb)
        self.reg(user_may_invite=cb)
        self.assertEqual(len(self.cat.callbacks("user_may_invite")), 2)
        self.run_ok(self.cat.user_may_invite("@a:t", "@b:t", "!r:t"))
        self.assertEqual(len(log), 2)

    def test_unknown_name_and_positional_use_raise_typeerror(self) -> None:
        """An unknown callback name or a positional callback is a TypeError."""
        self.assertRaises(TypeError, self.cat.register_callbacks, "m", foo=returning(1))
        self.assertRaises(TypeError, self.cat.register_callbacks, "m", returning(1))

    def test_module_attribution(self) -> None:
        """Each registered callback records the registering module."""
        self.cat.register_callbacks("mod.a", user_may_invite=returning(NOT_SPAM))
        self.assertEqual(self.cat.callbacks("user_may_invite")[0].module, "mod.a")


class FamilyATests(SpamTestBase):
    def check(self, name: str, value: Any, expected: Any, warn: bool) -> None:
        self.fresh()
        self.reg(**{name: returning(value)})
        invoke, what = FAMILY_A[name]
        if warn:
            with self.assertLogs(SPAM_LOGGER, "WARNING") as cm:
                res = self.run_ok(invoke(self.cat))
            self.assertIn(f"Module returned invalid value, rejecting {what} as spam", cm.output[0])
        else:
            res = self.run_ok(invoke(self.cat))
        self.assertEqual(res, expected, (name, value))
        if expected == NOT_SPAM:
            self.assertIs(res, NOT_SPAM, name)

    def test_true_and_not_spam_allow(self) -> None:
        """Legacy True and the NOT_SPAM constant both allow (result is NOT_SPAM itself)."""
        for name in FAMILY_A:
            self.check(name, True, NOT_SPAM, warn=False)
            self.check(name, NOT_SPAM, NOT_SPAM, warn=False)

    def test_false_denies_forbidden(self) -> None:
        """False denies with (M_FORBIDDEN, {})."""
        for name in FAMILY_A:
            self.check(name, False, (Codes.FORBIDDEN, {}), warn=False)

    def test_bare_code_denies_with_code(self) -> None:
        """A Codes member denies with that code and no extras."""
        for name in FAMILY_A:
            self.check(name, Codes.LIMIT_EXCEEDED, (Codes.LIMIT_EXCEEDED, {}), warn=False)

    def test_code_tuple_returned_as_is(self) -> None:
        """An exact (Codes, dict) tuple is returned unchanged (the same object)."""
        for name in FAMILY_A:
            tup = (Codes.INVITE_BLOCKED, {"extra_field": "x"})
            self.fresh()
            self.reg(**{name: returning(tup)})
            self.assertIs(self.run_ok(FAMILY_A[name][0](self.cat)), tup, name)

    def test_invalid_values_warn_and_forbid(self) -> None:
        """None, plain strings, wrong tuples and numbers warn and deny M_FORBIDDEN."""
        runtime_not_spam = "".join(["NOT_", "SPAM"])
        invalid: List[Any] = [
            None,
            "M_FORBIDDEN",
            runtime_not_spam,
            5,
            ("M_FORBIDDEN", {}),
            (Codes.FORBIDDEN, "x"),
            (Codes.FORBIDDEN, {}, 1),
            [Codes.FORBIDDEN, {}],
        ]
        for name in FAMILY_A:
            for value in invalid:
                self.check(name, value, (Codes.FORBIDDEN, {}), warn=True)

    def test_runtime_not_spam_string_is_not_identical(self) -> None:
        """An equal NOT_SPAM string built at runtime fails the identity test."""
        built = "".join(["NOT_", "SPAM"])
        self.assertEqual(built, NOT_SPAM)
        self.assertIsNot(built, NOT_SPAM)
        self.check("user_may_create_room", built, (Codes.FORBIDDEN, {}), warn=True)

    def test_no_callbacks_allow(self) -> None:
        """With nothing registered every family-A check returns NOT_SPAM."""
        for name, (invoke, _) in FAMILY_A.items():
            self.assertIs(self.run_ok(invoke(self.cat)), NOT_SPAM, name)

    def test_first_non_allow_wins_and_stops(self) -> None:
        """Callbacks run in order; the first denial is returned and later ones do not run."""
        log: List[Any] = []
        self.reg(user_may_join_room=returning(True, log, "a"))
        self.reg(user_may_join_room=returning(Codes.UNKNOWN, log, "b"))
        self.reg(user_may_join_room=returning(False, log, "c"))
        res = self.run_ok(self.cat.user_may_join_room("@a:t", "!r:t", True))
        self.assertEqual(res, (Codes.UNKNOWN, {}))
        self.assertEqual([label for label, _ in log], ["a", "b"])
        self.assertEqual(log[0][1], ("@a:t", "!r:t", True))

    def test_all_allow_runs_all(self) -> None:
        """When all allow, every callback runs with the handler's arguments."""
        log: List[Any] = []
        self.reg(user_may_invite=returning(NOT_SPAM, log, "a"))
        self.reg(user_may_invite=returning(True, log, "b"))
        self.assertIs(self.run_ok(self.cat.user_may_invite("@a:t", "@b:t", "!r:t")), NOT_SPAM)
        self.assertEqual(log, [("a", ("@a:t", "@b:t", "!r:t")), ("b", ("@a:t", "@b:t", "!r:t"))])

    def test_exceptions_propagate(self) -> None:
        """A raising callback's exception propagates unchanged; later callbacks do not run."""
        err = SynapseError(409, "lab says no", "ORG_LAB_NO", {"lab": True})
        log: List[Any] = []
        for name, (invoke, _) in FAMILY_A.items():
            self.fresh()
            self.reg(**{name: raising(err)})
            self.reg(**{name: returning(NOT_SPAM, log)})
            f = self.failureResultOf(defer.ensureDeferred(invoke(self.cat)), SynapseError)
            self.assertIs(f.value, err, name)
        self.assertEqual(log, [])

    def test_sync_callback_fails_with_typeerror(self) -> None:
        """A non-async callback fails with TypeError (propagated) and a dispatcher warning."""
        self.reg(user_may_create_room=lambda user_id: NOT_SPAM)
        with self.assertLogs(LOGGER, "WARNING") as cm:
            d = defer.ensureDeferred(self.cat.user_may_create_room("@a:t", {}))
        f = self.failureResultOf(d, TypeError)
        self.assertIn("can't be used in 'await' expression", str(f.value))
        self.assertIn("is not async", "\n".join(cm.output))

    def test_decision_is_shielded_from_cancellation(self) -> None:
        """Cancelling waits for the callback to finish, then fails with CancelledError."""
        pending: defer.Deferred[Any] = defer.Deferred()
        self.reg(user_may_invite=lambda *a: pending)
        d = defer.ensureDeferred(self.cat.user_may_invite("@a:t", "@b:t", "!r:t"))
        d.cancel()
        self.assertNoResult(d)
        self.assertFalse(pending.called)
        pending.callback(NOT_SPAM)
        self.failureResultOf(d, defer.CancelledError)


class CreateRoomTests(SpamTestBase):
    def test_two_parameter_callback_gets_deep_copy(self) -> None:
        """A 2-parameter callback gets a deep copy of the config; mutations do not leak."""
        config = {"name": "r1", "initial_state": [{"type": "x", "content": {"a": 1}}]}
        seen: List[Any] = []

        async def cb(user_id: str, room_config: Dict[str, Any]) -> str:
            seen.append(room_config)
            room_config["initial_state"][0]["content"]["a"] = 2
            return NOT_SPAM

        self.reg(user_may_create_room=cb)
        self.reg(user_may_create_room=cb)
        self.run_ok(self.cat.user_may_create_room("@a:t", config))
        self.assertEqual(config["initial_state"][0]["content"]["a"], 1)  # type: ignore[index]
        self.assertIsNot(seen[0], config)
        self.assertIsNot(seen[0], seen[1])
        self.assertEqual(seen[1]["initial_state"][0]["content"]["a"], 2)

    def test_other_arities_get_only_user_id(self) -> None:
        """One parameter, *args, or three parameters (with a default) get only the user id."""
        log: List[Any] = []

        async def one(user_id: str) -> str:
            log.append(("one", (user_id,)))
            return NOT_SPAM

        async def three(user_id: str, config: Any = None, extra: Any = None) -> str:
            log.append(("three", (user_id, config, extra)))
            return NOT_SPAM

        self.reg(user_may_create_room=one)
        self.reg(user_may_create_room=returning(NOT_SPAM, log, "star"))
        self.reg(user_may_create_room=three)
        self.run_ok(self.cat.user_may_create_room("@a:t", {"k": "v"}))
        self.assertEqual(
            log, [("one", ("@a:t",)), ("star", ("@a:t",)), ("three", ("@a:t", None, None))]
        )

    def test_bound_method_excludes_self(self) -> None:
        """A bound method with (self, user_id, config) counts as 2 parameters."""

        class Mod:
            def __init__(self) -> None:
                self.got: Any = None

            async def check(self, user_id: str, config: Dict[str, Any]) -> str:
                self.got = (user_id, config)
                return NOT_SPAM

        mod = Mod()
        self.reg(user_may_create_room=mod.check)
        self.run_ok(self.cat.user_may_create_room("@a:t", {"preset": "public_chat"}))
        self.assertEqual(mod.got, ("@a:t", {"preset": "public_chat"}))


class FederatedInviteTests(SpamTestBase):
    def test_denial_skips_user_may_invite(self) -> None:
        """A federated_user_may_invite denial is returned; user_may_invite does not run."""
        log: List[Any] = []
        self.reg(federated_user_may_invite=returning(False))
        self.reg(user_may_invite=returning(NOT_SPAM, log))
        self.assertEqual(
            self.run_ok(self.cat.federated_user_may_invite(FakeEvent())), (Codes.FORBIDDEN, {})
        )
        self.assertEqual(log, [])

    def test_all_allow_then_runs_user_may_invite(self) -> None:
        """When all allow, user_may_invite(sender, state_key, room_id) decides."""
        log: List[Any] = []
        self.reg(federated_user_may_invite=returning(True))
        self.reg(user_may_invite=returning(Codes.INVITE_BLOCKED, log))
        res = self.run_ok(self.cat.federated_user_may_invite(FakeEvent()))
        self.assertEqual(res, (Codes.INVITE_BLOCKED, {}))
        self.assertEqual(log, [("", ("@evil:remote", "@bob:test", "!room:test"))])

    def test_no_callbacks_still_runs_user_may_invite(self) -> None:
        """With no federated callback, user_may_invite still runs."""
        log: List[Any] = []
        self.reg(user_may_invite=returning(NOT_SPAM, log))
        self.assertIs(self.run_ok(self.cat.federated_user_may_invite(FakeEvent())), NOT_SPAM)
        self.assertEqual(len(log), 1)


class CheckEventForSpamTests(SpamTestBase):
    def run_event(self, *values: Any) -> Any:
        self.fresh()
        for v in values:
            self.reg(check_event_for_spam=returning(v))
        return self.run_ok(self.cat.check_event_for_spam(FakeEvent()))

    def test_allow_values(self) -> None:
        """False, NOT_SPAM and an equal runtime string (== test) allow."""
        self.assertIs(self.run_event(False), NOT_SPAM)
        self.assertIs(self.run_event(NOT_SPAM), NOT_SPAM)
        self.assertIs(self.run_event("".join(["NOT_", "SPAM"])), NOT_SPAM)
        self.assertIs(self.run_event(), NOT_SPAM)

    def test_true_code_and_tuple_deny(self) -> None:
        """True → (FORBIDDEN, {}), Codes → (code, {}), a (Codes, dict) tuple as is."""
        self.assertEqual(self.run_event(True), (Codes.FORBIDDEN, {}))
        self.assertEqual(self.run_event(Codes.TOO_LARGE), (Codes.TOO_LARGE, {}))
        tup = (Codes.FORBIDDEN, {"extra_field": "x"})
        self.assertIs(self.run_event(tup), tup)

    def test_other_string_is_the_message(self) -> None:
        """Any other string is returned as the error message, without a warning."""
        with self.assertNoLogs(SPAM_LOGGER, "WARNING"):
            self.assertEqual(self.run_event("custom spam message"), "custom spam message")

    def test_invalid_values_warn_with_default_message(self) -> None:
        """None and other non-str values warn and give the default spam message."""
        invalid: List[Any] = [None, 5, ("M_FORBIDDEN", {}), (Codes.FORBIDDEN, "x")]
        for value in invalid:
            with self.assertLogs(SPAM_LOGGER, "WARNING") as cm:
                res = self.run_event(value)
            self.assertEqual(res, "This message has been rejected as probable spam")
            self.assertIn("Module returned invalid value, rejecting message as spam", cm.output[0])

    def test_first_non_allow_wins(self) -> None:
        """The first non-allowing callback decides; the second does not run."""
        log: List[Any] = []
        self.reg(check_event_for_spam=returning(False, log, "a"))
        self.reg(check_event_for_spam=returning("msg", log, "b"))
        self.reg(check_event_for_spam=returning(True, log, "c"))
        self.assertEqual(self.run_ok(self.cat.check_event_for_spam(FakeEvent())), "msg")
        self.assertEqual([label for label, _ in log], ["a", "b"])

    def test_exception_propagates(self) -> None:
        """A raising callback's exception propagates."""
        self.reg(check_event_for_spam=raising(ValueError("boom")))
        self.failureResultOf(
            defer.ensureDeferred(self.cat.check_event_for_spam(FakeEvent())), ValueError
        )


class StrictCallbackTests(SpamTestBase):
    def state(self, value: Any) -> Any:
        self.fresh()
        self.reg(user_may_send_state_event=returning(value))
        return self.run_ok(
            self.cat.user_may_send_state_event("@a:t", "!r:t", "org.x", "k", {"a": 1})
        )

    def login(self, value: Any) -> Any:
        self.fresh()
        self.reg(check_login_for_spam=returning(value))
        return self.run_ok(
            self.cat.check_login_for_spam("@a:t", None, "dev", [("UA", "1.2.3.4")], None)
        )

    def test_state_event_only_not_spam_allows(self) -> None:
        """user_may_send_state_event: NOT_SPAM allows; a bare Codes keeps its code."""
        self.assertIs(self.state(NOT_SPAM), NOT_SPAM)
        self.assertEqual(self.state(Codes.LIMIT_EXCEEDED), (Codes.LIMIT_EXCEEDED, {}))

    def test_state_event_everything_else_forbidden(self) -> None:
        """True, False, tuples (extras dropped), runtime NOT_SPAM → warning + FORBIDDEN."""
        values = [True, False, (Codes.UNKNOWN, {"x": 1}), None, "".join(["NOT_", "SPAM"])]
        for value in values:
            with self.assertLogs(SPAM_LOGGER, "WARNING") as cm:
                self.assertEqual(self.state(value), (Codes.FORBIDDEN, {}), value)
            self.assertIn("rejecting room creation as spam", cm.output[0])

    def test_state_event_gets_deep_copy_of_content(self) -> None:
        """Each callback gets its own deep copy of the content."""
        content = {"a": {"b": 1}}
        seen: List[Any] = []

        async def cb(user_id: str, room_id: str, etype: str, skey: str, c: Any) -> str:
            seen.append((user_id, room_id, etype, skey, c))
            c["a"]["b"] = 2
            return NOT_SPAM

        self.reg(user_may_send_state_event=cb)
        self.run_ok(self.cat.user_may_send_state_event("@a:t", "!r:t", "org.x", "", content))
        self.assertEqual(content, {"a": {"b": 1}})
        self.assertEqual(seen[0][:4], ("@a:t", "!r:t", "org.x", ""))

    def test_login_rules(self) -> None:
        """check_login_for_spam: NOT_SPAM allows, Codes/tuple deny, bools warn + FORBIDDEN."""
        self.assertIs(self.login(NOT_SPAM), NOT_SPAM)
        self.assertEqual(self.login(Codes.USER_LOCKED), (Codes.USER_LOCKED, {}))
        tup = (Codes.FORBIDDEN, {"why": "x"})
        self.assertIs(self.login(tup), tup)
        for value in (True, False, None):
            with self.assertLogs(SPAM_LOGGER, "WARNING") as cm:
                self.assertEqual(self.login(value), (Codes.FORBIDDEN, {}))
            self.assertIn("rejecting login as spam", cm.output[0])

    def test_login_arguments(self) -> None:
        """check_login_for_spam passes the five arguments positionally."""
        log: List[Any] = []
        self.reg(check_login_for_spam=returning(NOT_SPAM, log))
        self.run_ok(self.cat.check_login_for_spam("@a:t", "DEV", None, [(None, "ip")], "oidc"))
        self.assertEqual(log[0][1], ("@a:t", "DEV", None, [(None, "ip")], "oidc"))


class MediaFileTests(SpamTestBase):
    def media(self, value: Any) -> Any:
        self.fresh()
        self.reg(check_media_file_for_spam=returning(value))
        return self.run_ok(self.cat.check_media_file_for_spam(object(), object()))

    def test_family_b(self) -> None:
        """False/NOT_SPAM allow, True → FORBIDDEN, Codes and tuples deny."""
        self.assertIs(self.media(False), NOT_SPAM)
        self.assertIs(self.media(NOT_SPAM), NOT_SPAM)
        self.assertEqual(self.media(True), (Codes.FORBIDDEN, {}))
        self.assertEqual(self.media(Codes.TOO_LARGE), (Codes.TOO_LARGE, {}))
        tup = (Codes.FORBIDDEN, {"a": 1})
        self.assertIs(self.media(tup), tup)

    def test_invalid_values(self) -> None:
        """None and a runtime NOT_SPAM string warn (media file) and deny."""
        for value in (None, "".join(["NOT_", "SPAM"])):
            with self.assertLogs(SPAM_LOGGER, "WARNING") as cm:
                self.assertEqual(self.media(value), (Codes.FORBIDDEN, {}))
            self.assertIn("rejecting media file as spam", cm.output[0])


class OtherCallbackTests(SpamTestBase):
    def test_should_drop_first_truthy(self) -> None:
        """should_drop_federated_event returns the first truthy result, else False."""
        self.assertIs(self.run_ok(self.cat.should_drop_federated_event(FakeEvent())), False)
        log: List[Any] = []
        self.reg(should_drop_federated_event=returning(False, log, "a"))
        self.reg(should_drop_federated_event=returning("", log, "b"))
        self.reg(should_drop_federated_event=returning("spammy", log, "c"))
        self.reg(should_drop_federated_event=returning(True, log, "d"))
        self.assertEqual(self.run_ok(self.cat.should_drop_federated_event(FakeEvent())), "spammy")
        self.assertEqual([label for label, _ in log], ["a", "b", "c"])

    def test_username_two_param_detection_and_copy(self) -> None:
        """check_username_for_spam: 2-param callbacks get the requester; each gets a copy."""
        profile: UserProfile = {"user_id": "@a:t", "display_name": "A", "avatar_url": None}
        seen: List[Any] = []

        async def two(p: Dict[str, Any], requester: str) -> bool:
            seen.append((p, requester))
            p["display_name"] = "changed"
            return False

        async def one(p: Dict[str, Any]) -> bool:
            seen.append((p,))
            return False

        self.reg(check_username_for_spam=two)
        self.reg(check_username_for_spam=one)
        self.assertIs(self.run_ok(self.cat.check_username_for_spam(profile, "@req:t")), False)
        self.assertEqual(seen[0][1], "@req:t")
        self.assertEqual(len(seen[1]), 1)
        self.assertEqual(seen[1][0]["display_name"], "A")
        self.assertEqual(profile["display_name"], "A")

    def test_username_first_truthy_hides(self) -> None:
        """The first truthy check_username_for_spam result returns True; later ones skip."""
        log: List[Any] = []
        self.reg(check_username_for_spam=returning(None, log, "a"))
        self.reg(check_username_for_spam=returning("yes", log, "b"))
        self.reg(check_username_for_spam=returning(False, log, "c"))
        profile: UserProfile = {"user_id": "@a:t", "display_name": None, "avatar_url": None}
        self.assertIs(self.run_ok(self.cat.check_username_for_spam(profile, "@r:t")), True)
        self.assertEqual([label for label, _ in log], ["a", "b"])

    def test_registration_first_non_allow(self) -> None:
        """check_registration_for_spam returns the first non-ALLOW behaviour."""
        log: List[Any] = []
        self.reg(check_registration_for_spam=returning(RegistrationBehaviour.ALLOW, log, "a"))
        self.reg(check_registration_for_spam=returning(RegistrationBehaviour.SHADOW_BAN, log, "b"))
        self.reg(check_registration_for_spam=returning(RegistrationBehaviour.DENY, log, "c"))
        res = self.run_ok(self.cat.check_registration_for_spam(None, "alice", [("UA", "ip")], None))
        self.assertIs(res, RegistrationBehaviour.SHADOW_BAN)
        self.assertEqual(log[0][1], (None, "alice", [("UA", "ip")], None))
        self.assertEqual(len(log), 2)

    def test_registration_default_allow(self) -> None:
        """With no callbacks, or all ALLOW, registration is ALLOW."""
        self.assertIs(
            self.run_ok(self.cat.check_registration_for_spam(None, None, [])),
            RegistrationBehaviour.ALLOW,
        )

    def test_registration_non_behaviour_asserts(self) -> None:
        """A result that is not a RegistrationBehaviour fails with AssertionError."""
        self.reg(check_registration_for_spam=returning("deny"))
        d = defer.ensureDeferred(self.cat.check_registration_for_spam(None, "a", []))
        self.failureResultOf(d, AssertionError)
