"""``POST /createRoom``: callback order and arguments (TRIGGERS.md §1), denials, presets
and initial events, persistence across a restart."""

from __future__ import annotations

from typing import Any, Dict

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.types import NOT_SPAM, RatelimitOverride, RoomAlias
from tests.homeserver._rooms_base import RoomsTestBase
from tests.homeserver._rooms_probe import RoomsProbe

BODY: Dict[str, Any] = {
    "name": "r1",
    "room_alias_name": "r1",
    "visibility": "public",
    "invite": ["@bob:test.local"],
    "preset": "public_chat",
}
BATCH = ["power_levels", "canonical_alias", "join_rules", "history_visibility", "name"]


class CreateRoomOrderTests(RoomsTestBase):
    """The callbacks of one ``/createRoom``, in Synapse's order."""

    def test_order_room_v12(self) -> None:
        """Public room with alias and invite: the observed Synapse 1.163 sequence."""
        room_id = self.create_room(self.alice_token, **BODY)
        self.assertEqual(RoomsProbe.calls[0], ("is_user_expired", ("@alice:test.local",)))
        allowed = ["check_event_allowed"] * len(BATCH)
        new = ["on_new_event"] * len(BATCH)
        self.assertEqual(
            self.names(),
            ["on_create_room", "get_ratelimit_override_for_user", "user_may_create_room",
             "check_event_allowed", "check_visibility_can_be_modified",
             "user_may_create_room_alias", "on_new_event",
             "check_event_allowed", "on_new_event"]
            + allowed + new
            + ["user_may_invite", "check_event_allowed", "on_new_event"],
        )  # fmt: skip
        calls = self.calls()
        self.assertEqual(calls[0], ("on_create_room", ("@alice:test.local", BODY, False)))
        self.assertEqual(calls[1][1], ("@alice:test.local", "rc_invites.per_room"))
        self.assertEqual(calls[2], ("user_may_create_room", ("@alice:test.local", BODY)))
        self.assertEqual(calls[3][1], (("EVENT", "m.room.create", "", {"room_version": "12"}), {}))
        self.assertEqual(calls[4], ("check_visibility_can_be_modified", (room_id, {}, "public")))
        self.assertEqual(calls[5], ("user_may_create_room_alias", ("@alice:test.local", RoomAlias("r1", "test.local"))))
        member_key = ("m.room.member", "@alice:test.local")
        self.assertEqual(calls[7][1][0][:3], ("EVENT", "m.room.member", "@alice:test.local"))
        self.assertEqual(calls[7][1][1], [("m.room.create", "")])
        batch = calls[9 : 9 + len(BATCH)]
        self.assertEqual([c[1][0][1] for c in batch], ["m.room." + t for t in BATCH])
        for call in batch:
            # Synapse shows the batched events the state right after the creator's join
            self.assertEqual(call[1][1], [("m.room.create", ""), member_key])
        self.assertEqual(calls[-3], ("user_may_invite", ("@alice:test.local", "@bob:test.local", room_id)))
        invite = calls[-2][1][0]
        self.assertEqual(invite, ("EVENT", "m.room.member", "@bob:test.local", {"displayname": "bob", "membership": "invite"}))

    def test_on_new_event_gets_current_state(self) -> None:
        """``on_new_event`` for a batched event sees the whole state after the batch."""
        self.create_room(self.alice_token, preset="private_chat")
        power_levels = [a for n, a in self.calls() if n == "on_new_event" and a[0][1] == "m.room.power_levels"]
        self.assertIn(("m.room.guest_access", ""), power_levels[0][1])

    def test_order_older_room_version(self) -> None:
        """Room v10: the visibility check comes before the create event's check."""
        self.create_room(self.alice_token, room_version="10")
        names = self.names()
        self.assertEqual(
            names[:5],
            ["on_create_room", "user_may_create_room", "check_visibility_can_be_modified",
             "check_event_allowed", "on_new_event"],
        )  # fmt: skip
        create = self.calls()[3][1][0]
        self.assertEqual(create[3], {"creator": "@alice:test.local", "room_version": "10"})

    def test_admin_skips_spam_checks(self) -> None:
        """A server admin gets no ``user_may_create_room`` nor ``user_may_invite``, but
        ``user_may_create_room_alias`` still runs."""
        self.create_room(self.admin_token, **BODY)
        names = self.names()
        self.assertNotIn("user_may_create_room", names)
        self.assertNotIn("user_may_invite", names)
        self.assertIn("user_may_create_room_alias", names)
        self.assertEqual(self.calls()[0][1][2], True)

    def test_on_create_room_mutation_applies(self) -> None:
        """``on_create_room`` gets the live body: its changes shape the room."""

        def rename(user_id: str, config: Dict[str, Any], is_admin: bool) -> None:
            config["name"] = "renamed"

        self.answer("on_create_room", rename)
        room_id = self.create_room(self.alice_token, name="original")
        self.assertEqual(self.state(self.alice_token, room_id)[("m.room.name", "")], {"name": "renamed"})


