"""Sending events (TRIGGERS.md §2): ``/send``, ``/state``, ``/redact``: callback order and
arguments, denials, ``check_event_allowed`` replacements, transaction IDs, auth rules."""

from __future__ import annotations

from typing import Any, Dict

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from tests.homeserver._rooms_base import RoomsTestBase
from tests.homeserver._rooms_probe import RoomsProbe


class SendTestBase(RoomsTestBase):
    """A public room of alice's that bob joined."""

    def setUp(self) -> None:
        super().setUp()
        self.room_id = self.create_room(self.alice_token, preset="public_chat")
        self.join(self.bob_token, self.room_id)
        self.reset_calls()


class SendOrderTests(SendTestBase):
    """Callback order and arguments of the send endpoints."""

    def test_send_order(self) -> None:
        """``is_user_expired`` → ``check_event_allowed(event, state before)`` →
        ``check_event_for_spam`` → ``on_new_event(event, current state)``."""
        channel = self.send(self.bob_token, self.room_id, "hi")
        self.assertEqual(channel.code, 200)
        event_id = channel.json_body["event_id"]
        self.assertEqual(RoomsProbe.calls[0], ("is_user_expired", ("@bob:test.local",)))
        self.assertEqual(self.names(), ["check_event_allowed", "check_event_for_spam", "on_new_event"])
        event, state = RoomsProbe.raw[1][1]
        self.assertEqual(event.event_id, event_id)
        self.assertEqual(event.content, {"body": "hi", "msgtype": "m.text"})
        self.assertIn(("m.room.member", "@bob:test.local"), state)
        self.assertEqual(RoomsProbe.raw[2][1][0].event_id, event_id)
        self.assertEqual(RoomsProbe.raw[3][1][0].event_id, event_id)

    def test_post_form(self) -> None:
        """``POST …/send/{type}`` sends too (no transaction ID)."""
        body = self.ok("POST", self.room_path(self.room_id, "send/m.room.message"), self.bob_token,
                       {"msgtype": "m.text", "body": "x"})  # fmt: skip
        self.assertTrue(body["event_id"].startswith("$"))
        self.assertEqual(self.names(), ["check_event_allowed", "check_event_for_spam", "on_new_event"])

    def test_transaction_id_is_idempotent(self) -> None:
        """A retried ``txnId`` returns the same event ID without running callbacks."""
        first = self.send(self.bob_token, self.room_id, "once", "same").json_body
        self.reset_calls()
        second = self.send(self.bob_token, self.room_id, "once", "same").json_body
        self.assertEqual(first, second)
        self.assertEqual(self.names(), [])

    def test_transaction_id_across_restarted_cache(self) -> None:
        """The stored transaction mapping answers after the HTTP cache is gone (another
        path with the same device and transaction ID: the redaction servlet's check)."""
        first = self.send(self.bob_token, self.room_id, "x", "t9").json_body["event_id"]
        from synapse_modhost.types import create_requester

        user = self.get_success(self.hs.user_store.get_user_by_access_token(self.bob_token))
        requester = create_requester(self.bob, device_id=user.device_id)
        found = self.get_success(self.hs.events.get_event_from_transaction(requester, "t9", self.room_id))
        self.assertEqual(found.event_id, first)

    def test_state_put_order(self) -> None:
        """``user_may_send_state_event(user, room, type, state_key, content)`` comes first."""
        channel = self.request("PUT", self.room_path(self.room_id, "state/org.lab.state/k1"), self.alice_token, {"a": 1})
        self.assertEqual(channel.code, 200)
        self.assertEqual(
            self.calls()[0],
            ("user_may_send_state_event", ("@alice:test.local", self.room_id, "org.lab.state", "k1", {"a": 1})),
        )
        self.assertEqual(self.names()[1:], ["check_event_allowed", "check_event_for_spam", "on_new_event"])

    def test_state_put_without_key_and_admin(self) -> None:
        """No state key in the path means ``""``; admins skip ``user_may_send_state_event``."""
        self.request("PUT", self.room_path(self.room_id, "state/org.lab.state"), self.alice_token, {})
        self.assertEqual(self.calls()[0][1][3], "")
        self.reset_calls()
        self.ok("POST", self.room_path(self.room_id, "join"), self.admin_token, {})
        self.reset_calls()
        self.request("PUT", self.room_path(self.room_id, "state/org.lab.state"), self.admin_token, {"b": 2})
        self.assertNotIn("user_may_send_state_event", self.names())

    def test_identical_state_is_deduplicated(self) -> None:
        """The same state again returns the earlier event (callbacks run, nothing stored)."""
        path = self.room_path(self.room_id, "state/m.room.topic")
        first = self.ok("PUT", path, self.alice_token, {"topic": "a"})["event_id"]
        self.reset_calls()
        second = self.ok("PUT", path, self.alice_token, {"topic": "a"})["event_id"]
        self.assertEqual(first, second)
        self.assertNotIn("on_new_event", self.names())

    def test_redaction(self) -> None:
        """A redaction runs the send callbacks; the redacted event loses its content."""
        event_id = self.send(self.bob_token, self.room_id, "secret").json_body["event_id"]
        self.reset_calls()
        redaction = self.ok("PUT", self.room_path(self.room_id, "redact/%s/r1" % event_id), self.bob_token,
                            {"reason": "oops"})["event_id"]  # fmt: skip
        self.assertEqual(self.names(), ["check_event_allowed", "check_event_for_spam", "on_new_event"])
        self.assertEqual(self.calls()[0][1][0][3], {"reason": "oops", "redacts": event_id})
        event = self.ok("GET", self.room_path(self.room_id, "event/" + event_id), self.alice_token)
        self.assertEqual(event["content"], {})
        stored = self.get_success(self.hs.event_store.get_event(event_id))
        self.assertEqual(stored.internal_metadata.redacted_by, redaction)


