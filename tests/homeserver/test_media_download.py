"""Downloads and thumbnails: headers, legacy endpoints, bad paths, remote media, restarts."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Tuple

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.testing import FakeChannel, HostHarness, ModuleHostTestCase, default_config

CLIENT = "/_matrix/client/v1/media/download/test.local/"
LEGACY = "/_matrix/media/v3/download/test.local/"
CSP = (
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf;"
    " style-src 'unsafe-inline'; media-src 'self'; object-src 'self';"
)
NOT_FOUND_PLAIN = {"errcode": "M_NOT_FOUND", "error": "Not found"}
INTERNAL = {"errcode": "M_UNKNOWN", "error": "Internal server error"}


def not_found(path: str) -> Dict[str, str]:
    return {"errcode": "M_NOT_FOUND", "error": "Not found '%s'" % path}


class DownloadTestCase(ModuleHostTestCase):
    """alice is logged in and has uploaded ``hello world`` as text/plain."""

    def setUp(self) -> None:
        super().setUp()
        self.alice = self.register_user("alice")
        self.token = self.login(self.alice)
        self.media_id = self.upload(b"hello world", "text/plain", "h%C3%A9llo%20w.txt")

    def upload(
        self, data: bytes, content_type: str = "application/octet-stream", filename: Any = None
    ) -> str:
        uri = self.upload_media(self.token, data, content_type, filename)
        return uri.rsplit("/", 1)[1]

    def get(self, path: str, **kw: Any) -> FakeChannel:
        kw.setdefault("access_token", self.token)
        return self.make_request("GET", path, **kw)


class ClientDownloadTests(DownloadTestCase):
    """``GET /_matrix/client/v1/media/download/...``."""

    def test_round_trip_headers(self) -> None:
        """The body and Synapse's headers, in Synapse's order."""
        channel = self.get(CLIENT + self.media_id)
        self.assertEqual((channel.code, channel.result_body), (200, b"hello world"))
        expected: List[Tuple[str, str]] = [
            ("access-control-allow-origin", "*"),
            ("access-control-allow-methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS"),
            ("access-control-allow-headers", "X-Requested-With, Content-Type, Authorization, Date"),
            ("access-control-expose-headers", "Synapse-Trace-Id, Server"),
            ("cross-origin-resource-policy", "cross-origin"),
            ("content-security-policy", CSP),
            ("x-content-security-policy", "sandbox;"),
            ("referrer-policy", "no-referrer"),
            ("content-type", "text/plain; charset=UTF-8"),
            ("content-disposition", "inline; filename*=utf-8''h%C3%A9llo%20w.txt"),
            ("cache-control", "public,max-age=86400,s-maxage=0,proxy-revalidate"),
            ("etag", "1"),
            ("content-length", "11"),
            ("x-robots-tag", "noindex, nofollow, noarchive, noimageindex"),
        ]
        got = [(k, v[0]) for k, v in channel.headers.items() if k not in ("server", "date")]
        self.assertEqual(got, expected)

    def test_file_name_in_path(self) -> None:
        """A name in the path replaces the stored one; a plain token is sent as filename=."""
        channel = self.get(CLIENT + self.media_id + "/other%20name.txt")
        self.assertEqual(
            channel.headers["content-disposition"], ["inline; filename*=utf-8''other%20name.txt"]
        )
        channel = self.get(CLIENT + self.media_id + "/plain.txt")
        self.assertEqual(channel.headers["content-disposition"], ["inline; filename=plain.txt"])

    def test_attachment_and_no_name(self) -> None:
        """A type not in Synapse's inline list is an attachment; no name, no filename."""
        media_id = self.upload(b"\x00\x01", "application/x-thing")
        channel = self.get(CLIENT + media_id)
        self.assertEqual(channel.headers["content-disposition"], ["attachment"])
        self.assertEqual(channel.headers["content-type"], ["application/x-thing"])

    def test_large_file(self) -> None:
        """A file bigger than one write chunk arrives whole."""
        data = os.urandom(300_000)
        channel = self.get(CLIENT + self.upload(data))
        self.assertEqual(
            (channel.result_body, channel.headers["content-length"]), (data, ["300000"])
        )

    def test_if_none_match(self) -> None:
        """If-None-Match: 1 → 304 with the cache headers and no body."""
        channel = self.get(
            CLIENT + self.media_id, headers=[("If-None-Match", "1")], await_result=False
        )
        self.pump(0.01)
        head, _, body = channel.transport.value().partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 304 Not Modified\r\n"))
        lines = head.split(b"\r\n")
        self.assertIn(b"ETag: 1", lines)
        self.assertIn(b"Cache-Control: public,max-age=86400,s-maxage=0,proxy-revalidate", lines)
        self.assertEqual(body, b"")

    def test_needs_token(self) -> None:
        """No token → 401 M_MISSING_TOKEN."""
        channel = self.make_request("GET", CLIENT + self.media_id)
        self.assertEqual(
            channel.json_body, {"errcode": "M_MISSING_TOKEN", "error": "Missing access token"}
        )

    def test_quarantine_bypass_needs_admin(self) -> None:
        """admin_unsafely_bypass_quarantine=true from a non-admin → 400."""
        channel = self.get(CLIENT + self.media_id + "?admin_unsafely_bypass_quarantine=true")
        self.assertEqual(
            (channel.code, channel.result_body),
            (400, b'{"errcode":"M_UNKNOWN","error":"Must be a server admin to bypass quarantine"}'),
        )

    def test_bad_timeout(self) -> None:
        """timeout_ms must be an integer."""
        channel = self.get(CLIENT + self.media_id + "?timeout_ms=abc")
        self.assertEqual(
            (channel.code, channel.json_body),
            (
                400,
                {
                    "errcode": "M_INVALID_PARAM",
                    "error": "Query parameter timeout_ms must be an integer",
                },
            ),
        )