class CreateRoomDenialTests(RoomsTestBase):
    """Each callback's denial gives Synapse's status, errcode and text."""

    def create(self, token: str = "", **body: Any) -> Any:
        return self.request("POST", "/createRoom", token or self.alice_token, body)

    def test_on_create_room_raises(self) -> None:
        """A failing ``on_create_room`` is 403 M_UNKNOWN; a SynapseError passes through."""

        def fail(*args: Any) -> None:
            raise RuntimeError("no")

        self.answer("on_create_room", fail)
        self.assert_error(self.create(), 403, "M_UNKNOWN", "Room creation forbidden with these parameters")

        def refuse(*args: Any) -> None:
            raise SynapseError(409, "lab says no", "ORG_LAB_NO", {"lab": True})

        self.answer("on_create_room", refuse)
        channel = self.create()
        self.assertEqual(channel.code, 409)
        self.assertEqual(channel.json_body, {"errcode": "ORG_LAB_NO", "error": "lab says no", "lab": True})

    def test_user_may_create_room(self) -> None:
        """403 with the module's code and extra fields."""
        self.answer("user_may_create_room", (Codes.CONSENT_NOT_GIVEN, {"extra_field": "x"}))
        channel = self.create()
        self.assertEqual(channel.code, 403)
        self.assertEqual(
            channel.json_body,
            {"errcode": "M_CONSENT_NOT_GIVEN", "error": "You are not permitted to create rooms", "extra_field": "x"},
        )

    def test_check_event_allowed_create(self) -> None:
        """Refusing the create event is 403 M_FORBIDDEN."""
        self.answer("check_event_allowed", (False, None))
        self.assert_error(self.create(), 403, "M_FORBIDDEN", "This event is not allowed in this context")

    def test_check_visibility(self) -> None:
        """``check_visibility_can_be_modified`` False: 403 M_UNKNOWN."""
        self.answer("check_visibility_can_be_modified", False)
        self.assert_error(self.create(), 403, "M_UNKNOWN", "Room visibility value not allowed.")

    def test_alias_denied(self) -> None:
        """``user_may_create_room_alias``: 403 with the module's code."""
        self.answer("user_may_create_room_alias", Codes.FORBIDDEN)
        self.assert_error(
            self.create(room_alias_name="x"), 403, "M_FORBIDDEN", "This user is not permitted to create this alias"
        )

    def test_invite_denied(self) -> None:
        """``user_may_invite`` during createRoom: 403 (the half-made room is removed again)."""
        self.answer("user_may_invite", False)
        self.assert_error(
            self.create(invite=["@bob:test.local"]), 403, "M_FORBIDDEN", "Invites have been disabled on this server"
        )
        self.assertEqual(self.names()[-1], "user_may_invite")

    def test_ratelimit_too_many_invites(self) -> None:
        """An ``rc_invites.per_room`` override too small for the invite list: 400."""
        self.answer("get_ratelimit_override_for_user", RatelimitOverride(per_second=1.0, burst_count=1))
        self.assert_error(
            self.create(invite=["@bob:test.local", "@admin:test.local"]),
            400, "M_UNKNOWN", "Cannot invite so many users at once",
        )  # fmt: skip
        self.assertNotIn("user_may_create_room", self.names())

    def test_not_spam_allows(self) -> None:
        """``NOT_SPAM`` from every callback: the room is created."""
        self.answer("user_may_create_room", NOT_SPAM)
        self.assertEqual(self.create().code, 200)

    def test_body_errors(self) -> None:
        """Synapse's 400s for bad bodies."""
        self.assert_error(self.create(preset="nope"), 400, "M_BAD_JSON", "'nope' is not a valid preset")
        self.assert_error(
            self.create(room_version="99"), 400, "M_UNSUPPORTED_ROOM_VERSION",
            "Your homeserver does not support this room version",
        )  # fmt: skip
        self.assert_error(self.create(room_version=9), 400, "M_BAD_JSON", "room_version must be a string")
        self.assert_error(self.create(room_alias_name="a b"), 400, "M_UNKNOWN", "Invalid characters in room alias")
        self.assert_error(self.create(invite=["bob"]), 400, "M_UNKNOWN", "Invalid user_id: bob")
        self.assert_error(
            self.create(invite_3pid=[{"medium": "email"}]), 400, "M_MISSING_PARAM",
            "all of `medium`, `address`, `id_server` and `id_access_token` are required when making a 3pid invite",
        )  # fmt: skip
        self.create(room_alias_name="taken")
        self.assert_error(self.create(room_alias_name="taken"), 400, "M_ROOM_IN_USE", "Room alias already taken")


