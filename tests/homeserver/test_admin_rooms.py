"""Admin room shutdown (TRIGGERS.md §7): ``DELETE /_synapse/admin/v1/rooms/{roomId}`` and
the v2 form, ``check_can_shutdown_room``, response shapes, blocking and purging."""

from __future__ import annotations

from typing import Any

from tests.homeserver._rooms_base import RoomsTestBase

ADMIN = "/_synapse/admin"


class ShutdownTests(RoomsTestBase):
    """Room shutdown through the admin API."""

    def setUp(self) -> None:
        super().setUp()
        self.room = self.create_room(self.alice_token, preset="public_chat", room_alias_name="doomed")
        self.join(self.bob_token, self.room)
        self.reset_calls()

    def delete(self, version: str, room_id: str, body: Any = None, token: Any = None) -> Any:
        return self.make_request(
            "DELETE", "%s/%s/rooms/%s" % (ADMIN, version, room_id), {} if body is None else body, token or self.admin_token
        )

    def test_v1_shutdown_and_purge(self) -> None:
        """``check_can_shutdown_room(admin, room)``, then every member leaves; the room is gone."""
        channel = self.delete("v1", self.room)
        self.assertEqual(channel.code, 200, channel.json_body)
        self.assertEqual(
            channel.json_body,
            {"kicked_users": ["@alice:test.local", "@bob:test.local"], "failed_to_kick_users": [],
             "local_aliases": [], "new_room_id": None},
        )  # fmt: skip
        self.assertEqual(self.calls()[0], ("check_can_shutdown_room", ("@admin:test.local", self.room)))
        self.assertEqual(self.names()[1:], ["check_event_allowed", "on_new_event"] * 2)
        self.assert_error(self.request("GET", self.room_path(self.room, "state"), self.alice_token), 403, "M_FORBIDDEN",
                          "User @alice:test.local not in room %s, and room previews are disabled" % self.room)  # fmt: skip
        self.assertEqual(self.ok("GET", "/joined_rooms", self.bob_token), {"joined_rooms": []})
        self.assert_error(self.request("GET", "/directory/room/%23doomed:test.local", None), 404, "M_NOT_FOUND",
                          "Room alias #doomed:test.local not found")  # fmt: skip
        again = self.delete("v1", self.room)
        self.assertEqual(again.json_body["kicked_users"], [])

    def test_denied(self) -> None:
        """``check_can_shutdown_room`` False: 403 "Shutdown of this room is forbidden" (v1, v2)."""
        self.answer("check_can_shutdown_room", False)
        for version in ("v1", "v2"):
            self.assert_error(self.delete(version, self.room), 403, "M_FORBIDDEN", "Shutdown of this room is forbidden")
        self.assertIn(("m.room.member", "@bob:test.local"), self.state(self.bob_token, self.room))

    def test_raising_callback_allows(self) -> None:
        """A raising ``check_can_shutdown_room`` counts as allowed."""

        def fail(*args: Any) -> None:
            raise RuntimeError("boom")

        self.answer("check_can_shutdown_room", fail)
        self.assertEqual(self.delete("v1", self.room).code, 200)

    def test_v2_background_task(self) -> None:
        """v2 answers ``{"delete_id"}``; the task calls the callback again and completes."""
        channel = self.delete("v2", self.room)
        self.assertEqual(channel.code, 200)
        delete_id = channel.json_body["delete_id"]
        self.assertEqual(len(delete_id), 16)
        self.assertEqual(self.names().count("check_can_shutdown_room"), 2)
        status = self.ok_admin("GET", "/v2/rooms/delete_status/" + delete_id)
        self.assertEqual(status["status"], "complete")
        self.assertEqual(status["shutdown_room"]["kicked_users"], ["@alice:test.local", "@bob:test.local"])
        by_room = self.ok_admin("GET", "/v2/rooms/%s/delete_status" % self.room)
        self.assertEqual(by_room["results"][0]["delete_id"], delete_id)

    def test_block_and_new_room(self) -> None:
        """``block`` stops joins; ``new_room_user_id`` moves members and aliases to a new room."""
        channel = self.delete("v1", self.room, {"new_room_user_id": self.admin, "purge": False, "block": True})
        result = channel.json_body
        self.assertEqual(result["kicked_users"], ["@alice:test.local", "@bob:test.local"])
        self.assertEqual(result["local_aliases"], ["#doomed:test.local"])
        new_room = result["new_room_id"]
        self.assertIn(new_room, self.ok("GET", "/joined_rooms", self.bob_token)["joined_rooms"])
        self.assertEqual(self.ok("GET", "/directory/room/%23doomed:test.local", None)["room_id"], new_room)
        self.assert_error(self.request("POST", self.room_path(self.room, "join"), self.bob_token, {}), 403, "M_UNKNOWN",
                          "This room has been blocked on this server")  # fmt: skip

    def test_request_errors(self) -> None:
        """Non-admins, bad bodies and bad room IDs, with Synapse's texts."""
        self.assert_error(self.delete("v1", self.room, token=self.alice_token), 403, "M_FORBIDDEN", "You are not a server admin")
        self.assert_error(self.delete("v1", self.room, {"block": "yes"}), 400, "M_BAD_JSON", "Param 'block' must be a boolean, if given")
        self.assert_error(self.delete("v1", "abc"), 400, "M_UNKNOWN", "abc is not a legal room ID")
        empty = self.make_request("DELETE", "%s/v1/rooms/%s" % (ADMIN, self.room), None, self.admin_token)
        self.assert_error(empty, 400, "M_NOT_JSON", "Content not JSON.")
        unknown = self.delete("v1", "!nope:test.local")
        self.assertEqual(unknown.json_body["kicked_users"], [])

    def ok_admin(self, method: str, path: str) -> Any:
        channel = self.make_request(method, ADMIN + path, None, self.admin_token)
        self.assertEqual(channel.code, 200, channel.json_body)
        return channel.json_body
