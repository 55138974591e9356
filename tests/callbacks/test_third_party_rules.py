"""Third-party rules callbacks: registration, combination rules, failure policies, denials."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost._codes import Codes
from synapse_modhost.callbacks.third_party_rules import ThirdPartyRulesCallbacks
from synapse_modhost.errors import ModuleFailedException, SynapseError
from synapse_modhost.types import ProfileInfo, create_requester
from tests.callbacks._support import CategoryTestCase, raising, returning

LOGGER = "synapse_modhost.callbacks"
TPR_LOGGER = "synapse_modhost.callbacks.third_party_rules"

ALL_NAMES = [
    "check_event_allowed",
    "on_create_room",
    "check_threepid_can_be_invited",
    "check_visibility_can_be_modified",
    "on_new_event",
    "check_can_shutdown_room",
    "check_can_deactivate_user",
    "on_profile_update",
    "on_user_deactivation_status_changed",
    "on_threepid_bind",
    "on_add_user_third_party_identifier",
    "on_remove_user_third_party_identifier",
]

STATE = {("m.room.create", ""): "create-event"}


class TPRTestBase(CategoryTestCase[ThirdPartyRulesCallbacks]):
    category_class = ThirdPartyRulesCallbacks

    def setUp(self) -> None:
        super().setUp()
        self.state_loads = 0

    async def load_state(self) -> Dict[Any, Any]:
        self.state_loads += 1
        return STATE


class RegistrationTests(TPRTestBase):
    def test_every_name_registers(self) -> None:
        """Each of the 12 third-party-rules names is accepted and recorded."""
        self.reg(**{name: returning(None) for name in ALL_NAMES})
        for name in ALL_NAMES:
            self.assertTrue(self.cat.has(name), name)
        self.assertEqual(len(self.cat.registered()), 12)

    def test_none_ignored_and_appends(self) -> None:
        """None is ignored; a second registration appends."""
        self.reg(**{name: None for name in ALL_NAMES})
        self.assertEqual(self.cat.registered(), [])
        cb = returning(True)
        self.reg(check_can_shutdown_room=cb)
        self.reg(check_can_shutdown_room=cb)
        self.assertEqual(len(self.cat.callbacks("check_can_shutdown_room")), 2)

    def test_unknown_name_raises(self) -> None:
        """An unknown keyword is a TypeError."""
        self.assertRaises(TypeError, self.cat.register_callbacks, "m", on_foo=returning(1))


class CheckEventAllowedTests(TPRTestBase):
    def check(self) -> Any:
        return self.run_ok(self.cat.check_event_allowed("event", self.load_state))

    def test_none_registered_allows_without_state(self) -> None:
        """No callbacks → (True, None) and the state is never loaded."""
        self.assertEqual(self.check(), (True, None))
        self.assertEqual(self.state_loads, 0)

    def test_state_passed_and_loaded_once(self) -> None:
        """Callbacks get (event, state); a lazy state source is loaded once."""
        log: List[Any] = []
        self.reg(check_event_allowed=returning((True, None), log, "a"))
        self.reg(check_event_allowed=returning((True, None), log, "b"))
        self.assertEqual(self.check(), (True, None))
        self.assertEqual(log, [("a", ("event", STATE)), ("b", ("event", STATE))])
        self.assertEqual(self.state_loads, 1)

    def test_plain_mapping_state(self) -> None:
        """A state mapping passed directly reaches the callback unchanged."""
        log: List[Any] = []
        self.reg(check_event_allowed=returning((True, None), log))
        self.run_ok(self.cat.check_event_allowed("ev", {}))
        self.assertEqual(log[0][1], ("ev", {}))

    def test_false_denies_and_stops(self) -> None:
        """res is False → (False, None); later callbacks do not run."""
        log: List[Any] = []
        self.reg(check_event_allowed=returning((False, {"x": 1}), log, "a"))
        self.reg(check_event_allowed=returning((True, None), log, "b"))
        self.assertEqual(self.check(), (False, None))
        self.assertEqual(len(log), 1)

    def test_only_literal_false_denies(self) -> None:
        """Falsy values other than False (None, 0) do not deny."""
        self.reg(check_event_allowed=returning((None, None)))
        self.reg(check_event_allowed=returning((0, None)))
        self.assertEqual(self.check(), (True, None))

    def test_dict_replacement_allows_and_stops(self) -> None:
        """A dict replacement → (True, replacement), later callbacks skipped."""
        new = {"type": "m.room.message", "content": {"body": "REPLACED"}}
        log: List[Any] = []
        self.reg(check_event_allowed=returning((True, new)))
        self.reg(check_event_allowed=returning((False, None), log))
        res = self.check()
        self.assertEqual(res, (True, new))
        self.assertIs(res[1], new)
        self.assertEqual(log, [])

    def test_non_dict_replacement_ignored(self) -> None:
        """A replacement that is not a dict is ignored and the next callback runs."""
        self.reg(check_event_allowed=returning((True, ["not", "dict"])))
        self.reg(check_event_allowed=returning((False, None)))
        self.assertEqual(self.check(), (False, None))

    def test_synapse_error_reraised(self) -> None:
        """A SynapseError propagates as the same object."""
        err = SynapseError(409, "lab says no", "ORG_LAB_NO", {"lab": True})
        self.reg(check_event_allowed=raising(err))
        f = self.run_fail(self.cat.check_event_allowed("e", {}), SynapseError)
        self.assertIs(f.value, err)

    def test_cancelled_error_reraised(self) -> None:
        """A CancelledError propagates unwrapped."""
        self.reg(check_event_allowed=raising(defer.CancelledError()))
        self.run_fail(self.cat.check_event_allowed("e", {}), defer.CancelledError)

    def test_other_exception_wrapped(self) -> None:
        """Any other exception → ModuleFailedException chained from the cause."""
        cause = ValueError("boom")
        self.reg(check_event_allowed=raising(cause))
        f = self.run_fail(self.cat.check_event_allowed("e", {}), ModuleFailedException)
        self.assertEqual(str(f.value), "Failed to run `check_event_allowed` module API callback")
        self.assertIs(f.value.__cause__, cause)

    def test_non_pair_results_wrapped(self) -> None:
        """A result that does not unpack into two values (True, False, None) → wrapped."""
        for value in (True, False, None, (True,), (True, None, None)):
            self.setUp()
            self.reg(check_event_allowed=returning(value))
            f = self.run_fail(self.cat.check_event_allowed("e", {}), ModuleFailedException)
            self.assertIsInstance(f.value.__cause__, (TypeError, ValueError), value)

    def test_two_char_string_unpacks(self) -> None:
        """A 2-character string unpacks into two values, as in Synapse, and allows."""
        self.reg(check_event_allowed=returning("ok"))
        self.assertEqual(self.run_ok(self.cat.check_event_allowed("e", {})), (True, None))

    def test_sync_callback_wrapped(self) -> None:
        """A non-async callback → ModuleFailedException from a TypeError, with a warning."""
        self.reg(check_event_allowed=lambda e, s: (True, None))
        with self.assertLogs(LOGGER, "WARNING") as cm:
            f = self.run_fail(self.cat.check_event_allowed("e", {}), ModuleFailedException)
        self.assertIsInstance(f.value.__cause__, TypeError)
        self.assertIn("is not async", "\n".join(cm.output))

    def test_shielded_from_cancellation(self) -> None:
        """Cancelling waits for the callback, then fails with CancelledError."""
        pending: defer.Deferred[Any] = defer.Deferred()
        self.reg(check_event_allowed=lambda e, s: pending)
        d = defer.ensureDeferred(self.cat.check_event_allowed("e", {}))
        d.cancel()
        self.assertNoResult(d)
        pending.callback((True, None))
        self.failureResultOf(d, defer.CancelledError)


class OnCreateRoomTests(TPRTestBase):
    requester = create_requester("@alice:test")

    def test_all_run_with_live_dict(self) -> None:
        """Every callback runs with the same live request dict; mutations are visible."""
        body: Dict[str, Any] = {"name": "r1"}
        seen: List[Any] = []

        async def mutate(req: Any, content: Dict[str, Any], admin: bool) -> None:
            seen.append((req, content, admin))
            content["topic"] = "added"

        self.reg(on_create_room=mutate)
        self.reg(on_create_room=mutate)
        self.assertIsNone(self.run_ok(self.cat.on_create_room(self.requester, body, False)))
        self.assertEqual(body["topic"], "added")
        self.assertIs(seen[0][1], body)
        self.assertEqual(len(seen), 2)
        self.assertIs(seen[0][2], False)

    def test_false_does_not_deny(self) -> None:
        """Returning False does not deny room creation."""
        self.reg(on_create_room=returning(False))
        self.assertIsNone(self.run_ok(self.cat.on_create_room(self.requester, {}, True)))

    def test_synapse_error_reraised(self) -> None:
        """A SynapseError propagates as is; later callbacks do not run."""
        err = SynapseError(409, "no", "ORG_NO")
        log: List[Any] = []
        self.reg(on_create_room=raising(err))
        self.reg(on_create_room=returning(None, log))
        f = self.run_fail(self.cat.on_create_room(self.requester, {}, False), SynapseError)
        self.assertIs(f.value, err)
        self.assertEqual(log, [])

    def test_other_exception_is_403(self) -> None:
        """Other exceptions → 403 M_UNKNOWN "Room creation forbidden with these parameters"."""
        self.reg(on_create_room=raising(KeyError("x")))
        f = self.run_fail(self.cat.on_create_room(self.requester, {}, False), SynapseError)
        self.assertEqual(f.value.code, 403)
        self.assertEqual(
            f.value.error_dict(None),
            {"errcode": "M_UNKNOWN", "error": "Room creation forbidden with these parameters"},
        )
        self.assertIsInstance(f.value.__cause__, KeyError)

    def test_sync_callback_is_403(self) -> None:
        """A non-async callback becomes the same 403."""
        self.reg(on_create_room=lambda r, c, a: None)
        with self.assertLogs(LOGGER, "WARNING"):
            f = self.run_fail(self.cat.on_create_room(self.requester, {}, False), SynapseError)
        self.assertEqual(f.value.msg, "Room creation forbidden with these parameters")

    def test_cancellation_reaches_callback(self) -> None:
        """on_create_room is awaited plainly: cancelling cancels the callback (→ 403)."""
        pending: defer.Deferred[Any] = defer.Deferred()
        self.reg(on_create_room=lambda r, c, a: pending)
        d = defer.ensureDeferred(self.cat.on_create_room(self.requester, {}, False))
        d.cancel()
        self.assertTrue(pending.called)
        f = self.failureResultOf(d, SynapseError)
        self.assertEqual(f.value.code, 403)


class WarnAndAllowTests(TPRTestBase):
    def threepid(self) -> Any:
        return self.run_ok(self.cat.check_threepid_can_be_invited("email", "a@b", self.load_state))

    def visibility(self) -> Any:
        return self.run_ok(
            self.cat.check_visibility_can_be_modified("!r:t", self.load_state, "public")
        )

    def test_none_registered_true_without_state(self) -> None:
        """No callbacks → True, the state is not loaded."""
        self.assertIs(self.threepid(), True)
        self.assertIs(self.visibility(), True)
        self.assertEqual(self.state_loads, 0)

    def test_arguments(self) -> None:
        """Threepid gets (medium, address, state); visibility (room, state, visibility)."""
        log: List[Any] = []
        self.reg(check_threepid_can_be_invited=returning(True, log, "t"))
        self.reg(check_visibility_can_be_modified=returning(True, log, "v"))
        self.threepid()
        self.visibility()
        self.assertEqual(log, [("t", ("email", "a@b", STATE)), ("v", ("!r:t", STATE, "public"))])

    def test_only_literal_false_denies(self) -> None:
        """None/0 allow; False denies and stops."""
        log: List[Any] = []
        for name in ("check_threepid_can_be_invited", "check_visibility_can_be_modified"):
            self.reg(**{name: returning(None)})
            self.reg(**{name: returning(0)})
        self.assertIs(self.threepid(), True)
        self.assertIs(self.visibility(), True)
        for name in ("check_threepid_can_be_invited", "check_visibility_can_be_modified"):
            self.reg(**{name: returning(False)})
            self.reg(**{name: returning(True, log)})
        self.assertIs(self.threepid(), False)
        self.assertIs(self.visibility(), False)
        self.assertEqual(log, [])

    def test_exception_warned_then_next_runs(self) -> None:
        """An exception is logged as a warning and treated as allow; the next still runs."""
        self.reg(check_threepid_can_be_invited=raising(ValueError("boom")))
        with self.assertLogs(TPR_LOGGER, "WARNING") as cm:
            self.assertIs(self.threepid(), True)
        self.assertEqual(cm.records[0].levelno, logging.WARNING)
        self.assertIn("Failed to run module API callback", cm.output[0])
        self.assertIn("boom", cm.output[0])
        self.reg(check_threepid_can_be_invited=returning(False))
        with self.assertLogs(TPR_LOGGER, "WARNING"):
            self.assertIs(self.threepid(), False)

    def test_visibility_exception_allows(self) -> None:
        """check_visibility_can_be_modified: an exception is warned and allows."""
        self.reg(check_visibility_can_be_modified=raising(RuntimeError("x")))
        with self.assertLogs(TPR_LOGGER, "WARNING"):
            self.assertIs(self.visibility(), True)

    def test_sync_callback_allows(self) -> None:
        """A non-async callback fails with TypeError, is warned about, and allows."""
        self.reg(check_threepid_can_be_invited=lambda m, a, s: False)
        with self.assertLogs(LOGGER, "WARNING") as cm:
            self.assertIs(self.threepid(), True)
        text = "\n".join(cm.output)
        self.assertIn("is not async", text)
        self.assertIn("Failed to run module API callback", text)

    def test_cancelled_error_propagates(self) -> None:
        """CancelledError raised by a callback propagates."""
        self.reg(check_threepid_can_be_invited=raising(defer.CancelledError()))
        self.run_fail(
            self.cat.check_threepid_can_be_invited("email", "a", {}), defer.CancelledError
        )


class LogAndAllowTests(TPRTestBase):
    def test_shutdown_and_deactivate_rules(self) -> None:
        """Only False denies shutdown/deactivation; arguments are passed through."""
        log: List[Any] = []
        self.assertIs(self.run_ok(self.cat.check_can_shutdown_room(None, "!r:t")), True)
        self.reg(check_can_shutdown_room=returning(None, log, "s"))
        self.reg(check_can_deactivate_user=returning(True, log, "d"))
        self.assertIs(self.run_ok(self.cat.check_can_shutdown_room("@admin:t", "!r:t")), True)
        self.assertIs(self.run_ok(self.cat.check_can_deactivate_user("@u:t", True)), True)
        self.assertEqual(log, [("s", ("@admin:t", "!r:t")), ("d", ("@u:t", True))])
        self.reg(check_can_shutdown_room=returning(False))
        self.reg(check_can_deactivate_user=returning(False))
        self.assertIs(self.run_ok(self.cat.check_can_shutdown_room(None, "!r:t")), False)
        self.assertIs(self.run_ok(self.cat.check_can_deactivate_user("@u:t", False)), False)

    def test_exception_logged_and_allows(self) -> None:
        """An exception is logged with its traceback (ERROR) and treated as allow."""
        for name, call in (
            ("check_can_shutdown_room", lambda: self.cat.check_can_shutdown_room("@a:t", "!r")),
            ("check_can_deactivate_user", lambda: self.cat.check_can_deactivate_user("@a:t", True)),
        ):
            self.setUp()
            self.reg(**{name: raising(ValueError("nope"))})
            with self.assertLogs(TPR_LOGGER, "ERROR") as cm:
                self.assertIs(self.run_ok(call()), True, name)
            self.assertIsNotNone(cm.records[0].exc_info)
            self.assertIn("Failed to run module API callback", cm.output[0])

    def test_cancelled_error_propagates(self) -> None:
        """CancelledError from check_can_deactivate_user propagates."""
        self.reg(check_can_deactivate_user=raising(defer.CancelledError()))
        self.run_fail(self.cat.check_can_deactivate_user("@a:t", True), defer.CancelledError)


class NotificationTests(TPRTestBase):
    def notifications(self) -> List[Any]:
        profile = ProfileInfo(avatar_url=None, display_name="A")
        return [
            (
                "on_profile_update",
                lambda: self.cat.on_profile_update("@a:t", profile, True, False),
                ("@a:t", profile, True, False),
            ),
            (
                "on_user_deactivation_status_changed",
                lambda: self.cat.on_user_deactivation_status_changed("@a:t", True, False),
                ("@a:t", True, False),
            ),
            (
                "on_threepid_bind",
                lambda: self.cat.on_threepid_bind("@a:t", "email", "x@y"),
                ("@a:t", "email", "x@y"),
            ),
            (
                "on_add_user_third_party_identifier",
                lambda: self.cat.on_add_user_third_party_identifier("@a:t", "email", "x@y"),
                ("@a:t", "email", "x@y"),
            ),
            (
                "on_remove_user_third_party_identifier",
                lambda: self.cat.on_remove_user_third_party_identifier("@a:t", "msisdn", "123"),
                ("@a:t", "msisdn", "123"),
            ),
            (
                "on_new_event",
                lambda: self.cat.on_new_event("event", self.load_state),
                ("event", STATE),
            ),
        ]

    def test_all_run_despite_exceptions(self) -> None:
        """Each notification runs every callback; exceptions are logged and swallowed."""
        for name, call, args in self.notifications():
            self.setUp()
            log: List[Any] = []
            self.reg(**{name: raising(ValueError("first fails"), log, "a")})
            self.reg(**{name: returning(None, log, "b")})
            with self.assertLogs(TPR_LOGGER, "ERROR") as cm:
                self.assertIsNone(self.run_ok(call()), name)
            self.assertEqual(log, [("a", args), ("b", args)], name)
            self.assertIsNotNone(cm.records[0].exc_info, name)
            self.assertIn("Failed to run module API callback", cm.output[0])

    def test_sync_notification_logged(self) -> None:
        """A non-async notification callback is logged, not raised."""
        self.reg(on_profile_update=lambda *a: None)
        with self.assertLogs(LOGGER, "WARNING") as cm:
            self.run_ok(self.cat.on_profile_update("@a:t", ProfileInfo(None, None), False, False))
        self.assertTrue(any(r.levelno == logging.ERROR for r in cm.records))

    def test_synapse_error_swallowed(self) -> None:
        """Even a SynapseError from a notification callback is swallowed."""
        self.reg(on_threepid_bind=raising(SynapseError(400, "x")))
        with self.assertLogs(TPR_LOGGER, "ERROR"):
            self.assertIsNone(self.run_ok(self.cat.on_threepid_bind("@a:t", "email", "a")))

    def test_on_new_event_none_registered_skips_state(self) -> None:
        """on_new_event with no callbacks returns without loading state."""
        self.run_ok(self.cat.on_new_event("event", self.load_state))
        self.assertEqual(self.state_loads, 0)


class DenialErrorTests(SynchronousTestCase):
    def assertDenial(self, err: SynapseError, errcode: str, msg: str) -> None:
        self.assertEqual(err.code, 403)
        self.assertEqual(err.error_dict(None), {"errcode": errcode, "error": msg})

    def test_denials(self) -> None:
        """Every observed third-party-rules denial has its exact status, errcode, text."""
        d = ThirdPartyRulesCallbacks.denial_error
        self.assertDenial(
            d("check_event_allowed"), "M_FORBIDDEN", "This event is not allowed in this context"
        )
        self.assertDenial(
            d("on_create_room"), "M_UNKNOWN", "Room creation forbidden with these parameters"
        )
        self.assertDenial(
            d("check_visibility_can_be_modified", where="create_room"),
            "M_UNKNOWN",
            "Room visibility value not allowed.",
        )
        self.assertDenial(
            d("check_visibility_can_be_modified", where="directory"),
            "M_UNKNOWN",
            "Not allowed to publish room",
        )
        self.assertDenial(
            d("check_threepid_can_be_invited"),
            "M_FORBIDDEN",
            "This third-party identifier can not be invited in this room",
        )
        self.assertDenial(
            d("check_can_shutdown_room"), "M_FORBIDDEN", "Shutdown of this room is forbidden"
        )
        self.assertDenial(
            d("check_can_deactivate_user"), "M_FORBIDDEN", "Deactivation of this user is forbidden"
        )
        self.assertEqual(d("check_event_allowed").errcode, Codes.FORBIDDEN)

    def test_bad_requests_raise(self) -> None:
        """Unknown names and a missing 'where' raise ValueError."""
        d = ThirdPartyRulesCallbacks.denial_error
        self.assertRaises(ValueError, d, "on_new_event")
        self.assertRaises(ValueError, d, "check_visibility_can_be_modified")
