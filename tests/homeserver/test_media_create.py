"""``POST /_matrix/media/v1/create`` then ``PUT /_matrix/media/v3/upload/{server}/{id}``."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from synapse_modhost.testing import FakeChannel
from tests.homeserver._media_probe import MediaProbe, names
from tests.homeserver.test_media_upload import MXC, UploadTestCase

CREATE = "/_matrix/media/v1/create"
DAY_MS = 86_400_000


class CreateTestCase(UploadTestCase):
    """Helpers to reserve ids and fill them."""

    probe_config = {"spam_marker": "SPAM"}

    def create(self, token: Any = None) -> str:
        channel = self.make_request("POST", CREATE, access_token=token or self.token)
        self.assertEqual(channel.code, 200, channel)
        match = MXC.match(channel.json_body["content_uri"])
        assert match is not None
        return match.group(1)

    def put(
        self,
        media_id: str,
        data: bytes = b"data",
        token: Any = None,
        server: str = "test.local",
        version: str = "v3",
        **kw: Any,
    ) -> FakeChannel:
        path = "/_matrix/media/%s/upload/%s/%s" % (version, server, media_id)
        return self.make_request("PUT", path, data, access_token=token or self.token, **kw)


class CreateTests(CreateTestCase):
    """Reserving media ids."""

    def test_create_response(self) -> None:
        """200 with the mxc URI and unused_expires_at = now + 24h."""
        self.reactor.advance(50)
        before = int(self.reactor.seconds() * 1000)
        channel = self.make_request("POST", CREATE, access_token=self.token)
        self.assertEqual(channel.code, 200)
        self.assertRegex(channel.json_body["content_uri"], MXC)
        self.assertEqual(set(channel.json_body), {"content_uri", "unused_expires_at"})
        self.assertTrue(
            before + DAY_MS <= channel.json_body["unused_expires_at"] <= before + DAY_MS + 1000
        )

    def test_create_only_on_v1(self) -> None:
        """/create exists on v1 only: v3 and r0 are 404 M_UNRECOGNIZED."""
        for version in ("v3", "r0"):
            channel = self.make_request(
                "POST", "/_matrix/media/%s/create" % version, access_token=self.token
            )
            self.assertEqual((channel.code, channel.json_body["errcode"]), (404, "M_UNRECOGNIZED"))

    def test_pending_limit(self) -> None:
        """A sixth unused id → 429 M_LIMIT_EXCEEDED with retry_after_ms until the first expires."""
        self.reactor.advance(100)
        for _ in range(5):
            self.create()
        self.reactor.advance(10)
        channel = self.make_request("POST", CREATE, access_token=self.token)
        self.assertEqual((channel.code, channel.json_body["errcode"]), (429, "M_LIMIT_EXCEEDED"))
        self.assertTrue(DAY_MS - 11_000 < channel.json_body["retry_after_ms"] <= DAY_MS - 10_000)
        self.assertEqual(channel.headers["retry-after"], ["86390"])

    def test_filled_ids_do_not_count_as_pending(self) -> None:
        """Ids with content no longer count towards the pending limit."""
        for _ in range(5):
            self.assertEqual(self.put(self.create()).code, 200)
        self.create()


class PutTests(CreateTestCase):
    """Filling a reserved id."""

    def test_put_then_download(self) -> None:
        """200 {} and the content is served under the reserved id."""
        media_id = self.create()
        channel = self.put(media_id, b"async!", headers=[("Content-Type", "image/png")])
        self.assertEqual((channel.code, channel.result_body), (200, b"{}"))
        download = self.make_request(
            "GET",
            "/_matrix/client/v1/media/download/test.local/" + media_id,
            access_token=self.token,
        )
        self.assertEqual((download.code, download.result_body), (200, b"async!"))
        self.assertEqual(download.headers["content-type"], ["image/png"])

    def test_same_callback_order(self) -> None:
        """The callbacks run as for POST /upload, on the reserved id."""
        media_id = self.create()
        MediaProbe.reset()
        self.put(media_id)
        self.assertEqual(
            names(MediaProbe.calls),
            [
                "is_user_expired",
                "is_user_allowed_to_upload_media_of_size",
                "check_media_file_for_spam",
                "get_media_upload_limits_for_user",
            ],
        )
        self.assertEqual(MediaProbe.spam_seen[0]["file_info"].file_id, media_id)

    def test_ownership_and_state_errors(self) -> None:
        """Synapse's refusals, each with its status, errcode and text."""
        media_id = self.create()
        bob = self.login(self.register_user("bob"))
        cases = [
            (
                self.put(media_id, token=bob),
                403,
                "M_FORBIDDEN",
                "Only the creator of the media ID can upload to it",
            ),
            (
                self.put(media_id, server="other.example"),
                404,
                "M_NOT_FOUND",
                "Non-local server name specified",
            ),
            (self.put("nosuchmediaid"), 404, "M_NOT_FOUND", "Unknown media ID"),
            (self.put(media_id, version="r0"), 404, "M_UNRECOGNIZED", "Unrecognized request"),
        ]
        for channel, code, errcode, error in cases:
            self.assertEqual(
                (channel.code, channel.json_body), (code, {"errcode": errcode, "error": error})
            )
        self.assertEqual(self.put(media_id).code, 200)
        again = self.put(media_id)
        self.assertEqual(
            (again.code, again.json_body),
            (409, {"errcode": "M_CANNOT_OVERWRITE_MEDIA", "error": "Media ID already has content"}),
        )

    def test_expired_id(self) -> None:
        """An id unused for over 24h → 404 "Media ID has expired"."""
        media_id = self.create()
        self.reactor.advance(DAY_MS / 1000 + 1)
        channel = self.put(media_id)
        self.assertEqual((channel.code, channel.json_body["error"]), (404, "Media ID has expired"))

    def test_spam_leaves_id_pending(self) -> None:
        """Spam → 400 "Bad content"; the id stays empty and can be filled later."""
        media_id = self.create()
        self.assertEqual(self.put(media_id, b"SPAM").json_body["error"], "Bad content")
        self.assertIsNone(self.media_row(media_id).media_length)
        self.assertEqual(self.put(media_id, b"fine").code, 200)

    def test_concurrent_put_is_409(self) -> None:
        """A PUT while another is in flight for the same id → 409 M_CANNOT_OVERWRITE_MEDIA."""
        media_id = self.create()
        MediaProbe.gate = defer.Deferred()
        first = self.put(media_id, await_result=False)
        self.pump(0.01)
        second = self.put(media_id)
        self.assertEqual(
            (second.code, second.json_body),
            (
                409,
                {"errcode": "M_CANNOT_OVERWRITE_MEDIA", "error": "Media ID cannot be overwritten"},
            ),
        )
        MediaProbe.gate.callback(None)
        self.pump(0.01)
        self.assertEqual(first.code, 200)


