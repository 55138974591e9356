"""Every acknowledged message survives the host being killed (SIGKILL) under concurrent load."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from typing import Any, List, Optional, Tuple

from twisted.trial.unittest import SynchronousTestCase

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: acknowledged sends after which the host is killed, with requests still in flight
KILL_AFTER = 400
SENDERS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="kill9-")
        self.config = os.path.join(self.dir, "homeserver.yaml")
        with open(self.config, "w") as f:
            f.write(
                "server_name: test.local\n"
                "listeners: [{port: %(port)d, bind_addresses: ['127.0.0.1'], type: http,"
                " resources: [{names: [client]}]}]\n"
                "database: {name: sqlite3, args: {database: '%(dir)s/homeserver.db'}}\n"
                "media_store_path: %(dir)s/media\n"
                "enable_registration: true\n"
                "enable_registration_without_verification: true\n"
                "bcrypt_rounds: 4\n"
                "rc_message: {per_second: 100000, burst_count: 100000}\n"
                "modules:\n"
                "  - module: sample_modules.list_spam_checker.ListSpamChecker\n"
                "    config: {evil_users: ['@mallory:test.local']}\n" % {"port": self.port, "dir": self.dir}
            )
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.addCleanup(self._kill)

    def _start(self) -> None:
        env = dict(os.environ, PYTHONPATH=REPO)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synapse_modhost", "-c", self.config],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=self.dir,
        )
        assert self.proc.stderr is not None
        lines: List[bytes] = []
        for line in self.proc.stderr:  # blocks until the host logs that it is ready
            lines.append(line)
            if b"synapse-modhost ready" in line:
                break
        else:
            self.fail("the host did not start: %s" % b"".join(lines).decode(errors="replace"))
        # keep reading its log so that it never blocks on a full pipe
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(30)

    def test_acknowledged_events_survive_sigkill(self) -> None:
        """Events whose send returned 200 before the kill are all readable after a restart."""
        self._start()
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
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        for t in threads:
            t.join(30)
        with lock:
            kept = list(acked)
        self.assertGreaterEqual(len(kept), KILL_AFTER)

        self._start()
        client = _Client(self.port, token)
        missing = [
            event_id
            for event_id in kept
            if client.call("GET", "/_matrix/client/v3/rooms/%s/event/%s" % (room, event_id))[0] != 200
        ]
        self.assertEqual(missing, [])
