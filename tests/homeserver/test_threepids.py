"""Third-party identifiers: ``/account/3pid*``, the ``requestToken`` endpoints,
registration with an email, and their callbacks (TRIGGERS.md §5)."""

from __future__ import annotations

from typing import Any, Dict

from ._users_probe import UA, AccountTestCase

ACCOUNT = "/_matrix/client/v3/account/3pid"


class ThreepidTests(AccountTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.carol = self.make_user("carol")
        self.token = self.login("carol")
        self.clear()

    def add_body(self, **extra: Any) -> Dict[str, Any]:
        body = {"sid": "s1", "client_secret": "secret", "auth": self.uia_password("carol")}
        body.update(extra)
        return body

    def test_add_with_uia_and_callbacks(self) -> None:
        """``/account/3pid/add`` asks for the password, then binds (canonical email) with
        on_add_user_third_party_identifier then on_threepid_bind."""
        first = self.req(
            "POST", ACCOUNT + "/add", {"sid": "s1", "client_secret": "secret"}, token=self.token
        )
        self.assertEqual(first.code, 401)
        channel = self.req("POST", ACCOUNT + "/add",
                           self.add_body(medium="email", address="Carol@Example.COM"), token=self.token)  # fmt: skip
        self.assertEqual((channel.code, channel.json_body), (200, {}))
        self.assertEqual(self.calls(), [
            ("on_add_user_third_party_identifier", (self.carol, "email", "carol@example.com")),
            ("on_threepid_bind", (self.carol, "email", "carol@example.com")),
        ])  # fmt: skip
        listed = self.req("GET", ACCOUNT, token=self.token).json_body["threepids"]
        self.assertEqual(
            [(t["medium"], t["address"]) for t in listed], [("email", "carol@example.com")]
        )
        self.assertEqual(set(listed[0]), {"medium", "address", "validated_at", "added_at"})

    def test_add_errors(self) -> None:
        """No validated session is 400 M_THREEPID_AUTH_FAILED; a bad body 400 with pydantic's text."""
        channel = self.req("POST", ACCOUNT + "/add", self.add_body(), token=self.token)
        self.assert_error(channel, 400, "M_THREEPID_AUTH_FAILED", "No validated 3pid session found")
        channel = self.req("POST", ACCOUNT + "/add", {"sid": "abc"}, token=self.token)
        self.assertEqual(channel.json_body["errcode"], "M_MISSING_PARAM")
        self.assertIn("client_secret\n  Field required [type=missing", channel.json_body["error"])
        wrong = self.req("POST", ACCOUNT + "/add", self.add_body(auth=self.uia_password("carol", "x")),
                         token=self.token)  # fmt: skip
        self.assertEqual(
            (wrong.code, wrong.json_body["error"]), (401, "Invalid username or password")
        )

    def test_deprecated_endpoint(self) -> None:
        """``POST /account/3pid`` with ``three_pid_creds`` binds the same way."""
        creds = {
            "sid": "s1",
            "client_secret": "secret",
            "medium": "msisdn",
            "address": "447700900000",
        }
        channel = self.req("POST", ACCOUNT, {"three_pid_creds": creds}, token=self.token)
        self.assertEqual(channel.code, 200, channel.json_body)
        self.assertEqual(self.names(), ["on_add_user_third_party_identifier", "on_threepid_bind"])
        self.assert_error(self.req("POST", ACCOUNT, {}, token=self.token), 400, "M_MISSING_PARAM",
                          "Missing param three_pid_creds")  # fmt: skip
        self.assert_error(self.req("POST", ACCOUNT, {"threePidCreds": {"sid": "x"}}, token=self.token),
                          400, "M_MISSING_PARAM", "Missing params: ['client_secret']")  # fmt: skip

    def test_delete(self) -> None:
        """``/account/3pid/delete`` removes it (on_remove_user_third_party_identifier), even
        one the user does not have, and reports no identity-server support."""
        self.get_success(
            self.hs.threepids.add_threepid(self.carol, "email", "carol@example.com", 1)
        )
        self.clear()
        channel = self.req("POST", ACCOUNT + "/delete", {"medium": "email", "address": "Carol@example.com"},
                           token=self.token)  # fmt: skip
        self.assertEqual(channel.json_body, {"id_server_unbind_result": "no-support"})
        self.req(
            "POST", ACCOUNT + "/delete", {"medium": "email", "address": "x@y.z"}, token=self.token
        )
        self.assertEqual(self.calls(), [
            ("on_remove_user_third_party_identifier", (self.carol, "email", "carol@example.com")),
            ("on_remove_user_third_party_identifier", (self.carol, "email", "x@y.z")),
        ])  # fmt: skip
        self.assertEqual(self.req("GET", ACCOUNT, token=self.token).json_body, {"threepids": []})
        bad = self.req(
            "POST", ACCOUNT + "/delete", {"medium": "foo", "address": "x"}, token=self.token
        )
        self.assertEqual(bad.json_body["errcode"], "M_BAD_JSON")
        self.assertIn(
            "Input should be 'email' or 'msisdn' [type=literal_error", bad.json_body["error"]
        )

    def test_request_token_without_email_config(self) -> None:
        """Without an ``email`` config the requestToken endpoints refuse, as in Synapse."""
        body = {"client_secret": "secret", "email": "x@y.z", "send_attempt": 1}
        self.assert_error(self.req("POST", ACCOUNT + "/email/requestToken", body, token=self.token), 400,
                          "M_THREEPID_MEDIUM_NOT_SUPPORTED",
                          "Adding an email to your account is disabled on this server")  # fmt: skip
        self.assert_error(self.req("POST", "/_matrix/client/v3/register/email/requestToken", body), 400,
                          "M_UNKNOWN", "Email-based registration has been disabled on this server")  # fmt: skip
        msisdn = {
            "client_secret": "secret",
            "country": "GB",
            "phone_number": "07700900000",
            "send_attempt": 1,
        }
        self.assert_error(self.req("POST", ACCOUNT + "/msisdn/requestToken", msisdn, token=self.token), 400,
                          "M_THREEPID_MEDIUM_NOT_SUPPORTED",
                          "Adding phone numbers to user account is not supported by this homeserver")  # fmt: skip

    def test_register_msisdn_request_token(self) -> None:
        """``/register/msisdn/requestToken`` runs is_3pid_allowed (denial: 403
        M_THREEPID_DENIED), then has no delegate to send the code."""
        body = {
            "client_secret": "secret",
            "country": "GB",
            "phone_number": "07700900001",
            "send_attempt": 1,
        }
        path = "/_matrix/client/v3/register/msisdn/requestToken"
        self.assert_error(self.req("POST", path, body), 400, "M_UNKNOWN",
                          "Registration by phone number is not supported on this homeserver")  # fmt: skip
        self.assertEqual(self.calls(), [("is_3pid_allowed", ("msisdn", "447700900001", True))])
        self.probe.answers["is_3pid_allowed"] = False
        self.assert_error(self.req("POST", path, body), 403, "M_THREEPID_DENIED",
                          "Phone numbers are not authorized to register on this server")  # fmt: skip

    def test_remote_association(self) -> None:
        """store_remote_3pid_association is remembered and forgotten by unbinding."""
        self.get_success(
            self.api.store_remote_3pid_association(self.carol, "email", "c@x.y", "id.example")
        )
        self.assertEqual(self.get_success(self.hs.user_store.get_bound_threepids(self.carol)),
                         [("email", "c@x.y", "id.example")])  # fmt: skip
        self.req(
            "POST", ACCOUNT + "/delete", {"medium": "email", "address": "c@x.y"}, token=self.token
        )
        self.assertEqual(self.get_success(self.hs.user_store.get_bound_threepids(self.carol)), [])


class EmailConfiguredTests(AccountTestCase):
    """With an ``email`` section, requestToken sessions are validated at once (the stand-in
    sends no mail) and registration offers ``m.login.email.identity``."""

    extra_config = {
        "email": {"notif_from": "Server <noreply@test.local>", "smtp_host": "localhost"}
    }

    def request_token(self, path: str, email: str, token: Any = None) -> Any:
        body = {"client_secret": "secret", "email": email, "send_attempt": 1}
        return self.req("POST", path, body, token=token)

    def test_account_request_token_and_add(self) -> None:
        """requestToken runs is_3pid_allowed(registration=False) and gives a session that
        /account/3pid/add binds."""
        carol = self.make_user("carol")
        token = self.login("carol")
        self.clear()
        channel = self.request_token(ACCOUNT + "/email/requestToken", "Carol@Example.com", token)
        self.assertEqual(channel.code, 200, channel.json_body)
        sid = channel.json_body["sid"]
        self.assertEqual(self.calls(), [("is_3pid_allowed", ("email", "carol@example.com", False))])
        added = self.req("POST", ACCOUNT + "/add", {"sid": sid, "client_secret": "secret",
                                                    "auth": self.uia_password("carol")}, token=token)  # fmt: skip
        self.assertEqual(added.code, 200, added.json_body)
        self.assertEqual(
            self.names()[-2:], ["on_add_user_third_party_identifier", "on_threepid_bind"]
        )
        in_use = self.request_token(ACCOUNT + "/email/requestToken", "carol@example.com", token)
        self.assert_error(in_use, 400, "M_THREEPID_IN_USE", "Email is already in use")
        self.assertEqual(len(self.get_success(self.api.get_threepids_for_user(carol))), 1)

    def test_denied_texts(self) -> None:
        """A False is_3pid_allowed gives each endpoint's 403 M_THREEPID_DENIED text."""
        self.make_user("carol")
        token = self.login("carol")
        self.probe.answers["is_3pid_allowed"] = False
        self.assert_error(self.request_token(ACCOUNT + "/email/requestToken", "a@b.c", token), 403,
                          "M_THREEPID_DENIED", "Your email domain is not authorized on this server")  # fmt: skip
        self.assert_error(self.request_token("/_matrix/client/v3/register/email/requestToken", "a@b.c"),
                          403, "M_THREEPID_DENIED",
                          "Your email domain is not authorized to register on this server")  # fmt: skip

    def test_register_with_email(self) -> None:
        """The email stage completes registration: the spam check gets the 3PID, and it is
        bound after on_user_registration."""
        sid = self.request_token(
            "/_matrix/client/v3/register/email/requestToken", "dan@example.com"
        ).json_body["sid"]
        first = self.req(
            "POST", "/_matrix/client/v3/register", {"username": "dan", "password": "pw"}
        )
        self.assertEqual(first.json_body["flows"], [{"stages": ["m.login.dummy"]},
                                                    {"stages": ["m.login.email.identity"]}])  # fmt: skip
        self.clear()
        auth = {"type": "m.login.email.identity", "session": first.json_body["session"],
                "threepid_creds": {"sid": sid, "client_secret": "secret"}}  # fmt: skip
        channel = self.req("POST", "/_matrix/client/v3/register", {"auth": auth})
        self.assertEqual(channel.code, 200, channel.json_body)
        names = self.names()
        self.assertEqual(names, ["is_3pid_allowed", "get_username_for_registration",
                                 "get_displayname_for_registration", "check_registration_for_spam",
                                 "on_user_registration", "on_add_user_third_party_identifier",
                                 "on_threepid_bind"])  # fmt: skip
        email_threepid = self.calls(["check_registration_for_spam"])[0][1][0]
        self.assertEqual(
            (email_threepid["medium"], email_threepid["address"]), ("email", "dan@example.com")
        )
        self.assertEqual(self.calls(["check_registration_for_spam"])[0][1][2], [(UA, "127.0.0.1")])

    def test_register_with_denied_email(self) -> None:
        """A denied 3PID at registration completion is 403 M_THREEPID_DENIED."""
        sid = self.request_token(
            "/_matrix/client/v3/register/email/requestToken", "eve@example.com"
        ).json_body["sid"]
        self.probe.answers["is_3pid_allowed"] = False
        auth = {
            "type": "m.login.email.identity",
            "threepid_creds": {"sid": sid, "client_secret": "secret"},
        }
        channel = self.req(
            "POST",
            "/_matrix/client/v3/register",
            {"username": "eve", "password": "pw", "auth": auth},
        )
        self.assert_error(channel, 403, "M_THREEPID_DENIED",
                          "Third party identifiers (email/phone numbers) are not authorized on this server")  # fmt: skip
