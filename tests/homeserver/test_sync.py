"""``GET /sync``: shapes, tokens, rooms sections, long-polls, filters and callbacks."""

from __future__ import annotations

import urllib.parse

from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure

from synapse_modhost.errors import SynapseError
from tests.homeserver._fake_rooms import stream_of
from tests.homeserver._rooms_case import RealRoomsTestCase, RoomsTestCase
from tests.homeserver._sync_probe import SyncProbe


class InitialSyncTests(RoomsTestCase):
    def test_empty_initial_sync_shape(self) -> None:
        """A user without rooms gets Synapse's always-present keys and their presence."""
        self.pump(100)
        body = self.sync_ok(self.alice_token)
        self.assertEqual(body["next_batch"], "s0_1_0_0_0_0_0_0_0_0_0_0_0_0")
        self.assertEqual(body["device_one_time_keys_count"], {"signed_curve25519": 0})
        self.assertEqual(body["device_unused_fallback_key_types"], [])
        self.assertNotIn("rooms", body)
        self.assertNotIn("account_data", body)
        [presence] = body["presence"]["events"]
        self.assertEqual(presence["sender"], self.alice)
        self.assertEqual(
            presence["content"],
            {"presence": "online", "currently_active": True, "last_active_ago": 0},
        )

    def test_joined_room_timeline_and_membership(self) -> None:
        """An initial sync gives the room's events, not limited, prev_batch = next_batch,
        and the user's membership after each event."""
        room = self.rooms.create_room(self.alice)
        self.rooms.member(room, self.alice, self.bob, "invite")
        self.rooms.join(room, self.bob)
        self.rooms.message(room, self.alice, "hi")
        body = self.sync_ok(self.bob_token)
        entry = body["rooms"]["join"][room]
        self.assertFalse(entry["timeline"]["limited"])
        self.assertEqual(entry["timeline"]["prev_batch"], body["next_batch"])
        self.assertEqual(entry["state"], {"events": []})
        memberships = [e["unsigned"]["membership"] for e in entry["timeline"]["events"]]
        self.assertEqual(memberships, ["leave"] * 4 + ["invite", "join", "join"])
        self.assertNotIn("room_id", entry["timeline"]["events"][0])
        self.assertEqual(entry["ephemeral"], {"events": []})
        self.assertEqual(
            entry["unread_notifications"], {"notification_count": 0, "highlight_count": 0}
        )
        self.assertEqual(entry["summary"], {})

    def test_limited_timeline_has_state_and_prev_batch(self) -> None:
        """With a timeline limit of 2 the timeline is limited, prev_batch is just before
        its first event and the earlier state is in ``state``."""
        room = self.rooms.create_room(self.alice)
        first = self.rooms.message(room, self.alice, "one")
        self.rooms.message(room, self.alice, "two")
        body = self.sync_ok(self.alice_token, filter={"room": {"timeline": {"limit": 2}}})
        entry = body["rooms"]["join"][room]
        self.assertTrue(entry["timeline"]["limited"])
        self.assertEqual(
            [e["content"]["body"] for e in entry["timeline"]["events"]], ["one", "two"]
        )
        position = stream_of(first) - 1
        self.assertTrue(entry["timeline"]["prev_batch"].startswith("s%d_" % position))
        types = [e["type"] for e in entry["state"]["events"]]
        self.assertEqual(
            types,
            ["m.room.create", "m.room.member", "m.room.join_rules", "m.room.history_visibility"],
        )

    def test_invite_section_has_stripped_state(self) -> None:
        """An invite gives the pre-join state and the invite itself, stripped."""
        room = self.rooms.create_room(self.alice, name="R1")
        self.rooms.member(room, self.alice, self.bob, "invite")
        body = self.sync_ok(self.bob_token)
        events = body["rooms"]["invite"][room]["invite_state"]["events"]
        self.assertEqual(
            [(e["type"], e["state_key"]) for e in events],
            [
                ("m.room.create", ""),
                ("m.room.member", self.alice),
                ("m.room.join_rules", ""),
                ("m.room.name", ""),
                ("m.room.member", self.bob),
            ],
        )
        self.assertEqual(set(events[-1]), {"type", "state_key", "content", "sender"})

    def test_left_rooms_only_with_include_leave(self) -> None:
        """A left room is absent from an initial sync unless the filter includes leave,
        then its timeline ends at the leave."""
        room = self.rooms.create_room(self.alice)
        self.rooms.join(room, self.bob)
        leave = self.rooms.member(room, self.bob, self.bob, "leave")
        self.rooms.message(room, self.alice, "after")
        self.assertNotIn("rooms", self.sync_ok(self.bob_token))
        body = self.sync_ok(self.bob_token, filter={"room": {"include_leave": True}})
        entry = body["rooms"]["leave"][room]
        self.assertEqual(entry["timeline"]["events"][-1]["event_id"], leave.event_id)
        self.assertEqual(set(entry), {"timeline", "state", "account_data"})


