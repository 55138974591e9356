"""``ModuleApi`` room members (MODULEAPI.md §1.3, §2): they go through the same handlers,
checks and callbacks as the client API."""

from __future__ import annotations

from typing import Any

from synapse_modhost.errors import SynapseError
from synapse_modhost.types import RoomAlias, RoomID
from tests.homeserver._rooms_base import RoomsTestBase
from tests.homeserver._rooms_probe import RoomsProbe


class RoomsApiTests(RoomsTestBase):
    """The room members of ``ModuleApi``."""

    def setUp(self) -> None:
        super().setUp()
        self.api = RoomsProbe.instances[0].api
        self.room = self.create_room(self.alice_token, preset="public_chat", room_alias_name="api")
        self.reset_calls()

    def test_create_room(self) -> None:
        """Full ``createRoom`` path; ``(room_id, alias)``; remote users refused."""
        room_id, alias = self.get_success(self.api.create_room(self.bob, {"room_alias_name": "made"}))
        self.assertEqual(alias, "#made:test.local")
        self.assertIn("on_create_room", self.names())
        self.assertEqual(self.state(self.bob_token, room_id)[("m.room.canonical_alias", "")], {"alias": alias})
        failure = self.get_failure(self.api.create_room("@x:elsewhere", {}), RuntimeError)
        self.assertIn("isn't local", str(failure.value))

    def test_create_and_send_event_into_room(self) -> None:
        """Modules' events hit ``check_event_allowed`` and ``check_event_for_spam``."""
        event = self.get_success(self.api.create_and_send_event_into_room(
            {"type": "m.room.message", "room_id": self.room, "sender": self.alice,
             "content": {"msgtype": "m.text", "body": "from a module"}}))  # fmt: skip
        self.assertEqual(event.content["body"], "from a module")
        self.assertEqual(self.names(), ["check_event_allowed", "check_event_for_spam", "on_new_event"])
        self.answer("check_event_for_spam", True)
        failure = self.get_failure(self.api.create_and_send_event_into_room(
            {"type": "m.room.message", "room_id": self.room, "sender": self.alice,
             "content": {"msgtype": "m.text", "body": "spam"}}), SynapseError)  # fmt: skip
        self.assertEqual(failure.value.code, 403)

    def test_update_room_membership(self) -> None:
        """Profile filled in; ``user_may_join_room`` runs; returns the event."""
        self.get_success(self.hs.user_store.set_displayname(self.bob, "Bob B"))
        event = self.get_success(self.api.update_room_membership(self.bob, self.bob, self.room, "join"))
        self.assertEqual(event.content, {"displayname": "Bob B", "membership": "join"})
        self.assertEqual(self.names(), ["user_may_join_room", "check_event_allowed", "on_new_event"])
        failure = self.get_failure(self.api.update_room_membership("@x:elsewhere", self.bob, self.room, "join"), RuntimeError)
        self.assertIn("isn't local", str(failure.value))

    def test_state_reads(self) -> None:
        """``get_room_state`` (filtered) and ``get_state_events_in_room``."""
        state = self.get_success(self.api.get_room_state(self.room))
        self.assertIn(("m.room.create", ""), state)
        members = self.get_success(self.api.get_room_state(self.room, [("m.room.member", None)]))
        self.assertEqual(list(members), [("m.room.member", "@alice:test.local")])
        events = list(self.get_success(self.api.get_state_events_in_room(self.room, [("m.room.join_rules", "")])))
        self.assertEqual([e.content["join_rule"] for e in events], ["public"])

    def test_aliases(self) -> None:
        """``lookup_room_alias`` and ``get_canonical_room_alias``."""
        self.assertEqual(self.get_success(self.api.lookup_room_alias("#api:test.local")), (self.room, ["test.local"]))
        self.get_failure(self.api.lookup_room_alias("#missing:test.local"), SynapseError)
        alias = self.get_success(self.api.get_canonical_room_alias(RoomID.from_string(self.room)))
        self.assertEqual(alias, RoomAlias("api", "test.local"))
        other = self.create_room(self.alice_token)
        self.assertIsNone(self.get_success(self.api.get_canonical_room_alias(RoomID.from_string(other))))

    def test_delete_room(self) -> None:
        """``check_can_shutdown_room(None, room)`` in the background, then the room is gone."""
        self.get_success(self.api.delete_room(self.room))
        self.assertEqual(self.calls()[0], ("check_can_shutdown_room", (None, self.room)))
        self.assertEqual(self.ok("GET", "/joined_rooms", self.alice_token), {"joined_rooms": []})

    def test_public_room_list_manager(self) -> None:
        """The manager's three methods, without any callback."""
        manager: Any = self.api.public_room_list_manager
        self.assertFalse(self.get_success(manager.room_is_in_public_room_list(self.room)))
        self.get_success(manager.add_room_to_public_room_list(self.room))
        self.assertTrue(self.get_success(manager.room_is_in_public_room_list(self.room)))
        self.get_success(manager.remove_room_from_public_room_list(self.room))
        self.assertFalse(self.get_success(manager.room_is_in_public_room_list(self.room)))
        self.assertFalse(self.get_success(manager.room_is_in_public_room_list("!unknown:test.local")))
        self.assertEqual(self.names(), [])
