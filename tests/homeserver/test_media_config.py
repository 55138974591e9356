"""``GET /_matrix/client/v1/media/config`` and ``GET /_matrix/media/{r0,v3,v1}/config``."""

from __future__ import annotations

from typing import Any, Dict, List

from synapse_modhost.testing import ModuleHostTestCase, override_config
from tests.homeserver._media_probe import PROBE, MediaProbe, names

PATHS = [
    "/_matrix/client/v1/media/config",
    "/_matrix/media/v3/config",
    "/_matrix/media/r0/config",
    "/_matrix/media/v1/config",
]


class ConfigTestCase(ModuleHostTestCase):
    """alice is logged in; ``probe_configs`` are the probe modules loaded, in order."""

    probe_configs: List[Dict[str, Any]] = []

    def make_config(self) -> Dict[str, Any]:
        config = super().make_config()
        config["modules"] = [{"module": PROBE, "config": c} for c in self.probe_configs]
        return config

    def setUp(self) -> None:
        MediaProbe.instances = []
        super().setUp()
        self.token = self.login(self.register_user("alice"))
        MediaProbe.reset()


class DefaultConfigTests(ConfigTestCase):
    """No module answers."""

    def test_default_body_on_every_path(self) -> None:
        """{"m.upload.size":52428800}, canonical JSON with CORS, on all four paths."""
        for path in PATHS:
            channel = self.make_request("GET", path, access_token=self.token)
            self.assertEqual(
                (channel.code, channel.result_body), (200, b'{"m.upload.size":52428800}'), path
            )
            self.assertEqual(channel.headers["access-control-allow-origin"], ["*"])
            self.assertEqual(
                channel.headers["cache-control"], ["no-cache, no-store, must-revalidate"]
            )

    @override_config({"max_upload_size": "1K"})
    def test_follows_max_upload_size(self) -> None:
        """m.upload.size is max_upload_size in bytes."""
        channel = self.make_request("GET", PATHS[0], access_token=self.token)
        self.assertEqual(channel.json_body, {"m.upload.size": 1024})

    def test_missing_token(self) -> None:
        """No token → 401 M_MISSING_TOKEN "Missing access token"."""
        for path in PATHS:
            channel = self.make_request("GET", path)
            self.assertEqual(
                (channel.code, channel.result_body),
                (401, b'{"errcode":"M_MISSING_TOKEN","error":"Missing access token"}'),
            )


class ModuleConfigTests(ConfigTestCase):
    """The first truthy module answer is the whole response."""

    probe_configs = [
        {"media_config": {}},
        {"media_config": None},
        {"media_config": {"org.lab": True, "m.upload.size": 1234}},
        {"media_config": {"never": "asked"}},
    ]

    def test_first_truthy_verbatim_canonical(self) -> None:
        """{} and None fall through; the third module's dict is sent as is, keys sorted."""
        for path in PATHS:
            channel = self.make_request("GET", path, access_token=self.token)
            self.assertEqual(channel.result_body, b'{"m.upload.size":1234,"org.lab":true}', path)

    def test_callback_order(self) -> None:
        """is_user_expired first, then the modules in order until one answers."""
        self.make_request("GET", PATHS[0], access_token=self.token)
        self.assertEqual(
            names(MediaProbe.calls),
            ["is_user_expired"] * 4 + ["get_media_config_for_user"] * 3,
        )
        self.assertEqual(MediaProbe.calls[-1][1], ("@alice:test.local",))


class RaisingConfigTests(ConfigTestCase):
    """A raising get_media_config_for_user propagates."""

    probe_configs = [{"raise_in": "get_media_config_for_user"}]

    def test_500(self) -> None:
        """500 M_UNKNOWN "Internal server error" on every path."""
        for path in PATHS:
            channel = self.make_request("GET", path, access_token=self.token)
            self.assertEqual(
                (channel.code, channel.result_body),
                (500, b'{"errcode":"M_UNKNOWN","error":"Internal server error"}'),
            )
