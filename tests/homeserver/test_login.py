"""Login and logout: ``GET``/``POST /login``, ``/logout``, ``/logout/all``, devices, with
the callbacks of TRIGGERS.md §5 and CALLBACKS.md §7."""

from __future__ import annotations

from synapse_modhost._codes import Codes
from synapse_modhost.types import NOT_SPAM

from ._users_probe import UA, AccountTestCase

LOGIN = "/_matrix/client/v3/login"


class LoginFlowsTests(AccountTestCase):
    """``GET /login``."""

    probe_config = {"login_types": ["org.lab.login", "org.lab.other"]}

    def test_flows_order(self) -> None:
        """m.login.password first, module types in registration order, appservice last."""
        channel = self.req("GET", LOGIN)
        self.assertEqual(channel.json_body, {"flows": [
            {"type": "m.login.password"}, {"type": "org.lab.login"}, {"type": "org.lab.other"},
            {"type": "m.login.application_service"},
        ]})  # fmt: skip
        self.assertEqual(self.req("GET", "/_matrix/client/r0/login").json_body, channel.json_body)


class PasswordLoginTests(AccountTestCase):
    """``m.login.password`` and the local password database."""

    def setUp(self) -> None:
        super().setUp()
        self.alice = self.make_user("alice")

    def test_login_and_callbacks(self) -> None:
        """A password login answers user/token/server/device (+well_known) after
        check_login_for_spam and before on_user_login."""
        channel = self.password_login("alice", initial_device_display_name="lab dev")
        self.assertEqual(channel.code, 200, channel.json_body)
        body = channel.json_body
        self.assertEqual(
            list(body), ["user_id", "access_token", "home_server", "device_id", "well_known"]
        )
        self.assertEqual(body["well_known"], {"m.homeserver": {"base_url": "http://test.local/"}})
        self.assertEqual(len(body["device_id"]), 10)
        self.assertEqual(self.calls(), [
            ("check_login_for_spam", (self.alice, None, "lab dev", [(UA, "127.0.0.1")], None)),
            ("on_user_login", (self.alice, "m.login.password", None)),
        ])  # fmt: skip

    def test_legacy_user_field_and_case(self) -> None:
        """The legacy ``user`` field and other letter cases find the account; ``device_id`` is kept."""
        channel = self.req("POST", LOGIN, {"type": "m.login.password", "user": "@ALICE:test.local",
                                           "password": "password", "device_id": "MYDEV"})  # fmt: skip
        self.assertEqual(channel.json_body["user_id"], self.alice)
        self.assertEqual(channel.json_body["device_id"], "MYDEV")
        self.assertEqual(self.calls(["check_login_for_spam"])[0][1][1], "MYDEV")

    def test_wrong_password_and_unknown_user(self) -> None:
        """Both are 403 M_FORBIDDEN "Invalid username or password"."""
        for user, password in (("alice", "nope"), ("nobody", "password")):
            channel = self.password_login(user, password)
            self.assert_error(channel, 403, "M_FORBIDDEN", "Invalid username or password")
        self.assertEqual(self.calls(), [])

    def test_bad_submissions(self) -> None:
        """Malformed submissions get Synapse's texts."""
        cases = [
            ({"identifier": {"type": "m.id.user", "user": "alice"}}, 400, "M_UNKNOWN", "Missing JSON keys."),
            ({"type": "m.login.password", "user": "alice"}, 400, "M_INVALID_PARAM", "Bad parameter: password"),
            ({"type": "m.login.password", "password": "x"}, 400, "M_INVALID_PARAM", "Invalid login submission"),
            ({"type": "m.login.password", "password": "x", "identifier": {"type": "m.id.foo"}},
             400, "M_UNKNOWN", "Unknown login identifier type"),
            ({"type": "m.login.password", "password": "x", "identifier": {"type": "m.id.user"}},
             400, "M_UNKNOWN", "User identifier is missing 'user' key"),
            ({"type": "m.login.password", "password": "x", "identifier": {"user": "alice"}},
             400, "M_MISSING_PARAM", "'identifier' dict has no key 'type'"),
            ({"type": "org.other", "identifier": {"type": "m.id.user", "user": "alice"}},
             400, "M_UNKNOWN", "Unknown login type org.other"),
            ({"type": "m.login.token"}, 400, "M_UNKNOWN", "Missing JSON keys."),
            ({"type": "m.login.password", "user": "alice", "password": "password", "device_id": "D" * 513},
             400, "M_INVALID_PARAM", "device_id cannot be longer than 512 characters."),
            ({"type": "m.login.password", "user": "alice", "password": "password",
              "initial_device_display_name": "D" * 101},
             400, "M_TOO_LARGE", "Device display name is too long (max 100)"),
        ]  # fmt: skip
        for body, code, errcode, error in cases:
            self.assert_error(self.req("POST", LOGIN, body), code, errcode, error)

    def test_spam_check_denies(self) -> None:
        """A check_login_for_spam denial is 403 with its code and extras, and no token."""
        self.probe.answers["check_login_for_spam"] = (Codes.LIMIT_EXCEEDED, {"extra": 1})
        channel = self.password_login("alice")
        self.assert_error(channel, 403, "M_LIMIT_EXCEEDED", "Login was blocked by the server")
        self.assertEqual(channel.json_body["extra"], 1)
        self.assertEqual(len(self.tokens_of(self.alice)), 1)  # the registration's only
        self.probe.answers["check_login_for_spam"] = False
        self.assert_error(self.password_login("alice"), 403, "M_FORBIDDEN",
                          "Login was blocked by the server")  # fmt: skip
        self.probe.answers["check_login_for_spam"] = NOT_SPAM
        self.assertEqual(self.password_login("alice").code, 200)

    def test_raising_on_user_login(self) -> None:
        """A raising on_user_login is a 500 after the token was created."""
        self.probe.answers["on_user_login"] = RuntimeError("boom")
        channel = self.password_login("alice")
        self.assert_error(channel, 500, "M_UNKNOWN", "Internal server error")
        self.assertEqual(len(self.tokens_of(self.alice)), 2)
        self.flushLoggedErrors(RuntimeError)

    def test_deactivated_and_locked(self) -> None:
        """A module-authenticated deactivated account is 403 M_USER_DEACTIVATED; a locked
        one 401 M_USER_LOCKED."""
        self.get_success(self.hs.user_store.set_deactivated(self.alice, True))
        channel = self.req(
            "POST", LOGIN, {"type": "org.lab.login", "user": "alice", "secret": "open-sesame"}
        )
        self.assert_error(channel, 403, "M_USER_DEACTIVATED", "This account has been deactivated")
        self.get_success(self.hs.user_store.set_deactivated(self.alice, False))
        self.get_success(self.hs.user_store.set_locked(self.alice, True))
        channel = self.password_login("alice")
        self.assert_error(channel, 401, "M_USER_LOCKED", "User account has been locked")
        self.assertTrue(channel.json_body["soft_logout"])


