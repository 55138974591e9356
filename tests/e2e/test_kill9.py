"""Every acknowledged message survives the host being killed (SIGKILL) under concurrent load."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from typing import Any, List, Optional, Tuple

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e._process import HostProcess

#: acknowledged sends after which the host is killed, with requests still in flight
KILL_AFTER = 400
SENDERS = 8


class _Client:
    """One keep-alive connection speaking JSON."""

    def __init__(self, port: int, token: Optional[str] = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None


class KillDuringLoadTests(SynchronousTestCase):
    """kill -9 while eight clients send: restarted, the host has every event it acknowledged."""

    def setUp(self) -> None:
        self.host = HostProcess(
            self, "kill9-", extra="rc_message: {per_second: 100000, burst_count: 100000}\n"
        )
        self.port = self.host.port

    def test_acknowledged_events_survive_sigkill(self) -> None:
        """Events whose send returned 200 before the kill are all readable after a restart."""
        self.host.start()
        code, body = _Client(self.port).call(
            "POST",
            "/_matrix/client/v3/register",
            {"username": "alice", "password": "pw", "auth": {"type": "m.login.dummy"}},
        )
        self.assertEqual(code, 200, body)
        token = body["access_token"]
        code, body = _Client(self.port, token).call(
            "POST", "/_matrix/client/v3/createRoom", {"preset": "private_chat"}
        )
        self.assertEqual(code, 200, body)
        room = body["room_id"]

        acked: List[str] = []
        lock = threading.Lock()
        enough = threading.Event()

        def sender() -> None:
            client = _Client(self.port, token)
            try:
                while True:
                    code, body = client.call(
                        "PUT",
                        "/_matrix/client/v3/rooms/%s/send/m.room.message/%s" % (room, uuid.uuid4().hex),
                        {"msgtype": "m.text", "body": "m"},
                    )
                    if code != 200:
                        return
                    with lock:
                        acked.append(body["event_id"])
                        if len(acked) >= KILL_AFTER:
                            enough.set()
            except (OSError, http.client.HTTPException):
                return  # the host went away mid-request: that send was never acknowledged

        threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
        for t in threads:
            t.start()
        self.assertTrue(enough.wait(60), "the senders did not reach %d messages" % KILL_AFTER)
        self.host.kill()
        for t in threads:
            t.join(30)
        with lock:
            kept = list(acked)
        self.assertGreaterEqual(len(kept), KILL_AFTER)

        self.host.start()
        client = _Client(self.port, token)
        missing = [
            event_id
            for event_id in kept
            if client.call("GET", "/_matrix/client/v3/rooms/%s/event/%s" % (room, event_id))[0] != 200
        ]
        self.assertEqual(missing, [])