class CreateRoomContentTests(RoomsTestBase):
    """The initial events of each preset and option."""

    def test_private_chat(self) -> None:
        """Private preset: invite join rule, guest access, invite PL 0; v12 creator not in users."""
        room_id = self.create_room(self.alice_token, preset="private_chat", topic="t")
        state = self.state(self.alice_token, room_id)
        self.assertEqual(state[("m.room.join_rules", "")], {"join_rule": "invite"})
        self.assertEqual(state[("m.room.guest_access", "")], {"guest_access": "can_join"})
        self.assertEqual(state[("m.room.history_visibility", "")], {"history_visibility": "shared"})
        self.assertEqual(state[("m.room.topic", "")], {"topic": "t", "m.topic": {"m.text": [{"body": "t"}]}})
        levels = state[("m.room.power_levels", "")]
        self.assertEqual(levels["invite"], 0)
        self.assertEqual(levels["users"], {})
        self.assertEqual(levels["events"]["m.room.tombstone"], 150)
        self.assertEqual(state[("m.room.member", "@alice:test.local")], {"displayname": "alice", "membership": "join"})

    def test_public_chat_and_old_version(self) -> None:
        """Public preset on room v10: creator at 100, ``m.call.invite`` 50, no guest access."""
        room_id = self.create_room(self.alice_token, preset="public_chat", room_version="10")
        self.assertTrue(room_id.endswith(":test.local"))
        state = self.state(self.alice_token, room_id)
        levels = state[("m.room.power_levels", "")]
        self.assertEqual(levels["users"], {"@alice:test.local": 100})
        self.assertEqual(levels["events"]["m.call.invite"], 50)
        self.assertEqual(levels["invite"], 50)
        self.assertNotIn(("m.room.guest_access", ""), state)
        self.assertEqual(state[("m.room.create", "")], {"creator": "@alice:test.local", "room_version": "10"})

    def test_overrides_and_initial_state(self) -> None:
        """``power_level_content_override``, ``initial_state`` and ``creation_content``."""
        room_id = self.create_room(
            self.alice_token,
            power_level_content_override={"events_default": 10},
            initial_state=[{"type": "m.room.join_rules", "content": {"join_rule": "public"}},
                           {"type": "org.x", "state_key": "k", "content": {"a": 1}}],
            creation_content={"m.federate": False},
        )  # fmt: skip
        state = self.state(self.alice_token, room_id)
        self.assertEqual(state[("m.room.power_levels", "")]["events_default"], 10)
        self.assertEqual(state[("m.room.join_rules", "")], {"join_rule": "public"})
        self.assertEqual(state[("org.x", "k")], {"a": 1})
        self.assertEqual(state[("m.room.create", "")], {"m.federate": False, "room_version": "12"})

    def test_trusted_private_chat_and_direct_invite(self) -> None:
        """Invitees of a trusted private chat become additional creators; ``is_direct`` is
        in the invite."""
        room_id = self.create_room(
            self.alice_token, preset="trusted_private_chat", invite=["@bob:test.local"], is_direct=True
        )
        create = self.state(self.alice_token, room_id)[("m.room.create", "")]
        self.assertEqual(create["additional_creators"], ["@bob:test.local"])
        invite = self.state(self.alice_token, room_id)[("m.room.member", "@bob:test.local")]
        self.assertEqual(invite, {"displayname": "bob", "is_direct": True, "membership": "invite"})

    def test_response_and_alias(self) -> None:
        """The response is ``{"room_id"}`` only; the alias resolves to the room."""
        body = self.ok("POST", "/createRoom", self.alice_token, {"room_alias_name": "home"})
        self.assertEqual(list(body), ["room_id"])
        lookup = self.ok("GET", "/directory/room/%23home:test.local", None)
        self.assertEqual(lookup, {"room_id": body["room_id"], "servers": ["test.local"]})

    def test_public_room_not_published_by_default(self) -> None:
        """Synapse's default ``room_list_publication_rules`` refuse publication."""
        room_id = self.create_room(self.alice_token, visibility="public")
        self.assertEqual(self.ok("GET", "/directory/list/room/" + room_id, None), {"visibility": "private"})

    def test_idempotent_put(self) -> None:
        """``PUT /createRoom/{txnId}`` twice answers the same room."""
        first = self.ok("PUT", "/createRoom/abc", self.alice_token, {})
        second = self.ok("PUT", "/createRoom/abc", self.alice_token, {})
        self.assertEqual(first, second)
        self.assertEqual(self.names().count("on_create_room"), 1)


