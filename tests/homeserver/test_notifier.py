"""``StreamToken`` and ``Notifier``: token text, wake-ups, timeouts and cancellation."""

from __future__ import annotations

from typing import Any, List

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.homeserver.handlers.notifier import Notifier, StreamToken


class StreamTokenTests(SynchronousTestCase):
    def test_round_trip(self) -> None:
        """A token's text has Synapse's 14 fields and parses back."""
        token = StreamToken(room=12, presence=3, account_data=7)
        self.assertEqual(token.to_string(), "s12_3_0_0_7_0_0_0_0_0_0_0_0_0")
        self.assertEqual(StreamToken.parse(token.to_string()), token)

    def test_synapse_forms(self) -> None:
        """Short tokens are padded with zeros; ``t<topo>-<stream>`` room keys keep the stream."""
        self.assertEqual(StreamToken.parse("s5"), StreamToken(room=5))
        token = StreamToken.parse("t3-9_1_0_0_2")
        self.assertEqual((token.room, token.presence, token.account_data), (9, 1, 2))
        self.assertEqual(token.to_string(), "t3-9_1_0_0_2_0_0_0_0_0_0_0_0_0")

    def test_invalid(self) -> None:
        """Garbage, extra fields and negative positions are rejected."""
        for text in ("garbage", "x1", "s1_" + "0_" * 14, "s1_-1", "s", ""):
            with self.assertRaises(ValueError, msg=text):
                StreamToken.parse(text)


class _Event:
    def __init__(
        self, room_id: str, event_type: str = "m.room.message", state_key: Any = None
    ) -> None:
        self.room_id = room_id
        self.type = event_type
        self.state_key = state_key

    def get_state_key(self) -> Any:
        return self.state_key


class _Store:
    def get_current_stream_position(self) -> int:
        return 4

    def get_max_stream_id(self) -> "defer.Deferred[int]":
        return defer.succeed(2)


class _HS:
    def __init__(self, reactor: MemoryReactorClock) -> None:
        self.reactor = reactor
        self.event_store = _Store()
        self.account_data_store = _Store()


class NotifierTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.notifier = Notifier(_HS(self.reactor))  # type: ignore[arg-type]
        self.since = self.successResultOf(defer.ensureDeferred(self.notifier.get_current_token()))

    def wait(self, rooms: List[str], timeout_ms: int = 1000) -> "defer.Deferred[bool]":
        return self.notifier.wait_for_events("@a:hs", self.since, timeout_ms, rooms)

    def test_current_token_from_stores(self) -> None:
        """Positions start at the stores' and follow notifications."""
        self.assertEqual(self.since, StreamToken(room=4, presence=0, account_data=2))
        self.notifier.on_new_room_event(_Event("!r"), 9)
        self.notifier.on_new_account_data("@a:hs", 5)
        token = self.successResultOf(defer.ensureDeferred(self.notifier.get_current_token()))
        self.assertEqual((token.room, token.account_data), (9, 5))

    def test_room_event_wakes_room_listener(self) -> None:
        """An event in a watched room fires ``True`` and removes the listener and timer."""
        d = self.wait(["!r"])
        self.assertNoResult(d)
        self.notifier.on_new_room_event(_Event("!r"), 5)
        self.assertIs(self.successResultOf(d), True)
        self.assertEqual(self.notifier.count_listeners(), 0)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_unrelated_room_does_not_wake(self) -> None:
        """An event elsewhere leaves the listener waiting."""
        d = self.wait(["!r"])
        self.notifier.on_new_room_event(_Event("!other"), 5)
        self.assertNoResult(d)

    def test_membership_about_user_wakes(self) -> None:
        """A membership event targeting the user wakes them even outside their rooms."""
        d = self.wait([])
        self.notifier.on_new_room_event(_Event("!new", "m.room.member", "@a:hs"), 5)
        self.assertIs(self.successResultOf(d), True)

    def test_account_data_wakes_only_its_user(self) -> None:
        """Account data wakes its owner, not others."""
        d = self.wait([])
        self.notifier.on_new_account_data("@b:hs", 3)
        self.assertNoResult(d)
        self.notifier.on_new_account_data("@a:hs", 4)
        self.assertIs(self.successResultOf(d), True)

    def test_timeout_fires_false(self) -> None:
        """Without activity the Deferred fires ``False`` after the timeout."""
        d = self.wait(["!r"], timeout_ms=1500)
        self.reactor.advance(1.4)
        self.assertNoResult(d)
        self.reactor.advance(0.2)
        self.assertIs(self.successResultOf(d), False)
        self.assertEqual(self.notifier.count_listeners(), 0)

    def test_already_changed_fires_at_once(self) -> None:
        """A change after the token that happened before waiting fires immediately."""
        self.notifier.on_new_room_event(_Event("!r"), 5)
        self.assertIs(self.successResultOf(self.wait(["!r"])), True)

    def test_cancel_cleans_up(self) -> None:
        """Cancelling removes the listener and its timer."""
        d = self.wait(["!r"])
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(self.notifier.count_listeners(), 0)
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.notifier.on_new_room_event(_Event("!r"), 5)

    def test_presence_wakes_rooms_and_users(self) -> None:
        """A presence change wakes listeners in the given rooms and the given users."""
        in_room = self.wait(["!r"])
        d = self.notifier.wait_for_events("@c:hs", self.since, 1000, [])
        position = self.notifier.next_presence_position()
        self.notifier.on_new_presence(position, users=["@c:hs"], rooms=["!r"])
        self.assertIs(self.successResultOf(in_room), True)
        self.assertIs(self.successResultOf(d), True)
