"""Account-validity callbacks: registration, single slots, combination rules."""

from __future__ import annotations

from typing import Any, List

from twisted.internet import defer

from synapse_modhost.callbacks.account_validity import AccountValidityCallbacks
from synapse_modhost.errors import AuthError, SynapseError
from tests.callbacks._support import CategoryTestCase, raising, returning

LOGGER = "synapse_modhost.callbacks"
LEGACY = ["on_legacy_send_mail", "on_legacy_renew", "on_legacy_admin_request"]
ALL_NAMES = ["is_user_expired", "on_user_registration", "on_user_login", *LEGACY]


class AVTestBase(CategoryTestCase[AccountValidityCallbacks]):
    category_class = AccountValidityCallbacks


class RegistrationTests(AVTestBase):
    def test_every_name_registers(self) -> None:
        """All six account-validity names are accepted and recorded."""
        self.reg(**{name: returning(None) for name in ALL_NAMES})
        for name in ALL_NAMES:
            self.assertTrue(self.cat.has(name), name)
        self.assertFalse(self.cat.has("nope"))

    def test_none_ignored(self) -> None:
        """None values register nothing (and do not fill the single slots)."""
        self.reg(**{name: None for name in ALL_NAMES})
        self.assertEqual(self.cat.registered(), [])
        self.reg(on_legacy_renew=returning((True, False, 1)))
        self.assertTrue(self.cat.has("on_legacy_renew"))

    def test_list_callbacks_append(self) -> None:
        """is_user_expired, on_user_registration and on_user_login append on every call."""
        cb = returning(None)
        for _ in range(2):
            self.reg(is_user_expired=cb, on_user_registration=cb, on_user_login=cb)
        for name in ("is_user_expired", "on_user_registration", "on_user_login"):
            self.assertEqual(len(self.cat.callbacks(name)), 2, name)

    def test_legacy_slot_twice_raises_exact_message(self) -> None:
        """A second legacy callback raises RuntimeError("Tried to register <name> twice")."""
        for name in LEGACY:
            self.setUp()
            self.cat.register_callbacks("mod.a", **{name: returning(None)})
            with self.assertRaises(RuntimeError) as cm:
                self.cat.register_callbacks("mod.b", **{name: returning(None)})
            self.assertEqual(str(cm.exception), f"Tried to register {name} twice")
            self.assertEqual(len(self.cat.callbacks(name)), 1)
            self.assertEqual(self.cat.callbacks(name)[0].module, "mod.a")

    def test_legacy_slot_twice_same_module_raises(self) -> None:
        """The same module registering a legacy slot twice is refused too."""
        cb = returning(None)
        self.reg(on_legacy_send_mail=cb)
        self.assertRaises(RuntimeError, self.reg, on_legacy_send_mail=cb)

    def test_earlier_callbacks_stay_when_slot_refused(self) -> None:
        """Callbacks handled before the refused slot in the same call stay registered."""
        self.reg(on_legacy_renew=returning(None))
        self.assertRaises(
            RuntimeError,
            self.reg,
            is_user_expired=returning(None),
            on_legacy_send_mail=returning(None),
            on_legacy_renew=returning(None),
            on_legacy_admin_request=returning(None),
        )
        self.assertTrue(self.cat.has("is_user_expired"))
        self.assertTrue(self.cat.has("on_legacy_send_mail"))
        self.assertFalse(self.cat.has("on_legacy_admin_request"))