class RestartTests(RoomsTestBase):
    """Rooms and events survive a restart (two hosts on one database file, in turn)."""

    with_probe = False

    def make_config(self) -> Dict[str, Any]:
        config = super().make_config()
        self.db_path = self.mktemp() + ".db"
        config["database"] = {"name": "sqlite3", "args": {"database": self.db_path}}
        self.config_used = config
        return config

    def test_rooms_survive_restart(self) -> None:
        """State, events, memberships, aliases and the stream position are reloaded."""
        from synapse_modhost.testing._harness import HostHarness

        room_id = self.create_room(self.alice_token, name="kept", room_alias_name="kept", preset="public_chat")
        self.join(self.bob_token, room_id)
        event_id = self.send(self.alice_token, room_id, "persisted").json_body["event_id"]
        position = self.hs.event_store.get_current_stream_position()
        self.harness.stop()

        harness = HostHarness(self.config_used, reactor=self.reactor)
        harness.start()
        self.addCleanup(harness.stop)
        self.harness, self.host, self.site = harness, harness.host, harness.site
        store = harness.host.hs.event_store
        self.get_success(store.ready())
        self.assertEqual(store.get_current_stream_position(), position)
        self.assertEqual(self.state(self.bob_token, room_id)[("m.room.name", "")], {"name": "kept"})
        event = self.ok("GET", self.room_path(room_id, "event/" + event_id), self.bob_token)
        self.assertEqual(event["content"]["body"], "persisted")
        self.assertIn(room_id, self.ok("GET", "/joined_rooms", self.bob_token)["joined_rooms"])
        self.assertEqual(self.ok("GET", "/directory/room/%23kept:test.local", None)["room_id"], room_id)
        later = self.send(self.alice_token, room_id, "after", "t2")
        self.assertEqual(later.code, 200)
        self.assertEqual(store.get_current_stream_position(), position + 1)
