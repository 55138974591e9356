"""Database, media, registration, email and logging keys."""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.config import ConfigError, parse_config_dict
from synapse_modhost.config._registration import CONFLICTING_SHARED_SECRET, OPEN_REGISTRATION
from synapse_modhost.types import MediaUploadLimit
from tests.config._support import ConfigAssertions, minimal, parse

LIMITS = ("media_upload_limits",)
BAD_LIMIT = "Could not validate media_upload_limits entry"


class DatabaseTests(SynchronousTestCase, ConfigAssertions):
    """The ``database`` section."""

    def test_sqlite(self) -> None:
        """args.database is used as given; args are kept."""
        db = parse(
            database={"name": "sqlite3", "args": {"database": ":memory:", "cp_min": 1}}
        ).database
        self.assertEqual((db.name, db.database, db.args["cp_min"]), ("sqlite3", ":memory:", 1))

    def test_database_path_legacy(self) -> None:
        """The legacy top-level database_path overrides args.database, made absolute."""
        self.assertEqual(parse(database_path="x.db").database.database, os.path.abspath("x.db"))

    def test_postgres(self) -> None:
        """psycopg2 is refused clearly."""
        self.assertConfigError(
            minimal(database={"name": "psycopg2", "args": {}}),
            ("database", "name"),
            "PostgreSQL (psycopg2) is not supported by synapse-modhost yet; use 'sqlite3'",
        )

    def test_unknown_engine(self) -> None:
        """Any other engine gives Synapse's message."""
        self.assertConfigError(
            minimal(database={"name": "mysql"}),
            ("database", "name"),
            "Unsupported database type 'mysql'",
        )

    def test_args_not_mapping(self) -> None:
        """args must be a mapping."""
        self.assertConfigError(
            minimal(database={"args": ["x"]}), ("database", "args"), "expected a mapping"
        )


class MediaTests(SynchronousTestCase, ConfigAssertions):
    """Media keys and ``media_upload_limits``."""

    def test_max_upload_size(self) -> None:
        """Sizes use powers of 1024; ints are bytes."""
        self.assertEqual(parse(max_upload_size="2K").media.max_upload_size, 2048)
        self.assertEqual(parse(max_upload_size=100).media.max_upload_size, 100)

    def test_bad_max_upload_size(self) -> None:
        """A bad size is refused at its key, the parse error as the cause."""
        e = self.assertConfigError(
            minimal(max_upload_size="50 MB"),
            ("max_upload_size",),
            "expected a size: a number of bytes, or a string with a K, M, G or T suffix",
        )
        self.assertIsInstance(e.__cause__, ValueError)

    def test_enable_media_repo(self) -> None:
        """Only an explicit false disables the media repository."""
        self.assertFalse(parse(enable_media_repo=False).media.enable_media_repo)
        self.assertTrue(parse(enable_media_repo=None).media.enable_media_repo)

    def test_limits_sorted_longest_first(self) -> None:
        """Entries become MediaUploadLimit values, longest period first (stable)."""
        limits = parse(
            media_upload_limits=[
                {"time_period": "1h", "max_size": "2K"},
                {"time_period": 86400000, "max_size": 100, "can_upgrade": True},
                {"time_period": "60m", "max_size": "1M", "info_uri": "https://example.com"},
            ]
        ).media.media_upload_limits
        self.assertEqual(
            limits,
            (
                MediaUploadLimit(100, 86400000, None, True),
                MediaUploadLimit(2048, 3600000, None, False),
                MediaUploadLimit(1048576, 3600000, "https://example.com/", False),
            ),
        )

    def test_info_uri_normalised(self) -> None:
        """info_uri is normalised as pydantic's AnyUrl does it."""
        cases = {
            "HTTPS://EXAMPLE.com:443/x": "https://example.com/x",
            "http://example.com:80": "http://example.com/",
            "https://bücher.de/": "https://xn--bcher-kva.de/",
            "mailto:a@b.c": "mailto:a@b.c",
            "http://[::1]:8/x": "http://[::1]:8/x",
        }
        for given, expected in cases.items():
            (limit,) = parse(
                media_upload_limits=[{"time_period": 1, "max_size": 1, "info_uri": given}]
            ).media.media_upload_limits
            self.assertEqual(limit.info_uri, expected)

    def test_unknown_keys_ignored(self) -> None:
        """Unknown keys in an entry are ignored, as Synapse's model ignores them."""
        (limit,) = parse(
            media_upload_limits=[{"time_period": "1s", "max_size": 1, "extra": True}]
        ).media.media_upload_limits
        self.assertEqual(limit.time_period_ms, 1000)

    def test_bad_entries(self) -> None:
        """Every invalid entry gives Synapse's single message at media_upload_limits."""
        bad = [
            "1h",
            {"max_size": 5},
            {"time_period": "1h"},
            {"time_period": "1x", "max_size": 5},
            {"time_period": True, "max_size": 5},
            {"time_period": "1h", "max_size": "5X"},
            {"time_period": "1h", "max_size": 1.5},
            {"time_period": "1h", "max_size": 5, "can_upgrade": "yes"},
            {"time_period": "1h", "max_size": 5, "can_upgrade": 1},
            {"time_period": "1h", "max_size": 5, "info_uri": "foo"},
            {"time_period": "1h", "max_size": 5, "info_uri": "http://"},
            {"time_period": "1h", "max_size": 5, "info_uri": " https://x/"},
            {"time_period": "1h", "max_size": 5, "info_uri": 5},
        ]
        for entry in bad:
            e = self.assertConfigError(minimal(media_upload_limits=[entry]), LIMITS, BAD_LIMIT)
            self.assertIsNotNone(e.__cause__, entry)

    def test_limits_not_list(self) -> None:
        """media_upload_limits must be a list."""
        self.assertConfigError(minimal(media_upload_limits={"a": 1}), LIMITS, "expected a list")