class NotFoundTests(DownloadTestCase):
    """Unknown media, paths that try to leave the store, remote media."""

    def test_unknown(self) -> None:
        """Unknown local media → 404 "Not found '<path>'" on both endpoints."""
        for prefix in (CLIENT, LEGACY, "/_matrix/media/v1/download/test.local/"):
            channel = self.get(prefix + "nonexistent")
            self.assertEqual(
                (channel.code, channel.json_body), (404, not_found(prefix + "nonexistent"))
            )

    def test_escaping_paths(self) -> None:
        """Dot segments and encoded slashes are 404 with the raw path in the message."""
        for tail in ("..", ".", "..%2F..%2Fetc%2Fpasswd", "a%2Fb", "%2E%2E", "../x", ""):
            channel = self.get(CLIENT + tail)
            self.assertEqual(
                (channel.code, channel.json_body), (404, not_found(CLIENT + tail)), tail
            )

    def test_extra_segments_unrecognized(self) -> None:
        """More path segments than the pattern allows → 404 M_UNRECOGNIZED."""
        channel = self.get(CLIENT + "x/y/z")
        self.assertEqual(
            (channel.code, channel.json_body),
            (404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}),
        )

    def test_row_with_unsafe_id_serves_nothing(self) -> None:
        """A stored row whose id would leave the store still serves no file (the jail)."""
        secret = os.path.join(self.host.config.media.media_store_path, "..", "secret")
        with open(secret, "wb") as f:
            f.write(b"secret")
        for media_id in ("../../secret", "ab/../../secret", "..cd"):
            self.get_success(
                self.host.hs.media_store.store_local_media(
                    media_id, self.alice, 0, "text/plain", None, 6, "x"
                )
            )
            path = CLIENT + media_id.replace("/", "%2F")
            channel = self.get(path)
            self.assertEqual((channel.code, channel.json_body), (404, not_found(path)))

    def test_missing_file_is_404(self) -> None:
        """A row whose file has gone → 404 "Not found '<path>'"."""
        files = self.host.hs.media.files
        os.remove(files.local_media_path(self.media_id))
        channel = self.get(CLIENT + self.media_id)
        self.assertEqual(
            (channel.code, channel.json_body), (404, not_found(CLIENT + self.media_id))
        )

    def test_invalid_server_name_is_500(self) -> None:
        """An invalid server name is a 500, as on Synapse (before authentication)."""
        for path in (
            "/_matrix/client/v1/media/download/bad!name/abc",
            "/_matrix/media/v3/download/bad!name/abc",
        ):
            channel = self.make_request("GET", path)
            self.assertEqual((channel.code, channel.json_body), (500, INTERNAL), path)

    def test_escaping_server_name_is_404(self) -> None:
        """A server name that tries to leave the media store is 404 (Synapse: 500)."""
        for path in (
            "/_matrix/media/v3/download/../abc",
            "/_matrix/media/v3/download/..%2F..%2Fetc/passwd",
            "/_matrix/client/v1/media/download/./abc",
            "/_matrix/client/v1/media/download/..%2Fx/abc",
            "/_matrix/client/v1/media/thumbnail/../abc?width=32&height=32",
        ):
            channel = self.make_request("GET", path)
            self.assertEqual(channel.code, 404, (path, channel.json_body))
            self.assertEqual(channel.json_body["errcode"], "M_NOT_FOUND", path)

    def test_remote_media(self) -> None:
        """Remote media is never fetched: 404 (client), 404 "Not found" (legacy)."""
        channel = self.get("/_matrix/client/v1/media/download/other.example/abc")
        self.assertEqual(
            channel.json_body, not_found("/_matrix/client/v1/media/download/other.example/abc")
        )
        channel = self.get("/_matrix/media/v3/download/other.example/abc", access_token=None)
        self.assertEqual((channel.code, channel.json_body), (404, NOT_FOUND_PLAIN))
        path = "/_matrix/media/v3/download/other.example/abc"
        channel = self.get(path + "?allow_remote=false", access_token=None)
        self.assertEqual(channel.json_body, not_found(path))