class IncrementalSyncTests(RoomsTestCase):
    def test_since_gives_only_new_events(self) -> None:
        """An incremental sync gives the new event, not limited, prev_batch just before it."""
        room = self.rooms.create_room(self.alice)
        since = self.sync_ok(self.alice_token)["next_batch"]
        event = self.rooms.message(room, self.alice, "new")
        body = self.sync_ok(self.alice_token, since=since)
        timeline = body["rooms"]["join"][room]["timeline"]
        self.assertEqual([e["event_id"] for e in timeline["events"]], [event.event_id])
        self.assertFalse(timeline["limited"])
        position = stream_of(event) - 1
        self.assertTrue(timeline["prev_batch"].startswith("s%d_" % position))
        self.assertNotIn("rooms", self.sync_ok(self.alice_token, since=body["next_batch"]))

    def test_invite_then_leave_sections(self) -> None:
        """An invite after the token shows in ``invite``; leaving afterwards shows the
        room in ``leave`` with the leave event (prev_batch at the leave, as Synapse)."""
        room = self.rooms.create_room(self.alice)
        since = self.sync_ok(self.bob_token)["next_batch"]
        self.rooms.member(room, self.alice, self.bob, "invite")
        body = self.sync_ok(self.bob_token, since=since)
        self.assertIn(room, body["rooms"]["invite"])
        self.rooms.join(room, self.bob)
        joined = self.sync_ok(self.bob_token, since=body["next_batch"])
        self.assertIn(room, joined["rooms"]["join"])
        leave = self.rooms.member(room, self.bob, self.bob, "leave")
        self.rooms.message(room, self.alice, "after")
        left = self.sync_ok(self.bob_token, since=joined["next_batch"])
        timeline = left["rooms"]["leave"][room]["timeline"]
        self.assertEqual([e["event_id"] for e in timeline["events"]], [leave.event_id])
        self.assertFalse(timeline["limited"])
        self.assertTrue(timeline["prev_batch"].startswith("s%d_" % stream_of(leave)))

    def test_newly_joined_room_is_a_full_entry(self) -> None:
        """A room joined after the token comes with its history, as in an initial sync."""
        room = self.rooms.create_room(self.alice, join_rule="public")
        since = self.sync_ok(self.bob_token)["next_batch"]
        join = self.rooms.join(room, self.bob)
        body = self.sync_ok(self.bob_token, since=since)
        timeline = body["rooms"]["join"][room]["timeline"]
        self.assertEqual(timeline["events"][0]["type"], "m.room.create")
        # Synapse marks a newly joined room limited, prev_batch just before the join.
        self.assertTrue(timeline["limited"])
        self.assertTrue(timeline["prev_batch"].startswith("s%d_" % (stream_of(join) - 1)))

    def test_transaction_id_for_own_device(self) -> None:
        """The sender's own events carry their transaction ID; others' do not."""
        room = self.rooms.create_room(self.alice)
        self.rooms.join(room, self.bob)
        info = self.get_success(self.hs.user_store.get_user_by_access_token(self.alice_token))
        self.rooms.message(room, self.alice, "t", txn_id="txn1", token_id=info.token_id)
        mine = self.timeline(self.sync_ok(self.alice_token), room)[-1]
        theirs = self.timeline(self.sync_ok(self.bob_token), room)[-1]
        self.assertEqual(mine["unsigned"]["transaction_id"], "txn1")
        self.assertEqual(theirs["unsigned"]["transaction_id"], "module")


