"""SpamCheckerCallbacks.denial_error: the client error for each denial (CALLBACKS.md §1)."""

from __future__ import annotations

from typing import Any, Dict

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost._codes import Codes
from synapse_modhost.callbacks.spam_checker import SPAM_DENIAL_MESSAGES, SpamCheckerCallbacks
from synapse_modhost.errors import AuthError, NotFoundError, SynapseError
from synapse_modhost.types import NOT_SPAM, RegistrationBehaviour


class DenialErrorTests(SynchronousTestCase):
    denial = staticmethod(SpamCheckerCallbacks.denial_error)
    extras = {"extra_field": "x"}

    def assertError(self, err: SynapseError, code: int, body: Dict[str, Any]) -> None:
        self.assertEqual(err.code, code)
        self.assertEqual(err.error_dict(None), body)

    def test_table_rows_with_extras(self) -> None:
        """Each family-A/login/federated-invite denial: 403, the code, extras, exact text."""
        for name in (
            "user_may_create_room",
            "user_may_join_room",
            "user_may_invite",
            "user_may_send_3pid_invite",
            "user_may_create_room_alias",
            "user_may_publish_room",
            "check_login_for_spam",
            "federated_user_may_invite",
        ):
            err = self.denial(name, (Codes.INVITE_BLOCKED, self.extras))
            body = {
                "errcode": "M_INVITE_BLOCKED",
                "error": SPAM_DENIAL_MESSAGES[name],
                "extra_field": "x",
            }
            self.assertError(err, 403, body)

    def test_exact_texts(self) -> None:
        """The texts match the spec's denial table (independently of the module's table)."""
        expected = {
            "user_may_create_room": "You are not permitted to create rooms",
            "user_may_join_room": "Not allowed to join this room",
            "user_may_invite": "Invites have been disabled on this server",
            "user_may_send_3pid_invite": "Cannot send threepid invite",
            "check_login_for_spam": "Login was blocked by the server",
            "federated_user_may_invite": (
                "This user is not permitted to send invites to this server/user"
            ),
        }
        for name, text in expected.items():
            self.assertEqual(self.denial(name, (Codes.FORBIDDEN, {})).msg, text, name)

    def test_alias_and_publish_are_auth_errors(self) -> None:
        """Alias creation and publication denials are AuthErrors with the spec's texts."""
        alias = self.denial("user_may_create_room_alias", (Codes.FORBIDDEN, {}))
        self.assertIsInstance(alias, AuthError)
        self.assertEqual(alias.msg, "This user is not permitted to create this alias")
        pub = self.denial("user_may_publish_room", (Codes.FORBIDDEN, {}))
        self.assertIsInstance(pub, AuthError)
        self.assertEqual(pub.msg, "This user is not permitted to publish rooms to the room list")

    def test_state_event_drops_extras(self) -> None:
        """user_may_send_state_event: 403 with the code and no extra fields."""
        err = self.denial("user_may_send_state_event", (Codes.LIMIT_EXCEEDED, {"x": 1}))
        self.assertError(
            err,
            403,
            {
                "errcode": "M_LIMIT_EXCEEDED",
                "error": "You are not permitted to send the state event",
            },
        )

    def test_check_event_for_spam_shapes(self) -> None:
        """Event spam: tuple → code+extras+default text; string → M_FORBIDDEN with it."""
        self.assertError(
            self.denial("check_event_for_spam", (Codes.FORBIDDEN, self.extras)),
            403,
            {
                "errcode": "M_FORBIDDEN",
                "error": "This message has been rejected as probable spam",
                "extra_field": "x",
            },
        )
        self.assertError(
            self.denial("check_event_for_spam", "custom spam message"),
            403,
            {"errcode": "M_FORBIDDEN", "error": "custom spam message"},
        )
        self.assertError(
            self.denial("check_event_for_spam", "This message has been rejected as probable spam"),
            403,
            {"errcode": "M_FORBIDDEN", "error": "This message has been rejected as probable spam"},
        )

    def test_registration_deny_is_429(self) -> None:
        """Registration DENY → 429 M_UNKNOWN "Rate limited"; SHADOW_BAN/ALLOW are not errors."""
        self.assertError(
            self.denial("check_registration_for_spam", RegistrationBehaviour.DENY),
            429,
            {"errcode": "M_UNKNOWN", "error": "Rate limited"},
        )
        for ok in (RegistrationBehaviour.SHADOW_BAN, RegistrationBehaviour.ALLOW):
            self.assertRaises(ValueError, self.denial, "check_registration_for_spam", ok)

    def test_media_upload_and_remote(self) -> None:
        """Media: upload → 400 M_UNKNOWN "Bad content" (code ignored); remote → 404 code."""
        self.assertError(
            self.denial("check_media_file_for_spam", (Codes.TOO_LARGE, {"a": 1})),
            400,
            {"errcode": "M_UNKNOWN", "error": "Bad content"},
        )
        remote = self.denial("check_media_file_for_spam", (Codes.TOO_LARGE, {}), remote_media=True)
        self.assertIsInstance(remote, NotFoundError)
        self.assertError(remote, 404, {"errcode": "M_TOO_LARGE", "error": "Not found"})

    def test_should_drop_quirk(self) -> None:
        """A federated /invite drop → 403 M_UNKNOWN with the text "M_FORBIDDEN"."""
        self.assertError(
            self.denial("should_drop_federated_event", True),
            403,
            {"errcode": "M_UNKNOWN", "error": "M_FORBIDDEN"},
        )
        self.assertRaises(ValueError, self.denial, "should_drop_federated_event", False)

    def test_not_denials_raise(self) -> None:
        """NOT_SPAM, and callbacks without a client error, raise ValueError."""
        self.assertRaises(ValueError, self.denial, "user_may_invite", NOT_SPAM)
        self.assertRaises(ValueError, self.denial, "check_event_for_spam", NOT_SPAM)
        self.assertRaises(ValueError, self.denial, "check_username_for_spam", True)