class SendDenialTests(SendTestBase):
    """Each denial's status, errcode and text."""

    def test_check_event_allowed_denies(self) -> None:
        """403 M_FORBIDDEN "This event is not allowed in this context"."""
        self.answer("check_event_allowed", (False, None))
        self.assert_error(self.send(self.bob_token, self.room_id), 403, "M_FORBIDDEN",
                          "This event is not allowed in this context")  # fmt: skip
        self.assertEqual(self.names(), ["check_event_allowed"])

    def test_check_event_for_spam_tuple_and_string(self) -> None:
        """A ``(Codes, dict)`` denial and a string message."""
        self.answer("check_event_for_spam", (Codes.LIMIT_EXCEEDED, {"why": "spam"}))
        channel = self.send(self.bob_token, self.room_id)
        self.assertEqual(channel.code, 403)
        self.assertEqual(channel.json_body, {"errcode": "M_LIMIT_EXCEEDED",
                                             "error": "This message has been rejected as probable spam", "why": "spam"})
        self.answer("check_event_for_spam", "custom spam message")
        self.assert_error(self.send(self.bob_token, self.room_id, txn_id="t2"), 403, "M_FORBIDDEN", "custom spam message")

    def test_callback_raising(self) -> None:
        """A ``SynapseError`` passes through; any other exception is a 500."""

        def refuse(*args: Any) -> Any:
            raise SynapseError(409, "lab says no", "ORG_LAB_NO", {"lab": True})

        self.answer("check_event_allowed", refuse)
        channel = self.send(self.bob_token, self.room_id)
        self.assertEqual((channel.code, channel.json_body["errcode"]), (409, "ORG_LAB_NO"))
        self.answer("check_event_allowed", True)  # not a 2-tuple
        self.assert_error(self.send(self.bob_token, self.room_id, txn_id="t3"), 500, "M_UNKNOWN", "Internal server error")

    def test_user_may_send_state_event_denies(self) -> None:
        """403 with a bare code; anything but ``NOT_SPAM`` or ``Codes`` is M_FORBIDDEN."""
        self.answer("user_may_send_state_event", Codes.LIMIT_EXCEEDED)
        path = self.room_path(self.room_id, "state/org.x/k")
        self.assert_error(self.request("PUT", path, self.bob_token, {}), 403, "M_LIMIT_EXCEEDED",
                          "You are not permitted to send the state event")  # fmt: skip
        self.answer("user_may_send_state_event", True)
        self.assert_error(self.request("PUT", path, self.bob_token, {}), 403, "M_FORBIDDEN",
                          "You are not permitted to send the state event")  # fmt: skip

    def test_auth_rules(self) -> None:
        """Power levels, membership and shape errors, with Synapse's texts."""
        self.assert_error(
            self.request("PUT", self.room_path(self.room_id, "state/m.room.name"), self.bob_token, {"name": "x"}),
            403, "M_FORBIDDEN", "You don't have permission to post that to the room. user_level (0) < send_level (50)",
        )  # fmt: skip
        self.assert_error(
            self.request("PUT", self.room_path(self.room_id, "state/org.x/@bob:test.local"), self.alice_token, {}),
            403, "M_FORBIDDEN", "You are not allowed to set others state",
        )  # fmt: skip
        other = self.create_room(self.alice_token)
        self.assert_error(self.send(self.bob_token, other), 403, "M_FORBIDDEN",
                          "User @bob:test.local not in room %s" % other)  # fmt: skip
        self.assert_error(
            self.request("PUT", self.room_path(self.room_id, "send/m.room.message/t5"), self.bob_token, {"msgtype": "m.text"}),
            400, "M_UNKNOWN", "'body' not in content",
        )  # fmt: skip
        self.assert_error(
            self.request("PUT", self.room_path(self.room_id, "send/m.room.member/t6"), self.bob_token, {}),
            500, "M_UNKNOWN", "Tried to send member event through non-member codepath",
        )  # fmt: skip
        self.assert_error(
            self.request("PUT", self.room_path(self.room_id, "state/m.room.power_levels"), self.alice_token,
                         {"users_default": "0"}),
            400, "M_BAD_JSON", "\"users_default\": '0' is not of type 'integer'",
        )  # fmt: skip
        self.assert_error(
            self.request("PUT", self.room_path(self.room_id, "state/m.room.create"), self.alice_token,
                         {"room_version": "12"}),
            400, "M_INVALID_PARAM", "Cannot resend m.room.create event",
        )  # fmt: skip

    def test_redaction_permissions(self) -> None:
        """Redacting someone else's event without the power: 403 after the callbacks."""
        event_id = self.send(self.alice_token, self.room_id).json_body["event_id"]
        self.reset_calls()
        channel = self.request("PUT", self.room_path(self.room_id, "redact/%s/r1" % event_id), self.bob_token, {})
        self.assert_error(channel, 403, "M_FORBIDDEN", "You don't have permission to redact events")
        self.assertEqual(self.names(), ["check_event_allowed", "check_event_for_spam"])
        self.assert_error(
            self.request("PUT", self.room_path(self.room_id, "redact/%s/r2" % event_id), self.bob_token,
                         {"redacts": "$other"}),
            400, "M_INVALID_PARAM",
            "Cannot provide a redacts value incoherent with the event_id of the URL parameter",
        )  # fmt: skip