class LongPollTests(RoomsTestCase):
    def test_wakes_on_new_message(self) -> None:
        """A waiting sync answers as soon as a message arrives in one of the user's rooms."""
        room = self.rooms.create_room(self.alice)
        since = self.sync_ok(self.alice_token)["next_batch"]
        channel = self.sync(self.alice_token, await_result=False, since=since, timeout=30000)
        self.pump(1)
        self.assertFalse(channel.is_finished)
        event = self.rooms.message(room, self.alice, "wake")
        self.pump(0)
        self.assertTrue(channel.is_finished)
        self.assertEqual(self.timeline(channel.json_body, room)[-1]["event_id"], event.event_id)

    def test_times_out_on_the_clock(self) -> None:
        """Without activity the sync answers after its timeout with the same token."""
        self.rooms.create_room(self.alice)
        since = self.sync_ok(self.alice_token)["next_batch"]
        channel = self.sync(self.alice_token, await_result=False, since=since, timeout=5000)
        self.pump(4.9)
        self.assertFalse(channel.is_finished)
        self.pump(0.2)
        self.assertTrue(channel.is_finished)
        self.assertEqual(channel.json_body["next_batch"], since)
        self.assertNotIn("rooms", channel.json_body)

    def test_other_room_does_not_wake(self) -> None:
        """Activity in a room the user is not in does not answer their long-poll."""
        self.rooms.create_room(self.alice)
        since = self.sync_ok(self.alice_token)["next_batch"]
        channel = self.sync(self.alice_token, await_result=False, since=since, timeout=5000)
        other = self.rooms.create_room(self.bob)
        self.rooms.message(other, self.bob, "elsewhere")
        self.pump(1)
        self.assertFalse(channel.is_finished)
        self.pump(5)
        self.assertNotIn("rooms", channel.json_body)

    def test_wakes_on_account_data(self) -> None:
        """Writing the user's account data answers their long-poll."""
        since = self.sync_ok(self.alice_token)["next_batch"]
        channel = self.sync(self.alice_token, await_result=False, since=since, timeout=30000)
        self.get_success(
            self.hs.account_data.add_account_data_for_user(self.alice, "org.x", {"a": 1})
        )
        self.pump(0)
        self.assertEqual(
            channel.json_body["account_data"]["events"], [{"type": "org.x", "content": {"a": 1}}]
        )

    def test_wakes_on_invite(self) -> None:
        """An invite to a room the user is not in yet answers their long-poll."""
        room = self.rooms.create_room(self.alice)
        since = self.sync_ok(self.bob_token)["next_batch"]
        channel = self.sync(self.bob_token, await_result=False, since=since, timeout=30000)
        self.rooms.member(room, self.alice, self.bob, "invite")
        self.pump(0)
        self.assertIn(room, channel.json_body["rooms"]["invite"])

    def test_disconnect_removes_listener(self) -> None:
        """A client that goes away stops its long-poll: no listener or timer is left."""
        since = self.sync_ok(self.alice_token)["next_batch"]
        calls_before = len(self.reactor.getDelayedCalls())
        channel = self.sync(self.alice_token, await_result=False, since=since, timeout=30000)
        self.pump(0)
        self.assertEqual(self.hs.notifier.count_listeners(), 1)
        channel.protocol.connectionLost(Failure(ConnectionDone()))
        self.pump(0)
        self.assertEqual(self.hs.notifier.count_listeners(), 0)
        self.assertLessEqual(len(self.reactor.getDelayedCalls()), calls_before)