class LegacyTests(DownloadTestCase):
    """The unauthenticated ``/_matrix/media/{r0,v3,v1}`` endpoints."""

    def test_authenticated_media_refused(self) -> None:
        """Local uploads are authenticated media: 404 "Not found", with the download headers."""
        for version in ("r0", "v3", "v1"):
            path = "/_matrix/media/%s/download/test.local/%s" % (version, self.media_id)
            channel = self.get(path, access_token=None)
            self.assertEqual((channel.code, channel.json_body), (404, NOT_FOUND_PLAIN), version)
            self.assertEqual(channel.headers["content-security-policy"], [CSP])
            self.assertEqual(
                channel.headers["cache-control"], ["no-cache, no-store, must-revalidate"]
            )

    def test_unauthenticated_media_served(self) -> None:
        """Media stored as unauthenticated (authenticated media off) is served."""
        self.get_success(
            self.host.hs.media_store.store_local_media(
                "OldMediaFromBeforeAuthXY",
                self.alice,
                0,
                "text/plain",
                None,
                3,
                "x",
                authenticated=False,
            )
        )
        path = self.host.hs.media.files.local_media_path("OldMediaFromBeforeAuthXY")
        os.makedirs(os.path.dirname(path))
        with open(path, "wb") as f:
            f.write(b"old")
        channel = self.get(LEGACY + "OldMediaFromBeforeAuthXY", access_token=None)
        self.assertEqual((channel.code, channel.result_body), (200, b"old"))

    def test_legacy_remote_thumbnail(self) -> None:
        """Remote media on the legacy thumbnail endpoint → 404 "Not found"."""
        channel = self.get(
            "/_matrix/media/v3/thumbnail/other.example/abc?width=32&height=32", access_token=None
        )
        self.assertEqual((channel.code, channel.json_body), (404, NOT_FOUND_PLAIN))

    def test_legacy_thumbnail_refused(self) -> None:
        """The legacy thumbnail endpoint refuses authenticated media the same way."""
        path = "/_matrix/media/v3/thumbnail/test.local/%s?width=32&height=32" % self.media_id
        channel = self.get(path, access_token=None)
        self.assertEqual((channel.code, channel.json_body), (404, NOT_FOUND_PLAIN))


