"""A real Matrix client library (matrix-nio) against the stand-in running as a process."""

from __future__ import annotations

import asyncio
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from tests.e2e._process import HostProcess

try:
    import nio
except ImportError:  # pragma: no cover - the test extra installs it
    nio = None


class NioEndToEndTests(SynchronousTestCase):
    """matrix-nio registers, logs in, creates rooms, chats, uploads; modules allow, deny, rewrite."""

    def setUp(self) -> None:
        if nio is None:
            self.skipTest("matrix-nio is not installed (pip install '.[test]')")
        host = HostProcess(
            self,
            "nio-e2e-",
            extra="public_baseurl: http://127.0.0.1:%(port)d/\nregistration_shared_secret: e2e\n",
            extra_modules="  - module: sample_modules.event_censorer.EventCensorer\n"
            "    config:\n"
            "      endpoint: http://127.0.0.1:%(port)d/_synapse/client/event_censorer/censor\n"
            "      banned_words: [darn]\n",
        )
        self.port = host.port
        host.start()

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
