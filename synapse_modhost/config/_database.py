"""The ``database`` section (SQLite only) and the legacy ``database_path``."""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping

from synapse_modhost.config._errors import ConfigError
from synapse_modhost.config._model import DatabaseConfig
from synapse_modhost.config._util import EXPECTED_MAPPING, EXPECTED_STRING

__all__ = ["DEFAULT_DATABASE", "POSTGRES_UNSUPPORTED", "read_database_config"]

KEYS = frozenset(("database", "database_path"))

#: ``args.database`` when not given: relative to the working directory, as sqlite opens it
DEFAULT_DATABASE = "homeserver.db"

POSTGRES_UNSUPPORTED = (
    "PostgreSQL (psycopg2) is not supported by synapse-modhost yet; use 'sqlite3'"
)


def read_database_config(config: Mapping[str, Any]) -> DatabaseConfig:
    """Build :class:`DatabaseConfig`; a missing section means SQLite ``homeserver.db``."""
    if config.get("databases"):
        raise ConfigError(
            "Multiple databases ('databases') are not supported by synapse-modhost; use 'database'",
            ("databases",),
        )
    section = config.get("database")
    if section is None:
        section = {}
    if not isinstance(section, Mapping):
        raise ConfigError(EXPECTED_MAPPING, ("database",))

    name = section.get("name", "sqlite3")
    if name == "psycopg2":
        raise ConfigError(POSTGRES_UNSUPPORTED, ("database", "name"))
    if name != "sqlite3":
        raise ConfigError(f"Unsupported database type {name!r}", ("database", "name"))

    args_value = section.get("args")
    if args_value is None:
        args_value = {}
    if not isinstance(args_value, Mapping):
        raise ConfigError(EXPECTED_MAPPING, ("database", "args"))
    args: Dict[str, Any] = dict(args_value)

    database = args.get("database", DEFAULT_DATABASE)
    database_path = config.get("database_path")
    if database_path:
        # the legacy top-level option overrides args.database, made absolute
        if not isinstance(database_path, str):
            raise ConfigError(EXPECTED_STRING, ("database_path",))
        database = database_path if database_path == ":memory:" else os.path.abspath(database_path)
        args["database"] = database
    if not isinstance(database, str) or not database:
        raise ConfigError(EXPECTED_STRING, ("database", "args", "database"))
    args.setdefault("database", database)
    return DatabaseConfig(name=name, args=args, database=database)
