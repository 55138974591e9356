"""A test case with the sync probe loaded, rooms in memory (``self.rooms``) and two
users, alice and bob, logged in."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Dict, List, Optional

from synapse_modhost.testing import ModuleHostTestCase
from synapse_modhost.testing._channel import FakeChannel
from tests.homeserver._fake_rooms import FakeRooms
from tests.homeserver._sync_probe import PROBE, SyncProbe


def _ensure_room_reads(host: Any) -> None:
    """Mount ``rest/room_reads`` on the client API if ``CLIENT_AREAS`` lacks it (until
    the lead adds it there)."""
    from synapse_modhost.homeserver import named_resources, rest
    from synapse_modhost.homeserver.rest import room_reads

    if "room_reads" in rest.CLIENT_AREAS:
        return
    room_reads.register_servlets(host.hs, named_resources(host, "client")["/_matrix/client"])


class RoomsTestCase(ModuleHostTestCase):
    """``self.rooms`` drives rooms; ``self.alice``/``self.bob`` and their tokens."""

    probe_config: Dict[str, Any] = {}
    #: serve rooms from :class:`FakeRooms` (``False``: the real rooms)
    use_fake_rooms = True

    def make_config(self) -> Dict[str, Any]:
        config = super().make_config()
        config["modules"] = [{"module": PROBE, "config": dict(self.probe_config)}]
        return config

    def setUp(self) -> None:
        SyncProbe.reset()
        super().setUp()
        self.hs = self.host.hs
        if self.use_fake_rooms:
            self.rooms = FakeRooms.install(self.hs)
        _ensure_room_reads(self.host)
        self.alice = self.register_user("alice")
        self.alice_token = self.login(self.alice)
        self.bob = self.register_user("bob")
        self.bob_token = self.login(self.bob)

    def sync(self, token: str, await_result: bool = True, **params: Any) -> FakeChannel:
        """``GET /sync`` with ``params`` (dicts are sent as JSON)."""
        query = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
        path = "/_matrix/client/v3/sync"
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return self.make_request("GET", path, access_token=token, await_result=await_result)

    def sync_ok(self, token: str, **params: Any) -> Dict[str, Any]:
        channel = self.sync(token, **params)
        self.assertEqual(channel.code, 200, channel.json_body)
        body: Dict[str, Any] = channel.json_body
        return body

    def timeline(self, body: Dict[str, Any], room_id: str) -> List[Dict[str, Any]]:
        events: List[Dict[str, Any]] = body["rooms"]["join"][room_id]["timeline"]["events"]
        return events

    def probe_calls(self, name: Optional[str] = None) -> List[Any]:
        return [args for n, args in SyncProbe.calls if name is None or n == name]


class RealRoomsTestCase(RoomsTestCase):
    """As :class:`RoomsTestCase`, with the real rooms (the kit's ``create_room``,
    ``join``, ``invite``, ``send_event``; plus :meth:`send_text` and :meth:`leave`)."""

    use_fake_rooms = False

    def api(self, method: str, path: str, token: str, body: Any = None) -> Dict[str, Any]:
        """A client API call that must succeed; its JSON body."""
        channel = self.make_request(method, "/_matrix/client/v3" + path, body, token)
        self.assertEqual(channel.code, 200, (path, channel.json_body))
        result: Dict[str, Any] = channel.json_body
        return result

    def room_path(self, room_id: str, rest: str) -> str:
        return "/rooms/%s/%s" % (urllib.parse.quote(room_id), rest)

    def send_text(self, token: str, room_id: str, body: str, txn_id: str) -> str:
        """Send an ``m.text`` message with a transaction ID; its event ID."""
        return self.send_event(room_id, token, {"msgtype": "m.text", "body": body}, txn_id=txn_id)

    def leave(self, token: str, room_id: str) -> None:
        self.api("POST", self.room_path(room_id, "leave"), token, {})