class ModuleLoginTests(AccountTestCase):
    """``auth_checkers`` and ``check_3pid_auth``."""

    def test_auth_checker_and_post_login(self) -> None:
        """The checker gets the username as sent and only its fields; post_login runs last
        with the response."""
        carol = self.make_user("carol")
        channel = self.req("POST", LOGIN, {"type": "org.lab.login", "secret": "open-sesame", "x": 1,
                                           "identifier": {"type": "m.id.user", "user": "carol"}})  # fmt: skip
        self.assertEqual(channel.code, 200, channel.json_body)
        calls = self.calls()
        self.assertEqual(
            calls[0], ("auth_checker", ("carol", "org.lab.login", {"secret": "open-sesame"}))
        )
        self.assertEqual([c[0] for c in calls], ["auth_checker", "check_login_for_spam",
                                                 "on_user_login", "post_login"])  # fmt: skip
        self.assertEqual(calls[2][1], (carol, "org.lab.login", None))
        self.assertEqual(calls[3][1][0]["access_token"], channel.json_body["access_token"])

    def test_auth_checker_refuses(self) -> None:
        """A refusing checker and missing fields get Synapse's errors."""
        channel = self.req("POST", LOGIN, {"type": "org.lab.login", "user": "carol", "secret": "x"})
        self.assert_error(channel, 403, "M_FORBIDDEN", "Invalid username or password")
        channel = self.req("POST", LOGIN, {"type": "org.lab.login", "user": "carol"})
        self.assert_error(
            channel, 400, "M_UNKNOWN", "Missing parameters for login type org.lab.login: ['secret']"
        )

    def test_threepid_login(self) -> None:
        """A third-party identifier goes to check_3pid_auth (canonical address), then the
        local 3PID table."""
        carol = self.make_user("carol")
        self.get_success(self.hs.threepids.add_threepid(carol, "email", "carol@example.com", 1))
        self.clear()
        channel = self.req("POST", LOGIN, {"type": "m.login.password", "password": "password",
                                           "identifier": {"type": "m.id.thirdparty", "medium": "email",
                                                          "address": "Carol@EXAMPLE.com"}})  # fmt: skip
        self.assertEqual(channel.json_body["user_id"], carol)
        self.assertEqual(
            self.calls()[0], ("check_3pid_auth", ("email", "carol@example.com", "password"))
        )
        self.probe.answers["check_3pid_auth"] = lambda *a: ("@carol:test.local", None)
        channel = self.req("POST", LOGIN, {"type": "m.login.password", "password": "wrong",
                                           "medium": "email", "address": "x@y.z"})  # fmt: skip
        self.assertEqual(channel.json_body["user_id"], carol)

    def test_token_login(self) -> None:
        """A ModuleApi login token logs in once; reused or expired it is 403 "Invalid login token"."""
        carol = self.make_user("carol")
        token = self.get_success(self.api.create_login_token(carol))
        self.assertTrue(token.startswith("syl_"))
        channel = self.req("POST", LOGIN, {"type": "m.login.token", "token": token})
        self.assertEqual(channel.json_body["user_id"], carol)
        self.assertIn(("on_user_login", (carol, "m.login.token", None)), self.calls())
        again = self.req("POST", LOGIN, {"type": "m.login.token", "token": token})
        self.assert_error(again, 403, "M_FORBIDDEN", "Invalid login token")
        token = self.get_success(self.api.create_login_token(carol, duration_in_ms=1000))
        self.pump(2)
        expired = self.req("POST", LOGIN, {"type": "m.login.token", "token": token})
        self.assert_error(expired, 403, "M_FORBIDDEN", "Invalid login token")


