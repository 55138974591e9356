"""``generate_config`` and ``generate_log_config``."""

from __future__ import annotations

import os

import yaml
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.config import (
    ConfigError,
    generate_config,
    generate_log_config,
    log_config_path,
    read_config,
)
from tests.config._support import write


class GenerateConfigTests(SynchronousTestCase):
    """The generated files parse and say what they should."""

    def test_round_trip(self) -> None:
        """The generated homeserver.yaml parses with read_config into the promised values."""
        base = os.path.abspath(self.mktemp())
        conf_dir, data_dir = os.path.join(base, "conf"), os.path.join(base, "data")
        path = write(
            conf_dir, "homeserver.yaml", generate_config("example.com", conf_dir, data_dir)
        )
        config = read_config([path])
        self.assertEqual(config.server.server_name, "example.com")
        (listener,) = config.server.listeners
        self.assertEqual(
            (listener.port, listener.bind_addresses, listener.type, listener.tls),
            (8008, ("127.0.0.1",), "http", False),
        )
        self.assertEqual(listener.resources[0].names, ("client",))
        self.assertEqual(config.database.database, os.path.join(data_dir, "homeserver.db"))
        self.assertEqual(config.media.media_store_path, os.path.join(data_dir, "media_store"))
        self.assertEqual(config.logging.log_config, log_config_path(conf_dir, "example.com"))
        self.assertEqual(
            config.logging.log_config, os.path.join(conf_dir, "example.com.log.config")
        )
        self.assertFalse(config.registration.enable_registration)
        self.assertGreaterEqual(len(config.registration.registration_shared_secret or ""), 40)
        self.assertEqual((config.modules, config.unused_keys), ((), ()))

    def test_secret_is_random(self) -> None:
        """Two generated configs have different shared secrets."""
        a = yaml.safe_load(generate_config("a.test", "/c", "/d"))
        b = yaml.safe_load(generate_config("a.test", "/c", "/d"))
        self.assertNotEqual(a["registration_shared_secret"], b["registration_shared_secret"])

    def test_bad_server_name(self) -> None:
        """An invalid server name is refused."""
        e = self.assertRaises(ConfigError, generate_config, "bad name", "/c", "/d")
        self.assertEqual(e.path, ("server_name",))

    def test_log_config(self) -> None:
        """The log config is a dictConfig mapping writing to the given file."""
        log_file = os.path.abspath(self.mktemp())
        data = yaml.safe_load(generate_log_config(log_file))
        self.assertEqual(data["version"], 1)
        self.assertEqual(data["handlers"]["file"]["filename"], log_file)
        self.assertEqual(data["root"]["handlers"], ["file"])
        self.assertFalse(data["disable_existing_loggers"])
