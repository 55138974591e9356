"""Registration: ``POST /register`` with user-interactive auth, ``/register/available``
and shared-secret admin registration, with the callbacks of TRIGGERS.md §5."""

from __future__ import annotations

from typing import Any, Dict

from synapse_modhost.errors import SynapseError
from synapse_modhost.types import RegistrationBehaviour

from ._users_probe import UA, AccountTestCase

REGISTER = "/_matrix/client/v3/register"


class ClientRegistrationTests(AccountTestCase):
    """``POST /register`` (``m.login.dummy``)."""

    def test_first_call_asks_for_auth(self) -> None:
        """Without ``auth`` the answer is 401 with the dummy flow and a session, no callbacks."""
        channel = self.req("POST", REGISTER, {"username": "alice", "password": "pw"})
        self.assertEqual(channel.code, 401)
        self.assertEqual(channel.json_body["flows"], [{"stages": ["m.login.dummy"]}])
        self.assertEqual(channel.json_body["params"], {})
        self.assertEqual(len(channel.json_body["session"]), 24)
        self.assertEqual(self.calls(), [])

    def test_dummy_completes_with_callbacks_in_order(self) -> None:
        """Completing the flow runs the name callbacks, the spam check, then on_user_registration."""
        session = self.req("POST", REGISTER, {"username": "alice", "password": "pw"}).json_body[
            "session"
        ]
        channel = self.req("POST", REGISTER, {"username": "alice", "password": "pw",
                                              "auth": {"type": "m.login.dummy", "session": session}})  # fmt: skip
        self.assertEqual(channel.code, 200, channel.json_body)
        body = channel.json_body
        self.assertEqual(list(body), ["user_id", "home_server", "access_token", "device_id"])
        self.assertEqual(body["user_id"], "@alice:test.local")
        self.assertEqual(body["home_server"], "test.local")
        self.assertTrue(body["access_token"].startswith("syt_YWxpY2U_"))
        self.assertEqual(self.calls(), [
            ("get_username_for_registration", ({"m.login.dummy": True}, {"username": "alice"})),
            ("get_displayname_for_registration", ({"m.login.dummy": True}, {"username": "alice"})),
            ("check_registration_for_spam", (None, "alice", [(UA, "127.0.0.1")], None)),
            ("on_user_registration", ("@alice:test.local",)),
        ])  # fmt: skip
        whoami = self.req("GET", "/_matrix/client/v3/account/whoami", token=body["access_token"])
        self.assertEqual(whoami.json_body["device_id"], body["device_id"])

    def test_session_keeps_params_and_password(self) -> None:
        """A later call with only the session reuses the first call's parameters and password."""
        first = self.req("POST", REGISTER, {"username": "bob", "password": "pw",
                                            "device_id": "BOBDEV"}).json_body  # fmt: skip
        channel = self.req("POST", REGISTER, {"auth": {"type": "m.login.dummy",
                                                       "session": first["session"]}})  # fmt: skip
        self.assertEqual(channel.code, 200, channel.json_body)
        self.assertEqual(channel.json_body["device_id"], "BOBDEV")
        self.assertEqual(self.password_login("bob", "pw").code, 200)
        again = self.req(
            "POST", REGISTER, {"auth": {"type": "m.login.dummy", "session": first["session"]}}
        )
        self.assertEqual(again.json_body["user_id"], "@bob:test.local")
        self.assertEqual(self.names().count("on_user_registration"), 1)

    def test_unknown_session(self) -> None:
        """An unknown session id is 400 "Unknown session ID: <id>"."""
        channel = self.req("POST", REGISTER, {"auth": {"type": "m.login.dummy", "session": "nope"}})
        self.assert_error(channel, 400, "M_UNKNOWN", "Unknown session ID: nope")

    def test_deny_is_rate_limited(self) -> None:
        """DENY from check_registration_for_spam is 429 M_UNKNOWN "Rate limited" and no user."""
        self.probe.answers["check_registration_for_spam"] = RegistrationBehaviour.DENY
        channel = self.req("POST", REGISTER, {"username": "gus", "password": "pw",
                                              "auth": {"type": "m.login.dummy"}})  # fmt: skip
        self.assert_error(channel, 429, "M_UNKNOWN", "Rate limited")
        self.assertIsNone(self.get_success(self.hs.user_store.get_user("@gus:test.local")))
        self.assertNotIn("on_user_registration", self.names())

    def test_shadow_ban(self) -> None:
        """SHADOW_BAN registers the account (200) shadow-banned."""
        self.probe.answers["check_registration_for_spam"] = RegistrationBehaviour.SHADOW_BAN
        channel = self.req("POST", REGISTER, {"username": "hal", "password": "pw",
                                              "auth": {"type": "m.login.dummy"}})  # fmt: skip
        self.assertEqual(channel.code, 200)
        user = self.get_success(self.hs.user_store.get_user("@hal:test.local"))
        self.assertTrue(user.shadow_banned)

    def test_module_names_the_user(self) -> None:
        """get_username/get_displayname_for_registration choose the localpart and name."""
        self.probe.answers["get_username_for_registration"] = "Chosen"
        self.probe.answers["get_displayname_for_registration"] = "The Chosen One"
        channel = self.req("POST", REGISTER, {"username": "asked", "password": "pw",
                                              "auth": {"type": "m.login.dummy"}})  # fmt: skip
        self.assertEqual(channel.json_body["user_id"], "@chosen:test.local")
        profile = self.req("GET", "/_matrix/client/v3/profile/@chosen:test.local").json_body
        self.assertEqual(profile, {"displayname": "The Chosen One"})

    def test_raising_name_callback(self) -> None:
        """A raising get_username_for_registration is 500 "Internal Server Error"."""
        self.probe.answers["get_username_for_registration"] = RuntimeError("boom")
        channel = self.req("POST", REGISTER, {"username": "x", "password": "pw",
                                              "auth": {"type": "m.login.dummy"}})  # fmt: skip
        self.assert_error(channel, 500, "M_UNKNOWN", "Internal Server Error")

    def test_invalid_spam_result(self) -> None:
        """A check_registration_for_spam result that is not a RegistrationBehaviour is a 500."""
        self.probe.answers["check_registration_for_spam"] = "allow"
        channel = self.req("POST", REGISTER, {"username": "ivy", "password": "pw",
                                              "auth": {"type": "m.login.dummy"}})  # fmt: skip
        self.assert_error(channel, 500, "M_UNKNOWN", "Internal server error")
        self.flushLoggedErrors(AssertionError)

    def test_raising_on_user_registration(self) -> None:
        """A raising on_user_registration is a 500 after the account exists."""
        self.probe.answers["on_user_registration"] = RuntimeError("boom")
        channel = self.req("POST", REGISTER, {"username": "ivy", "password": "pw",
                                              "auth": {"type": "m.login.dummy"}})  # fmt: skip
        self.assert_error(channel, 500, "M_UNKNOWN", "Internal server error")
        self.assertIsNotNone(self.get_success(self.hs.user_store.get_user("@ivy:test.local")))
        self.flushLoggedErrors(RuntimeError)

    def test_username_errors(self) -> None:
        """Taken, invalid, underscore and numeric usernames get Synapse's 400s."""
        self.register_user("carol")
        cases = {
            "CAROL": ("M_USER_IN_USE", "User ID already taken."),
            "ca rol": ("M_INVALID_USERNAME", "User ID can only contain characters a-z, 0-9, or '=_-./+'"),
            "_x": ("M_INVALID_USERNAME", "User ID may not begin with _"),
            "12345": ("M_INVALID_USERNAME", "Numeric user IDs are reserved for guest users."),
        }  # fmt: skip
        for username, (errcode, error) in cases.items():
            channel = self.req("POST", REGISTER, {"username": username, "password": "pw",
                                                  "auth": {"type": "m.login.dummy"}})  # fmt: skip
            self.assert_error(channel, 400, errcode, error)

    def test_missing_password(self) -> None:
        """Completing without a password is 400 M_MISSING_PARAM "Missing params: password"."""
        channel = self.req(
            "POST", REGISTER, {"username": "dave", "auth": {"type": "m.login.dummy"}}
        )
        self.assert_error(channel, 400, "M_MISSING_PARAM", "Missing params: password")

    def test_inhibit_login(self) -> None:
        """``inhibit_login`` registers without a device or token."""
        channel = self.req("POST", REGISTER, {"username": "erin", "password": "pw",
                                              "inhibit_login": True, "auth": {"type": "m.login.dummy"}})  # fmt: skip
        self.assertEqual(
            channel.json_body, {"user_id": "@erin:test.local", "home_server": "test.local"}
        )

    def test_generated_user_id(self) -> None:
        """Without a username the account gets the next numeric localpart."""
        first = self.req("POST", REGISTER, {"password": "pw", "auth": {"type": "m.login.dummy"}})
        second = self.req("POST", REGISTER, {"password": "pw", "auth": {"type": "m.login.dummy"}})
        self.assertEqual(first.json_body["user_id"], "@1:test.local")
        self.assertEqual(second.json_body["user_id"], "@2:test.local")

    def test_token_and_kind_errors(self) -> None:
        """An access token, an unknown kind and guests (disabled) are refused as in Synapse."""
        channel = self.req("POST", REGISTER, {"username": "x"}, token="abc")
        self.assert_error(channel, 400, "M_UNKNOWN", "An access token should not be provided on "
                          "requests to /register (except if type is m.login.application_service)")  # fmt: skip
        channel = self.req("POST", REGISTER + "?kind=foo", {})
        self.assert_error(channel, 400, "M_UNRECOGNIZED", "Do not understand membership kind: foo")
        channel = self.req("POST", REGISTER + "?kind=guest", {})
        self.assert_error(channel, 403, "M_UNKNOWN", "Guest access is disabled")

    def test_bad_auth_field(self) -> None:
        """A non-object ``auth`` is 400 M_BAD_JSON with pydantic's text."""
        channel = self.req("POST", REGISTER, {"username": "x", "auth": 5})
        self.assertEqual(channel.json_body["errcode"], "M_BAD_JSON")
        self.assertTrue(channel.json_body["error"].startswith(
            "1 validation error for UserInteractiveAuthBody\nauth\n  Input should be a valid "
            "dictionary or instance of AuthenticationData [type=model_type, input_value=5, "
            "input_type=int]"))  # fmt: skip

    def test_available(self) -> None:
        """``/register/available`` answers available, taken, or the username error."""
        self.register_user("carol")
        ok = self.req("GET", "/_matrix/client/v3/register/available?username=zed")
        self.assertEqual((ok.code, ok.json_body), (200, {"available": True}))
        taken = self.req("GET", "/_matrix/client/v3/register/available?username=carol")
        self.assert_error(taken, 400, "M_USER_IN_USE", "User ID already taken.")
        missing = self.req("GET", "/_matrix/client/v3/register/available")
        self.assert_error(
            missing, 400, "M_MISSING_PARAM", "Missing string query parameter 'username'"
        )