class LogoutAndDeviceTests(AccountTestCase):
    """``/logout``, ``/logout/all`` and ``/devices``."""

    def setUp(self) -> None:
        super().setUp()
        self.alice = self.make_user("alice")
        self.tokens = [self.password_login("alice").json_body for _ in range(3)]
        self.clear()

    def test_logout(self) -> None:
        """``/logout`` runs on_logged_out for the token, which then stops working."""
        first = self.tokens[0]
        channel = self.req("POST", "/_matrix/client/v3/logout", token=first["access_token"])
        self.assertEqual((channel.code, channel.json_body), (200, {}))
        self.assertEqual(self.calls(), [
            ("on_logged_out", (self.alice, first["device_id"], first["access_token"])),
        ])  # fmt: skip
        whoami = self.req("GET", "/_matrix/client/v3/account/whoami", token=first["access_token"])
        self.assert_error(whoami, 401, "M_UNKNOWN_TOKEN", "Invalid access token passed.")
        self.assertIs(whoami.json_body["soft_logout"], False)

    def test_logout_all(self) -> None:
        """``/logout/all`` runs on_logged_out once per token, oldest first."""
        tokens = self.tokens_of(self.alice)
        self.assertEqual(len(tokens), 4)  # the registration's and three logins
        channel = self.req(
            "POST", "/_matrix/client/v3/logout/all", token=self.tokens[1]["access_token"]
        )
        self.assertEqual(channel.code, 200)
        self.assertEqual(self.calls(), [
            ("on_logged_out", (self.alice, device, token)) for device, token in tokens
        ])  # fmt: skip
        self.assertEqual(self.tokens_of(self.alice), [])

    def test_logout_token_without_device(self) -> None:
        """A token without a device is deleted alone (on_logged_out with device None)."""
        token = "syt_nodevice"
        self.get_success(self.hs.user_store.add_access_token(self.alice, token, None))
        self.req("POST", "/_matrix/client/v3/logout", token=token)
        self.assertEqual(self.calls(), [("on_logged_out", (self.alice, None, token))])

    def test_devices(self) -> None:
        """``GET /devices`` lists the devices; ``GET /devices/{id}`` one; unknown is 404."""
        token = self.tokens[0]["access_token"]
        devices = self.req("GET", "/_matrix/client/v3/devices", token=token).json_body["devices"]
        self.assertEqual(sorted(d["device_id"] for d in devices),
                         sorted(device for device, _ in self.tokens_of(self.alice)))  # fmt: skip
        self.assertEqual(set(devices[0]), {"user_id", "device_id", "display_name",
                                           "last_seen_ts", "last_seen_ip"})  # fmt: skip
        mine = self.req(
            "GET", "/_matrix/client/v3/devices/" + self.tokens[0]["device_id"], token=token
        )
        self.assertEqual(mine.json_body["last_seen_ip"], "127.0.0.1")
        missing = self.req("GET", "/_matrix/client/v3/devices/NOPE", token=token)
        self.assert_error(missing, 404, "M_NOT_FOUND", "Not found")
        renamed = self.req("PUT", "/_matrix/client/v3/devices/" + self.tokens[0]["device_id"],
                           {"display_name": "phone"}, token=token)  # fmt: skip
        self.assertEqual(renamed.code, 200)

    def test_delete_device_with_uia(self) -> None:
        """``DELETE /devices/{id}`` asks for the password, then deletes (on_logged_out)."""
        token, victim = self.tokens[0]["access_token"], self.tokens[2]
        path = "/_matrix/client/v3/devices/" + victim["device_id"]
        first = self.req("DELETE", path, token=token)
        self.assertEqual(first.code, 401)
        self.assertEqual(first.json_body["flows"], [{"stages": ["m.login.password"]},
                                                    {"stages": ["org.lab.login"]}])  # fmt: skip
        bad = self.req("DELETE", path, {"auth": self.uia_password("alice", "nope")}, token=token)
        self.assertEqual((bad.code, bad.json_body["errcode"]), (401, "M_FORBIDDEN"))
        self.assertEqual(bad.json_body["completed"], [])
        done = self.req("DELETE", path, {"auth": self.uia_password("alice")}, token=token)
        self.assertEqual(done.code, 200, done.json_body)
        self.assertEqual(self.calls(["on_logged_out"]),
                         [("on_logged_out", (self.alice, victim["device_id"], victim["access_token"]))])  # fmt: skip

    def test_password_change_logs_out_others(self) -> None:
        """``POST /account/password`` logs out the other devices (on_logged_out each, oldest
        first) and keeps the requester's."""
        token = self.tokens[0]["access_token"]
        expected = [d for d, _ in self.tokens_of(self.alice) if d != self.tokens[0]["device_id"]]
        channel = self.req("POST", "/_matrix/client/v3/account/password",
                           {"new_password": "new", "auth": self.uia_password("alice")}, token=token)  # fmt: skip
        self.assertEqual(channel.code, 200, channel.json_body)
        self.assertEqual([c[1][1] for c in self.calls(["on_logged_out"])], expected)
        self.assertEqual(self.tokens_of(self.alice), [(self.tokens[0]["device_id"], token)])
        self.assertEqual(self.password_login("alice", "new").code, 200)