class ReplacementTests(SendTestBase):
    """``check_event_allowed`` returning a replacement event dict (CALLBACKS.md §2)."""

    def replace_with(self, change: Any) -> None:
        def answer(event: Any, state: Any) -> Any:
            if event.type != "m.room.message":
                return True, None
            new = event.get_dict()
            change(new)
            return True, new

        self.answer("check_event_allowed", answer)

    def test_complete_dict_replaces_content(self) -> None:
        """A complete event dict with new content: the stored event has it."""
        self.replace_with(lambda d: d.update(content={"msgtype": "m.text", "body": "REPLACED"}))
        event_id = self.send(self.bob_token, self.room_id).json_body["event_id"]
        event = self.ok("GET", self.room_path(self.room_id, "event/" + event_id), self.bob_token)
        self.assertEqual(event["content"]["body"], "REPLACED")
        spam_checked = [args for name, args in RoomsProbe.raw if name == "check_event_for_spam"]
        self.assertEqual(spam_checked[-1][0].content["body"], "REPLACED")

    def test_invalid_replacements_are_500s(self) -> None:
        """Content-only dicts, changed fields and remote senders fail with 500."""
        self.answer("check_event_allowed", lambda e, s: (True, {"content": {}}))
        self.assert_error(self.send(self.bob_token, self.room_id, txn_id="a"), 500, "M_UNKNOWN", "Internal server error")
        self.replace_with(lambda d: d.update(type="m.other"))
        self.assert_error(self.send(self.bob_token, self.room_id, txn_id="b"), 500, "M_UNKNOWN", "Internal server error")
        self.replace_with(lambda d: d.update(sender="@eve:elsewhere"))
        self.assert_error(self.send(self.bob_token, self.room_id, txn_id="c"), 500, "M_UNKNOWN", "Internal server error")
        self.replace_with(lambda d: d.update(content={"msgtype": "m.text"}))
        channel = self.send(self.bob_token, self.room_id, txn_id="d")
        self.assertEqual(channel.code, 500)
        self.assertEqual(channel.json_body["error"], "Third party rules module created an invalid event: 'body' not in content")


