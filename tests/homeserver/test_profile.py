"""Profiles: ``GET /profile``, ``GET``/``PUT``/``DELETE /profile/{userId}/{field}``,
``on_profile_update`` and the per-room update (TRIGGERS.md §3)."""

from __future__ import annotations

from typing import Any, List, Tuple

from synapse_modhost.types import UserID

from ._users_probe import AccountTestCase, FakeMembership

PROFILE = "/_matrix/client/v3/profile/"


class ProfileTests(AccountTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.carol = self.make_user("carol")
        self.token = self.login("carol")
        self.admin = self.make_user("admin", admin=True)
        self.admin_token = self.login("admin")
        self.rooms: List[Tuple[str, Tuple[Any, ...]]] = self.probe.calls
        self.hs.__dict__["membership"] = FakeMembership(self.rooms)
        self.clear()

    def test_get_profile(self) -> None:
        """The profile lists set fields only; field GETs need no token."""
        self.assertEqual(self.req("GET", PROFILE + self.carol).json_body, {"displayname": "carol"})
        self.assertEqual(self.req("GET", PROFILE + self.carol + "/displayname").json_body,
                         {"displayname": "carol"})  # fmt: skip
        self.assertEqual(self.req("GET", PROFILE + self.carol + "/avatar_url").json_body, {})

    def test_get_errors(self) -> None:
        """Unknown users, bad ids and unset custom fields get Synapse's errors."""
        self.assert_error(self.req("GET", PROFILE + "@nobody:test.local"), 404, "M_UNKNOWN",
                          "No row found (profiles)")  # fmt: skip
        self.assert_error(self.req("GET", PROFILE + "@nobody:test.local/displayname"), 404,
                          "M_NOT_FOUND", "Profile was not found")  # fmt: skip
        self.assert_error(
            self.req("GET", PROFILE + "carol"), 400, "M_INVALID_PARAM", "Invalid user id"
        )
        self.assert_error(self.req("GET", PROFILE + self.carol + "/org.lab.y"), 404, "M_NOT_FOUND",
                          "Profile was not found")  # fmt: skip
        self.assert_error(self.req("GET", PROFILE + self.carol + "/Bad!"), 400, "M_INVALID_PARAM",
                          "Field name does not follow Common Namespaced Identifier Grammar")  # fmt: skip

    def test_set_displayname(self) -> None:
        """The stripped name is stored, then on_profile_update, then the rooms are updated."""
        channel = self.req("PUT", PROFILE + self.carol + "/displayname", {"displayname": " Carol C "},
                           token=self.token)  # fmt: skip
        self.assertEqual((channel.code, channel.json_body), (200, {}))
        self.assertEqual(self.calls(), [
            ("on_profile_update", (self.carol, ("ProfileInfo", "Carol C", None), False, False)),
            ("update_profile_in_joined_rooms", (self.carol, self.carol)),
        ])  # fmt: skip
        self.assertEqual(
            self.req("GET", PROFILE + self.carol).json_body, {"displayname": "Carol C"}
        )

    def test_set_avatar_and_clear(self) -> None:
        """avatar_url works the same way; an empty display name clears it."""
        self.req("PUT", PROFILE + self.carol + "/avatar_url", {"avatar_url": "mxc://test.local/a"},
                 token=self.token)  # fmt: skip
        self.req(
            "PUT", PROFILE + self.carol + "/displayname", {"displayname": ""}, token=self.token
        )
        updates = self.calls(["on_profile_update"])
        self.assertEqual(updates[-1][1][1], ("ProfileInfo", None, "mxc://test.local/a"))
        self.assertEqual(self.req("GET", PROFILE + self.carol).json_body,
                         {"avatar_url": "mxc://test.local/a"})  # fmt: skip

    def test_other_user(self) -> None:
        """Only admins change someone else's profile; then by_admin is true."""
        bob = self.make_user("bob")
        channel = self.req(
            "PUT", PROFILE + bob + "/displayname", {"displayname": "x"}, token=self.token
        )
        self.assert_error(channel, 400, "M_FORBIDDEN", "Cannot set another user's displayname")
        channel = self.req(
            "PUT", PROFILE + bob + "/avatar_url", {"avatar_url": "x"}, token=self.token
        )
        self.assert_error(channel, 400, "M_FORBIDDEN", "Cannot set another user's avatar_url")
        channel = self.req("PUT", PROFILE + bob + "/displayname", {"displayname": "Bobby"},
                           token=self.admin_token)  # fmt: skip
        self.assertEqual(channel.code, 200)
        self.assertEqual(self.calls(), [
            ("on_profile_update", (bob, ("ProfileInfo", "Bobby", None), True, False)),
            ("update_profile_in_joined_rooms", (bob, bob)),
        ])  # fmt: skip

    def test_bad_values(self) -> None:
        """Missing keys, non-strings, too long values and remote users are refused."""
        path = PROFILE + self.carol + "/displayname"
        self.assert_error(self.req("PUT", path, {"foo": 1}, token=self.token), 400,
                          "M_MISSING_PARAM", "Missing key 'displayname'")  # fmt: skip
        self.assert_error(self.req("PUT", path, {"displayname": 5}, token=self.token), 400,
                          "M_INVALID_PARAM", "'displayname' must be a string")  # fmt: skip
        self.assert_error(self.req("PUT", path, {"displayname": "x" * 300}, token=self.token), 400,
                          "M_UNKNOWN", "Displayname is too long (max 256)")  # fmt: skip
        self.assert_error(self.req("PUT", PROFILE + self.carol + "/avatar_url",
                                   {"avatar_url": "x" * 1001}, token=self.token),
                          400, "M_UNKNOWN", "Avatar URL is too long (max 1000)")  # fmt: skip
        self.assert_error(self.req("PUT", PROFILE + "@carol:other.example/displayname",
                                   {"displayname": "x"}, token=self.token),
                          400, "M_UNKNOWN", "User is not hosted on this homeserver")  # fmt: skip
        self.assertEqual(self.calls(), [])

    def test_custom_fields(self) -> None:
        """Custom fields live on v3 only; set, read, listed, deleted, each with on_profile_update."""
        path = PROFILE + self.carol + "/org.lab.x"
        self.assertEqual(self.req("PUT", path, {"org.lab.x": {"a": 1}}, token=self.token).code, 200)
        self.assertEqual(self.req("GET", path).json_body, {"org.lab.x": {"a": 1}})
        self.assertEqual(self.req("GET", PROFILE + self.carol).json_body,
                         {"displayname": "carol", "org.lab.x": {"a": 1}})  # fmt: skip
        self.assertEqual(self.req("DELETE", path, token=self.token).code, 200)
        self.assert_error(self.req("GET", path), 404, "M_NOT_FOUND", "Profile was not found")
        self.assertEqual(self.names(), ["on_profile_update", "on_profile_update"])
        r0 = self.req("PUT", "/_matrix/client/r0/profile/" + self.carol + "/org.lab.x", {"org.lab.x": 1},
                      token=self.token)  # fmt: skip
        self.assert_error(r0, 404, "M_UNRECOGNIZED", "Unrecognized request")
        big = self.req("PUT", path, {"org.lab.x": "x" * 70000}, token=self.token)
        self.assert_error(big, 400, "M_PROFILE_TOO_LARGE", "Profile too large")

    def test_failing_room_update_does_not_fail(self) -> None:
        """A failing per-room update is logged; the profile request still succeeds."""

        class Failing:
            async def update_profile_in_joined_rooms(self, requester: Any, user_id: str) -> None:
                raise RuntimeError("room trouble")

        self.hs.__dict__["membership"] = Failing()
        channel = self.req("PUT", PROFILE + self.carol + "/displayname", {"displayname": "C"},
                           token=self.token)  # fmt: skip
        self.assertEqual(channel.code, 200)
        self.flushLoggedErrors(RuntimeError)

    def test_module_set_displayname(self) -> None:
        """ModuleApi.set_displayname changes the name with by_admin=True."""
        self.get_success(self.api.set_displayname(UserID.from_string(self.carol), "Via Module"))
        self.assertEqual(self.calls()[0],
                         ("on_profile_update", (self.carol, ("ProfileInfo", "Via Module", None), True, False)))  # fmt: skip
        profile = self.get_success(self.api.get_profile_for_user("carol"))
        self.assertEqual(profile.display_name, "Via Module")

    def test_without_membership_handler(self) -> None:
        """Without the rooms helper the profile change still succeeds (rooms skipped)."""
        del self.hs.__dict__["membership"]

        class NoRooms:
            pass

        self.hs.__dict__["membership"] = NoRooms()
        channel = self.req("PUT", PROFILE + self.carol + "/displayname", {"displayname": "D"},
                           token=self.token)  # fmt: skip
        self.assertEqual(channel.code, 200)
        self.assertEqual(self.names(), ["on_profile_update"])


class ProfileInRoomsTests(AccountTestCase):
    """With the real membership handler: the new profile reaches the user's rooms."""

    def test_join_event_carries_new_name(self) -> None:
        """After a display name change the user's member event in a joined room has it."""
        carol = self.make_user("carol")
        token = self.login("carol")
        room = self.create_room(token)
        self.req("PUT", PROFILE + carol + "/displayname", {"displayname": "Carol New"}, token=token)
        member = self.req("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (room, carol),
                          token=token)  # fmt: skip
        self.assertEqual(member.json_body, {"displayname": "Carol New", "membership": "join"})
