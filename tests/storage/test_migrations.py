"""Numbered schema migrations: discovery, order, application, refusal of newer databases."""

from __future__ import annotations

import logging
import os
import sqlite3
from typing import List

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.storage import (
    LoggingTransaction,
    Migration,
    MigrationError,
    SqliteEngine,
    UnknownMigrationError,
    apply_migrations,
    load_migrations,
    open_database,
    split_statements,
)

from ._helpers import open_inline


def _recorded(txn: LoggingTransaction) -> List[str]:
    txn.execute("SELECT name FROM schema_migrations ORDER BY number, name")
    return [row[0] for row in txn.fetchall()]


def _tables(txn: LoggingTransaction) -> List[str]:
    txn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [row[0] for row in txn.fetchall()]


class PackagedMigrationsTests(SynchronousTestCase):
    """The migrations shipped in synapse_modhost/storage/schema."""

    def test_packaged_files_load_in_order(self) -> None:
        """The packaged files are found, 001_users first, in (number, name) order."""
        migrations = load_migrations()
        self.assertEqual(migrations[0].name, "001_users")
        keys = [(m.number, m.name) for m in migrations]
        self.assertEqual(keys, sorted(keys))

    def test_fresh_database(self) -> None:
        """A fresh database gets every packaged migration, recorded in schema_migrations."""
        engine = open_inline(self)
        recorded = self.successResultOf(engine.run_interaction("r", _recorded))
        self.assertEqual(recorded, [m.name for m in load_migrations()])
        tables = self.successResultOf(engine.run_interaction("t", _tables))
        for table in ("users", "devices", "access_tokens", "profiles", "user_threepids"):
            self.assertIn(table, tables)

    def test_reopen_applies_nothing(self) -> None:
        """Reopening a migrated file applies nothing and keeps the records."""
        path = os.path.join(self.mktemp(), "db", "homeserver.db")
        engine = self.successResultOf(open_database(Clock(), path, threaded=False))
        self.successResultOf(engine.close())
        self.assertTrue(os.path.isfile(path))
        engine = SqliteEngine(Clock(), path, threaded=False)
        engine.start()
        self.addCleanup(engine.close)
        self.assertEqual(self.successResultOf(apply_migrations(engine)), [])
        recorded = self.successResultOf(engine.run_interaction("r", _recorded))
        self.assertEqual(recorded, [m.name for m in load_migrations()])


class PackagedSchemaFilesTests(SynchronousTestCase):
    """The packaged schema is read from the installed files, or through importlib.resources."""

    def _via_resources(self) -> List[tuple]:
        import importlib.resources

        directory = importlib.resources.files("synapse_modhost.storage").joinpath("schema")
        return sorted(
            (e.name, e.read_text(encoding="utf-8")) for e in directory.iterdir() if e.name.endswith(".sql")
        )

    def test_files_match_importlib_resources(self) -> None:
        """Reading the files directly gives exactly what importlib.resources gives."""
        from synapse_modhost.storage._migrations import _packaged_schema_files

        direct = sorted(_packaged_schema_files())
        self.assertTrue(direct)
        self.assertEqual(direct, self._via_resources())

    def test_fallback_without_a_directory(self) -> None:
        """Without a schema directory on disk (a zipped package), importlib.resources is used."""
        from synapse_modhost.storage import _migrations

        self.patch(_migrations.os.path, "isdir", lambda path: False)
        self.assertEqual(sorted(_migrations._packaged_schema_files()), self._via_resources())


