"""``Config`` helpers: sizes, durations, files."""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.config import Config, ConfigError, parse_duration, parse_size


class ParseSizeTests(SynchronousTestCase):
    """``Config.parse_size`` follows Synapse's rules."""

    def test_units(self) -> None:
        """K, M, G and T are powers of 1024; no unit is bytes; ints pass through."""
        self.assertEqual(
            [Config.parse_size(v) for v in ("1K", "50M", "2G", "1T", "123", 77)],
            [1024, 52428800, 2 * 1024**3, 1024**4, 123, 77],
        )

    def test_lower_case_unit_rejected(self) -> None:
        """Units are upper case only: '50m' is a ValueError, as int() reports it."""
        e = self.assertRaises(ValueError, parse_size, "50m")
        self.assertEqual(str(e), "invalid literal for int() with base 10: '50m'")

    def test_fraction_rejected(self) -> None:
        """'1.5M' is a ValueError."""
        self.assertRaises(ValueError, parse_size, "1.5M")

    def test_wrong_types(self) -> None:
        """bool, float and None are TypeErrors with Synapse's text."""
        for value in (True, 1.5, None):
            e = self.assertRaises(TypeError, parse_size, value)
            self.assertEqual(str(e), "Bad byte size %r" % (value,))

    def test_empty_string(self) -> None:
        """An empty string is a ValueError (Synapse raises IndexError)."""
        self.assertRaises(ValueError, parse_size, "")


class ParseDurationTests(SynchronousTestCase):
    """``Config.parse_duration`` follows Synapse's rules."""

    def test_units(self) -> None:
        """s, m, h, d, w and y (365 days) scale to milliseconds; no unit is ms."""
        day = 86400000
        self.assertEqual(
            [Config.parse_duration(v) for v in ("2s", "3m", "1h", "1d", "1w", "1y", "250", 9)],
            [2000, 180000, 3600000, day, 7 * day, 365 * day, 250, 9],
        )

    def test_bad_suffix(self) -> None:
        """An unknown suffix is a TypeError listing the known ones."""
        e = self.assertRaises(TypeError, parse_duration, "1x")
        self.assertEqual(
            str(e),
            "Bad duration suffix 1x (expected no suffix or one of these suffixes: "
            "dict_keys(['s', 'm', 'h', 'd', 'w', 'y']))",
        )

    def test_bad_type(self) -> None:
        """bool is not an int here: TypeError with Synapse's text."""
        e = self.assertRaises(TypeError, parse_duration, True)
        self.assertEqual(str(e), "Bad duration type True (expected int or string duration)")

    def test_fraction_rejected(self) -> None:
        """'1.5h' is a ValueError."""
        self.assertRaises(ValueError, parse_duration, "1.5h")


class FileHelperTests(SynchronousTestCase):
    """``Config.read_file``, ``abspath`` and friends."""

    def test_read_file(self) -> None:
        """read_file returns the file's text."""
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("s3cret\n")
        self.assertEqual(Config.read_file(path, "my_secret_path"), "s3cret\n")

    def test_read_missing_file(self) -> None:
        """A missing file is a ConfigError at the option, caused by the OS error."""
        path = os.path.abspath(self.mktemp())
        e = self.assertRaises(ConfigError, Config.read_file, path, "my_secret_path")
        self.assertEqual(
            (e.msg, e.path), ("Error accessing file %r" % (path,), ("my_secret_path",))
        )
        self.assertIsInstance(e.__cause__, FileNotFoundError)

    def test_read_non_string(self) -> None:
        """A non-string path is a ConfigError naming the value."""
        e = self.assertRaises(ConfigError, Config.read_file, 12, "opt")
        self.assertEqual((e.msg, e.path), ("12 is not a string", ("opt",)))

    def test_abspath(self) -> None:
        """abspath makes paths absolute and leaves None and '' alone."""
        self.assertEqual(Config.abspath("x"), os.path.abspath("x"))
        self.assertIsNone(Config.abspath(None))
        self.assertEqual(Config.abspath(""), "")

    def test_check_file(self) -> None:
        """check_file names the option when the file is missing or unset."""
        e = self.assertRaises(ConfigError, Config.check_file, None, "tls_cert")
        self.assertEqual(e.msg, "Missing config for tls_cert.")
        e = self.assertRaises(ConfigError, Config.check_file, "/nonexistent/x", "tls_cert")
        self.assertEqual(
            e.msg,
            "Error accessing file '/nonexistent/x' (config for tls_cert): No such file or directory",
        )

    def test_ensure_directory(self) -> None:
        """ensure_directory creates the directory and returns it absolute."""
        path = self.mktemp()
        self.assertEqual(Config.ensure_directory(path), os.path.abspath(path))
        self.assertTrue(os.path.isdir(path))

    def test_subclass(self) -> None:
        """A module may subclass Config; root is what it was given."""

        class MyConfig(Config):
            section = "mine"

        self.assertEqual(MyConfig("root").root, "root")
        self.assertEqual(MyConfig.parse_size("2K"), 2048)
