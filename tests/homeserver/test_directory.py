"""The room directory (TRIGGERS.md §4): aliases, the published room list, ``/publicRooms``."""

from __future__ import annotations

from typing import Any, Dict

from synapse_modhost._codes import Codes
from synapse_modhost.testing import override_config
from synapse_modhost.types import RoomAlias
from tests.homeserver._rooms_base import RoomsTestBase

ALLOW_PUBLISHING: Dict[str, Any] = {"room_list_publication_rules": [{"action": "allow"}]}


class AliasTests(RoomsTestBase):
    """``/directory/room/{roomAlias}``."""

    def setUp(self) -> None:
        super().setUp()
        self.room = self.create_room(self.alice_token, preset="public_chat")
        self.reset_calls()

    def put(self, alias: str, token: Any, body: Any) -> Any:
        return self.request("PUT", "/directory/room/" + alias, token, body)

    def test_create_alias(self) -> None:
        """``user_may_create_room_alias(user, RoomAlias)``; the alias resolves; 409 when taken."""
        self.assertEqual(self.put("%23a1:test.local", self.alice_token, {"room_id": self.room}).code, 200)
        self.assertEqual(self.calls(), [("user_may_create_room_alias", ("@alice:test.local", RoomAlias("a1", "test.local")))])
        self.assertEqual(self.ok("GET", "/directory/room/%23a1:test.local", None), {"room_id": self.room, "servers": ["test.local"]})
        self.assert_error(self.put("%23a1:test.local", self.alice_token, {"room_id": self.room}), 409, "M_UNKNOWN",
                          "Room alias #a1:test.local already exists")  # fmt: skip

    def test_admin_is_checked_too(self) -> None:
        """Admins get ``user_may_create_room_alias`` too (and skip the membership rule)."""
        self.answer("user_may_create_room_alias", (Codes.FORBIDDEN, {"x": 1}))
        channel = self.put("%23a2:test.local", self.admin_token, {"room_id": self.room})
        self.assertEqual(channel.code, 403)
        self.assertEqual(channel.json_body, {"errcode": "M_FORBIDDEN", "error": "This user is not permitted to create this alias", "x": 1})

    def test_alias_errors(self) -> None:
        """Synapse's 400/401/403/404s (pydantic texts included)."""
        self.assert_error(self.put("nope", self.alice_token, {"room_id": self.room}), 400, "M_INVALID_PARAM", "Room alias invalid")
        channel = self.put("%23a3:test.local", self.alice_token, {})
        self.assertEqual(channel.code, 400)
        self.assertEqual(channel.json_body["errcode"], "M_MISSING_PARAM")
        self.assertEqual(
            channel.json_body["error"],
            "1 validation error for PutBody\nroom_id\n  Field required [type=missing, input_value={}, input_type=dict]\n"
            "    For further information visit https://errors.pydantic.dev/2.14/v/missing",
        )
        self.assertTrue(self.put("%23a3:test.local", self.alice_token, {"room_id": 5}).json_body["error"].startswith(
            "1 validation error for PutBody\nroom_id\n  Input should be a valid string [type=string_type, input_value=5"))
        self.assert_error(self.put("%23a3:test.local", self.alice_token, {"room_id": "!x:test.local"}), 400, "M_UNKNOWN",
                          "Room does not exist")  # fmt: skip
        self.assert_error(self.put("%23a3:test.local", None, {"room_id": self.room}), 401, "M_MISSING_TOKEN", "Missing access token")
        self.assert_error(self.put("%23a3:test.local", self.bob_token, {"room_id": self.room}), 403, "M_FORBIDDEN",
                          "You must be in the room to create an alias for it")  # fmt: skip
        self.assert_error(self.put("%23a3:other.test", self.alice_token, {"room_id": self.room}), 400, "M_UNKNOWN",
                          "Room alias must be local")  # fmt: skip
        self.assert_error(self.request("GET", "/directory/room/%23zz:test.local", None), 404, "M_NOT_FOUND",
                          "Room alias #zz:test.local not found")  # fmt: skip

    def test_delete_alias(self) -> None:
        """Only the creator (or an admin or room moderator) deletes; the canonical alias
        event is updated."""
        self.ok("PUT", "/directory/room/%23a4:test.local", self.alice_token, {"room_id": self.room})
        self.ok("PUT", self.room_path(self.room, "state/m.room.canonical_alias"), self.alice_token, {"alias": "#a4:test.local"})
        self.assert_error(self.request("DELETE", "/directory/room/%23a4:test.local", self.bob_token), 403, "M_FORBIDDEN",
                          "User @bob:test.local not in room %s" % self.room)  # fmt: skip
        self.assert_error(self.request("DELETE", "/directory/room/%23zz:test.local", self.alice_token), 404, "M_NOT_FOUND",
                          "Unknown room alias")  # fmt: skip
        self.ok("DELETE", "/directory/room/%23a4:test.local", self.alice_token)
        self.assertEqual(self.state(self.alice_token, self.room)[("m.room.canonical_alias", "")], {})
        self.assertEqual(self.ok("GET", self.room_path(self.room, "aliases"), self.alice_token), {"aliases": []})

    def test_canonical_alias_must_point_here(self) -> None:
        """An ``m.room.canonical_alias`` naming an alias of another room is 400 M_BAD_ALIAS."""
        self.assert_error(
            self.request("PUT", self.room_path(self.room, "state/m.room.canonical_alias"), self.alice_token,
                         {"alias": "#nowhere:test.local"}),
            400, "M_BAD_ALIAS", "Room alias #nowhere:test.local does not point to the room",
        )  # fmt: skip


