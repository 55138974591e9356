"""The user admin API: ``/_synapse/admin/v2/users[/{userId}]``,
``/_synapse/admin/v1/users/{userId}/admin``, ``/reset_password`` (TRIGGERS.md §7)."""

from __future__ import annotations

from ._users_probe import AccountTestCase

USERS = "/_synapse/admin/v2/users/"

USER_KEYS = [
    "name", "admin", "deactivated", "locked", "shadow_banned", "creation_ts", "appservice_id",
    "consent_server_notice_sent", "consent_version", "consent_ts", "user_type", "is_guest",
    "suspended", "displayname", "avatar_url", "threepids", "external_ids", "erased", "last_seen_ts",
]  # fmt: skip


class AdminUserTests(AccountTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.make_user("admin", admin=True)
        self.token = self.login("admin")
        self.bob = self.make_user("bob")
        self.bob_token = self.login("bob")
        self.clear()

    def test_get_user(self) -> None:
        """The user object has Synapse's keys, in its order."""
        channel = self.req("GET", USERS + self.bob, token=self.token)
        self.assertEqual(list(channel.json_body), USER_KEYS)
        self.assertEqual(channel.json_body["name"], self.bob)
        self.assertEqual(channel.json_body["displayname"], "bob")
        self.assertIsInstance(channel.json_body["creation_ts"], int)

    def test_get_errors(self) -> None:
        """Non-admins, unknown, remote and malformed ids get Synapse's errors."""
        self.assert_error(self.req("GET", USERS + self.bob, token=self.bob_token), 403, "M_FORBIDDEN",
                          "You are not a server admin")  # fmt: skip
        self.assert_error(self.req("GET", USERS + "@nobody:test.local", token=self.token), 404,
                          "M_NOT_FOUND", "User not found")  # fmt: skip
        self.assert_error(self.req("GET", USERS + "@x:other.example", token=self.token), 400,
                          "M_UNKNOWN", "Can only look up local users")  # fmt: skip
        self.assert_error(self.req("GET", USERS + "nobody", token=self.token), 400, "M_INVALID_PARAM",
                          "Expected UserID string to start with '@'")  # fmt: skip

    def test_create(self) -> None:
        """Creating runs the registration callbacks, the 3PID ones, then on_profile_update
        for the avatar; 201 and the new user."""
        body = {"password": "pw", "displayname": "Newbie", "threepids": [
            {"medium": "email", "address": "Newbie@Example.com"}], "avatar_url": "mxc://test.local/av",
            "external_ids": [{"auth_provider": "sso", "external_id": "n1"}]}  # fmt: skip
        channel = self.req("PUT", USERS + "@newbie:test.local", body, token=self.token)
        self.assertEqual(channel.code, 201, channel.json_body)
        user = "@newbie:test.local"
        self.assertEqual(self.calls(), [
            ("check_registration_for_spam", (None, "newbie", [], None)),
            ("on_user_registration", (user,)),
            ("on_add_user_third_party_identifier", (user, "email", "newbie@example.com")),
            ("on_threepid_bind", (user, "email", "newbie@example.com")),
            ("on_profile_update", (user, ("ProfileInfo", "Newbie", "mxc://test.local/av"), True, False)),
        ])  # fmt: skip
        self.assertEqual(
            channel.json_body["external_ids"], [{"auth_provider": "sso", "external_id": "n1"}]
        )
        self.assertEqual(self.password_login("newbie", "pw").code, 200)

    def test_create_minimal_and_errors(self) -> None:
        """An empty body creates a user named after the localpart; bad params are refused."""
        errors = [
            ({"admin": "yes"}, "M_BAD_JSON", "Param 'admin' must be a boolean, if given"),
            ({"threepids": [{"medium": "email"}]}, "M_MISSING_PARAM", "Missing params: ['address']"),
            ({"user_type": "nope"}, "M_UNKNOWN", "Invalid user type"),
            ({"deactivated": True, "locked": True}, "M_UNKNOWN", "An user can't be deactivated and locked"),
            ({"password": 5}, "M_UNKNOWN", "Invalid password"),
        ]  # fmt: skip
        for body, errcode, error in errors:
            self.assert_error(
                self.req("PUT", USERS + "@n2:test.local", body, token=self.token),
                400,
                errcode,
                error,
            )
        channel = self.req("PUT", USERS + "@n2:test.local", {}, token=self.token)
        self.assertEqual((channel.code, channel.json_body["displayname"]), (201, "n2"))
        remote = self.req("PUT", USERS + "@n2:other.example", {}, token=self.token)
        self.assert_error(
            remote, 400, "M_UNKNOWN", "This endpoint can only be used with local users"
        )

    def test_modify(self) -> None:
        """Display name, then avatar (on_profile_update each, by_admin), then the admin flag."""
        body = {"displayname": "B2", "admin": True, "avatar_url": "mxc://test.local/b"}
        channel = self.req("PUT", USERS + self.bob, body, token=self.token)
        self.assertEqual(channel.code, 200, channel.json_body)
        self.assertEqual(self.calls(["on_profile_update"]), [
            ("on_profile_update", (self.bob, ("ProfileInfo", "B2", None), True, False)),
            ("on_profile_update", (self.bob, ("ProfileInfo", "B2", "mxc://test.local/b"), True, False)),
        ])  # fmt: skip
        self.assertTrue(channel.json_body["admin"])

    def test_modify_threepids(self) -> None:
        """Replacing the 3PID list removes the missing ones and adds the new ones."""
        self.req("PUT", USERS + self.bob, {"threepids": [{"medium": "email", "address": "a@x.y"}]},
                 token=self.token)  # fmt: skip
        self.clear()
        self.req("PUT", USERS + self.bob, {"threepids": [{"medium": "msisdn", "address": "4412"}]},
                 token=self.token)  # fmt: skip
        self.assertEqual(self.calls(), [
            ("on_remove_user_third_party_identifier", (self.bob, "email", "a@x.y")),
            ("on_add_user_third_party_identifier", (self.bob, "msisdn", "4412")),
            ("on_threepid_bind", (self.bob, "msisdn", "4412")),
        ])  # fmt: skip

    def test_password_logs_out(self) -> None:
        """A new password logs the user out everywhere (on_logged_out per token) unless
        ``logout_devices`` is false."""
        tokens = self.tokens_of(self.bob)
        channel = self.req("PUT", USERS + self.bob, {"password": "new"}, token=self.token)
        self.assertEqual(channel.code, 200)
        self.assertEqual(self.calls(), [("on_logged_out", (self.bob, d, t)) for d, t in tokens])
        self.assertEqual(self.password_login("bob", "new").code, 200)
        self.clear()
        self.req(
            "PUT",
            USERS + self.bob,
            {"password": "newer", "logout_devices": False},
            token=self.token,
        )
        self.assertEqual(self.calls(), [])

    def test_deactivate_via_put(self) -> None:
        """``deactivated: true`` runs the deactivation callbacks with by_admin=True."""
        channel = self.req("PUT", USERS + self.bob, {"deactivated": True}, token=self.token)
        self.assertTrue(channel.json_body["deactivated"])
        self.assertEqual(self.names()[0], "check_can_deactivate_user")
        self.assertEqual(
            self.calls()[-1], ("on_user_deactivation_status_changed", (self.bob, True, True))
        )

    def test_lock(self) -> None:
        """``locked`` locks the account (401 M_USER_LOCKED on requests)."""
        self.req("PUT", USERS + self.bob, {"locked": True}, token=self.token)
        whoami = self.req("GET", "/_matrix/client/v3/account/whoami", token=self.bob_token)
        self.assert_error(whoami, 401, "M_USER_LOCKED", "User account has been locked")
        logout = self.req("POST", "/_matrix/client/v3/logout", token=self.bob_token)
        self.assertEqual(logout.code, 200)

    def test_admin_flag_endpoints(self) -> None:
        """``/v1/users/{id}/admin`` reads and sets the flag; demoting yourself is refused."""
        path = "/_synapse/admin/v1/users/%s/admin"
        self.assertEqual(
            self.req("GET", path % self.bob, token=self.token).json_body, {"admin": False}
        )
        self.assertEqual(
            self.req("PUT", path % self.bob, {"admin": True}, token=self.token).json_body, {}
        )
        self.assertEqual(
            self.req("GET", path % self.bob, token=self.token).json_body, {"admin": True}
        )
        self.assert_error(self.req("PUT", path % self.admin, {"admin": False}, token=self.token), 400,
                          "M_UNKNOWN", "You may not demote yourself.")  # fmt: skip
        self.assert_error(self.req("PUT", USERS + self.admin, {"admin": False}, token=self.token), 400,
                          "M_UNKNOWN", "You may not demote yourself.")  # fmt: skip
        self.assert_error(self.req("PUT", path % self.bob, {}, token=self.token), 400,
                          "M_MISSING_PARAM", "Missing params: ['admin']")  # fmt: skip
        self.assert_error(self.req("GET", path % "@x:other.example", token=self.token), 400, "M_UNKNOWN",
                          "Only local users can be admins of this homeserver")  # fmt: skip

    def test_list(self) -> None:
        """The user list pages with ``next_token`` and hides deactivated users unless asked."""
        self.req("PUT", USERS + "@gone:test.local", {"deactivated": True}, token=self.token)
        self.req("PUT", USERS + "@gone:test.local", {"deactivated": True}, token=self.token)
        page = self.req("GET", "/_synapse/admin/v2/users?limit=1", token=self.token).json_body
        self.assertEqual((page["total"], page["next_token"]), (2, "1"))
        self.assertEqual(page["users"][0]["name"], self.admin)
        self.assertEqual(list(page["users"][0]), ["name", "user_type", "is_guest", "admin", "deactivated",
                                                  "shadow_banned", "displayname", "avatar_url",
                                                  "creation_ts", "erased", "last_seen_ts", "locked"])  # fmt: skip
        every = self.req(
            "GET", "/_synapse/admin/v2/users?deactivated=true", token=self.token
        ).json_body
        self.assertEqual(
            [u["name"] for u in every["users"]], [self.admin, self.bob, "@gone:test.local"]
        )
        named = self.req("GET", "/_synapse/admin/v2/users?name=bo", token=self.token).json_body
        self.assertEqual([u["name"] for u in named["users"]], [self.bob])

    def test_reset_password(self) -> None:
        """``/v1/reset_password`` sets the password and logs the user out."""
        path = "/_synapse/admin/v1/reset_password/" + self.bob
        channel = self.req("POST", path, {"new_password": "reset"}, token=self.token)
        self.assertEqual((channel.code, channel.json_body), (200, {}))
        self.assertEqual(self.names(), ["on_logged_out"] * 2)
        self.assertEqual(self.password_login("bob", "reset").code, 200)
        self.assert_error(self.req("POST", path, {}, token=self.token), 400, "M_MISSING_PARAM",
                          "Missing params: ['new_password']")  # fmt: skip
