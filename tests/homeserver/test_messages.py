"""``GET /rooms/{roomId}/messages`` and ``/context/{eventId}``."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Dict

from tests.homeserver._fake_rooms import stream_of
from tests.homeserver._rooms_case import RealRoomsTestCase, RoomsTestCase
from tests.homeserver._sync_probe import SyncProbe


class MessagesTests(RoomsTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.room = self.rooms.create_room(self.alice)
        self.rooms.join(self.room, self.bob)
        self.msgs = [self.rooms.message(self.room, self.alice, "m%d" % i) for i in range(3)]

    def messages(self, query: str = "", token: str = "", room: str = "") -> Any:
        path = "/_matrix/client/v3/rooms/%s/messages" % urllib.parse.quote(room or self.room)
        if query:
            path += "?" + query
        return self.make_request("GET", path, access_token=token or self.alice_token)

    def ok(self, query: str = "", token: str = "") -> Dict[str, Any]:
        channel = self.messages(query, token)
        self.assertEqual(channel.code, 200, channel.json_body)
        body: Dict[str, Any] = channel.json_body
        return body

    def test_backwards_page_and_tokens(self) -> None:
        """dir=b gives the newest events first; ``end`` continues before the last one."""
        body = self.ok("dir=b&limit=2")
        self.assertEqual([e["content"]["body"] for e in body["chunk"]], ["m2", "m1"])
        m1 = self.msgs[1]
        self.assertEqual(
            body["end"],
            "t%d-%d_0_0_0_0_0_0_0_0_0_0_0_0_0" % (m1.depth, stream_of(m1) - 1),
        )
        more = self.ok("dir=b&limit=2&from=" + body["end"])
        self.assertEqual([e["type"] for e in more["chunk"]], ["m.room.message", "m.room.member"])
        self.assertEqual(more["chunk"][0]["content"]["body"], "m0")

    def test_forwards_from_the_start(self) -> None:
        """Without ``from``, dir=f starts at the room's beginning, ``start`` all zeros."""
        body = self.ok("limit=2")
        self.assertEqual(body["start"], "s0_0_0_0_0_0_0_0_0_0_0_0_0_0")
        self.assertEqual([e["type"] for e in body["chunk"]], ["m.room.create", "m.room.member"])

    def test_v1_format_and_membership(self) -> None:
        """Events are in Synapse's default v1 format with the reader's membership."""
        event = self.ok("dir=b&limit=1")["chunk"][0]
        self.assertEqual(event["user_id"], self.alice)
        self.assertEqual(event["age"], event["unsigned"]["age"])
        self.assertEqual(event["room_id"], self.room)
        self.assertEqual(event["unsigned"]["membership"], "join")

    def test_end_of_history_has_no_end(self) -> None:
        """Past the last event there is no ``end``."""
        body = self.ok("dir=f&from=s999")
        self.assertEqual(body, {"chunk": [], "start": "s999_0_0_0_0_0_0_0_0_0_0_0_0_0"})

    def test_non_member_is_refused(self) -> None:
        """A user who was never in the room gets Synapse's 403."""
        carol_token = self.login(self.register_user("carol"))
        channel = self.messages(token=carol_token)
        self.assertEqual(channel.code, 403)
        self.assertEqual(
            channel.json_body,
            {
                "errcode": "M_FORBIDDEN",
                "error": "User @carol:test.local not in room %s, and room previews are disabled"
                % self.room,
            },
        )

    def test_left_member_reads_up_to_leave(self) -> None:
        """A past member pages back from their leave, never seeing later events."""
        leave = self.rooms.member(self.room, self.bob, self.bob, "leave")
        self.rooms.message(self.room, self.alice, "secret")
        body = self.ok("dir=b&limit=2", token=self.bob_token)
        self.assertEqual(body["chunk"][0]["event_id"], leave.event_id)

    def test_world_readable_room_can_be_peeked(self) -> None:
        """Anyone may read a world-readable room."""
        room = self.rooms.create_room(self.alice, history_visibility="world_readable")
        self.rooms.message(room, self.alice, "public")
        carol_token = self.login(self.register_user("carol"))
        channel = self.messages("dir=b&limit=1", carol_token, room)
        self.assertEqual(channel.json_body["chunk"][0]["content"]["body"], "public")

    def test_joined_visibility_hides_earlier_events(self) -> None:
        """With history ``joined``, a new member does not see what came before their join."""
        room = self.rooms.create_room(self.alice, history_visibility="joined")
        self.rooms.message(room, self.alice, "before")
        self.rooms.join(room, self.bob)
        self.rooms.message(room, self.alice, "after")
        channel = self.messages("dir=b&limit=10", self.bob_token, room)
        bodies = [e["content"].get("body") for e in channel.json_body["chunk"]]
        self.assertIn("after", bodies)
        self.assertNotIn("before", bodies)

    def test_bad_parameters(self) -> None:
        """Bad ``dir``, ``from`` and ``to`` get Synapse's answers."""
        cases = [
            ("dir=x", "M_INVALID_PARAM", "Query parameter 'dir' must be one of ['b', 'f']"),
            ("from=zzz", "M_UNKNOWN", "'from' parameter is invalid"),
            ("to=zzz", "M_UNKNOWN", "'to' parameter is invalid"),
        ]
        for query, errcode, error in cases:
            channel = self.messages(query)
            self.assertEqual(
                (channel.code, channel.json_body), (400, {"errcode": errcode, "error": error})
            )

    def test_filter_types(self) -> None:
        """A ``filter`` keeps only matching events."""
        query = "dir=b&filter=" + urllib.parse.quote(json.dumps({"types": ["m.room.member"]}))
        body = self.ok(query)
        self.assertEqual({e["type"] for e in body["chunk"]}, {"m.room.member"})

    def test_unsigned_callback_and_exception(self) -> None:
        """Module fields are added once per event; an exception gives 500."""
        body = self.ok("dir=b&limit=2")
        self.assertEqual(body["chunk"][0]["unsigned"]["probe"], 1)
        self.assertEqual(body["chunk"][0]["unsigned"]["transaction_id"], "module")
        self.assertEqual(len(self.probe_calls("add_field_to_unsigned_callback")), 2)
        SyncProbe.unsigned_raises = RuntimeError("boom")
        channel = self.messages("dir=b&limit=2")
        self.assertEqual((channel.code, channel.json_body["errcode"]), (500, "M_UNKNOWN"))