class ThumbnailTests(DownloadTestCase):
    """``GET /_matrix/client/v1/media/thumbnail/...`` (no thumbnails are generated)."""

    def thumb(self, media_id: str, query: str = "?width=32&height=32") -> FakeChannel:
        return self.get("/_matrix/client/v1/media/thumbnail/test.local/" + media_id + query)

    def test_non_image_is_400(self) -> None:
        """A type Synapse cannot thumbnail → its 400 naming the supported formats."""
        channel = self.thumb(self.media_id)
        path = "/_matrix/client/v1/media/thumbnail/test.local/" + self.media_id
        self.assertEqual(channel.code, 400)
        self.assertEqual(
            channel.json_body["error"],
            "Cannot find any thumbnails for the requested media ('%s'). This might mean the media "
            "is not a supported_media_format=(image/jpeg, image/jpg, image/webp, image/gif, "
            "image/png) or that thumbnailing failed for some other reason. (Dynamic thumbnails "
            "are disabled on this server.)" % path,
        )

    def test_image_returns_original(self) -> None:
        """An image: the original file, inline, without a file name."""
        media_id = self.upload(b"\x89PNG fake", "image/png", "pic.png")
        channel = self.thumb(media_id)
        self.assertEqual((channel.code, channel.result_body), (200, b"\x89PNG fake"))
        self.assertEqual(channel.headers["content-type"], ["image/png"])
        self.assertEqual(channel.headers["content-disposition"], ["inline"])

    def test_width_required(self) -> None:
        """width and height are required integers."""
        channel = self.thumb(self.media_id, "")
        self.assertEqual(
            (channel.code, channel.json_body),
            (
                400,
                {
                    "errcode": "M_MISSING_PARAM",
                    "error": "Missing required integer query parameter width",
                },
            ),
        )

    def test_unknown_and_remote(self) -> None:
        """Unknown local media and remote media → 404 "Not found '<path>'"."""
        channel = self.thumb("nonexistent")
        self.assertEqual(
            channel.json_body,
            not_found("/_matrix/client/v1/media/thumbnail/test.local/nonexistent"),
        )
        path = "/_matrix/client/v1/media/thumbnail/other.example/abc"
        self.assertEqual(self.get(path + "?width=1&height=1").json_body, not_found(path))


class PreviewUrlTests(DownloadTestCase):
    """URL previews are off, as in Synapse's default config."""

    def test_preview_url(self) -> None:
        """Authenticated → 404 M_UNRECOGNIZED on both paths; no token → 401."""
        for path in (
            "/_matrix/client/v1/media/preview_url?url=http://x",
            "/_matrix/media/v3/preview_url?url=http://x",
        ):
            channel = self.get(path)
            self.assertEqual((channel.code, channel.json_body["errcode"]), (404, "M_UNRECOGNIZED"))
        channel = self.make_request("GET", "/_matrix/client/v1/media/preview_url")
        self.assertEqual(channel.code, 401)


class RestartTests(SynchronousTestCase):
    """Media survives a restart: a second host on the same database file and media dir."""

    def test_persists(self) -> None:
        """Uploaded on one host, downloaded (same bytes, type and name) from the next."""
        config = default_config()
        config["database"] = {"name": "sqlite3", "args": {"database": self.mktemp() + ".db"}}
        config["media_store_path"] = self.mktemp()
        first = HostHarness(config, MemoryReactorClock())
        first.start()
        token = first.login(first.register_user("alice"))
        uri = first.upload_media(token, b"kept", "text/plain", "kept.txt")
        first.stop()

        second = HostHarness(config, MemoryReactorClock())
        second.start()
        self.addCleanup(second.stop)
        token = second.login("@alice:test.local")
        channel = second.make_request(
            "GET", "/_matrix/client/v1/media/download/" + uri[len("mxc://") :], access_token=token
        )
        self.assertEqual((channel.code, channel.result_body), (200, b"kept"))
        self.assertEqual(channel.headers["content-disposition"], ["inline; filename=kept.txt"])
