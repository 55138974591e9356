"""Authenticating client requests (TRIGGERS.md §0, HTTP.md §1 and §6), ``/account/whoami``,
and users and tokens surviving a restart."""

from __future__ import annotations

import os
from typing import Any

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost import build_host
from synapse_modhost.testing import default_config, make_request

from ._users_probe import AccountTestCase

WHOAMI = "/_matrix/client/v3/account/whoami"


class AuthTests(AccountTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.alice = self.make_user("alice")
        self.token = self.login("alice")
        self.clear()

    def test_whoami(self) -> None:
        """whoami answers user_id, is_guest, device_id; is_user_expired runs first."""
        channel = self.req("GET", WHOAMI, token=self.token)
        self.assertEqual(list(channel.json_body), ["user_id", "is_guest", "device_id"])
        self.assertEqual(channel.json_body["user_id"], self.alice)
        self.assertIs(channel.json_body["is_guest"], False)
        self.assertEqual(self.probe.calls, [("is_user_expired", (self.alice,))])
        by_query = self.make_request("GET", WHOAMI + "?access_token=" + self.token)
        self.assertEqual(by_query.json_body["user_id"], self.alice)

    def test_token_errors(self) -> None:
        """Missing, unknown, mixed and malformed tokens get Synapse's 401s."""
        self.assert_error(self.req("GET", WHOAMI), 401, "M_MISSING_TOKEN", "Missing access token")
        unknown = self.req("GET", WHOAMI, token="nope")
        self.assert_error(unknown, 401, "M_UNKNOWN_TOKEN", "Invalid access token passed.")
        self.assertIs(unknown.json_body["soft_logout"], False)
        mixed = self.make_request("GET", WHOAMI + "?access_token=x", access_token=self.token)
        self.assert_error(mixed, 401, "M_MISSING_TOKEN",
                          "Mixing Authorization headers and access_token query parameters.")  # fmt: skip
        bad = self.make_request("GET", WHOAMI, headers=[("Authorization", "Basic abc")])
        self.assert_error(bad, 401, "M_MISSING_TOKEN", "Invalid Authorization header.")

    def test_expired_token(self) -> None:
        """A token past valid_until_ms is 401 "Access token has expired" with soft_logout."""
        store = self.hs.user_store
        self.get_success(store.add_access_token(self.alice, "syt_short", "DEV", valid_until_ms=500))
        self.assertEqual(self.req("GET", WHOAMI, token="syt_short").code, 200)
        self.pump(1)
        channel = self.req("GET", WHOAMI, token="syt_short")
        self.assert_error(channel, 401, "M_UNKNOWN_TOKEN", "Access token has expired")
        self.assertIs(channel.json_body["soft_logout"], True)

    def test_expired_account(self) -> None:
        """is_user_expired True is 403 ORG_MATRIX_EXPIRED_ACCOUNT; logout still works."""
        self.probe.answers["is_user_expired"] = True
        channel = self.req("GET", WHOAMI, token=self.token)
        self.assert_error(channel, 403, "ORG_MATRIX_EXPIRED_ACCOUNT", "User account has expired")
        self.assertEqual(self.req("POST", "/_matrix/client/v3/logout", token=self.token).code, 200)

    def test_raising_is_user_expired(self) -> None:
        """A raising is_user_expired makes the request a 500."""
        self.probe.answers["is_user_expired"] = RuntimeError("boom")
        channel = self.req("GET", WHOAMI, token=self.token)
        self.assert_error(channel, 500, "M_UNKNOWN", "Internal server error")
        self.flushLoggedErrors(RuntimeError)

    def test_locked(self) -> None:
        """A locked account is 401 M_USER_LOCKED (soft_logout) before is_user_expired."""
        self.get_success(self.hs.user_store.set_locked(self.alice, True))
        channel = self.req("GET", WHOAMI, token=self.token)
        self.assert_error(channel, 401, "M_USER_LOCKED", "User account has been locked")
        self.assertIs(channel.json_body["soft_logout"], True)
        self.assertEqual(self.probe.calls, [])

    def test_admin_check(self) -> None:
        """A non-admin on the admin API is 403 M_FORBIDDEN "You are not a server admin"."""
        channel = self.req("GET", "/_synapse/admin/v2/users/" + self.alice, token=self.token)
        self.assert_error(channel, 403, "M_FORBIDDEN", "You are not a server admin")

    def test_passwords_honour_config(self) -> None:
        """Hashes use the configured bcrypt cost; long passwords are cut at 72 bytes."""
        password_hash = self.get_success(self.hs.auth.hasher.hash("x" * 100))
        self.assertTrue(password_hash.startswith("$2b$04$"))
        self.assertTrue(self.get_success(self.hs.auth.hasher.check("x" * 72 + "y", password_hash)))


class RestartTests(SynchronousTestCase):
    """Users, tokens, profiles and 3PIDs are kept across a restart on a file database."""

    def start(self, path: str) -> Any:
        config = default_config()
        config["database"] = {"name": "sqlite3", "args": {"database": path}}
        config["media_store_path"] = self.mktemp()
        config["bcrypt_rounds"] = 4
        reactor = MemoryReactorClock()
        host = build_host(config, reactor, database_threaded=False)
        self.successResultOf(host.start(listen=False))
        return host, reactor

    def request(self, host: Any, reactor: Any, method: str, path: str, content: Any = None,
                token: Any = None) -> Any:  # fmt: skip
        channel = make_request(next(iter(host.sites.values())), reactor, method, path, content, token)
        for _ in range(50):
            if channel.is_finished:
                break
            reactor.advance(0.01)
        return channel

    def test_restart_keeps_accounts(self) -> None:
        """A second host on the same database file knows the user, token, profile and 3PID."""
        path = os.path.join(self.mktemp(), "homeserver.db")
        os.makedirs(os.path.dirname(path))
        host, reactor = self.start(path)
        reg = self.request(host, reactor, "POST", "/_matrix/client/v3/register",
                           {"username": "alice", "password": "pw", "auth": {"type": "m.login.dummy"}}).json_body  # fmt: skip
        token = reg["access_token"]
        self.request(host, reactor, "PUT", "/_matrix/client/v3/profile/@alice:test.local/displayname",
                     {"displayname": "Alice A"}, token)  # fmt: skip
        self.successResultOf(host.hs.threepids.add_threepid("@alice:test.local", "email", "a@x.y", 1))
        self.successResultOf(host.stop())

        host, reactor = self.start(path)
        self.addCleanup(lambda: self.successResultOf(host.stop()))
        whoami = self.request(host, reactor, "GET", "/_matrix/client/v3/account/whoami", token=token)
        self.assertEqual(whoami.json_body["device_id"], reg["device_id"])
        login = self.request(host, reactor, "POST", "/_matrix/client/v3/login",
                             {"type": "m.login.password", "user": "alice", "password": "pw"})  # fmt: skip
        self.assertEqual(login.code, 200)
        profile = self.request(host, reactor, "GET", "/_matrix/client/v3/profile/@alice:test.local")
        self.assertEqual(profile.json_body, {"displayname": "Alice A"})
        threepids = self.request(host, reactor, "GET", "/_matrix/client/v3/account/3pid", token=token)
        self.assertEqual(threepids.json_body["threepids"][0]["address"], "a@x.y")
