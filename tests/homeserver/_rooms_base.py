"""The base of the room tests: the rooms probe loaded, alice, bob and an admin logged in,
and helpers for the room endpoints."""

from __future__ import annotations

import urllib.parse
from typing import Any, Dict, List, Optional

from synapse_modhost.testing import ModuleHostTestCase
from synapse_modhost.testing._channel import FakeChannel
from tests.homeserver._rooms_probe import PROBE, RoomsProbe

CLIENT = "/_matrix/client/v3"


class RoomsTestBase(ModuleHostTestCase):
    """``self.alice``/``self.bob``/``self.admin`` and their tokens; ``RoomsProbe`` records."""

    #: extra top-level config keys
    extra_config: Dict[str, Any] = {}
    #: load the probe module
    with_probe = True

    def make_config(self) -> Dict[str, Any]:
        config = super().make_config()
        if self.with_probe:
            config["modules"] = [{"module": PROBE, "config": {}}] + list(config["modules"])
        config.update(self.extra_config)
        return config

    def setUp(self) -> None:
        RoomsProbe.reset()
        super().setUp()
        self.hs = self.host.hs
        self.alice = self.register_user("alice")
        self.alice_token = self.login(self.alice)
        self.bob = self.register_user("bob")
        self.bob_token = self.login(self.bob)
        self.admin = self.register_user("admin", admin=True)
        self.admin_token = self.login(self.admin)
        self.reset_calls()

    # ------------------------------------------------------------------ requests

    def request(self, method: str, path: str, token: Optional[str], body: Any = None) -> FakeChannel:
        """A client API request (``path`` after ``/_matrix/client/v3``)."""
        return self.make_request(method, CLIENT + path, body, token)

    def ok(self, method: str, path: str, token: Optional[str], body: Any = None) -> Any:
        """A client API request that must answer 200; its JSON body."""
        channel = self.request(method, path, token, body)
        self.assertEqual(channel.code, 200, (method, path, channel.json_body))
        return channel.json_body

    def assert_error(self, channel: FakeChannel, code: int, errcode: str, error: str) -> None:
        """The response is exactly ``{"errcode", "error"}`` with this status."""
        self.assertEqual(channel.code, code, channel.json_body)
        self.assertEqual(channel.json_body, {"errcode": errcode, "error": error})

    @staticmethod
    def room_path(room_id: str, rest: str) -> str:
        return "/rooms/%s/%s" % (urllib.parse.quote(room_id), rest)

    def create_room(self, token: str, **body: Any) -> str:
        return str(self.ok("POST", "/createRoom", token, body)["room_id"])

    def send(self, token: str, room_id: str, body: str = "hello", txn_id: str = "t1") -> FakeChannel:
        return self.request(
            "PUT",
            self.room_path(room_id, "send/m.room.message/" + txn_id),
            token,
            {"msgtype": "m.text", "body": body},
        )

    def join(self, token: str, room_id: str) -> None:
        self.ok("POST", self.room_path(room_id, "join"), token, {})

    def invite(self, token: str, room_id: str, user_id: str) -> None:
        self.ok("POST", self.room_path(room_id, "invite"), token, {"user_id": user_id})

    def state(self, token: str, room_id: str) -> Dict[Any, Any]:
        """``{(type, state_key): content}`` of ``GET /rooms/{roomId}/state``."""
        events: List[Dict[str, Any]] = self.ok("GET", self.room_path(room_id, "state"), token)
        return {(e["type"], e["state_key"]): e["content"] for e in events}

    # ------------------------------------------------------------------ the probe

    @staticmethod
    def reset_calls() -> None:
        RoomsProbe.calls = []
        RoomsProbe.raw = []

    @staticmethod
    def calls(exclude: tuple = ("is_user_expired",)) -> List[Any]:
        """``(name, summarised args)`` recorded since the last reset."""
        return [(n, a) for n, a in RoomsProbe.calls if n not in exclude]

    @staticmethod
    def names() -> List[str]:
        return RoomsProbe.names()

    @staticmethod
    def answer(name: str, value: Any) -> None:
        RoomsProbe.answers[name] = value
