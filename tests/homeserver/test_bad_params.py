"""Malformed query and path parameters answer 400 (or what the same request answers when
the thing does not exist) where Synapse answers 500 (docs/compatibility.md); the valid
request still succeeds."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Dict, List, Optional

from synapse_modhost.testing import ModuleHostTestCase, override_config
from synapse_modhost.testing._channel import FakeChannel

C = "/_matrix/client/v3"
A = "/_synapse/admin"
MAX = 2**63 - 1
#: integers the database cannot take
TOO_BIG = [str(MAX + 1), "99999999999999999999", "9" * 40]


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def qjson(value: Any) -> str:
    return q(json.dumps(value))


class BadParamTests(ModuleHostTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.alice = self.register_user("alice")
        self.alice_token = self.login(self.alice)
        self.admin_token = self.login(self.register_user("root", admin=True))

    # ------------------------------------------------------------------ helpers

    def get(self, path: str, token: Optional[str] = None) -> FakeChannel:
        return self.make_request("GET", path, access_token=token or self.alice_token)

    def assert_error(
        self, channel: FakeChannel, code: int, errcode: str, error: str, what: Any = None
    ) -> None:
        self.assertEqual(
            (channel.code, channel.json_body), (code, {"errcode": errcode, "error": error}), what
        )

    def assert_ok(self, channel: FakeChannel, what: Any = None) -> Any:
        self.assertEqual(channel.code, 200, (what, channel.json_body))
        return channel.json_body

    def room_with_messages(self, *bodies: str) -> str:
        room = self.create_room(self.alice_token)
        for body in bodies:
            self.send_event(room, self.alice_token, {"msgtype": "m.text", "body": body})
        return room

    def bodies(self, events: List[Dict[str, Any]]) -> List[str]:
        return [e["content"]["body"] for e in events if e["type"] == "m.room.message"]

    # ------------------------------------------------------------------ /messages, /context

    def test_messages_filter(self) -> None:
        """/messages: a malformed ``filter`` is 400 M_INVALID_PARAM; valid ones work, limit unused."""
        room = self.room_with_messages("one", "two")
        path = C + "/rooms/%s/messages?dir=b&filter=" % q(room)
        cases = [
            ("1", "1 is not of type 'object'"),
            ("-1", "-1 is not of type 'object'"),
            ("%5B1%5D", "[1] is not of type 'object'"),
            ("%22s%22", "'s' is not of type 'object'"),
            ("true", "True is not of type 'object'"),
            (qjson({"types": 5}), "5 is not of type 'array'"),
            (qjson({"types": [1]}), "1 is not of type 'string'"),
            (qjson({"not_types": None}), "None is not of type 'array'"),
            (qjson({"senders": "@a:b"}), "'@a:b' is not of type 'array'"),
            (qjson({"rooms": 1.5}), "1.5 is not of type 'array'"),
            (qjson({"not_senders": {}}), "{} is not of type 'array'"),
            (qjson({"contains_url": "yes"}), "'yes' is not of type 'boolean'"),
        ]
        for value, text in cases:
            self.assert_error(
                self.get(path + value), 400, "M_INVALID_PARAM",
                "Query parameter filter is not a valid event filter: " + text, value,
            )  # fmt: skip
        self.assert_error(
            self.get(path + "%7Bbad"), 400, "M_NOT_JSON",
            "Query parameter filter must be a valid JSON object",
        )  # fmt: skip
        chunk = self.assert_ok(self.get(path + qjson({"types": ["m.room.message"]})))["chunk"]
        self.assertEqual(self.bodies(chunk), ["two", "one"])
        self.assertEqual({e["type"] for e in chunk}, {"m.room.message"})
        for value in ("0", "%5B%5D", "null", "false", "%22%22", "%7B%7D"):
            chunk = self.assert_ok(self.get(path + value), value)["chunk"]
            self.assertIn("m.room.create", [e["type"] for e in chunk], value)
        for limit in ("s", None, [1], 1e300):
            flt = {"types": ["m.room.message"], "limit": limit}
            chunk = self.assert_ok(self.get(path + qjson(flt)), limit)["chunk"]
            self.assertEqual(self.bodies(chunk), ["two", "one"], limit)

    def test_messages_tokens_past_64_bits(self) -> None:
        """/messages: a ``from``/``to`` position beyond 64 bits is past every event, not a 500."""
        room = self.room_with_messages("one", "two")
        path = C + "/rooms/%s/messages?" % q(room)
        for big in TOO_BIG:
            body = self.assert_ok(self.get(path + "dir=f&from=s" + big), big)
            self.assertEqual(body["chunk"], [], big)
            chunk = self.assert_ok(self.get(path + "dir=b&from=s" + big), big)["chunk"]
            self.assertEqual(self.bodies(chunk), ["two", "one"], big)
            chunk = self.assert_ok(self.get(path + "dir=f&to=t1-" + big), big)["chunk"]
            self.assertEqual(self.bodies(chunk), ["one", "two"], big)
        self.assert_error(self.get(path + "from=x1"), 400, "M_UNKNOWN", "'from' parameter is invalid")
        self.assert_error(self.get(path + "to=s-1"), 400, "M_UNKNOWN", "'to' parameter is invalid")

    def test_context_limit_and_filter(self) -> None:
        """/context: a ``limit`` beyond 64 bits or a bad ``filter`` is 400; valid ones work."""
        room = self.create_room(self.alice_token)
        first = self.send_event(room, self.alice_token, {"msgtype": "m.text", "body": "one"})
        event = self.send_event(room, self.alice_token, {"msgtype": "m.text", "body": "two"})
        self.send_event(room, self.alice_token, {"msgtype": "m.text", "body": "three"})
        path = C + "/rooms/%s/context/%s?" % (q(room), q(event))
        for big in TOO_BIG:
            self.assert_error(
                self.get(path + "limit=" + big), 400, "M_INVALID_PARAM",
                "Query parameter limit must be at most 9223372036854775807.", big,
            )  # fmt: skip
        self.assert_error(
            self.get(path + "limit=abc"), 400, "M_INVALID_PARAM",
            "Query parameter limit must be an integer",
        )  # fmt: skip
        self.assert_error(
            self.get(path + "filter=" + qjson({"types": "m.room.message"})), 400,
            "M_INVALID_PARAM",
            "Query parameter filter is not a valid event filter: 'm.room.message' is not of type 'array'",
        )  # fmt: skip
        body = self.assert_ok(self.get(path + "limit=%d" % MAX))
        self.assertEqual(body["event"]["event_id"], event)
        self.assertEqual(self.bodies(body["events_after"]), ["three"])
        flt = qjson({"types": ["m.room.message"], "limit": "ignored"})
        body = self.assert_ok(self.get(path + "limit=10&filter=" + flt))
        self.assertEqual([e["event_id"] for e in body["events_before"]], [first])

    # ------------------------------------------------------------------ /sync and filters

    def create_filter(self, content: Dict[str, Any]) -> str:
        path = C + "/user/%s/filter" % q(self.alice)
        channel = self.make_request("POST", path, content, access_token=self.alice_token)
        return str(self.assert_ok(channel)["filter_id"])

    def test_sync_filter_parameter(self) -> None:
        """/sync: huge filter IDs, NaN and negative timeline limits are 400s; valid filters work."""
        for big in TOO_BIG + ["-" + big for big in TOO_BIG]:
            self.assert_error(
                self.get(C + "/sync?filter=" + big), 400, "M_INVALID_PARAM", "No such filter", big
            )
        for constant in ("NaN", "Infinity", "-Infinity"):
            value = q('{"room": {"timeline": {"limit": %s}}}' % constant)
            self.assert_error(
                self.get(C + "/sync?filter=" + value), 400, "M_NOT_JSON", "Invalid filter JSON", constant
            )
        negative = "The filter's room.timeline.limit must not be negative"
        for limit in ("-1", "-0.5", "-1e400"):
            inline = q('{"room": {"timeline": {"limit": %s}}}' % limit)
            self.assert_error(self.get(C + "/sync?filter=" + inline), 400, "M_INVALID_PARAM", negative, limit)
        stored = self.create_filter({"room": {"timeline": {"limit": -3}}})
        self.assert_error(self.get(C + "/sync?filter=" + stored), 400, "M_INVALID_PARAM", negative)
        room = self.room_with_messages("one", "two")
        for flt in (self.create_filter({"room": {"timeline": {"limit": 1}}}),
                    qjson({"room": {"timeline": {"limit": 1}}})):  # fmt: skip
            body = self.assert_ok(self.get(C + "/sync?filter=" + flt), flt)
            timeline = body["rooms"]["join"][room]["timeline"]
            self.assertEqual(self.bodies(timeline["events"]), ["two"], flt)
            self.assertTrue(timeline["limited"], flt)
        body = self.assert_ok(self.get(C + "/sync?filter=" + qjson({"room": {"timeline": {"limit": 0}}})))
        self.assertEqual(body["rooms"]["join"][room]["timeline"]["events"], [])

    def test_sync_since_past_64_bits(self) -> None:
        """/sync: a ``since`` position beyond 64 bits is ahead of the server, not a 500."""
        room = self.room_with_messages("one")
        current = self.assert_ok(self.get(C + "/sync"))["next_batch"]
        for since in ("s" + TOO_BIG[0], "t1-" + TOO_BIG[1], "s%s_%s_0_0_%s" % tuple(TOO_BIG)):
            body = self.assert_ok(self.get(C + "/sync?since=" + since), since)
            self.assertEqual(body["next_batch"], current, since)
            self.assertNotIn("rooms", body, since)
        for since in ("s1_" + TOO_BIG[1], "s1_0_0_0_" + TOO_BIG[2]):
            body = self.assert_ok(self.get(C + "/sync?since=" + since), since)
            self.assertEqual(body["next_batch"], current, since)
            self.assertIn(room, body["rooms"]["join"], since)
        self.assert_error(self.get(C + "/sync?since=s1_x"), 400, "M_UNKNOWN", "Invalid stream token")

    def test_get_filter_id_past_64_bits(self) -> None:
        """GET /user/{userId}/filter/{id}: an ID beyond 64 bits is 404 "No such filter"."""
        base = C + "/user/%s/filter/" % q(self.alice)
        for big in TOO_BIG + ["-" + TOO_BIG[0], "77", "-1"]:
            self.assert_error(self.get(base + big), 404, "M_NOT_FOUND", "No such filter", big)
        self.assert_error(self.get(base + "abc"), 400, "M_UNKNOWN", "Invalid filter_id")
        content = {"room": {"timeline": {"limit": 5}}}
        self.assertEqual(self.assert_ok(self.get(base + self.create_filter(content))), content)

    # ------------------------------------------------------------------ admin user list

    def test_admin_user_list_paging(self) -> None:
        """/admin users: ``from``/``limit`` beyond 64 bits are 400 M_INVALID_PARAM, checked last."""
        for version in ("v2", "v3"):
            path = A + "/%s/users?" % version
            for name in ("from", "limit"):
                for big in TOO_BIG:
                    self.assert_error(
                        self.get(path + "%s=%s" % (name, big), self.admin_token), 400,
                        "M_INVALID_PARAM", "Query parameter %s must be at most %d." % (name, MAX),
                        (version, name, big),
                    )  # fmt: skip
            self.assert_error(
                self.get(path + "from=%s&limit=abc" % TOO_BIG[1], self.admin_token), 400,
                "M_INVALID_PARAM", "Query parameter limit must be an integer",
            )  # fmt: skip
            self.assert_error(
                self.get(path + "limit=%s&guests=maybe" % TOO_BIG[1], self.admin_token), 400,
                "M_INVALID_PARAM", "Boolean query parameter 'guests' must be one of ['true', 'false']",
            )  # fmt: skip
            body = self.assert_ok(self.get(path + "from=%d&limit=%d" % (MAX, MAX), self.admin_token))
            self.assertEqual((body["users"], body["total"]), ([], 2))
            body = self.assert_ok(self.get(path + "limit=%d" % MAX, self.admin_token))
            self.assertEqual(sorted(u["name"] for u in body["users"]), ["@alice:test.local", "@root:test.local"])

    # ------------------------------------------------------------------ /publicRooms

    @override_config({"room_list_publication_rules": [{"action": "allow"}]})
    def test_public_rooms_since(self) -> None:
        """/publicRooms: an invalid ``since`` (query or body) is 400; ``next_batch`` still pages."""
        rooms = {self.create_room(self.alice_token, visibility="public") for _ in range(2)}
        path = C + "/publicRooms"
        for since in ("abc", "s99999999999999999999", "%00", "b3g%3D"):
            self.assert_error(
                self.get(path + "?since=" + since), 400, "M_INVALID_PARAM", "Invalid since token", since
            )
        for since in ("abc", "b3g", "!!"):
            channel = self.make_request("POST", path, {"since": since}, access_token=self.alice_token)
            self.assert_error(channel, 400, "M_INVALID_PARAM", "Invalid since token", since)
        first = self.assert_ok(self.get(path + "?limit=1"))
        second = self.assert_ok(self.get(path + "?limit=1&since=" + first["next_batch"]))
        third = self.make_request(
            "POST", path, {"limit": 1, "since": first["next_batch"]}, access_token=self.alice_token
        )
        self.assertEqual(self.assert_ok(third)["chunk"], second["chunk"])
        found = {r["room_id"] for r in first["chunk"] + second["chunk"]}
        self.assertEqual(found, rooms)
