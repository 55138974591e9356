"""PasswordAuthProviderCallbacks: registration errors, login-type bookkeeping, combination rules."""

from __future__ import annotations

from typing import Any, List

from twisted.internet import defer

from synapse_modhost.callbacks.password_auth_provider import PasswordAuthProviderCallbacks
from synapse_modhost.config._errors import ConfigError
from synapse_modhost.errors import SynapseError
from tests.callbacks._support import ALL_LOGS, CategoryTestCase, raising, recording, returning

LOGGER = "synapse_modhost.callbacks.password_auth_provider"


async def post_login(response: Any) -> None:
    return None


class PasswordAuthTestBase(CategoryTestCase[PasswordAuthProviderCallbacks]):
    category_class = PasswordAuthProviderCallbacks


class RegistrationTests(PasswordAuthTestBase):
    def test_auth_delegation_refuses_registration(self) -> None:
        """With OAuth delegation every registration, even an empty one, raises ConfigError."""
        p = self.make(auth_delegation_enabled=True)
        for kwargs in ({}, {"check_3pid_auth": returning(None)}):
            with self.assertRaises(ConfigError) as cm:
                p.register_callbacks("m", **kwargs)
            self.assertEqual(
                cm.exception.msg,
                "Cannot use password auth provider callbacks when OAuth delegation is enabled",
            )
        self.assertEqual(p.registered(), [])

    def test_non_str_field_raises(self) -> None:
        """A non-str field name raises Synapse's RuntimeError, naming the type and fields."""
        p = self.cat
        with self.assertRaises(RuntimeError) as cm:
            p.register_callbacks("m", auth_checkers={("org.x", ("secret", 5)): returning(None)})
        self.assertEqual(
            str(cm.exception),
            "A module tried to register support for login type: org.x with parameters "
            "('secret', 5) but all parameter names must be strings",
        )
        self.assertEqual(p.get_supported_login_types(), {})

    def test_error_keeps_earlier_registrations(self) -> None:
        """Callbacks registered before the field error in the same call stay registered."""
        p = self.cat
        with self.assertRaises(RuntimeError):
            p.register_callbacks(
                "m",
                check_3pid_auth=returning(None),
                auth_checkers={
                    ("org.a", ("f",)): returning(None),
                    ("org.b", (1,)): returning(None),
                },
                is_3pid_allowed=returning(True),
            )
        self.assertTrue(p.has("check_3pid_auth"))
        self.assertEqual(p.get_supported_login_types(), {"org.a": ("f",)})
        self.assertFalse(p.has("is_3pid_allowed"))

    def test_login_types_in_order_last_fields_win(self) -> None:
        """Types keep first-registration order; a re-registration's fields replace the old."""
        p = self.cat
        p.register_callbacks("a", auth_checkers={("org.one", ("x",)): returning(None)})
        p.register_callbacks("b", auth_checkers={("org.two", ()): returning(None)})
        p.register_callbacks("c", auth_checkers={("org.one", ("y", "z")): returning(None)})
        types = p.get_supported_login_types()
        self.assertEqual(list(types), ["org.one", "org.two"])
        self.assertEqual(types["org.one"], ("y", "z"))
        self.assertEqual([r.module for r in p.auth_checkers_for("org.one")], ["a", "c"])

    def test_conflict_check_only_when_type_is_a_field(self) -> None:
        """Synapse's field-conflict error fires only when the login type is one of the old fields."""
        p = self.cat
        p.register_callbacks("a", auth_checkers={("password", ("password",)): returning(None)})
        with self.assertRaises(RuntimeError) as cm:
            p.register_callbacks("b", auth_checkers={("password", ("pass",)): returning(None)})
        self.assertEqual(
            str(cm.exception),
            "A module tried to register support for login type: password with parameters "
            "('pass',) but another module had already registered support for that type with "
            "parameters ('password',)",
        )
        # same fields again is accepted and accumulates
        p.register_callbacks("c", auth_checkers={("password", ("password",)): returning(None)})
        self.assertEqual(len(p.auth_checkers_for("password")), 2)


