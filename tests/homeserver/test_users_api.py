"""ModuleApi members for users, devices, tokens, profiles and 3PIDs (MODULEAPI.md §1.3)."""

from __future__ import annotations

import logging

from twisted.internet import defer

from synapse_modhost.errors import InvalidClientTokenError, SynapseError
from synapse_modhost.types import ProfileInfo, UserID, UserInfo, UserIpAndAgent

from ._users_probe import UA, AccountTestCase


class UsersApiTests(AccountTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.carol = self.make_user("carol")

    def test_get_userinfo_by_id(self) -> None:
        """UserInfo for an account, None for an unknown one."""
        info = self.get_success(self.api.get_userinfo_by_id(self.carol))
        self.assertIsInstance(info, UserInfo)
        self.assertEqual((info.user_id, info.is_admin, info.is_deactivated, info.approved),
                         (UserID.from_string(self.carol), False, False, True))  # fmt: skip
        self.assertIsNone(self.get_success(self.api.get_userinfo_by_id("@nobody:test.local")))

    def test_admin_flag(self) -> None:
        """is_user_admin reflects set_user_admin."""
        self.assertFalse(self.get_success(self.api.is_user_admin(self.carol)))
        self.get_success(self.api.set_user_admin(self.carol, True))
        self.assertTrue(self.get_success(self.api.is_user_admin(self.carol)))

    def test_check_user_exists(self) -> None:
        """A Deferred of the canonical id (case-insensitive), or None."""
        d = self.api.check_user_exists("@CAROL:test.local")
        self.assertIsInstance(d, defer.Deferred)
        self.assertEqual(self.get_success(d), self.carol)
        self.assertIsNone(self.get_success(self.api.check_user_exists("@nobody:test.local")))

    def test_register_user(self) -> None:
        """register_user runs the registration callbacks and binds the emails."""
        d = self.api.register_user("mod2", "Mod Two", ["Mod2@Example.com"])
        self.assertIsInstance(d, defer.Deferred)
        user_id = self.get_success(d)
        self.assertEqual(user_id, "@mod2:test.local")
        self.assertEqual(self.calls(), [
            ("check_registration_for_spam", (None, "mod2", [], None)),
            ("on_user_registration", (user_id,)),
            ("on_add_user_third_party_identifier", (user_id, "email", "mod2@example.com")),
            ("on_threepid_bind", (user_id, "email", "mod2@example.com")),
        ])  # fmt: skip
        threepids = self.get_success(self.api.get_threepids_for_user(user_id))
        self.assertEqual([(t["medium"], t["address"]) for t in threepids], [("email", "mod2@example.com")])
        profile = self.get_success(self.api.get_profile_for_user("mod2"))
        self.assertEqual(profile, ProfileInfo(avatar_url=None, display_name="Mod Two"))

    def test_register_user_errors(self) -> None:
        """Invalid or taken localparts fail with SynapseError (after the spam check)."""
        failure = self.get_failure(self.api.register_user("Mod1"), SynapseError)
        self.assertEqual(failure.value.errcode, "M_INVALID_USERNAME")
        failure = self.get_failure(self.api.register_user("carol"), SynapseError)
        self.assertEqual(failure.value.errcode, "M_USER_IN_USE")
        self.assertEqual(self.names(), ["check_registration_for_spam"] * 2)

    def test_register_deprecated(self) -> None:
        """register logs a warning and returns (user_id, access_token) that works."""
        with self.assertLogs("synapse_modhost.module_api", logging.WARNING) as logs:
            user_id, token = self.get_success(self.api.register("old"))
        self.assertIn("deprecated ModuleApi.register", logs.output[0])
        whoami = self.req("GET", "/_matrix/client/v3/account/whoami", token=token)
        self.assertEqual(whoami.json_body["user_id"], user_id)

    def test_register_device(self) -> None:
        """register_device gives (device_id, token, None, None); the token authenticates."""
        device_id, token, valid_until, refresh = self.get_success(self.api.register_device(self.carol))
        self.assertEqual((len(device_id), valid_until, refresh), (10, None, None))
        whoami = self.req("GET", "/_matrix/client/v3/account/whoami", token=token).json_body
        self.assertEqual(whoami, {"user_id": self.carol, "is_guest": False, "device_id": device_id})
        named = self.get_success(self.api.register_device(self.carol, "MINE", "phone"))
        self.assertEqual(named[0], "MINE")

    def test_profile_for_unknown_user(self) -> None:
        """get_profile_for_user gives ProfileInfo(None, None) without a profile."""
        self.assertEqual(self.get_success(self.api.get_profile_for_user("nobody")),
                         ProfileInfo(avatar_url=None, display_name=None))  # fmt: skip

    def test_invalidate_access_token(self) -> None:
        """invalidate_access_token deletes the device (on_logged_out); unknown → 401."""
        device_id, token, _, _ = self.get_success(self.api.register_device(self.carol))
        self.get_success(self.api.invalidate_access_token(token))
        self.assertEqual(self.calls(), [("on_logged_out", (self.carol, device_id, token))])
        whoami = self.req("GET", "/_matrix/client/v3/account/whoami", token=token)
        self.assertEqual(whoami.code, 401)
        failure = self.get_failure(self.api.invalidate_access_token("nope"), InvalidClientTokenError)
        self.assertEqual(failure.value.code, 401)

    def test_record_user_external_id(self) -> None:
        """The SSO mapping shows in the admin API's external_ids."""
        self.get_success(self.api.record_user_external_id("sso", "c1", self.carol))
        self.assertEqual(self.get_success(self.hs.user_store.get_user_by_external_id("sso", "c1")), self.carol)

    def test_check_username(self) -> None:
        """check_username raises M_USER_IN_USE for a taken name and passes a free one."""
        failure = self.get_failure(self.api.check_username("carol"), SynapseError)
        self.assertEqual(failure.value.errcode, "M_USER_IN_USE")
        self.assertIsNone(self.get_success(self.api.check_username("free")))

    def test_user_ip_and_agents(self) -> None:
        """Requests are recorded per token and IP (written in batches); remote ids give []."""
        token = self.login("carol")
        self.req("GET", "/_matrix/client/v3/account/whoami", token=token)
        seen = self.get_success(self.api.get_user_ip_and_agents(self.carol))
        self.assertEqual([(s.ip, s.user_agent) for s in seen], [("127.0.0.1", UA)])
        self.assertIsInstance(seen[0], UserIpAndAgent)
        self.pump(6)  # the batch is written
        stored = self.get_success(self.hs.user_store.get_client_ips(self.carol))
        self.assertEqual(len(stored), 1)
        later = self.get_success(self.api.get_user_ip_and_agents(self.carol, since_ts=stored[0].last_seen + 1))
        self.assertEqual(later, [])
        self.assertEqual(self.get_success(self.api.get_user_ip_and_agents("@x:other.example")), [])
        self.assertEqual(self.get_success(self.api.get_user_ip_and_agents("garbage")), [])

    def test_get_user_by_req(self) -> None:
        """A module resource authenticates with get_user_by_req; a second call is an AssertionError."""
        token = self.login("carol")
        channel = self.req("POST", "/_synapse/client/probe/whoami", {}, token=token)
        self.assertEqual((channel.code, channel.result_body), (200, self.carol.encode()))
        twice = self.req("POST", "/_synapse/client/probe/whoami?twice=1", {}, token=token)
        self.assertEqual((twice.code, twice.result_body), (500, b"AssertionError"))
        self.assertEqual(self.calls(["is_user_expired"]), [("is_user_expired", (self.carol,))] * 3)
