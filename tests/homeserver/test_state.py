"""Reading rooms as a client: ``/state``, ``/state/{type}/{key}``, ``/members``,
``/joined_members``, ``/event/{eventId}``, ``/joined_rooms``, with Synapse's access rules."""

from __future__ import annotations

from tests.homeserver._rooms_base import RoomsTestBase


class StateReadTests(RoomsTestBase):
    """State, members and events as members and strangers read them."""

    with_probe = False

    def setUp(self) -> None:
        super().setUp()
        self.room = self.create_room(self.alice_token, preset="public_chat", name="n")
        self.join(self.bob_token, self.room)

    def test_state_formats(self) -> None:
        """``/state`` in the v1 client format; one state event as content or event."""
        events = self.ok("GET", self.room_path(self.room, "state"), self.bob_token)
        name = [e for e in events if e["type"] == "m.room.name"][0]
        self.assertEqual(name["content"], {"name": "n"})
        self.assertEqual(name["user_id"], "@alice:test.local")
        self.assertIn("age", name["unsigned"])
        content = self.ok("GET", self.room_path(self.room, "state/m.room.name"), self.bob_token)
        self.assertEqual(content, {"name": "n"})
        self.assertEqual(self.ok("GET", self.room_path(self.room, "state/m.room.name/"), self.bob_token), {"name": "n"})
        event = self.ok("GET", self.room_path(self.room, "state/m.room.name?format=event"), self.bob_token)
        self.assertEqual((event["type"], event["content"]), ("m.room.name", {"name": "n"}))
        self.assertNotIn("user_id", event)
        self.assert_error(self.request("GET", self.room_path(self.room, "state/m.room.topic"), self.bob_token),
                          404, "M_NOT_FOUND", "Event not found.")  # fmt: skip

    def test_members(self) -> None:
        """``/members`` with membership filters and ``/joined_members`` with profiles."""
        chunk = self.ok("GET", self.room_path(self.room, "members"), self.alice_token)["chunk"]
        self.assertEqual(sorted(e["state_key"] for e in chunk), ["@alice:test.local", "@bob:test.local"])
        self.ok("POST", self.room_path(self.room, "leave"), self.bob_token, {})
        joined = self.ok("GET", self.room_path(self.room, "members?membership=join"), self.alice_token)["chunk"]
        self.assertEqual([e["state_key"] for e in joined], ["@alice:test.local"])
        left = self.ok("GET", self.room_path(self.room, "members?not_membership=join"), self.alice_token)["chunk"]
        self.assertEqual([e["state_key"] for e in left], ["@bob:test.local"])
        members = self.ok("GET", self.room_path(self.room, "joined_members"), self.alice_token)
        self.assertEqual(members, {"joined": {"@alice:test.local": {"avatar_url": None, "display_name": "alice"}}})

    def test_departed_user_sees_state_when_left(self) -> None:
        """A user who left sees the state as it was when they left; a stranger gets 403."""
        self.ok("POST", self.room_path(self.room, "leave"), self.bob_token, {})
        self.ok("PUT", self.room_path(self.room, "state/m.room.name"), self.alice_token, {"name": "later"})
        state = self.state(self.bob_token, self.room)
        self.assertEqual(state[("m.room.name", "")], {"name": "n"})
        self.assertEqual(state[("m.room.member", "@bob:test.local")]["membership"], "leave")
        self.assert_error(
            self.request("GET", self.room_path(self.room, "joined_members"), self.bob_token), 403, "M_FORBIDDEN",
            "Getting joined members while not being a current member of the room is forbidden.",
        )  # fmt: skip
        self.assert_error(self.request("GET", self.room_path(self.room, "state"), self.admin_token), 403, "M_FORBIDDEN",
                          "User @admin:test.local not in room %s, and room previews are disabled" % self.room)  # fmt: skip

    def test_world_readable_room(self) -> None:
        """Anyone may read a world-readable room's state."""
        self.ok("PUT", self.room_path(self.room, "state/m.room.history_visibility"), self.alice_token,
                {"history_visibility": "world_readable"})  # fmt: skip
        self.assertIn(("m.room.name", ""), self.state(self.admin_token, self.room))

    def test_event_endpoint(self) -> None:
        """``/event/{eventId}``: client format with ``unsigned.membership``; 404 for
        unknown events, other rooms' events and events the user may not see."""
        event_id = self.send(self.alice_token, self.room, "visible").json_body["event_id"]
        event = self.ok("GET", self.room_path(self.room, "event/" + event_id), self.bob_token)
        self.assertEqual(event["content"], {"body": "visible", "msgtype": "m.text"})
        self.assertEqual(event["unsigned"]["membership"], "join")
        self.assertEqual(event["room_id"], self.room)
        not_found = ("M_NOT_FOUND", "Event not found.")
        self.assert_error(self.request("GET", self.room_path(self.room, "event/$nope"), self.bob_token), 404, *not_found)
        other = self.create_room(self.alice_token)
        self.assert_error(self.request("GET", self.room_path(other, "event/" + event_id), self.alice_token), 404, *not_found)
        private = self.create_room(self.alice_token, initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}])  # fmt: skip
        secret = self.send(self.alice_token, private, "before").json_body["event_id"]
        self.invite(self.alice_token, private, self.bob)
        self.join(self.bob_token, private)
        self.assert_error(self.request("GET", self.room_path(private, "event/" + secret), self.bob_token), 404, *not_found)

    def test_joined_rooms(self) -> None:
        """``/joined_rooms`` lists joined rooms only."""
        other = self.create_room(self.alice_token, preset="private_chat")
        self.invite(self.alice_token, other, self.bob)
        self.assertEqual(self.ok("GET", "/joined_rooms", self.bob_token), {"joined_rooms": [self.room]})