class CheckAuthTests(PasswordAuthTestBase):
    def check(self, p: PasswordAuthProviderCallbacks, login_type: str = "org.t") -> Any:
        return self.successResultOf(
            defer.ensureDeferred(p.check_auth("alice", login_type, {"secret": "s"}))
        )

    def test_first_valid_result_wins(self) -> None:
        """Checkers run in order; None passes on; the first (str, callable|None) is returned."""
        p = self.cat
        later: List[Any] = []
        calls: List[Any] = []
        p.register_callbacks("a", auth_checkers={("org.t", ("secret",)): recording(None, calls)})
        p.register_callbacks(
            "b", auth_checkers={("org.t", ("secret",)): returning(("@a:test", post_login))}
        )
        p.register_callbacks(
            "c", auth_checkers={("org.t", ("secret",)): recording(("@z:test", None), later)}
        )
        self.assertEqual(self.check(p), ("@a:test", post_login))
        self.assertEqual(calls, [("alice", "org.t", {"secret": "s"})])
        self.assertEqual(later, [])

    def test_other_login_types_not_run(self) -> None:
        """Only the checkers of the requested login type run; an unknown type gives None."""
        p = self.cat
        calls: List[Any] = []
        p.register_callbacks(
            "a", auth_checkers={("org.other", ()): recording(("@a:test", None), calls)}
        )
        self.assertIsNone(self.check(p))
        self.assertIsNone(self.check(p, "org.unknown"))
        self.assertEqual(calls, [])

    def test_wrong_shapes_skipped(self) -> None:
        """Non-tuples, wrong lengths, non-str ids and non-callable second items are skipped."""
        p = self.cat
        for bad in ["@a:test", ("@a:test",), ("@a:test", None, 1), (5, None), ("@a:test", "nope")]:
            p.register_callbacks("bad", auth_checkers={("org.t", ()): returning(bad)})
        p.register_callbacks("good", auth_checkers={("org.t", ()): returning(("@ok:test", None))})
        with self.assertLogs(LOGGER, "WARNING") as logs:
            self.assertEqual(self.check(p), ("@ok:test", None))
        self.assertEqual(len(logs.output), 5)
        self.assertIn("Wrong type returned by module API callback", logs.output[0])

    def test_exception_skipped(self) -> None:
        """A raising checker is logged and the next one runs."""
        p = self.cat
        p.register_callbacks("a", auth_checkers={("org.t", ()): raising(KeyError("k"))})
        p.register_callbacks("b", auth_checkers={("org.t", ()): returning(("@b:test", None))})
        with self.assertLogs(LOGGER, "WARNING") as logs:
            self.assertEqual(self.check(p), ("@b:test", None))
        self.assertIn("Failed to run module API callback", logs.output[0])

    def test_synapse_error_also_skipped(self) -> None:
        """Even a SynapseError from a checker is only logged (the login falls through)."""
        p = self.cat
        p.register_callbacks("a", auth_checkers={("org.t", ()): raising(SynapseError(409, "x"))})
        with self.assertLogs(LOGGER, "WARNING"):
            self.assertIsNone(self.check(p))

    def test_sync_checker_skipped(self) -> None:
        """A synchronous checker fails with TypeError and is skipped."""
        p = self.cat
        p.register_callbacks("a", auth_checkers={("org.t", ()): lambda *a: ("@a:test", None)})
        with self.assertLogs(ALL_LOGS, "WARNING") as logs:
            self.assertIsNone(self.check(p))
        self.assertTrue(any("can't be used in 'await' expression" in x for x in logs.output))

    def test_cancellation_delayed(self) -> None:
        """Cancelling a login waits for the running checker, then raises CancelledError."""
        p = self.cat
        pending: defer.Deferred[Any] = defer.Deferred()
        p.register_callbacks("a", auth_checkers={("org.t", ()): lambda *a: pending})
        d = defer.ensureDeferred(p.check_auth("alice", "org.t", {}))
        d.cancel()
        self.assertNoResult(d)
        pending.callback(("@a:test", None))
        self.failureResultOf(d, defer.CancelledError)


class Check3pidAuthTests(PasswordAuthTestBase):
    def test_first_valid_wins_and_shapes_checked(self) -> None:
        """check_3pid_auth skips bad shapes and exceptions and returns the first valid result."""
        p = self.cat
        calls: List[Any] = []
        p.register_callbacks("a", check_3pid_auth=recording(None, calls))
        p.register_callbacks("b", check_3pid_auth=raising(ValueError()))
        p.register_callbacks("c", check_3pid_auth=returning("@bare:test"))
        p.register_callbacks("d", check_3pid_auth=returning(("@d:test", post_login)))
        with self.assertLogs(LOGGER, "WARNING") as logs:
            res = self.successResultOf(
                defer.ensureDeferred(p.check_3pid_auth("email", "a@b", "pw"))
            )
        self.assertEqual(res, ("@d:test", post_login))
        self.assertEqual(calls, [("email", "a@b", "pw")])
        self.assertEqual(len(logs.output), 2)

    def test_none_registered(self) -> None:
        """Without callbacks check_3pid_auth gives None."""
        p = self.cat
        self.assertIsNone(
            self.successResultOf(defer.ensureDeferred(p.check_3pid_auth("email", "a@b", "pw")))
        )


class OnLoggedOutTests(PasswordAuthTestBase):
    def test_all_run_errors_logged(self) -> None:
        """Every on_logged_out callback runs with the token details; exceptions are logged."""
        p = self.cat
        calls: List[Any] = []
        p.register_callbacks("a", on_logged_out=raising(RuntimeError("x")))
        p.register_callbacks("b", on_logged_out=lambda *a: 1)  # sync: TypeError, logged
        p.register_callbacks("c", on_logged_out=recording(None, calls))
        with self.assertLogs(ALL_LOGS, "WARNING") as logs:
            self.successResultOf(
                defer.ensureDeferred(
                    p.on_logged_out(user_id="@a:test", device_id="DEV", access_token="tok")
                )
            )
        self.assertEqual(calls, [("@a:test", "DEV", "tok")])
        self.assertEqual(sum("Failed to run module API callback" in x for x in logs.output), 2)