class PublishTests(RoomsTestBase):
    """``/directory/list/room/{roomId}`` and ``/publicRooms``."""

    def setUp(self) -> None:
        super().setUp()
        self.room = self.create_room(self.alice_token, preset="public_chat", name="Lobby", topic="chat")
        self.reset_calls()

    def publish(self, token: str, visibility: str) -> Any:
        return self.request("PUT", "/directory/list/room/" + self.room, token, {"visibility": visibility})

    def test_default_rules_refuse_publishing(self) -> None:
        """``user_may_publish_room`` runs, then the default rules refuse (no visibility check)."""
        self.assert_error(self.publish(self.alice_token, "public"), 403, "M_UNKNOWN", "Not allowed to publish room")
        self.assertEqual(self.calls(), [("user_may_publish_room", ("@alice:test.local", self.room))])

    @override_config(ALLOW_PUBLISHING)
    def test_publish_order(self) -> None:
        """"public": ``user_may_publish_room`` → ``check_visibility_can_be_modified(room,
        state, "public")``; "private": only ``user_may_publish_room``."""
        self.assertEqual(self.publish(self.alice_token, "public").code, 200)
        self.assertEqual(self.names(), ["user_may_publish_room", "check_visibility_can_be_modified"])
        room_id, state, visibility = self.calls()[1][1]
        self.assertEqual((room_id, visibility), (self.room, "public"))
        self.assertIn(("m.room.name", ""), state)
        self.assertEqual(self.ok("GET", "/directory/list/room/" + self.room, None), {"visibility": "public"})
        self.reset_calls()
        self.assertEqual(self.publish(self.alice_token, "private").code, 200)
        self.assertEqual(self.names(), ["user_may_publish_room"])

    @override_config(ALLOW_PUBLISHING)
    def test_publish_denials(self) -> None:
        """The spam checker, the visibility callback and non-moderators, with Synapse's texts."""
        self.answer("user_may_publish_room", Codes.FORBIDDEN)
        self.assert_error(self.publish(self.alice_token, "private"), 403, "M_FORBIDDEN",
                          "This user is not permitted to publish rooms to the room list")  # fmt: skip
        self.answer("user_may_publish_room", True)
        self.answer("check_visibility_can_be_modified", False)
        self.assert_error(self.publish(self.alice_token, "public"), 403, "M_UNKNOWN", "Not allowed to publish room")
        self.join(self.bob_token, self.room)
        self.assert_error(self.publish(self.bob_token, "private"), 403, "M_FORBIDDEN",
                          "This server requires you to be a moderator in the room to edit its room list entry")  # fmt: skip
        self.assert_error(self.request("PUT", "/directory/list/room/!x:test.local", self.alice_token, {"visibility": "private"}),
                          400, "M_UNKNOWN", "Unknown room")  # fmt: skip
        self.assert_error(self.request("GET", "/directory/list/room/!x:test.local", None), 404, "M_NOT_FOUND", "Unknown room")
        bad = self.publish(self.alice_token, "x")
        self.assertEqual((bad.code, bad.json_body["errcode"]), (400, "M_BAD_JSON"))

    @override_config(ALLOW_PUBLISHING)
    def test_public_rooms(self) -> None:
        """``/publicRooms`` lists published rooms (GET and POST with a search filter)."""
        self.publish(self.alice_token, "public")
        body = self.ok("GET", "/publicRooms", self.bob_token)
        self.assertEqual(body["total_room_count_estimate"], 1)
        self.assertEqual(
            body["chunk"],
            [{"room_id": self.room, "name": "Lobby", "topic": "chat", "num_joined_members": 1, "world_readable": False,
              "guest_can_join": False, "join_rule": "public"}],
        )  # fmt: skip
        found = self.ok("POST", "/publicRooms", self.bob_token, {"filter": {"generic_search_term": "lob"}})
        self.assertEqual(len(found["chunk"]), 1)
        none = self.ok("POST", "/publicRooms", self.bob_token, {"filter": {"generic_search_term": "zzz"}})
        self.assertEqual(none, {"chunk": [], "total_room_count_estimate": 0})
        self.assert_error(self.request("GET", "/publicRooms", None), 401, "M_MISSING_TOKEN", "Missing access token")

    @override_config(ALLOW_PUBLISHING)
    def test_public_rooms_pagination(self) -> None:
        """``limit`` and ``next_batch``/``since`` page through the list."""
        self.publish(self.alice_token, "public")
        other = self.create_room(self.alice_token, preset="public_chat")
        self.ok("PUT", "/directory/list/room/" + other, self.alice_token, {"visibility": "public"})
        first = self.ok("GET", "/publicRooms?limit=1", self.bob_token)
        self.assertEqual(len(first["chunk"]), 1)
        second = self.ok("GET", "/publicRooms?limit=1&since=" + first["next_batch"], self.bob_token)
        self.assertEqual(len(second["chunk"]), 1)
        self.assertNotEqual(first["chunk"][0]["room_id"], second["chunk"][0]["room_id"])
        self.assertIn("prev_batch", second)
