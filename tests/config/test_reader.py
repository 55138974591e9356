"""Reading files: merging, file and YAML errors, defaults, unused keys."""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.config import (
    USED_KEYS,
    ConfigError,
    HomeServerConfig,
    parse_config_dict,
    read_config,
)
from tests.config._support import ConfigAssertions, minimal, write

HARNESS_BASE = "/work/shared/real-modules/harness/cfg/_base.yaml"

#: a Synapse 1.163 homeserver.yaml of the kind admins run, with keys the host ignores
SYNAPSE_STYLE = """\
server_name: "test.local"
pid_file: /tmp/hs/homeserver.pid
public_baseurl: "http://127.0.0.1:8448/"
listeners:
  - port: 8448
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: true
    resources:
      - names: [client, federation]
        compress: false
  - port: 9000
    type: metrics
    bind_addresses: ['127.0.0.1']
database:
  name: sqlite3
  args:
    database: /tmp/hs/homeserver.db
log_config: "/tmp/hs/test.local.log.config"
media_store_path: /tmp/hs/media_store
registration_shared_secret: "abc"
report_stats: false
macaroon_secret_key: "def"
form_secret: "ghi"
signing_key_path: "/tmp/hs/test.local.signing.key"
trusted_key_servers:
  - server_name: "matrix.org"
suppress_key_server_warning: true
rc_message: {per_second: 0.2, burst_count: 10}
rc_login:
  address: {per_second: 0.17, burst_count: 3}
enable_metrics: true
presence:
  enabled: true
email:
  smtp_host: localhost
  notif_from: "Your Friendly %(app)s homeserver <noreply@example.com>"
  app_name: "My Matrix"
modules:
  - module: my_pkg.MyModule
    config: {a: 1}
"""