class PendingDownloadTests(CreateTestCase):
    """Downloading an id whose content has not arrived."""

    def download(self, media_id: str, query: str = "", **kw: Any) -> FakeChannel:
        path = "/_matrix/client/v1/media/download/test.local/%s%s" % (media_id, query)
        return self.make_request("GET", path, access_token=self.token, **kw)

    def test_timeout_zero_is_504(self) -> None:
        """timeout_ms=0 → 504 M_NOT_YET_UPLOADED at once."""
        channel = self.download(self.create(), "?timeout_ms=0")
        self.assertEqual(
            (channel.code, channel.json_body),
            (504, {"errcode": "M_NOT_YET_UPLOADED", "error": "Media has not been uploaded yet"}),
        )

    def test_waits_for_content(self) -> None:
        """A download waiting (polling every 500 ms) gets the content once it is PUT."""
        media_id = self.create()
        waiting = self.download(media_id, "?timeout_ms=5000", await_result=False)
        self.pump(1)
        self.assertFalse(waiting.is_finished)
        self.put(media_id, b"late")
        self.pump(0.5)
        self.assertEqual((waiting.code, waiting.result_body), (200, b"late"))

    def test_wait_is_capped(self) -> None:
        """timeout_ms over 60 s waits 60 s, then 504."""
        waiting = self.download(self.create(), "?timeout_ms=600000", await_result=False)
        self.pump(59)
        self.assertFalse(waiting.is_finished)
        self.pump(1.5)
        self.assertEqual(waiting.code, 504)

    def test_expired_unused_id_is_404(self) -> None:
        """An unused id past its expiry is unknown: 404 Not found '<path>'."""
        media_id = self.create()
        self.reactor.advance(DAY_MS / 1000 + 1)
        channel = self.download(media_id, "?timeout_ms=0")
        path = "/_matrix/client/v1/media/download/test.local/" + media_id
        self.assertEqual((channel.code, channel.json_body["error"]), (404, "Not found '%s'" % path))