class IsUserExpiredTests(AVTestBase):
    def test_none_registered_returns_none(self) -> None:
        """With no module answering, the result is None (caller applies config)."""
        self.assertIsNone(self.run_ok(self.cat.is_user_expired("@a:t")))
        self.reg(is_user_expired=returning(None))
        self.assertIsNone(self.run_ok(self.cat.is_user_expired("@a:t")))

    def test_first_non_none_wins(self) -> None:
        """The first non-None answer (False included) wins; later callbacks do not run."""
        log: List[Any] = []
        self.reg(is_user_expired=returning(None, log, "a"))
        self.reg(is_user_expired=returning(False, log, "b"))
        self.reg(is_user_expired=returning(True, log, "c"))
        self.assertIs(self.run_ok(self.cat.is_user_expired("@a:t")), False)
        self.assertEqual(log, [("a", ("@a:t",)), ("b", ("@a:t",))])

    def test_true_expires(self) -> None:
        """True is returned as the answer."""
        self.reg(is_user_expired=returning(True))
        self.assertIs(self.run_ok(self.cat.is_user_expired("@a:t")), True)

    def test_exception_propagates(self) -> None:
        """An exception from is_user_expired propagates."""
        self.reg(is_user_expired=raising(ValueError("db down")))
        self.run_fail(self.cat.is_user_expired("@a:t"), ValueError)

    def test_sync_callback_typeerror(self) -> None:
        """A non-async is_user_expired fails with TypeError and a warning."""
        self.reg(is_user_expired=lambda u: False)
        with self.assertLogs(LOGGER, "WARNING"):
            self.run_fail(self.cat.is_user_expired("@a:t"), TypeError)

    def test_shielded_from_cancellation(self) -> None:
        """is_user_expired runs under delay_cancellation."""
        pending: defer.Deferred[Any] = defer.Deferred()
        self.reg(is_user_expired=lambda u: pending)
        d = defer.ensureDeferred(self.cat.is_user_expired("@a:t"))
        d.cancel()
        self.assertNoResult(d)
        pending.callback(False)
        self.failureResultOf(d, defer.CancelledError)

    def test_expired_error(self) -> None:
        """The expired-account error is 403 ORG_MATRIX_EXPIRED_ACCOUNT."""
        err = AccountValidityCallbacks.expired_error()
        self.assertIsInstance(err, AuthError)
        self.assertEqual(err.code, 403)
        self.assertEqual(
            err.error_dict(None),
            {"errcode": "ORG_MATRIX_EXPIRED_ACCOUNT", "error": "User account has expired"},
        )


class NotificationTests(AVTestBase):
    def test_registration_all_run_in_order(self) -> None:
        """on_user_registration runs every callback in order with the user id."""
        log: List[Any] = []
        self.reg(on_user_registration=returning(None, log, "a"))
        self.reg(on_user_registration=returning("ignored", log, "b"))
        self.assertIsNone(self.run_ok(self.cat.on_user_registration("@a:t")))
        self.assertEqual(log, [("a", ("@a:t",)), ("b", ("@a:t",))])

    def test_login_arguments(self) -> None:
        """on_user_login gets (user_id, auth_provider_type, auth_provider_id)."""
        log: List[Any] = []
        self.reg(on_user_login=returning(None, log))
        self.reg(on_user_login=returning(None, log))
        self.run_ok(self.cat.on_user_login("@a:t", "m.login.password", None))
        self.assertEqual(log, [("", ("@a:t", "m.login.password", None))] * 2)

    def test_exceptions_propagate_and_stop(self) -> None:
        """An exception propagates from both and later callbacks do not run."""
        err = SynapseError(409, "no")
        log: List[Any] = []
        self.reg(on_user_registration=raising(err), on_user_login=raising(err))
        self.reg(on_user_registration=returning(None, log), on_user_login=returning(None, log))
        f = self.run_fail(self.cat.on_user_registration("@a:t"), SynapseError)
        self.assertIs(f.value, err)
        self.run_fail(self.cat.on_user_login("@a:t", None, None), SynapseError)
        self.assertEqual(log, [])

    def test_sync_callback_typeerror(self) -> None:
        """A non-async on_user_login fails with TypeError."""
        self.reg(on_user_login=lambda *a: None)
        with self.assertLogs(LOGGER, "WARNING"):
            self.run_fail(self.cat.on_user_login("@a:t", None, None), TypeError)


class LegacyTests(AVTestBase):
    def test_legacy_calls_return_results(self) -> None:
        """The legacy slots are called with their argument and return the result."""
        log: List[Any] = []
        self.reg(
            on_legacy_send_mail=returning(None, log, "mail"),
            on_legacy_renew=returning((True, False, 1234), log, "renew"),
            on_legacy_admin_request=returning(5678, log, "admin"),
        )
        self.assertIsNone(self.run_ok(self.cat.on_legacy_send_mail("@a:t")))
        self.assertEqual(self.run_ok(self.cat.on_legacy_renew("tok")), (True, False, 1234))
        request = object()
        self.assertEqual(self.run_ok(self.cat.on_legacy_admin_request(request)), 5678)
        self.assertEqual(log, [("mail", ("@a:t",)), ("renew", ("tok",)), ("admin", (request,))])

    def test_unset_slot_raises_lookup_error(self) -> None:
        """Calling an unset legacy slot raises LookupError (callers check has())."""
        self.run_fail(self.cat.on_legacy_renew("tok"), LookupError)
        self.run_fail(self.cat.on_legacy_send_mail("@a:t"), LookupError)
        self.run_fail(self.cat.on_legacy_admin_request(object()), LookupError)

    def test_legacy_exceptions_propagate(self) -> None:
        """Exceptions from legacy callbacks propagate."""
        self.reg(on_legacy_renew=raising(KeyError("x")))
        self.run_fail(self.cat.on_legacy_renew("tok"), KeyError)
