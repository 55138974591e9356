"""``serialize_events_for_client``: the ``add_field_to_unsigned_callback`` rules."""

from __future__ import annotations

from typing import Any, Dict, List

from synapse_modhost.events.utils import format_event_for_client_v2_without_room_id
from synapse_modhost.homeserver.handlers._serialize import serialize_events_for_client
from synapse_modhost.types import create_requester
from tests.homeserver._rooms_case import RoomsTestCase
from tests.homeserver._sync_probe import SyncProbe


class SerializeTests(RoomsTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.room = self.rooms.create_room(self.alice)
        self.event = self.rooms.message(self.room, self.alice, "x")

    def serialize(self, events: List[Any], **kwargs: Any) -> List[Dict[str, Any]]:
        requester = create_requester(self.bob)
        result: List[Dict[str, Any]] = self.get_success(
            serialize_events_for_client(self.hs, events, requester, **kwargs)
        )
        return result

    def test_once_per_distinct_event(self) -> None:
        """The callback runs once per event ID in a batch; every copy gets the fields."""
        out = self.serialize([self.event, self.event])
        self.assertEqual(
            self.probe_calls("add_field_to_unsigned_callback"), [(self.event.event_id,)]
        )
        self.assertEqual([e["unsigned"]["probe"] for e in out], [1, 1])

    def test_server_keys_win(self) -> None:
        """``age`` and a given ``membership`` stay the server's; other module keys land."""
        [out] = self.serialize([self.event], memberships={self.event.event_id: "join"})
        unsigned = out["unsigned"]
        self.assertEqual(unsigned["membership"], "join")
        self.assertIsInstance(unsigned["age"], int)
        self.assertEqual(unsigned["transaction_id"], "module")

    def test_later_callback_wins_between_modules(self) -> None:
        """Results of several callbacks are merged with ``dict.update`` in order."""

        async def second(event: Any) -> Dict[str, Any]:
            return {"probe": 2, "second": True}

        SyncProbe.instance.api.register_add_extra_fields_to_unsigned_client_event_callbacks(
            add_field_to_unsigned_callback=second
        )
        [out] = self.serialize([self.event])
        self.assertEqual((out["unsigned"]["probe"], out["unsigned"]["second"]), (2, True))

    def test_default_format_is_v1(self) -> None:
        """Without a format, events get Synapse's default v1 shape; sync's drops room_id."""
        [v1] = self.serialize([self.event])
        self.assertEqual(v1["user_id"], self.alice)
        [v2] = self.serialize([self.event], event_format=format_event_for_client_v2_without_room_id)
        self.assertNotIn("room_id", v2)
        self.assertNotIn("user_id", v2)

    def test_exception_propagates(self) -> None:
        """A raising callback fails the whole serialisation."""
        SyncProbe.unsigned_raises = ValueError("bad")
        requester = create_requester(self.bob)
        self.get_failure(serialize_events_for_client(self.hs, [self.event], requester), ValueError)