class ReadConfigTests(SynchronousTestCase, ConfigAssertions):
    """``read_config`` and ``parse_config_dict``."""

    def test_later_file_wins_per_top_level_key(self) -> None:
        """A later file replaces whole top-level keys; other keys of earlier files remain."""
        d = self.mktemp()
        first = write(d, "a.yaml", minimal(email={"app_name": "A"}, media_store_path="/m1"))
        second = write(d, "b.yaml", {"email": {"smtp_host": "x"}, "max_upload_size": "1K"})
        config = read_config([first, second])
        self.assertEqual(config.email.email_app_name, "Matrix")  # replaced, not deep-merged
        self.assertEqual(config.media.media_store_path, "/m1")
        self.assertEqual(config.media.max_upload_size, 1024)
        self.assertEqual(config.config_files, (os.path.abspath(first), os.path.abspath(second)))

    def test_directory_of_yaml_files(self) -> None:
        """A directory stands for its *.yaml files in sorted order; others are noted."""
        d = self.mktemp()
        write(d, "20-b.yaml", {"email": {"app_name": "B"}})
        write(d, "10-a.yaml", minimal(email={"app_name": "A"}))
        write(d, "notes.txt", "ignored")
        config = read_config([d])
        self.assertEqual(config.email.email_app_name, "B")
        self.assertEqual(
            [os.path.basename(p) for p in config.config_files], ["10-a.yaml", "20-b.yaml"]
        )
        self.assertTrue(any("notes.txt" in n and "IGNORING" in n for n in config.notes))

    def test_unreadable_file(self) -> None:
        """A missing file is a ConfigError naming the file and the OS error."""
        path = os.path.abspath(self.mktemp())
        e = self.assertRaises(ConfigError, read_config, [path])
        self.assertEqual(
            e.msg, "Unable to read config file %r: No such file or directory" % (path,)
        )
        self.assertIsNone(e.path)

    def test_invalid_yaml(self) -> None:
        """Invalid YAML names the file, the line and column, and the YAML problem."""
        path = write(
            self.mktemp(), "hs.yaml", "server_name: test.local\nlisteners: [1\nmodules: []\n"
        )
        e = self.assertRaises(ConfigError, read_config, [path])
        self.assertEqual(
            e.msg,
            "Invalid YAML in config file %r, line 3, column 8: did not find expected ',' or ']' "
            "(while parsing a flow sequence that starts at line 2, column 12)" % (path,),
        )

    def test_top_level_list(self) -> None:
        """A file whose top level is a list is refused."""
        path = write(self.mktemp(), "hs.yaml", "- a\n- b\n")
        e = self.assertRaises(ConfigError, read_config, [path])
        self.assertEqual(
            e.msg,
            "Config file %r does not parse into a key-value map (its top level is a list)"
            % (path,),
        )

    def test_empty_file_adds_nothing(self) -> None:
        """An empty file is skipped (with a note), as Synapse skips it."""
        d = self.mktemp()
        config = read_config([write(d, "a.yaml", minimal()), write(d, "b.yaml", "")])
        self.assertEqual(config.server.server_name, "test.local")
        self.assertTrue(any("is empty" in n for n in config.notes))

    def test_no_files(self) -> None:
        """No config file at all is an error."""
        e = self.assertRaises(ConfigError, read_config, [])
        self.assertEqual(e.msg, "Must supply a config file.")

    def test_missing_server_name(self) -> None:
        """A config without server_name fails with Synapse's text and no path."""
        self.assertConfigError({}, None, "Missing mandatory `server_name` config option.\n")

    def test_parse_config_dict_not_mapping(self) -> None:
        """parse_config_dict refuses a non-mapping."""
        self.assertRaises(ConfigError, parse_config_dict, ["server_name"])

    def test_defaults(self) -> None:
        """A config with only server_name gets Synapse's defaults."""
        config = parse_config_dict(minimal())
        self.assertIsInstance(config, HomeServerConfig)
        self.assertEqual(config.server.public_baseurl, "https://test.local/")
        self.assertEqual(config.server.listeners, ())
        self.assertFalse(config.server.serve_client_wellknown)
        self.assertTrue(config.server.run_background_tasks)
        self.assertEqual(
            (config.database.name, config.database.database), ("sqlite3", "homeserver.db")
        )
        self.assertEqual(config.media.media_store_path, os.path.abspath("media_store"))
        self.assertEqual(config.media.max_upload_size, 52428800)
        self.assertEqual(config.media.media_upload_limits, ())
        self.assertEqual(
            (
                config.registration.enable_registration,
                config.registration.registration_shared_secret,
            ),
            (False, None),
        )
        self.assertIsNone(config.logging.log_config)
        self.assertEqual(config.email.email_app_name, "Matrix")
        self.assertEqual((config.modules, config.legacy_modules, config.unused_keys), ((), (), ()))
        self.assertIn("Using default public_baseurl https://test.local/", config.notes)

    def test_unused_keys(self) -> None:
        """Top-level keys the host does not read are listed, in file order."""
        config = parse_config_dict(minimal(report_stats=False, rc_message={}, modules=[]))
        self.assertEqual(config.unused_keys, ("report_stats", "rc_message"))
        self.assertEqual(config.get("report_stats"), False)
        self.assertNotIn("report_stats", USED_KEYS)

    def test_synapse_style_config(self) -> None:
        """A full Synapse-style config parses; ignored keys are listed, not refused."""
        config = read_config([write(self.mktemp(), "hs.yaml", SYNAPSE_STYLE)])
        self.assertEqual([lc.type for lc in config.server.listeners], ["http", "metrics"])
        self.assertEqual([lc.port for lc in config.server.http_listeners], [8448])
        self.assertEqual(config.email.email_app_name, "My Matrix")
        self.assertEqual(config.modules[0].module, "my_pkg.MyModule")
        self.assertEqual(
            set(config.unused_keys),
            {
                "report_stats",
                "macaroon_secret_key",
                "form_secret",
                "signing_key_path",
                "trusted_key_servers",
                "suppress_key_server_warning",
                "rc_message",
                "rc_login",
                "enable_metrics",
            },
        )

    def test_harness_base_config(self) -> None:
        """The real-module harness's base config (placeholders filled) parses."""
        if not os.path.exists(HARNESS_BASE):
            raise self.skipTest("harness config not present")
        with open(HARNESS_BASE) as f:
            text = f.read().replace("${HS_PORT}", "18448").replace("${RUN_DIR}", "/tmp/run")
        config = read_config([write(self.mktemp(), "hs.yaml", text)])
        self.assertEqual(config.server.listeners[0].port, 18448)
        self.assertEqual(config.registration.registration_shared_secret, "testsecret")
        self.assertIn("rc_joins", config.unused_keys)

    def test_raw_is_the_merged_mapping(self) -> None:
        """raw holds the merged mapping, legacy sections included."""
        raw = minimal(spam_checker=[{"module": "a.B", "config": {}}])
        config = parse_config_dict(raw)
        self.assertEqual(config.raw, raw)
        self.assertIsNot(config.raw, raw)

    def test_records_are_immutable(self) -> None:
        """The parsed config cannot be changed in place; _replace gives a changed copy."""
        config = parse_config_dict(minimal(listeners=[{"port": 8008, "type": "http"}]))
        with self.assertRaises(AttributeError):
            config.server.server_name = "other.local"  # type: ignore[misc]
        with self.assertRaises(AttributeError):
            config.server.listeners[0].port = 1  # type: ignore[misc]
        changed = config._replace(server=config.server._replace(server_name="other.local"))
        self.assertEqual(changed.server.server_name, "other.local")
        self.assertEqual(config.server.server_name, "test.local")