class ParameterTests(RoomsTestCase):
    def assert_error(self, query: str, code: int, errcode: str, error: str) -> None:
        channel = self.make_request(
            "GET", "/_matrix/client/v3/sync?" + query, access_token=self.alice_token
        )
        self.assertEqual(
            (channel.code, channel.json_body), (code, {"errcode": errcode, "error": error})
        )

    def test_bad_parameters(self) -> None:
        """Bad tokens, parameters and filters get Synapse's answers."""
        self.assert_error("since=garbage", 400, "M_UNKNOWN", "Invalid stream token")
        self.assert_error(
            "from=s1",
            400,
            "M_UNKNOWN",
            "'from' is not a valid query parameter. Did you mean 'since'?",
        )
        self.assert_error("filter=%7Bbad", 400, "M_NOT_JSON", "Invalid filter JSON")
        self.assert_error("filter=abc", 400, "M_INVALID_PARAM", "Invalid filter ID")
        self.assert_error("filter=77", 400, "M_INVALID_PARAM", "No such filter")
        self.assert_error(
            "timeout=abc", 400, "M_INVALID_PARAM", "Query parameter timeout must be an integer"
        )
        self.assert_error(
            "full_state=yes",
            400,
            "M_INVALID_PARAM",
            "Boolean query parameter 'full_state' must be one of ['true', 'false']",
        )
        self.assert_error(
            "set_presence=away",
            400,
            "M_INVALID_PARAM",
            "Query parameter 'set_presence' must be one of ['offline', 'online', 'unavailable']",
        )

    def test_short_synapse_token_accepted(self) -> None:
        """A token with fewer fields (as Synapse pads) is accepted."""
        self.assertIn("next_batch", self.sync_ok(self.alice_token, since="s0"))

    def test_filter_endpoints(self) -> None:
        """Filters are stored per user from 0, read back, and usable by ID in /sync."""
        path = "/_matrix/client/v3/user/%s/filter" % self.alice
        channel = self.make_request(
            "POST", path, {"room": {"timeline": {"limit": 1}}}, self.alice_token
        )
        self.assertEqual(channel.json_body, {"filter_id": "0"})
        channel = self.make_request("GET", path + "/0", access_token=self.alice_token)
        self.assertEqual(channel.json_body, {"room": {"timeline": {"limit": 1}}})
        room = self.rooms.create_room(self.alice)
        body = self.sync_ok(self.alice_token, filter="0")
        self.assertEqual(len(self.timeline(body, room)), 1)

    def test_filter_endpoint_errors(self) -> None:
        """Other users, bad IDs and unknown filters get Synapse's texts."""
        base = "/_matrix/client/v3/user/%s/filter"
        cases = [
            ("POST", base % self.bob, 403, "M_FORBIDDEN", "Cannot create filters for other users"),
            (
                "GET",
                base % self.bob + "/0",
                403,
                "M_FORBIDDEN",
                "Cannot get filters for other users",
            ),
            ("GET", base % self.alice + "/x", 400, "M_UNKNOWN", "Invalid filter_id"),
            ("GET", base % self.alice + "/9", 404, "M_NOT_FOUND", "No such filter"),
            (
                "GET",
                base % "nope" + "/9",
                400,
                "M_INVALID_PARAM",
                "Expected UserID string to start with '@'",
            ),
        ]
        for method, path, code, errcode, error in cases:
            channel = self.make_request(
                method, path, {} if method == "POST" else None, self.alice_token
            )
            self.assertEqual(
                (channel.code, channel.json_body),
                (code, {"errcode": errcode, "error": error}),
                path,
            )


class CallbackTests(RoomsTestCase):
    def test_unsigned_fields_on_sync(self) -> None:
        """Module unsigned keys appear; Synapse's own keys win in the timeline, while
        state events (no membership set) show the module's ``membership``."""
        room = self.rooms.create_room(self.alice)
        self.rooms.message(room, self.alice, "x")
        body = self.sync_ok(self.alice_token, filter={"room": {"timeline": {"limit": 1}}})
        entry = body["rooms"]["join"][room]
        timeline_unsigned = entry["timeline"]["events"][0]["unsigned"]
        self.assertEqual(timeline_unsigned["probe"], 1)
        self.assertEqual(timeline_unsigned["membership"], "join")
        self.assertIsInstance(timeline_unsigned["age"], int)
        self.assertEqual(entry["state"]["events"][0]["unsigned"]["membership"], "module")
        called = [args[0] for args in self.probe_calls("add_field_to_unsigned_callback")]
        self.assertEqual(
            called, [e["event_id"] for e in entry["state"]["events"] + entry["timeline"]["events"]]
        )

    def test_unsigned_callback_exception_is_500(self) -> None:
        """An exception from ``add_field_to_unsigned_callback`` fails the sync with 500."""
        self.rooms.create_room(self.alice)
        SyncProbe.unsigned_raises = RuntimeError("boom")
        channel = self.sync(self.alice_token)
        self.assertEqual(channel.code, 500)
        self.assertEqual(
            channel.json_body, {"errcode": "M_UNKNOWN", "error": "Internal server error"}
        )

    def test_unsigned_callback_synapse_error_passes_through(self) -> None:
        """A ``SynapseError`` from the callback becomes the response."""
        self.rooms.create_room(self.alice)
        SyncProbe.unsigned_raises = SynapseError(409, "no", "ORG_NO")
        self.assertEqual(
            self.sync(self.alice_token).json_body, {"errcode": "ORG_NO", "error": "no"}
        )

    def test_presence_router_during_sync(self) -> None:
        """The first sync fans the user's presence out through ``get_users_for_states``,
        then asks ``get_interested_users``; interested users' presence is included."""
        self.sync_ok(self.bob_token)
        SyncProbe.calls.clear()
        SyncProbe.interested = {self.bob}
        body = self.sync_ok(self.alice_token)
        names = [n for n, _ in SyncProbe.calls]
        self.assertEqual(names, ["get_users_for_states", "get_interested_users"])
        self.assertEqual(self.probe_calls("get_users_for_states"), [(self.alice,)])
        senders = sorted(e["sender"] for e in body["presence"]["events"])
        self.assertEqual(senders, [self.alice, self.bob])

    def test_presence_all_users_routes_through_get_users_for_states(self) -> None:
        """With ``PRESENCE_ALL_USERS`` the user gets the states routed to them."""
        self.sync_ok(self.bob_token)
        SyncProbe.interested = "ALL"
        SyncProbe.route_all_to = {self.alice}
        body = self.sync_ok(self.alice_token)
        self.assertEqual(
            sorted(e["sender"] for e in body["presence"]["events"]), [self.alice, self.bob]
        )

    def test_presence_token_from_before_restart(self) -> None:
        """A presence position ahead of the server's (lost on restart) gets all presence again."""
        self.sync_ok(self.alice_token)
        body = self.sync_ok(self.alice_token, since="s0_99_0_0_0")
        self.assertEqual([e["sender"] for e in body["presence"]["events"]], [self.alice])

    def test_no_presence_without_changes(self) -> None:
        """An incremental sync with no presence change asks no presence callback."""
        since = self.sync_ok(self.alice_token)["next_batch"]
        SyncProbe.calls.clear()
        body = self.sync_ok(self.alice_token, since=since)
        self.assertNotIn("presence", body)
        self.assertEqual(SyncProbe.calls, [])


