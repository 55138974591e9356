"""Numbered schema migrations and :func:`open_database`.

The schema lives in ``synapse_modhost/storage/schema/NNN_name.sql`` (package data):
``NNN`` is a three-digit number, ``name`` lower-case letters, digits and ``_``. Files are
applied in order of number, then name; the full stem (``"001_users"``) is a migration's
identity, so two areas may take the same number as long as their names differ. Each
file runs in one transaction together with its row in ``schema_migrations``
(name, number, checksum, applied_ts); a failing file leaves nothing behind.

A migration, once released, is never edited (a changed checksum is logged, not
re-applied); change the schema with a new file. A database whose ``schema_migrations``
names a migration this code does not have was written by a newer version and is refused
with :class:`UnknownMigrationError`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import time
from typing import Any, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

from twisted.internet import defer

from synapse_modhost.storage._engine import SqliteEngine
from synapse_modhost.storage._errors import MigrationError, UnknownMigrationError
from synapse_modhost.storage._interface import DatabaseEngine
from synapse_modhost.storage._transaction import LoggingTransaction

__all__ = [
    "Migration",
    "apply_migrations",
    "load_migrations",
    "open_database",
    "split_statements",
]

logger = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

MIGRATIONS_TABLE = "schema_migrations"

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
    name TEXT NOT NULL PRIMARY KEY,
    number INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    applied_ts INTEGER NOT NULL
)
"""


class Migration(NamedTuple):
    """One ``NNN_name.sql`` file."""

    number: int
    #: the file name without ``.sql``: what ``schema_migrations`` records
    name: str
    sql: str
    checksum: str

    def __repr__(self) -> str:
        return f"Migration(number={self.number!r}, name={self.name!r})"

    @classmethod
    def from_text(cls, file_name: str, sql: str) -> "Migration":
        match = _FILE_NAME.match(file_name)
        if match is None:
            raise MigrationError(
                f"Bad schema migration file name {file_name!r}: expected NNN_name.sql "
                "(three digits, then lower-case letters, digits and '_')"
            )
        checksum = hashlib.sha256(sql.encode("utf-8")).hexdigest()
        return cls(int(match.group(1)), file_name[: -len(".sql")], sql, checksum)


def load_migrations(directory: Any = None) -> List[Migration]:
    """The ``*.sql`` files of ``directory`` (a path-like or ``Traversable``; default:
    the packaged ``schema/``), in application order."""
    if directory is None:
        files = _packaged_schema_files()
    else:
        files = (
            (entry.name, entry.read_text(encoding="utf-8"))
            for entry in directory.iterdir()
            if entry.name.endswith(".sql")
        )
    migrations = [Migration.from_text(name, text) for name, text in files]
    migrations.sort(key=lambda m: (m.number, m.name))
    return migrations


def _packaged_schema_files() -> Iterator[Tuple[str, str]]:
    """``(file name, text)`` of the packaged ``schema/*.sql``.

    An installed package has them as files beside this module: read them directly
    (``importlib.resources`` costs this start-up path ~7 ms and 0.3 MiB); a package
    loaded from a zip goes through ``importlib.resources``.
    """
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
    if os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            if name.endswith(".sql"):
                with open(os.path.join(directory, name), encoding="utf-8") as f:
                    yield name, f.read()
        return
    import importlib.resources

    for entry in importlib.resources.files("synapse_modhost.storage").joinpath("schema").iterdir():
        if entry.name.endswith(".sql"):
            yield entry.name, entry.read_text(encoding="utf-8")


def split_statements(sql: str) -> List[str]:
    """Split a script into single statements (``;`` in strings and trigger bodies kept).

    Comment-only trailing text is dropped; an unterminated statement is an error.
    """
    statements = []
    pending = ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if _has_code(pending):
                statements.append(pending.strip())
            pending = ""
    pending = pending[:-1]  # the ";" added after the last piece
    if _has_code(pending):
        raise MigrationError(f"Unterminated SQL statement: {pending.strip()[:200]!r}")
    return statements


def _has_code(sql: str) -> bool:
    """Whether ``sql`` has anything but whitespace, ``;`` and comments."""
    text = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    text = re.sub(r"--[^\n]*", " ", text)
    return bool(text.replace(";", " ").strip())


def _prepare_txn(txn: LoggingTransaction) -> List[Any]:
    txn.execute(_CREATE_TABLE)
    txn.execute(f"SELECT name, checksum FROM {MIGRATIONS_TABLE}")
    return txn.fetchall()


def _apply_txn(txn: LoggingTransaction, migration: Migration, statements: Sequence[str]) -> None:
    for statement in statements:
        txn.execute(statement)
    txn.execute(
        f"INSERT INTO {MIGRATIONS_TABLE} (name, number, checksum, applied_ts) VALUES (?, ?, ?, ?)",
        (migration.name, migration.number, migration.checksum, int(time.time() * 1000)),
    )


async def _apply(engine: DatabaseEngine, migrations: Iterable[Migration], where: str) -> List[str]:
    known = list(migrations)
    names = [m.name for m in known]
    if len(set(names)) != len(names):
        raise MigrationError(f"Duplicate schema migration names in {names!r}")
    rows = await engine.run_interaction("schema_migrations", _prepare_txn)
    recorded = {name: checksum for name, checksum in rows}
    unknown = sorted(set(recorded) - set(names))
    if unknown:
        raise UnknownMigrationError(where, unknown)
    applied: List[str] = []
    done: Set[str] = set(recorded)
    for migration in known:
        if migration.name in done:
            if recorded[migration.name] != migration.checksum:
                logger.warning(
                    "Schema migration %s changed since it was applied to %s; not re-applied",
                    migration.name,
                    where,
                )
            continue
        statements = split_statements(migration.sql)
        try:
            await engine.run_interaction(
                f"migration {migration.name}", _apply_txn, migration, statements
            )
        except engine.module.Error as e:
            raise MigrationError(f"Schema migration {migration.name} failed on {where}: {e}") from e
        logger.info("Applied schema migration %s to %s", migration.name, where)
        applied.append(migration.name)
    return applied


def apply_migrations(
    engine: DatabaseEngine, migrations: Optional[Iterable[Migration]] = None
) -> "defer.Deferred[List[str]]":
    """Apply the migrations ``engine``'s database lacks, in order; fires with the names
    applied. Fails with :class:`UnknownMigrationError` for a newer version's database."""
    if migrations is None:
        migrations = load_migrations()
    where = getattr(engine, "path", engine.name)
    return defer.ensureDeferred(_apply(engine, migrations, where))


async def _open(engine: SqliteEngine, migrations: Optional[Iterable[Migration]]) -> SqliteEngine:
    engine.start()
    try:
        await apply_migrations(engine, migrations)
    except BaseException:
        await engine.close()
        raise
    return engine


def open_database(
    reactor: Any,
    path: str,
    *,
    threaded: bool = True,
    server_name: str = "",
    migrations: Optional[Iterable[Migration]] = None,
) -> "defer.Deferred[SqliteEngine]":
    """Start a :class:`SqliteEngine` on ``path`` and bring its schema up to date.

    Fails with :class:`DatabaseOpenError` or a :class:`MigrationError` (the engine is
    closed again then). The caller closes the engine it gets.
    """
    engine = SqliteEngine(reactor, path, threaded=threaded, server_name=server_name)
    return defer.ensureDeferred(_open(engine, migrations))
