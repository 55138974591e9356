"""Errors raised by the storage layer (never shown to clients as such)."""

from __future__ import annotations

from synapse_modhost.errors import SynapseError

__all__ = [
    "DatabaseClosedError",
    "DatabaseOpenError",
    "MigrationError",
    "StorageError",
    "StoreError",
    "UnknownMigrationError",
]


class StorageError(Exception):
    """Base class of the storage layer's own errors."""


class DatabaseOpenError(StorageError):
    """The database file (or its directory) could not be created or opened."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"Cannot open the database at {path!r}: {reason}")
        self.path = path
        self.reason = reason


class DatabaseClosedError(StorageError):
    """An interaction was started on an engine that is not running."""


class MigrationError(StorageError):
    """A schema migration could not be read or applied."""


class UnknownMigrationError(MigrationError):
    """The database records migrations this code does not know (a newer version's)."""

    def __init__(self, path: str, names: "list[str]") -> None:
        listed = ", ".join(names)
        super().__init__(
            f"The database at {path!r} was migrated by a newer version of synapse-modhost "
            f"(unknown schema migrations: {listed}); refusing to use it"
        )
        self.path = path
        self.names = names


class StoreError(SynapseError):
    """Synapse's ``synapse.api.errors.StoreError``: a ``SynapseError`` from the store
    (``DatabasePool.simple_select_one`` and friends raise ``StoreError(404, "No row found")``)."""