class RegistrationTests(SynchronousTestCase, ConfigAssertions):
    """Registration keys and the shared secret."""

    def test_truth_words(self) -> None:
        """enable_registration accepts Synapse's truth words."""
        config = parse(enable_registration="yes", enable_registration_without_verification="on")
        self.assertTrue(config.registration.enable_registration)
        self.assertTrue(config.registration.enable_registration_without_verification)

    def test_disable_registration(self) -> None:
        """The legacy disable_registration inverts enable_registration."""
        config = parse(enable_registration=True, disable_registration=True)
        self.assertFalse(config.registration.enable_registration)

    def test_bad_bool(self) -> None:
        """A value that is no truth word is refused, the word in the cause."""
        e = self.assertConfigError(
            minimal(enable_registration="maybe"), ("enable_registration",), "expected a boolean"
        )
        self.assertEqual(str(e.__cause__), "invalid truth value 'maybe'")

    def test_open_registration_refused(self) -> None:
        """Open registration without verification is refused with Synapse's text."""
        self.assertConfigError(minimal(enable_registration=True), None, OPEN_REGISTRATION)

    def test_shared_secret_path(self) -> None:
        """registration_shared_secret_path is read and stripped."""
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("  from-file\n")
        config = parse(registration_shared_secret_path=path)
        self.assertEqual(config.registration.registration_shared_secret, "from-file")

    def test_shared_secret_path_missing(self) -> None:
        """An unreadable secret file is refused at its key."""
        path = os.path.abspath(self.mktemp())
        e = self.assertConfigError(
            minimal(registration_shared_secret_path=path),
            ("registration_shared_secret_path",),
            "Error accessing file %r" % (path,),
        )
        self.assertIsInstance(e.__cause__, OSError)

    def test_both_secrets(self) -> None:
        """Both secret options at once give Synapse's message."""
        self.assertConfigError(
            minimal(registration_shared_secret="a", registration_shared_secret_path="/x"),
            None,
            CONFLICTING_SHARED_SECRET,
        )


class EmailAndLoggingTests(SynchronousTestCase, ConfigAssertions):
    """``email.app_name`` and ``log_config``."""

    def test_app_name(self) -> None:
        """app_name is read from the email section."""
        self.assertEqual(parse(email={"app_name": "Chat"}).email.email_app_name, "Chat")

    def test_email_not_mapping(self) -> None:
        """email must be a mapping."""
        self.assertConfigError(minimal(email="x"), ("email",), "expected a mapping")

    def test_app_name_not_string(self) -> None:
        """app_name must be a string."""
        self.assertConfigError(
            minimal(email={"app_name": 1}), ("email", "app_name"), "expected a string"
        )

    def test_log_config_absolute(self) -> None:
        """log_config is made absolute."""
        self.assertEqual(
            parse(log_config="log.yaml").logging.log_config, os.path.abspath("log.yaml")
        )

    def test_log_config_not_string(self) -> None:
        """log_config must be a string."""
        self.assertConfigError(minimal(log_config=["a"]), ("log_config",), "expected a string")

    def test_log_file_removed(self) -> None:
        """The removed log_file option is refused with Synapse's explanation."""
        e = self.assertRaises(ConfigError, parse_config_dict, minimal(log_file="/x.log"))
        self.assertEqual(e.path, ("log_file",))
        self.assertIn("removed in Synapse 1.3.0", e.msg)