class RegistrationDisabledTests(AccountTestCase):
    """``enable_registration: false``."""

    extra_config = {"enable_registration": False}

    def test_register_forbidden(self) -> None:
        """Client registration is 403 M_FORBIDDEN "Registration has been disabled"."""
        channel = self.req("POST", REGISTER, {"username": "alice", "password": "pw"})
        self.assert_error(channel, 403, "M_FORBIDDEN", "Registration has been disabled")
        available = self.req("GET", "/_matrix/client/v3/register/available?username=x")
        self.assert_error(available, 403, "M_FORBIDDEN", "Registration has been disabled")

    def test_shared_secret_still_works(self) -> None:
        """Shared-secret registration does not depend on enable_registration."""
        channel = self.req("POST", "/_synapse/admin/v1/register", self.shared_secret_body("admin"))
        self.assertEqual(channel.code, 200, channel.json_body)


class SharedSecretTests(AccountTestCase):
    """``GET``/``POST /_synapse/admin/v1/register``."""

    def post(self, body: Dict[str, Any]) -> Any:
        return self.req("POST", "/_synapse/admin/v1/register", body)

    def test_nonce(self) -> None:
        """The nonce is 128 hex characters."""
        nonce = self.req("GET", "/_synapse/admin/v1/register").json_body["nonce"]
        self.assertEqual(len(nonce), 128)
        int(nonce, 16)

    def test_register_admin(self) -> None:
        """A correct HMAC registers (lower-cased) with check_registration_for_spam and
        on_user_registration, and logs in."""
        channel = self.post(self.shared_secret_body("Admin", admin=True, displayname="Boss"))
        self.assertEqual(channel.code, 200, channel.json_body)
        self.assertEqual(channel.json_body["user_id"], "@admin:test.local")
        self.assertEqual(self.calls(), [
            ("check_registration_for_spam", (None, "admin", [], None)),
            ("on_user_registration", ("@admin:test.local",)),
        ])  # fmt: skip
        self.assertTrue(self.get_success(self.api.is_user_admin("@admin:test.local")))
        profile = self.get_success(self.api.get_profile_for_user("admin"))
        self.assertEqual(profile.display_name, "Boss")

    def test_user_type_in_mac(self) -> None:
        """``user_type`` is part of the HMAC and stored."""
        channel = self.post(self.shared_secret_body("bot1", user_type="bot"))
        self.assertEqual(channel.code, 200, channel.json_body)
        info = self.get_success(self.api.get_userinfo_by_id("@bot1:test.local"))
        self.assertEqual(info.user_type, "bot")

    def test_errors(self) -> None:
        """Missing fields, a bad nonce, a reused nonce and a bad HMAC get Synapse's errors."""
        self.assert_error(
            self.post({"username": "x"}), 400, "M_BAD_JSON", "nonce must be specified"
        )
        self.assert_error(self.post({"nonce": "x"}), 400, "M_UNKNOWN", "unrecognised nonce")
        body = self.shared_secret_body("zed")
        del body["username"]
        self.assert_error(self.post(body), 400, "M_BAD_JSON", "username must be specified")
        body = self.shared_secret_body("zed")
        del body["mac"]
        self.assert_error(self.post(body), 400, "M_BAD_JSON", "mac must be specified")
        body = self.shared_secret_body("zed", user_type="nope")
        self.assert_error(self.post(body), 400, "M_UNKNOWN", "Invalid user type")
        body = self.shared_secret_body("zed")
        body["mac"] = "00"
        self.assert_error(self.post(body), 403, "M_UNKNOWN", "HMAC incorrect")
        self.assert_error(self.post(body), 400, "M_UNKNOWN", "unrecognised nonce")

    def test_nonce_expires(self) -> None:
        """A nonce older than 60 seconds is no longer accepted."""
        body = self.shared_secret_body("zed")
        self.pump(61)
        self.assert_error(self.post(body), 400, "M_UNKNOWN", "unrecognised nonce")

    def test_deny(self) -> None:
        """check_registration_for_spam DENY applies to shared-secret registration too."""
        self.probe.answers["check_registration_for_spam"] = RegistrationBehaviour.DENY
        self.assert_error(
            self.post(self.shared_secret_body("zed")), 429, "M_UNKNOWN", "Rate limited"
        )

    def test_handler_raises_synapse_error(self) -> None:
        """The registration handler reports a taken id as SynapseError M_USER_IN_USE."""
        self.register_user("taken")
        failure = self.get_failure(self.hs.registration.register_user("taken"), SynapseError)
        self.assertEqual(failure.value.errcode, "M_USER_IN_USE")


class GuestRegistrationTests(AccountTestCase):
    """``POST /register?kind=guest`` with ``allow_guest_access``."""

    extra_config = {"allow_guest_access": True}

    def test_guest(self) -> None:
        """A guest gets a numeric id and a token that only guest-allowing endpoints accept."""
        channel = self.req("POST", REGISTER + "?kind=guest", {})
        self.assertEqual(channel.code, 200, channel.json_body)
        body = channel.json_body
        self.assertEqual((body["user_id"], body["device_id"]), ("@1:test.local", "guest_device"))
        whoami = self.req("GET", "/_matrix/client/v3/account/whoami", token=body["access_token"])
        self.assertIs(whoami.json_body["is_guest"], True)
        threepids = self.req("GET", "/_matrix/client/v3/account/3pid", token=body["access_token"])
        self.assert_error(threepids, 403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access not allowed")
