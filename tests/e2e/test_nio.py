"""A real Matrix client library (matrix-nio) against the stand-in running as a process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from typing import Any, List

from twisted.trial.unittest import SynchronousTestCase

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import nio
except ImportError:  # pragma: no cover - the test extra installs it
    nio = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NioEndToEndTests(SynchronousTestCase):
    """matrix-nio registers, logs in, creates rooms, chats, uploads; modules allow, deny, rewrite."""

    def setUp(self) -> None:
        if nio is None:
            self.skipTest("matrix-nio is not installed (pip install '.[test]')")
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="nio-e2e-")
        config = os.path.join(self.dir, "homeserver.yaml")
        with open(config, "w") as f:
            f.write(
                "server_name: test.local\n"
                "public_baseurl: http://127.0.0.1:%(port)d/\n"
                "listeners: [{port: %(port)d, bind_addresses: ['127.0.0.1'], type: http,"
                " resources: [{names: [client]}]}]\n"
                "database: {name: sqlite3, args: {database: '%(dir)s/homeserver.db'}}\n"
                "media_store_path: %(dir)s/media\n"
                "enable_registration: true\n"
                "enable_registration_without_verification: true\n"
                "registration_shared_secret: e2e\n"
                "bcrypt_rounds: 4\n"
                "modules:\n"
                "  - module: sample_modules.list_spam_checker.ListSpamChecker\n"
                "    config: {evil_users: ['@mallory:test.local']}\n"
                "  - module: sample_modules.event_censorer.EventCensorer\n"
                "    config:\n"
                "      endpoint: http://127.0.0.1:%(port)d/_synapse/client/event_censorer/censor\n"
                "      banned_words: [darn]\n" % {"port": self.port, "dir": self.dir}
            )
        env = dict(os.environ, PYTHONPATH=REPO)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synapse_modhost", "-c", config],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=self.dir,
        )
        self.addCleanup(self._stop)
        lines: List[bytes] = []
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # blocks until the host logs that it is ready
            lines.append(line)
            if b"synapse-modhost ready" in line:
                break
        else:
            self.fail("the host did not start: %s" % b"".join(lines).decode(errors="replace"))

    def _stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def test_chat_flow(self) -> None:
        """Register, log in, create a room, invite, join, send and receive through /sync,
        upload and download, set a displayname; the spam checker denies and the censor
        rewrites."""
        asyncio.run(self._scenario())

    async def _client(self, user: str) -> Any:
        client = nio.AsyncClient("http://127.0.0.1:%d" % self.port, user)
        return client

    async def _scenario(self) -> None:
        alice = await self._client("alice")
        bob = await self._client("bob")
        mallory = await self._client("mallory")
        try:
            r = await alice.register("alice", "wonderland")
            self.assertIsInstance(r, nio.RegisterResponse, r)
            r = await bob.register("bob", "builder")
            self.assertIsInstance(r, nio.RegisterResponse, r)
            r = await mallory.register("mallory", "evil")
            self.assertIsInstance(r, nio.RegisterResponse, r)

            second = await self._client("@alice:test.local")
            r = await second.login("wonderland", device_name="second")
            self.assertIsInstance(r, nio.LoginResponse, r)
            self.assertEqual(second.user_id, "@alice:test.local")
            await second.close()

            r = await alice.set_displayname("Alice A.")
            self.assertIsInstance(r, nio.ProfileSetDisplayNameResponse, r)
            r = await bob.get_displayname("@alice:test.local")
            self.assertEqual(r.displayname, "Alice A.")

            r = await alice.room_create(name="tea", visibility=nio.RoomVisibility.public)
            self.assertIsInstance(r, nio.RoomCreateResponse, r)
            room_id = r.room_id
            r = await alice.room_invite(room_id, "@bob:test.local")
            self.assertIsInstance(r, nio.RoomInviteResponse, r)

            sync = await bob.sync(timeout=0)
            self.assertIn(room_id, sync.rooms.invite)
            r = await bob.join(room_id)
            self.assertIsInstance(r, nio.JoinResponse, r)

            r = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "hello bob"})
            self.assertIsInstance(r, nio.RoomSendResponse, r)
            r = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "oh darn"})
            self.assertIsInstance(r, nio.RoomSendResponse, r)

            sync = await bob.sync(timeout=3000, since=bob.next_batch)
            bodies = [e.body for e in sync.rooms.join[room_id].timeline.events if isinstance(e, nio.RoomMessageText)]
            self.assertIn("hello bob", bodies)
            self.assertIn("oh ****", bodies)  # EventCensorer rewrote it
            self.assertNotIn("oh darn", bodies)

            r = await mallory.join(room_id)
            self.assertIsInstance(r, nio.JoinResponse, r)
            r = await mallory.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "spam"})
            self.assertIsInstance(r, nio.RoomSendError, r)
            self.assertEqual(r.status_code, "M_FORBIDDEN")

            data = b"\x89PNG not really"
            upload, _ = await alice.upload(lambda *_: data, content_type="image/png", filename="a.png",
                                           filesize=len(data))
            self.assertIsInstance(upload, nio.UploadResponse, upload)
            self.assertTrue(upload.content_uri.startswith("mxc://test.local/"))
            download = await bob.download(upload.content_uri)
            self.assertIsInstance(download, nio.DownloadResponse, download)
            self.assertEqual(download.body, data)
        finally:
            for client in (alice, bob, mallory):
                await client.close()