class RegistrationNameTests(PasswordAuthTestBase):
    def test_username_first_str_wins(self) -> None:
        """The first str wins; None passes on; other values are warned about and ignored."""
        p = self.cat
        later: List[Any] = []
        p.register_callbacks("a", get_username_for_registration=returning(None))
        p.register_callbacks("b", get_username_for_registration=returning(5))
        p.register_callbacks("c", get_username_for_registration=returning("bob"))
        p.register_callbacks("d", get_username_for_registration=recording("zed", later))
        with self.assertLogs(LOGGER, "WARNING") as logs:
            res = self.successResultOf(
                defer.ensureDeferred(p.get_username_for_registration({"m.login.dummy": True}, {}))
            )
        self.assertEqual(res, "bob")
        self.assertEqual(later, [])
        self.assertIn(
            "Ignoring non-string value returned by get_username_for_registration", logs.output[0]
        )

    def test_username_none_when_nothing(self) -> None:
        """No callbacks, or only None results, give None."""
        p = self.cat
        self.assertIsNone(
            self.successResultOf(defer.ensureDeferred(p.get_username_for_registration({}, {})))
        )
        p.register_callbacks("a", get_username_for_registration=returning(None))
        self.assertIsNone(
            self.successResultOf(defer.ensureDeferred(p.get_username_for_registration({}, {})))
        )

    def test_username_exception_is_500(self) -> None:
        """A raising callback becomes SynapseError(500, "Internal Server Error")."""
        p = self.cat
        later: List[Any] = []
        p.register_callbacks("a", get_username_for_registration=raising(SynapseError(409, "mine")))
        p.register_callbacks("b", get_username_for_registration=recording("x", later))
        with self.assertLogs(LOGGER, "ERROR"):
            f = self.failureResultOf(
                defer.ensureDeferred(p.get_username_for_registration({}, {})), SynapseError
            )
        self.assertEqual((f.value.code, f.value.msg), (500, "Internal Server Error"))
        self.assertEqual(later, [])

    def test_displayname_rules(self) -> None:
        """get_displayname_for_registration: arguments passed, first str wins, sync -> 500."""
        p = self.cat
        calls: List[Any] = []
        p.register_callbacks("a", get_displayname_for_registration=recording("Bob", calls))
        res = self.successResultOf(
            defer.ensureDeferred(p.get_displayname_for_registration({"u": 1}, {"username": "bob"}))
        )
        self.assertEqual(res, "Bob")
        self.assertEqual(calls, [({"u": 1}, {"username": "bob"})])

        p2 = self.make()
        p2.register_callbacks("a", get_displayname_for_registration=lambda u, p: "Sync")
        with self.assertLogs(ALL_LOGS, "WARNING"):
            f = self.failureResultOf(
                defer.ensureDeferred(p2.get_displayname_for_registration({}, {})), SynapseError
            )
        self.assertEqual(f.value.code, 500)


class Is3pidAllowedTests(PasswordAuthTestBase):
    def allowed(self, p: PasswordAuthProviderCallbacks) -> Any:
        return self.successResultOf(defer.ensureDeferred(p.is_3pid_allowed("email", "a@b", True)))

    def test_default_true(self) -> None:
        """Without callbacks every 3PID is allowed."""
        self.assertIs(self.allowed(self.cat), True)

    def test_false_denies_and_stops(self) -> None:
        """The first False denies; callbacks after it do not run."""
        p = self.cat
        calls: List[Any] = []
        later: List[Any] = []
        p.register_callbacks("a", is_3pid_allowed=recording(True, calls))
        p.register_callbacks("b", is_3pid_allowed=returning(False))
        p.register_callbacks("c", is_3pid_allowed=recording(True, later))
        self.assertIs(self.allowed(p), False)
        self.assertEqual(calls, [("email", "a@b", True)])
        self.assertEqual(later, [])

    def test_non_bool_ignored(self) -> None:
        """Falsy non-bools (None, 0) do not deny; they are warned about and ignored."""
        p = self.cat
        p.register_callbacks("a", is_3pid_allowed=returning(None))
        p.register_callbacks("b", is_3pid_allowed=returning(0))
        with self.assertLogs(LOGGER, "WARNING") as logs:
            self.assertIs(self.allowed(p), True)
        self.assertEqual(len(logs.output), 2)

    def test_exception_is_500(self) -> None:
        """A raising callback becomes SynapseError(500, "Internal Server Error")."""
        p = self.cat
        p.register_callbacks("a", is_3pid_allowed=raising(ValueError("bad")))
        with self.assertLogs(LOGGER, "ERROR"):
            f = self.failureResultOf(
                defer.ensureDeferred(p.is_3pid_allowed("email", "a@b", False)), SynapseError
            )
        self.assertEqual(
            f.value.error_dict(), {"errcode": "M_UNKNOWN", "error": "Internal Server Error"}
        )
        self.assertEqual(f.value.code, 500)