class ContextTests(RoomsTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.room = self.rooms.create_room(self.alice)
        self.msgs = [self.rooms.message(self.room, self.alice, "m%d" % i) for i in range(3)]

    def context(self, event_id: str, token: str = "", query: str = "limit=2") -> Any:
        path = "/_matrix/client/v3/rooms/%s/context/%s?%s" % (
            urllib.parse.quote(self.room),
            urllib.parse.quote(event_id),
            query,
        )
        return self.make_request("GET", path, access_token=token or self.alice_token)

    def test_context_around_event(self) -> None:
        """One event before, the event, one after, the state, and tokens around them."""
        body = self.context(self.msgs[1].event_id).json_body
        self.assertEqual(body["event"]["event_id"], self.msgs[1].event_id)
        self.assertEqual([e["event_id"] for e in body["events_before"]], [self.msgs[0].event_id])
        self.assertEqual([e["event_id"] for e in body["events_after"]], [self.msgs[2].event_id])
        self.assertEqual(len(body["state"]), 4)
        m0, m2 = self.msgs[0], self.msgs[2]
        self.assertEqual(
            body["start"],
            "t%d-%d_0_0_0_0_0_0_0_0_0_0_0_0_0" % (m0.depth, stream_of(m0) - 1),
        )
        self.assertEqual(
            body["end"],
            "t%d-%d_0_0_0_0_0_0_0_0_0_0_0_0_0" % (m2.depth, stream_of(m2)),
        )

    def test_unknown_event_and_non_member(self) -> None:
        """An unknown event is 404; a non-member gets Synapse's 403 text."""
        channel = self.context("$nope")
        self.assertEqual(
            (channel.code, channel.json_body),
            (404, {"errcode": "M_NOT_FOUND", "error": "Event not found."}),
        )
        carol_token = self.login(self.register_user("carol"))
        channel = self.context(self.msgs[0].event_id, carol_token)
        self.assertEqual(
            (channel.code, channel.json_body),
            (
                403,
                {
                    "errcode": "M_FORBIDDEN",
                    "error": "You don't have permission to access that event.",
                },
            ),
        )


class RealRoomsMessagesTests(RealRoomsTestCase):
    def test_messages_and_context_with_real_rooms(self) -> None:
        """/messages pages a real room backwards; /context finds a sent event."""
        room = self.create_room(self.alice_token)
        ids = [self.send_text(self.alice_token, room, "m%d" % i, "t%d" % i) for i in range(3)]
        path = self.room_path(room, "messages?dir=b&limit=2")
        body = self.api("GET", path, self.alice_token)
        self.assertEqual([e["event_id"] for e in body["chunk"]], [ids[2], ids[1]])
        self.assertEqual(body["chunk"][0]["unsigned"]["transaction_id"], "t2")
        self.assertEqual(body["chunk"][0]["unsigned"]["probe"], 1)
        more = self.api(
            "GET",
            self.room_path(room, "messages?dir=b&limit=1&from=" + body["end"]),
            self.alice_token,
        )
        self.assertEqual(more["chunk"][0]["event_id"], ids[0])
        context = self.api(
            "GET",
            self.room_path(room, "context/%s?limit=2" % urllib.parse.quote(ids[1])),
            self.alice_token,
        )
        self.assertEqual(context["event"]["event_id"], ids[1])

    def test_unsigned_exception_on_real_messages(self) -> None:
        """An exception from the unsigned callback fails /messages with 500."""
        room = self.create_room(self.alice_token)
        SyncProbe.unsigned_raises = RuntimeError("boom")
        channel = self.make_request(
            "GET",
            "/_matrix/client/v3" + self.room_path(room, "messages?dir=b"),
            access_token=self.alice_token,
        )
        self.assertEqual(channel.code, 500)
