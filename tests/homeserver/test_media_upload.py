"""``POST /_matrix/media/{r0,v3,v1}/upload``: TRIGGERS.md §8's eight steps, their texts and
the callbacks' arguments and order."""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List

from twisted.web.test.requesthelper import DummyRequest

from synapse_modhost.errors import SynapseError
from synapse_modhost.homeserver.handlers._media_files import ReadableFileWrapper
from synapse_modhost.homeserver.rest.media import _parse_content_length
from synapse_modhost.testing import FakeChannel, ModuleHostTestCase, override_config
from synapse_modhost.types import FileInfo, MediaUploadLimit
from tests.homeserver._media_probe import PROBE, MediaProbe, names

UPLOAD = "/_matrix/media/v3/upload"
MXC = re.compile(r"^mxc://test\.local/([A-Za-z]{24})$")
LIMIT_URI = "http://test.local/_synapse/client/media_upload_limit_exceeded"
TOO_LARGE = {"errcode": "M_TOO_LARGE", "error": "Upload request body is too large"}
INTERNAL = {"errcode": "M_UNKNOWN", "error": "Internal server error"}


def _files_under(root: str) -> List[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    )


class UploadTestCase(ModuleHostTestCase):
    """A host with the media probe; alice is logged in."""

    probe_config: Dict[str, Any] = {}

    def make_config(self) -> Dict[str, Any]:
        config = super().make_config()
        config["modules"] = [{"module": PROBE, "config": dict(self.probe_config)}]
        return config

    def setUp(self) -> None:
        MediaProbe.instances = []
        super().setUp()
        self.alice = self.register_user("alice")
        self.token = self.login(self.alice)
        MediaProbe.reset()
        self.store_dir = self.host.config.media.media_store_path

    def upload(self, data: bytes, path: str = UPLOAD, **kw: Any) -> FakeChannel:
        return self.make_request("POST", path, data, access_token=self.token, **kw)

    def media_row(self, media_id: str) -> Any:
        return self.get_success(self.host.hs.media_store.get_local_media(media_id))


