"""Deactivation: ``POST /account/deactivate`` and ``POST /_synapse/admin/v1/deactivate``,
with the order of TRIGGERS.md §7."""

from __future__ import annotations

from typing import Any, List, Tuple

from ._users_probe import AccountTestCase, FakeMembership

DEACTIVATE = "/_matrix/client/v3/account/deactivate"


class DeactivationTests(AccountTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.dora = self.make_user("dora")
        self.token = self.login("dora")
        self.get_success(self.hs.threepids.add_threepid(self.dora, "email", "dora@example.com", 1))
        self.admin = self.make_user("admin", admin=True)
        self.admin_token = self.login("admin")
        self.rooms: List[Tuple[str, Tuple[Any, ...]]] = self.probe.calls
        self.hs.__dict__["membership"] = FakeMembership(self.rooms)
        self.clear()

    def auth(self, password: str = "password") -> Any:
        return {"auth": self.uia_password("dora", password)}

    def test_uia_first(self) -> None:
        """Without auth: 401 with the password flow; a wrong password adds errcode/error."""
        first = self.req("POST", DEACTIVATE, {}, token=self.token)
        self.assertEqual(first.code, 401)
        self.assertEqual(first.json_body["flows"], [{"stages": ["m.login.password"]},
                                                    {"stages": ["org.lab.login"]}])  # fmt: skip
        wrong = self.req("POST", DEACTIVATE, self.auth("nope"), token=self.token)
        self.assertEqual(wrong.code, 401)
        self.assertEqual((wrong.json_body["errcode"], wrong.json_body["error"]),
                         ("M_FORBIDDEN", "Invalid username or password"))  # fmt: skip
        self.assertNotIn("check_can_deactivate_user", self.names())

    def test_other_user_auth(self) -> None:
        """Authenticating as someone else is 403 "Invalid auth"."""
        body = {"auth": self.uia_password("admin")}
        self.assert_error(
            self.req("POST", DEACTIVATE, body, token=self.token), 403, "M_FORBIDDEN", "Invalid auth"
        )

    def test_deactivate_order(self) -> None:
        """check_can_deactivate_user → 3PIDs removed → on_logged_out per token →
        on_user_deactivation_status_changed; then the user leaves their rooms."""
        tokens = self.tokens_of(self.dora)
        channel = self.req("POST", DEACTIVATE, self.auth(), token=self.token)
        self.assertEqual(
            (channel.code, channel.json_body), (200, {"id_server_unbind_result": "success"})
        )
        self.assertEqual(self.calls(), [
            ("check_can_deactivate_user", (self.dora, False)),
            ("on_remove_user_third_party_identifier", (self.dora, "email", "dora@example.com")),
            *[("on_logged_out", (self.dora, device, token)) for device, token in tokens],
            ("on_user_deactivation_status_changed", (self.dora, True, False)),
            ("leave_all_rooms", (self.dora,)),
        ])  # fmt: skip
        self.assertEqual(self.tokens_of(self.dora), [])
        self.assert_error(
            self.password_login("dora"), 403, "M_FORBIDDEN", "Invalid username or password"
        )
        self.assertEqual(self.req("GET", "/_matrix/client/v3/profile/" + self.dora).json_body,
                         {"displayname": "dora"})  # fmt: skip

    def test_erase(self) -> None:
        """With ``erase`` the profile goes (on_profile_update(..., deactivation=True)) before
        the status callback."""
        channel = self.req("POST", DEACTIVATE, {**self.auth(), "erase": True}, token=self.token)
        self.assertEqual(channel.code, 200)
        names = self.names()
        self.assertLess(
            names.index("on_profile_update"), names.index("on_user_deactivation_status_changed")
        )
        self.assertIn(
            ("on_profile_update", (self.dora, ("ProfileInfo", None, None), False, True)),
            self.calls(),
        )
        self.assert_error(self.req("GET", "/_matrix/client/v3/profile/" + self.dora), 404, "M_UNKNOWN",
                          "No row found (profiles)")  # fmt: skip
        user = self.req(
            "GET", "/_synapse/admin/v2/users/" + self.dora, token=self.admin_token
        ).json_body
        self.assertEqual((user["deactivated"], user["erased"]), (True, True))

    def test_denied(self) -> None:
        """A False check_can_deactivate_user is 403 M_FORBIDDEN and changes nothing."""
        self.probe.answers["check_can_deactivate_user"] = False
        channel = self.req("POST", DEACTIVATE, self.auth(), token=self.token)
        self.assert_error(channel, 403, "M_FORBIDDEN", "Deactivation of this user is forbidden")
        self.assertEqual(self.names(), ["check_can_deactivate_user"])
        whoami = self.req("GET", "/_matrix/client/v3/account/whoami", token=self.token)
        self.assertEqual(whoami.code, 200)

    def test_bad_erase(self) -> None:
        """A non-boolean ``erase`` is 400 M_BAD_JSON (pydantic's text), before auth."""
        channel = self.req("POST", DEACTIVATE, {"erase": "yes"}, token=self.token)
        self.assertEqual(channel.json_body["errcode"], "M_BAD_JSON")
        self.assertIn("erase\n  Input should be a valid boolean [type=bool_type, input_value='yes'",
                      channel.json_body["error"])  # fmt: skip

    def test_admin_deactivate(self) -> None:
        """The admin API runs the same callbacks with by_admin=True; erase too."""
        path = "/_synapse/admin/v1/deactivate/" + self.dora
        channel = self.req("POST", path, {"erase": True}, token=self.admin_token)
        self.assertEqual(channel.json_body, {"id_server_unbind_result": "success"})
        self.assertEqual(self.calls()[0], ("check_can_deactivate_user", (self.dora, True)))
        self.assertIn(
            ("on_profile_update", (self.dora, ("ProfileInfo", None, None), True, True)),
            self.calls(),
        )
        self.assertIn(
            ("on_user_deactivation_status_changed", (self.dora, True, True)), self.calls()
        )

    def test_admin_errors(self) -> None:
        """Non-admins, unknown, remote users and a bad ``erase`` get Synapse's errors."""
        path = "/_synapse/admin/v1/deactivate/"
        self.assert_error(self.req("POST", path + self.admin, {}, token=self.token), 403, "M_FORBIDDEN",
                          "You are not a server admin")  # fmt: skip
        self.assert_error(self.req("POST", path + "@nobody:test.local", {}, token=self.admin_token), 404,
                          "M_NOT_FOUND", "User not found")  # fmt: skip
        self.assert_error(self.req("POST", path + "@x:other.example", {}, token=self.admin_token), 400,
                          "M_UNKNOWN", "Can only deactivate local users")  # fmt: skip
        self.assert_error(self.req("POST", path + self.dora, {"erase": 1}, token=self.admin_token), 400,
                          "M_BAD_JSON", "Param 'erase' must be a boolean, if given")  # fmt: skip
        empty = self.make_request("POST", path + self.dora, b"", access_token=self.admin_token)
        self.assertEqual(empty.code, 200)

    def test_reactivate(self) -> None:
        """Reactivation through the admin API runs on_user_deactivation_status_changed(user, False, True)."""
        self.req(
            "POST",
            "/_synapse/admin/v1/deactivate/" + self.dora,
            {"erase": True},
            token=self.admin_token,
        )
        self.clear()
        channel = self.req("PUT", "/_synapse/admin/v2/users/" + self.dora,
                           {"deactivated": False, "password": "again"}, token=self.admin_token)  # fmt: skip
        self.assertEqual(channel.code, 200, channel.json_body)
        self.assertEqual(
            (channel.json_body["deactivated"], channel.json_body["erased"]), (False, False)
        )
        self.assertEqual(
            self.calls(), [("on_user_deactivation_status_changed", (self.dora, False, True))]
        )
        self.assertEqual(self.password_login("dora", "again").code, 200)
        self.assert_error(self.req("GET", "/_matrix/client/v3/profile/" + self.dora), 404, "M_NOT_FOUND",
                          "Profile was not found")  # fmt: skip


class DeactivationLeavesRoomsTests(AccountTestCase):
    """With the real membership handler: a deactivated user leaves their rooms."""

    def test_rooms_left(self) -> None:
        """After deactivation the user is in no room."""
        dora = self.make_user("dora")
        token = self.login("dora")
        room = self.create_room(token)
        self.assertEqual(list(self.get_success(self.hs.event_store.get_rooms_for_user(dora))), [room])
        channel = self.req("POST", DEACTIVATE, {"auth": self.uia_password("dora")}, token=token)
        self.assertEqual(channel.code, 200)
        self.assertEqual(list(self.get_success(self.hs.event_store.get_rooms_for_user(dora))), [])