class StoreContractTests(SendTestBase):
    """The ``EventStore`` reads the sync machinery relies on."""

    def test_stream_reads(self) -> None:
        """Positions, ranges, pagination and state changes agree with what was sent."""
        store = self.hs.event_store
        start = store.get_current_stream_position()
        ids = [self.send(self.bob_token, self.room_id, "m%d" % i, "s%d" % i).json_body["event_id"] for i in range(3)]
        end = store.get_current_stream_position()
        self.assertEqual(end, start + 3)
        between = self.get_success(store.get_room_events_between([self.room_id], start, end, 10))
        self.assertEqual([e.event_id for e in between], ids)
        self.assertEqual([e.event_id for e in self.get_success(store.get_room_events_between([self.room_id], start, end, 2))], ids[1:])
        page, nxt = self.get_success(store.paginate_room_events(self.room_id, end, "b", 2))
        self.assertEqual([e.event_id for e in page], [ids[2], ids[1]])
        page2, _ = self.get_success(store.paginate_room_events(self.room_id, nxt, "b", 1))
        self.assertEqual([e.event_id for e in page2], [ids[0]])
        forward, pos = self.get_success(store.paginate_room_events(self.room_id, start, "f", 5))
        self.assertEqual(([e.event_id for e in forward], pos), (ids, end))
        self.assertEqual(self.get_success(store.get_state_changes_between(self.room_id, start, end)), [])
        memberships = self.get_success(store.get_rooms_for_user_with_membership(self.bob))
        membership, event_id, position = memberships[self.room_id]
        self.assertEqual(membership, "join")
        self.assertEqual(self.get_success(store.get_event(event_id)).internal_metadata.stream_ordering, position)

    def test_txn_metadata(self) -> None:
        """Events sent with a transaction ID carry it (and the device) for ``unsigned``."""
        event_id = self.send(self.bob_token, self.room_id, "x", "my-txn").json_body["event_id"]
        event = self.get_success(self.hs.event_store.get_events([event_id]))[event_id]
        self.assertEqual(event.internal_metadata.txn_id, "my-txn")
        self.assertIsNotNone(event.internal_metadata.device_id)
        own = self.ok("GET", self.room_path(self.room_id, "event/" + event_id), self.bob_token)
        self.assertEqual(own["unsigned"]["transaction_id"], "my-txn")

    def test_notifier_told(self) -> None:
        """Each persisted event reaches ``notifier.on_new_room_event`` with its position."""
        seen: Dict[str, int] = {}
        notifier = self.hs.notifier
        original = notifier.on_new_room_event

        def spy(event: Any, stream_ordering: int) -> None:
            seen[event.event_id] = stream_ordering
            original(event, stream_ordering)

        notifier.on_new_room_event = spy
        event_id = self.send(self.bob_token, self.room_id).json_body["event_id"]
        self.assertEqual(seen, {event_id: self.hs.event_store.get_current_stream_position()})