class UploadSuccessTests(UploadTestCase):
    """A successful upload."""

    def test_response_and_canonical_json(self) -> None:
        """200 with an mxc URI of 24 letters, canonical JSON, CORS headers."""
        channel = self.upload(b"hello world")
        self.assertEqual(channel.code, 200)
        self.assertRegex(channel.json_body["content_uri"], MXC)
        self.assertEqual(
            channel.result_body, b'{"content_uri":"%s"}' % channel.json_body["content_uri"].encode()
        )
        self.assertEqual(channel.headers["access-control-allow-origin"], ["*"])
        self.assertEqual(channel.headers["content-type"], ["application/json"])

    def test_every_version_uploads(self) -> None:
        """r0, v3 and v1 all accept uploads."""
        for version in ("r0", "v3", "v1"):
            channel = self.upload(b"x", path="/_matrix/media/%s/upload" % version)
            self.assertEqual(channel.code, 200, version)

    def test_callback_order_and_arguments(self) -> None:
        """is_user_expired, is_user_allowed(size), spam check, limits — in that order."""
        channel = self.upload(b"hello world")
        media_id = MXC.match(channel.json_body["content_uri"]).group(1)  # type: ignore[union-attr]
        self.assertEqual(
            names(MediaProbe.calls),
            [
                "is_user_expired",
                "is_user_allowed_to_upload_media_of_size",
                "check_media_file_for_spam",
                "get_media_upload_limits_for_user",
            ],
        )
        self.assertEqual(MediaProbe.calls[1][1], (self.alice, 11))
        self.assertEqual(MediaProbe.calls[3][1], (self.alice,))
        wrapper, info = MediaProbe.calls[2][1]
        self.assertIsInstance(wrapper, ReadableFileWrapper)
        self.assertEqual(
            info, FileInfo(server_name=None, file_id=media_id, url_cache=False, thumbnail=None)
        )
        self.assertEqual(info.thumbnail_width, None)

    def test_spam_checker_reads_the_stored_file(self) -> None:
        """The wrapper's path is the stored file (Synapse's layout), read in 16 KiB chunks."""
        data = os.urandom(40_000)
        channel = self.upload(data)
        media_id = MXC.match(channel.json_body["content_uri"]).group(1)  # type: ignore[union-attr]
        seen = MediaProbe.spam_seen[0]
        expected = os.path.join(
            self.store_dir, "local_content", media_id[:2], media_id[2:4], media_id[4:]
        )
        self.assertEqual(seen["wrapper"].path, expected)
        self.assertIs(seen["wrapper"].clock, self.reactor)
        self.assertTrue(seen["existed"])
        self.assertEqual([len(c) for c in seen["chunks"]], [16384, 16384, 7232])
        self.assertEqual(b"".join(seen["chunks"]), data)
        with open(expected, "rb") as f:
            self.assertEqual(f.read(), data)

    def test_metadata_row(self) -> None:
        """The row keeps uploader, type, name, length, hash and the time."""
        self.reactor.advance(1000)
        before_ms = int(self.reactor.seconds() * 1000)
        channel = self.upload(
            b"abc",
            path=UPLOAD + "?filename=r%C3%A9sum%C3%A9.txt",
            headers=[("Content-Type", "text/plain")],
        )
        media_id = MXC.match(channel.json_body["content_uri"]).group(1)  # type: ignore[union-attr]
        row = self.media_row(media_id)
        self.assertEqual(
            (row.user_id, row.media_type, row.upload_name, row.media_length),
            (self.alice, "text/plain", "résumé.txt", 3),
        )
        self.assertTrue(before_ms <= row.created_ts <= self.reactor.seconds() * 1000)
        self.assertEqual(
            row.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        self.assertTrue(row.authenticated)

    def test_media_type_first_header_or_default(self) -> None:
        """The first Content-Type header is the type; none means application/octet-stream."""
        first = self.upload(
            b"a", headers=[("Content-Type", "image/png"), ("Content-Type", "text/plain")]
        )
        none = self.upload(b"b")
        types = [
            self.media_row(MXC.match(c.json_body["content_uri"]).group(1)).media_type  # type: ignore[union-attr]
            for c in (first, none)
        ]
        self.assertEqual(types, ["image/png", "application/octet-stream"])

    def test_empty_filename_is_none(self) -> None:
        """``?filename=`` (empty) stores no name."""
        channel = self.upload(b"a", path=UPLOAD + "?filename=")
        row = self.media_row(MXC.match(channel.json_body["content_uri"]).group(1))  # type: ignore[union-attr]
        self.assertIsNone(row.upload_name)

    def test_empty_body(self) -> None:
        """A zero-byte upload is accepted."""
        channel = self.upload(b"")
        self.assertEqual(channel.code, 200)
        self.assertEqual(MediaProbe.calls[1][1], (self.alice, 0))


class UploadRefusalTests(UploadTestCase):
    """Each step's refusal, with Synapse's status, errcode and text."""

    probe_config = {"deny_size": 4242, "spam_marker": "SPAM"}

    def test_missing_token(self) -> None:
        """Step 1: no token → 401 M_MISSING_TOKEN before any media callback."""
        channel = self.make_request("POST", UPLOAD, b"x")
        self.assertEqual((channel.code, channel.json_body["errcode"]), (401, "M_MISSING_TOKEN"))
        self.assertEqual(MediaProbe.calls, [])

    def test_missing_content_length(self) -> None:
        """Step 2: a chunked body without Content-Length → 400, Synapse's text."""
        channel = FakeChannel(self.site, self.reactor)
        self.addCleanup(channel.close)
        channel.send(
            b"POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: localhost\r\n"
            b"Authorization: Bearer " + self.token.encode() + b"\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        )
        self.pump(0.01)
        self.assertEqual(channel.code, 400)
        self.assertEqual(
            channel.result_body,
            b'{"errcode":"M_UNKNOWN","error":"Request must specify a Content-Length"}',
        )
        self.assertEqual(names(MediaProbe.calls), ["is_user_expired"])

    def test_content_length_not_an_integer(self) -> None:
        """Step 2: a non-integer Content-Length → 400 (Twisted's channel refuses it first)."""
        request = DummyRequest([b""])
        request.requestHeaders.setRawHeaders(b"Content-Length", [b"12x"])
        with self.assertRaises(SynapseError) as cm:
            _parse_content_length(request)
        self.assertEqual(
            (cm.exception.code, cm.exception.errcode, cm.exception.msg),
            (400, "M_UNKNOWN", "Content-Length value is invalid"),
        )

    @override_config({"max_upload_size": 10})
    def test_too_large_for_max_upload_size(self) -> None:
        """Step 3: over max_upload_size → 413 without asking the module; exactly it passes."""
        channel = self.upload(b"x" * 11)
        self.assertEqual((channel.code, channel.json_body), (413, TOO_LARGE))
        self.assertEqual(names(MediaProbe.calls), ["is_user_expired"])
        self.assertEqual(self.upload(b"x" * 10).code, 200)

    def test_module_refuses_size(self) -> None:
        """Step 4: is_user_allowed_to_upload_media_of_size falsy → the same 413."""
        channel = self.upload(b"x" * 4242)
        self.assertEqual((channel.code, channel.json_body), (413, TOO_LARGE))
        self.assertEqual(
            names(MediaProbe.calls), ["is_user_expired", "is_user_allowed_to_upload_media_of_size"]
        )

    def test_filename_not_utf8(self) -> None:
        """Step 5: a non-UTF-8 filename → 400 with the bytes' repr; nothing stored."""
        channel = self.upload(b"abc", path=UPLOAD + "?filename=%FF%FEab")
        self.assertEqual(channel.code, 400)
        self.assertEqual(
            channel.json_body,
            {"errcode": "M_UNKNOWN", "error": "Invalid UTF-8 filename parameter: b'\\xff\\xfeab'"},
        )
        self.assertNotIn("check_media_file_for_spam", names(MediaProbe.calls))
        self.assertEqual(_files_under(self.store_dir), [])

    def test_spam_is_bad_content_and_deleted(self) -> None:
        """Step 6: spam → 400 M_UNKNOWN "Bad content", the file deleted, no row, no limits."""
        channel = self.upload(b"xxSPAMxx")
        self.assertEqual(channel.code, 400)
        self.assertEqual(channel.result_body, b'{"errcode":"M_UNKNOWN","error":"Bad content"}')
        self.assertTrue(MediaProbe.spam_seen[0]["existed"])
        self.assertFalse(os.path.exists(MediaProbe.spam_seen[0]["wrapper"].path))
        self.assertEqual(_files_under(self.store_dir), [])
        self.assertIsNone(self.media_row(MediaProbe.spam_seen[0]["file_info"].file_id))
        self.assertNotIn("get_media_upload_limits_for_user", names(MediaProbe.calls))


class SpamCodeTests(UploadTestCase):
    """A module error code from the spam checker is ignored for uploads."""

    probe_config = {"spam_marker": "SPAM", "spam_result": "code"}

    def test_code_ignored(self) -> None:
        """A ``(Codes, extras)`` denial is still 400 M_UNKNOWN "Bad content", no extras."""
        channel = self.upload(b"SPAM")
        self.assertEqual(
            (channel.code, channel.json_body),
            (400, {"errcode": "M_UNKNOWN", "error": "Bad content"}),
        )


class RaisingCallbackTests(UploadTestCase):
    """A callback that raises fails the upload with a 500 and leaves nothing behind."""

    def _raising(self, name: str) -> FakeChannel:
        MediaProbe.instances[-1].config["raise_in"] = name
        return self.upload(b"data")

    def test_each_callback_raising(self) -> None:
        """Every upload callback raising gives 500 M_UNKNOWN "Internal server error"."""
        for name in (
            "is_user_allowed_to_upload_media_of_size",
            "check_media_file_for_spam",
            "get_media_upload_limits_for_user",
        ):
            channel = self._raising(name)
            self.assertEqual((channel.code, channel.json_body), (500, INTERNAL), name)
        self.assertEqual(_files_under(self.store_dir), [])


class ConfigLimitTests(UploadTestCase):
    """Step 7 with ``media_upload_limits`` from the config."""

    def make_config(self) -> Dict[str, Any]:
        config = super().make_config()
        config["media_upload_limits"] = [{"time_period": "1h", "max_size": "2K"}]
        return config

    def test_observed_case(self) -> None:
        """2K/1h, 110 bytes uploaded, 3000 more → the callback, then Synapse's exact 403."""
        self.assertEqual(self.upload(b"x" * 110).code, 200)
        MediaProbe.reset()
        channel = self.upload(b"y" * 3000)
        self.assertEqual(channel.code, 403)
        self.assertEqual(
            channel.result_body,
            b'{"errcode":"M_USER_LIMIT_EXCEEDED","error":"Media upload limit exceeded",'
            b'"info_uri":"' + LIMIT_URI.encode() + b'"}',
        )
        self.assertEqual(
            MediaProbe.calls[-1],
            (
                "on_media_upload_limit_exceeded",
                (self.alice, MediaUploadLimit(max_bytes=2048, time_period_ms=3_600_000), 110, 3000),
            ),
        )
        self.assertEqual(
            names(MediaProbe.calls)[-3:],
            [
                "check_media_file_for_spam",
                "get_media_upload_limits_for_user",
                "on_media_upload_limit_exceeded",
            ],
        )

    def test_refused_upload_leaves_nothing(self) -> None:
        """The refused upload has no row, no file, and does not count afterwards."""
        self.upload(b"x" * 2000)
        refused = self.upload(b"y" * 100)
        self.assertEqual(refused.code, 403)
        self.assertEqual(len(_files_under(self.store_dir)), 1)
        self.assertEqual(self.upload(b"z" * 48).code, 200)

    def test_window_moves(self) -> None:
        """Bytes older than the period no longer count."""
        self.upload(b"x" * 2000)
        self.assertEqual(self.upload(b"y" * 100).code, 403)
        self.reactor.advance(3601)
        self.assertEqual(self.upload(b"y" * 100).code, 200)

    def test_exactly_at_limit(self) -> None:
        """uploaded + length equal to max_bytes passes (the test is strictly greater)."""
        self.assertEqual(self.upload(b"x" * 2048).code, 200)
        self.assertEqual(self.upload(b"").code, 200)
        self.assertEqual(self.upload(b"x").code, 403)

    def test_other_users_do_not_count(self) -> None:
        """Limits are per user."""
        self.upload(b"x" * 2000)
        bob_token = self.login(self.register_user("bob"))
        channel = self.make_request("POST", UPLOAD, b"y" * 2000, access_token=bob_token)
        self.assertEqual(channel.code, 200)


class ModuleLimitTests(UploadTestCase):
    """Step 7 with limits from ``get_media_upload_limits_for_user``."""

    probe_config = {
        "limits": [
            {"max_bytes": 150, "time_period_ms": 3_600_000},
            {
                "max_bytes": 1000,
                "time_period_ms": 86_400_000,
                "info_uri": "https://example.com/upgrade",
                "can_upgrade": True,
            },
        ]
    }

    def make_config(self) -> Dict[str, Any]:
        config = super().make_config()
        # ignored: the module's list wins
        config["media_upload_limits"] = [{"time_period": "1h", "max_size": 1}]
        return config

    def test_longest_period_first_with_can_upgrade(self) -> None:
        """The day limit is checked first; its 403 carries info_uri and can_upgrade."""
        self.upload(b"x" * 100)
        self.reactor.advance(7200)
        self.upload(b"x" * 100)
        self.reactor.advance(7200)
        MediaProbe.reset()
        channel = self.upload(b"y" * 900)
        self.assertEqual(channel.code, 403)
        self.assertEqual(
            channel.result_body,
            b'{"can_upgrade":true,"errcode":"M_USER_LIMIT_EXCEEDED",'
            b'"error":"Media upload limit exceeded","info_uri":"https://example.com/upgrade"}',
        )
        _, args = MediaProbe.calls[-1]
        self.assertEqual(args[1].time_period_ms, 86_400_000)
        self.assertEqual(args[2:], (200, 900))

    def test_shorter_period_requeried(self) -> None:
        """Past the day limit's check, the hour's total is queried on its own."""
        self.upload(b"x" * 100)
        self.reactor.advance(7200)
        self.assertEqual(self.upload(b"x" * 100).code, 200)
        MediaProbe.reset()
        channel = self.upload(b"x" * 60)
        self.assertEqual(channel.code, 403)
        self.assertNotIn(b"can_upgrade", channel.result_body)
        self.assertIn(LIMIT_URI.encode(), channel.result_body)
        _, args = MediaProbe.calls[-1]
        self.assertEqual((args[1].max_bytes, args[2], args[3]), (150, 100, 60))


class EmptyModuleLimitTests(UploadTestCase):
    """``[]`` from the module means no limits, whatever the config says."""

    probe_config = {"limits": []}

    @override_config({"media_upload_limits": [{"time_period": "1h", "max_size": 1}]})
    def test_no_limits(self) -> None:
        """An upload over the config's limit passes."""
        self.assertEqual(self.upload(b"x" * 100).code, 200)


class ExceededCallbackRaisesTests(UploadTestCase):
    """on_media_upload_limit_exceeded raising → 500."""

    probe_config = {"raise_in": "on_media_upload_limit_exceeded"}

    @override_config({"media_upload_limits": [{"time_period": "1h", "max_size": 1}]})
    def test_500(self) -> None:
        """The exception propagates: 500 instead of the 403."""
        channel = self.upload(b"xx")
        self.assertEqual((channel.code, channel.json_body), (500, INTERNAL))


class BodyLimitTests(UploadTestCase):
    """The site's body limit: max(13107200, max_upload_size)."""

    @override_config({"max_upload_size": 100})
    def test_over_max_upload_but_under_site_limit(self) -> None:
        """A body the site accepts but over max_upload_size gets the servlet's 413."""
        channel = self.upload(b"x" * 5000)
        self.assertEqual((channel.code, channel.json_body), (413, TOO_LARGE))

    @override_config({"max_upload_size": 100})
    def test_over_site_limit_aborts(self) -> None:
        """A body over 13107200 bytes: connection dropped, no response, no callback."""
        channel = self.upload(b"x" * (13_107_200 + 1), await_result=False)
        self.pump(0.01)
        self.assertFalse(channel.is_finished)
        self.assertTrue(channel.transport.disconnecting or channel.transport.disconnected)
        self.assertEqual(MediaProbe.calls, [])