class CustomMigrationsTests(SynchronousTestCase):
    """The runner on migrations given explicitly."""

    def setUp(self) -> None:
        self.engine = SqliteEngine(Clock(), ":memory:", threaded=False)
        self.engine.start()
        self.addCleanup(self.engine.close)

    def migrate(self, *migrations: Migration) -> List[str]:
        return self.successResultOf(apply_migrations(self.engine, migrations))

    def test_order_by_number_then_name(self) -> None:
        """Migrations apply by number, then name, whatever order they are given in."""
        a = Migration.from_text("002_b.sql", "CREATE TABLE b (x);")
        b = Migration.from_text("002_a.sql", "CREATE TABLE a (x);")
        c = Migration.from_text("001_z.sql", "CREATE TABLE z (x);")
        self.assertEqual(self.migrate(c, b, a), ["001_z", "002_a", "002_b"])

    def test_only_new_ones_applied(self) -> None:
        """A second run applies only the migrations not yet recorded."""
        first = Migration.from_text("001_a.sql", "CREATE TABLE a (x);")
        second = Migration.from_text("002_b.sql", "CREATE TABLE b (x);")
        self.assertEqual(self.migrate(first), ["001_a"])
        self.assertEqual(self.migrate(first, second), ["002_b"])

    def test_unknown_migration_refused(self) -> None:
        """A database recording a migration the code lacks is refused, naming it."""
        self.migrate(
            Migration.from_text("001_a.sql", "CREATE TABLE a (x);"),
            Migration.from_text("099_future.sql", "CREATE TABLE f (x);"),
        )
        d = apply_migrations(self.engine, [Migration.from_text("001_a.sql", "CREATE TABLE a (x);")])
        failure = self.failureResultOf(d, UnknownMigrationError)
        self.assertEqual(failure.value.names, ["099_future"])
        self.assertIn("newer version", str(failure.value))
        self.assertIn("099_future", str(failure.value))

    def test_failing_migration_leaves_nothing(self) -> None:
        """A migration failing halfway is rolled back entirely and not recorded."""
        good = Migration.from_text("001_a.sql", "CREATE TABLE a (x);")
        bad = Migration.from_text(
            "002_b.sql", "CREATE TABLE b (x);\nINSERT INTO missing VALUES (1);"
        )
        with self.assertLogs("synapse.storage.txn", logging.WARNING):
            failure = self.failureResultOf(
                apply_migrations(self.engine, [good, bad]), MigrationError
            )
        self.assertIn("002_b", str(failure.value))
        self.assertEqual(
            self.successResultOf(self.engine.run_interaction("r", _recorded)), ["001_a"]
        )
        self.assertNotIn("b", self.successResultOf(self.engine.run_interaction("t", _tables)))

    def test_changed_migration_warned(self) -> None:
        """An applied migration whose text changed is logged, not re-applied."""
        self.migrate(Migration.from_text("001_a.sql", "CREATE TABLE a (x);"))
        with self.assertLogs("synapse_modhost.storage._migrations", logging.WARNING) as logs:
            applied = self.migrate(Migration.from_text("001_a.sql", "CREATE TABLE a (y);"))
        self.assertEqual(applied, [])
        self.assertIn("001_a changed", logs.output[0])

    def test_bad_file_name(self) -> None:
        """A .sql file not named NNN_name.sql is an error, not silently skipped."""
        for name in ("1_a.sql", "001-a.sql", "001_A.sql", "abc_x.sql"):
            self.assertRaises(MigrationError, Migration.from_text, name, "")

    def test_load_from_directory(self) -> None:
        """load_migrations reads a directory's .sql files (ignoring others) in order."""
        directory = self.mktemp()
        os.makedirs(directory)
        for name, text in [("010_x.sql", "SELECT 1;"), ("002_y.sql", "SELECT 2;"), ("README", "")]:
            with open(os.path.join(directory, name), "w") as f:
                f.write(text)
        from pathlib import Path

        self.assertEqual([m.name for m in load_migrations(Path(directory))], ["002_y", "010_x"])

    def test_open_database_closes_on_refusal(self) -> None:
        """open_database fails and closes the engine when the database is from a newer version."""
        directory = self.mktemp()
        os.makedirs(directory)
        path = os.path.join(directory, "new.db")
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, number INTEGER NOT NULL, "
            "checksum TEXT NOT NULL, applied_ts INTEGER NOT NULL)"
        )
        conn.execute("INSERT INTO schema_migrations VALUES ('900_later', 900, '', 0)")
        conn.commit()
        conn.close()
        failure = self.failureResultOf(
            open_database(Clock(), path, threaded=False), UnknownMigrationError
        )
        self.assertIn(repr(path), str(failure.value))
        # the last connection closed cleanly: SQLite removed its WAL file
        self.assertFalse(os.path.exists(path + "-wal"))


class SplitStatementsTests(SynchronousTestCase):
    """Splitting a migration script into statements."""

    def test_split(self) -> None:
        """Statements split at ';' except inside strings and trigger bodies; comments dropped."""
        script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x TEXT DEFAULT 'a;b'); CREATE TABLE b (y);
            CREATE TRIGGER t AFTER INSERT ON a BEGIN
                INSERT INTO b VALUES (1);
                INSERT INTO b VALUES (2);
            END;
            /* trailing; comment */
        """
        statements = split_statements(script)
        self.assertEqual(len(statements), 3)
        self.assertIn("'a;b'", statements[0])
        self.assertTrue(statements[2].endswith("END;"))

    def test_unterminated(self) -> None:
        """An unterminated string or trigger body is an error."""
        self.assertRaises(MigrationError, split_statements, "INSERT INTO a VALUES ('oops);")