class TokenPathTests(RoomsTestCase):
    def test_messages_accepts_prev_batch(self) -> None:
        """A sync's prev_batch pages backwards through /messages."""
        room = self.rooms.create_room(self.alice)
        self.rooms.message(room, self.alice, "one")
        self.rooms.message(room, self.alice, "two")
        body = self.sync_ok(self.alice_token, filter={"room": {"timeline": {"limit": 1}}})
        prev = body["rooms"]["join"][room]["timeline"]["prev_batch"]
        path = "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=1&from=%s" % (
            urllib.parse.quote(room),
            prev,
        )
        channel = self.make_request("GET", path, access_token=self.alice_token)
        self.assertEqual(channel.json_body["chunk"][0]["content"]["body"], "one")


class RealRoomsSyncTests(RealRoomsTestCase):
    def test_invite_join_send_through_sync(self) -> None:
        """createRoom with an invite, join and send, seen through /sync with the real rooms."""
        room = self.create_room(
            self.alice_token, name="R1", preset="private_chat", invite=[self.bob]
        )
        body = self.sync_ok(self.bob_token)
        stripped = body["rooms"]["invite"][room]["invite_state"]["events"]
        self.assertEqual(stripped[-1]["state_key"], self.bob)
        self.assertIn({"name": "R1"}, [e["content"] for e in stripped])
        self.join(room, self.bob_token)
        joined = self.sync_ok(self.bob_token, since=body["next_batch"])
        self.assertEqual(self.timeline(joined, room)[-1]["unsigned"]["membership"], "join")
        channel = self.sync(
            self.bob_token, await_result=False, since=joined["next_batch"], timeout=30000
        )
        self.pump(1)
        self.assertFalse(channel.is_finished)
        event_id = self.send_text(self.alice_token, room, "hello", "t1")
        self.pump(0)
        [event] = self.timeline(channel.json_body, room)
        self.assertEqual((event["event_id"], event["content"]["body"]), (event_id, "hello"))

    def test_own_transaction_id(self) -> None:
        """The sender's own /sync shows the transaction ID of their send."""
        room = self.create_room(self.alice_token)
        self.send_text(self.alice_token, room, "mine", "txn-42")
        event = self.timeline(self.sync_ok(self.alice_token), room)[-1]
        self.assertEqual(event["unsigned"]["transaction_id"], "txn-42")

    def test_leave_in_incremental_sync(self) -> None:
        """Leaving shows the room under ``leave`` with the leave event."""
        room = self.create_room(self.alice_token, preset="public_chat")
        self.join(room, self.bob_token)
        since = self.sync_ok(self.bob_token)["next_batch"]
        self.leave(self.bob_token, room)
        body = self.sync_ok(self.bob_token, since=since)
        [event] = body["rooms"]["leave"][room]["timeline"]["events"]
        self.assertEqual(
            (event["type"], event["content"]["membership"]), ("m.room.member", "leave")
        )
