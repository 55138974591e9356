"""A refused ``POST /createRoom`` leaves nothing behind: the database holds the rows it
held before, the alias is free again, /sync and /joined_rooms do not show the room, and
the callbacks up to the failure are Synapse's."""

from __future__ import annotations

import urllib.parse
from typing import Any, Dict, List, Optional

from synapse_modhost._codes import Codes
from synapse_modhost.testing._channel import FakeChannel
from tests.homeserver._db_rows import count_rows, table_rows
from tests.homeserver._rooms_base import RoomsTestBase
from tests.homeserver._rooms_probe import RoomsProbe

BAD_LEVELS: Dict[str, Any] = {"room_alias_name": "left", "power_level_content_override": {"ban": "x"}}
INTERNAL = {"errcode": "M_UNKNOWN", "error": "Internal server error"}


class CreateRoomAtomicTests(RoomsTestBase):
    """Each way ``createRoom`` can fail after its first check, with an earlier room of
    alice's (``self.kept``) that must stay as it is."""

    def setUp(self) -> None:
        super().setUp()
        self.kept = self.create_room(self.alice_token, name="kept", room_alias_name="kept")
        # a later create event gets another ID (the clock is frozen otherwise)
        self.pump(1)
        self.reset_calls()

    # ------------------------------------------------------------------ helpers

    def create(self, token: Optional[str] = None, **body: Any) -> FakeChannel:
        return self.request("POST", "/createRoom", token or self.alice_token, body)

    def refused(self, body: Dict[str, Any], code: int, errcode: str, error: str) -> FakeChannel:
        """``body`` is refused with exactly this error and the database is unchanged."""
        counts, rows = count_rows(self), table_rows(self)
        channel = self.create(**body)
        if code == 500:
            self.assertEqual((channel.code, channel.json_body), (500, INTERNAL))
        else:
            self.assert_error(channel, code, errcode, error)
        self.assertEqual(count_rows(self), counts)
        self.assertEqual(table_rows(self), rows)
        return channel

    @staticmethod
    def attempted_room() -> str:
        """The room ID the failed request used (``check_visibility_can_be_modified`` saw it)."""
        args = RoomsProbe.args_of("check_visibility_can_be_modified")
        return str(args[-1][0])

    def assert_alias_free(self, localpart: str) -> None:
        """The alias resolves to nothing, then a valid ``createRoom`` can take it."""
        path = "/directory/room/" + urllib.parse.quote("#%s:test.local" % (localpart,))
        self.assert_error(
            self.request("GET", path, None), 404, "M_NOT_FOUND", "Room alias #%s:test.local not found" % localpart
        )
        room_id = self.create_room(self.alice_token, room_alias_name=localpart, name="second try")
        self.assertEqual(self.ok("GET", path, None)["room_id"], room_id)
        self.assertEqual(self.state(self.alice_token, room_id)[("m.room.name", "")], {"name": "second try"})

    def joined_rooms(self, token: str) -> List[str]:
        return list(self.ok("GET", "/joined_rooms", token)["joined_rooms"])

    # ------------------------------------------------------------------ failures after the first write

    def test_bad_power_levels(self) -> None:
        """A bad ``power_level_content_override``: 400 M_BAD_JSON, no rows, the alias free."""
        self.refused(BAD_LEVELS, 400, "M_BAD_JSON", "\"ban\": 'x' is not of type 'integer'")
        self.assertEqual(self.joined_rooms(self.alice_token), [self.kept])
        self.assert_alias_free("left")

    def test_callbacks_up_to_the_failure(self) -> None:
        """The callbacks before the bad power levels are Synapse's, create and join
        included (they were persisted before the failure, as on Synapse)."""
        self.create(**BAD_LEVELS)
        self.assertEqual(
            self.names(),
            ["on_create_room", "user_may_create_room", "check_event_allowed",
             "check_visibility_can_be_modified", "user_may_create_room_alias", "on_new_event",
             "check_event_allowed", "on_new_event", "check_event_allowed"],
        )  # fmt: skip
        self.assertEqual(RoomsProbe.args_of("check_event_allowed")[-1][0][1], "m.room.power_levels")

    def test_name_too_large(self) -> None:
        """A name making its event too large: 413 M_TOO_LARGE, no rows, the alias free."""
        self.refused({"room_alias_name": "big", "name": "x" * 70000}, 413, "M_TOO_LARGE", "event too large")
        self.assert_alias_free("big")

    def test_initial_state_without_content(self) -> None:
        """An ``initial_state`` entry without content: Synapse's 500, no rows."""
        self.refused({"room_alias_name": "init", "initial_state": [{"type": "m.room.name"}]}, 500, "", "")
        self.assertIn("user_may_create_room_alias", self.names())
        self.assert_alias_free("init")

    def test_alias_denied(self) -> None:
        """``user_may_create_room_alias`` refusing after the room row was written: no rows."""
        self.answer("user_may_create_room_alias", Codes.FORBIDDEN)
        self.refused(
            {"room_alias_name": "nope"}, 403, "M_FORBIDDEN", "This user is not permitted to create this alias"
        )
        self.assertIsNone(self.get_success(self.hs.event_store.rooms.get_room(self.attempted_room())))

    def test_invite_denied(self) -> None:
        """``user_may_invite`` refusing the last step: no room, no invite for bob."""
        self.answer("user_may_invite", False)
        self.refused(
            {"room_alias_name": "inv", "invite": [self.bob]}, 403, "M_FORBIDDEN",
            "Invites have been disabled on this server",
        )  # fmt: skip
        self.assertEqual(self.names()[-1], "user_may_invite")
        body = self.ok("GET", "/sync", self.bob_token)
        self.assertEqual(body.get("rooms", {}).get("invite", {}), {})
        self.answer("user_may_invite", True)
        self.assert_alias_free("inv")

    def test_older_room_version(self) -> None:
        """Room v10 (a random room ID stored before the create event): no rows either."""
        self.refused(dict(BAD_LEVELS, room_version="10"), 400, "M_BAD_JSON", "\"ban\": 'x' is not of type 'integer'")
        self.assert_alias_free("left")

    # ------------------------------------------------------------------ failures before any write

    def test_visibility_denied(self) -> None:
        """``check_visibility_can_be_modified`` refusing: 403 before the room row exists."""
        self.answer("check_visibility_can_be_modified", False)
        self.refused({"room_alias_name": "vis"}, 403, "M_UNKNOWN", "Room visibility value not allowed.")
        self.assertEqual(self.names()[-1], "check_visibility_can_be_modified")
        self.answer("check_visibility_can_be_modified", True)
        self.assert_alias_free("vis")

    def test_wrong_shapes(self) -> None:
        """Fields of the wrong JSON type: 400 M_BAD_JSON (Synapse: 500) before any other
        callback and any write."""
        cases = [
            ({"initial_state": {"type": "x"}}, "\"initial_state\": {'type': 'x'} is not of type 'array'"),
            ({"initial_state": 5}, "\"initial_state\": 5 is not of type 'array'"),
            ({"creation_content": 5}, "\"creation_content\": 5 is not of type 'object'"),
            ({"creation_content": None}, "\"creation_content\": None is not of type 'object'"),
            ({"power_level_content_override": [1]}, "\"power_level_content_override\": [1] is not of type 'object'"),
            ({"room_alias_name": 5}, "\"room_alias_name\": 5 is not of type 'string'"),
            ({"invite": 5}, "\"invite\": 5 is not of type 'array'"),
            ({"invite_3pid": "x"}, "\"invite_3pid\": 'x' is not of type 'array'"),
        ]
        for body, error in cases:
            self.reset_calls()
            self.refused(body, 400, "M_BAD_JSON", error)
            self.assertEqual(self.names(), ["on_create_room"], body)

    def test_null_override_still_allowed(self) -> None:
        """``power_level_content_override: null`` is ignored, as Synapse does."""
        room_id = self.create_room(self.alice_token, power_level_content_override=None)
        self.assertEqual(self.state(self.alice_token, room_id)[("m.room.power_levels", "")]["ban"], 50)

    # ------------------------------------------------------------------ what clients and caches see

    def test_sync_and_joined_rooms(self) -> None:
        """Neither an initial nor an incremental /sync of the creator shows the room."""
        since = self.ok("GET", "/sync", self.alice_token)["next_batch"]
        self.create(**BAD_LEVELS)
        room_id = self.attempted_room()
        self.assertEqual(self.joined_rooms(self.alice_token), [self.kept])
        initial = self.ok("GET", "/sync", self.alice_token)
        self.assertEqual(sorted(initial["rooms"]["join"]), [self.kept])
        self.assertNotIn(room_id, initial["rooms"].get("leave", {}))
        later = self.ok("GET", "/sync?since=" + since, self.alice_token)
        self.assertEqual(later.get("rooms", {}), {})
        self.assertNotEqual(later["next_batch"], since)

    def test_caches_forgotten(self) -> None:
        """The store forgets the room and its events; nothing is reserved any more."""
        self.create(**BAD_LEVELS)
        room_id = self.attempted_room()
        store = self.hs.event_store
        self.assertIsNone(store.cached_room(room_id))
        persisted = [args[0] for name, args in RoomsProbe.raw if name == "on_new_event"]
        self.assertEqual([e.type for e in persisted], ["m.room.create", "m.room.member"])
        for event in persisted:
            self.assertIsNone(store.get_cached_event(event.event_id))
            self.assertIsNone(self.get_success(store.get_event(event.event_id)))
        self.assertEqual(self.get_success(store.get_current_state_ids(room_id)), {})
        self.assertEqual(self.hs.rooms._reserved_room_ids, set())
        self.assert_error(
            self.request("GET", self.room_path(room_id, "state"), self.alice_token),
            403, "M_FORBIDDEN", "User @alice:test.local not in room %s, and room previews are disabled" % (room_id,),
        )  # fmt: skip

    def test_public_room_list_unchanged(self) -> None:
        """A failed public room is not in /publicRooms nor the room list visibility."""
        before = self.ok("GET", "/publicRooms", self.bob_token)
        self.refused(dict(BAD_LEVELS, visibility="public", preset="public_chat"), 400, "M_BAD_JSON",
                     "\"ban\": 'x' is not of type 'integer'")  # fmt: skip
        self.assertEqual(self.ok("GET", "/publicRooms", self.bob_token), before)
        self.assert_error(
            self.request("GET", "/directory/list/room/" + urllib.parse.quote(self.attempted_room()), None),
            404, "M_NOT_FOUND", "Unknown room",
        )  # fmt: skip
