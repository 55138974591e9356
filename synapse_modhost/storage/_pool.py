"""``DatabasePool``: what ``ModuleApi.run_db_interaction`` runs on, with Synapse's names.

A facade over a :class:`DatabaseEngine`: ``runInteraction`` and ``execute`` as on
Synapse, and the ``simple_*`` helpers handlers and modules use for one-table
statements (table and column names must be plain identifiers; values are always
bound as parameters). Every method returns a Deferred (awaitable, as Synapse's
coroutines are).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, TypeVar

from twisted.internet import defer

from synapse_modhost.storage._errors import DatabaseClosedError, StoreError
from synapse_modhost.storage._interface import DatabaseEngine
from synapse_modhost.storage._transaction import LoggingTransaction

__all__ = ["DatabasePool"]

T = TypeVar("T")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"Not a plain SQL identifier: {name!r}")
    return name


def _where(keyvalues: Mapping[str, Any]) -> Tuple[str, List[Any]]:
    if not keyvalues:
        return "", []
    clause = " AND ".join(f"{_ident(k)} = ?" for k in keyvalues)
    return f" WHERE {clause}", list(keyvalues.values())


class DatabasePool:
    """Where ``run_db_interaction`` runs (``synapse.storage.database.DatabasePool``).

    Without an engine (a host with no database) every call fails with
    :class:`DatabaseClosedError`.
    """

    def __init__(self, engine: Optional[DatabaseEngine] = None, *, name: str = "master") -> None:
        self.engine = engine
        self.name = name

    def _engine(self) -> DatabaseEngine:
        if self.engine is None:
            raise DatabaseClosedError("this host has no database configured")
        return self.engine

    # ------------------------------------------------------------------ interactions

    def runInteraction(
        self,
        desc: str,
        func: Callable[..., T],
        *args: Any,
        db_autocommit: bool = False,
        isolation_level: Optional[int] = None,
        **kwargs: Any,
    ) -> "defer.Deferred[T]":
        """Run ``func(txn, *args, **kwargs)`` in one transaction (on the database
        thread); fires with its result after the commit. ``db_autocommit`` and
        ``isolation_level`` are accepted and ignored, as Synapse does on SQLite."""
        try:
            engine = self._engine()
        except DatabaseClosedError:
            return defer.fail()
        return engine.run_interaction(desc, func, *args, **kwargs)

    def execute(self, desc: str, query: str, *args: Any) -> "defer.Deferred[List[Tuple[Any, ...]]]":
        """Run one statement with ``args`` as its parameters; all its rows."""
        return self.runInteraction(desc, _execute_txn, query, args)

    # ------------------------------------------------------------------ simple_* helpers

    def simple_insert(
        self, table: str, values: Mapping[str, Any], desc: str = "simple_insert"
    ) -> "defer.Deferred[None]":
        return self.runInteraction(desc, self.simple_insert_txn, table, values)

    @staticmethod
    def simple_insert_txn(txn: LoggingTransaction, table: str, values: Mapping[str, Any]) -> None:
        columns = ", ".join(_ident(k) for k in values)
        marks = ", ".join("?" for _ in values)
        txn.execute(
            f"INSERT INTO {_ident(table)} ({columns}) VALUES ({marks})", list(values.values())
        )

    def simple_insert_many(
        self,
        table: str,
        keys: Iterable[str],
        values: Iterable[Iterable[Any]],
        desc: str = "simple_insert_many",
    ) -> "defer.Deferred[None]":
        return self.runInteraction(desc, self.simple_insert_many_txn, table, keys, values)

    @staticmethod
    def simple_insert_many_txn(
        txn: LoggingTransaction, table: str, keys: Iterable[str], values: Iterable[Iterable[Any]]
    ) -> None:
        keys = list(keys)
        columns = ", ".join(_ident(k) for k in keys)
        marks = ", ".join("?" for _ in keys)
        txn.executemany(
            f"INSERT INTO {_ident(table)} ({columns}) VALUES ({marks})", [tuple(v) for v in values]
        )

    def simple_upsert(
        self,
        table: str,
        keyvalues: Mapping[str, Any],
        values: Mapping[str, Any],
        insertion_values: Optional[Mapping[str, Any]] = None,
        desc: str = "simple_upsert",
    ) -> "defer.Deferred[bool]":
        """Insert, or update ``values`` of the row matching ``keyvalues`` (which need a
        unique index); ``True`` (as Synapse's native upsert reports)."""
        return self.runInteraction(
            desc, self.simple_upsert_txn, table, keyvalues, values, insertion_values
        )

    @staticmethod
    def simple_upsert_txn(
        txn: LoggingTransaction,
        table: str,
        keyvalues: Mapping[str, Any],
        values: Mapping[str, Any],
        insertion_values: Optional[Mapping[str, Any]] = None,
    ) -> bool:
        row: Dict[str, Any] = {**keyvalues, **values, **(insertion_values or {})}
        columns = ", ".join(_ident(k) for k in row)
        marks = ", ".join("?" for _ in row)
        conflict = ", ".join(_ident(k) for k in keyvalues)
        if values:
            action = "DO UPDATE SET " + ", ".join(
                f"{_ident(k)} = excluded.{_ident(k)}" for k in values
            )
        else:
            action = "DO NOTHING"
        txn.execute(
            f"INSERT INTO {_ident(table)} ({columns}) VALUES ({marks}) "
            f"ON CONFLICT ({conflict}) {action}",
            list(row.values()),
        )
        return True

    def simple_select_one(
        self,
        table: str,
        keyvalues: Mapping[str, Any],
        retcols: Iterable[str],
        allow_none: bool = False,
        desc: str = "simple_select_one",
    ) -> "defer.Deferred[Optional[Tuple[Any, ...]]]":
        """The one matching row as a tuple of ``retcols``; ``None`` when there is none
        and ``allow_none``, else :class:`StoreError` 404 ``"No row found (<table>)"``."""
        return self.runInteraction(
            desc, self.simple_select_one_txn, table, keyvalues, retcols, allow_none
        )

    @staticmethod
    def simple_select_one_txn(
        txn: LoggingTransaction,
        table: str,
        keyvalues: Mapping[str, Any],
        retcols: Iterable[str],
        allow_none: bool = False,
    ) -> Optional[Tuple[Any, ...]]:
        columns = ", ".join(_ident(c) for c in retcols)
        where, params = _where(keyvalues)
        txn.execute(f"SELECT {columns} FROM {_ident(table)}{where}", params)
        row = txn.fetchone()
        if row is None:
            if allow_none:
                return None
            raise StoreError(404, "No row found (%s)" % (table,))
        return tuple(row)

    def simple_select_one_onecol(
        self,
        table: str,
        keyvalues: Mapping[str, Any],
        retcol: str,
        allow_none: bool = False,
        desc: str = "simple_select_one_onecol",
    ) -> "defer.Deferred[Any]":
        d = self.simple_select_one(table, keyvalues, (retcol,), allow_none, desc)
        return d.addCallback(lambda row: None if row is None else row[0])

    def simple_select_onecol(
        self,
        table: str,
        keyvalues: Mapping[str, Any],
        retcol: str,
        desc: str = "simple_select_onecol",
    ) -> "defer.Deferred[List[Any]]":
        d = self.simple_select_list(table, keyvalues, (retcol,), desc)
        return d.addCallback(lambda rows: [row[0] for row in rows])

    def simple_select_list(
        self,
        table: str,
        keyvalues: Optional[Mapping[str, Any]],
        retcols: Iterable[str],
        desc: str = "simple_select_list",
    ) -> "defer.Deferred[List[Tuple[Any, ...]]]":
        return self.runInteraction(desc, self.simple_select_list_txn, table, keyvalues, retcols)

    @staticmethod
    def simple_select_list_txn(
        txn: LoggingTransaction,
        table: str,
        keyvalues: Optional[Mapping[str, Any]],
        retcols: Iterable[str],
    ) -> List[Tuple[Any, ...]]:
        columns = ", ".join(_ident(c) for c in retcols)
        where, params = _where(keyvalues or {})
        txn.execute(f"SELECT {columns} FROM {_ident(table)}{where}", params)
        return [tuple(row) for row in txn.fetchall()]

    def simple_update(
        self,
        table: str,
        keyvalues: Mapping[str, Any],
        updatevalues: Mapping[str, Any],
        desc: str = "simple_update",
    ) -> "defer.Deferred[int]":
        """How many rows were updated."""
        return self.runInteraction(desc, self.simple_update_txn, table, keyvalues, updatevalues)

    @staticmethod
    def simple_update_txn(
        txn: LoggingTransaction,
        table: str,
        keyvalues: Mapping[str, Any],
        updatevalues: Mapping[str, Any],
    ) -> int:
        if not updatevalues:
            return 0
        sets = ", ".join(f"{_ident(k)} = ?" for k in updatevalues)
        where, params = _where(keyvalues)
        txn.execute(
            f"UPDATE {_ident(table)} SET {sets}{where}", list(updatevalues.values()) + params
        )
        return txn.rowcount

    def simple_update_one(
        self,
        table: str,
        keyvalues: Mapping[str, Any],
        updatevalues: Mapping[str, Any],
        desc: str = "simple_update_one",
    ) -> "defer.Deferred[None]":
        """As ``simple_update``; :class:`StoreError` 404 when no row matched, 500 when
        several did (the update is rolled back)."""

        def txn_func(txn: LoggingTransaction) -> None:
            count = self.simple_update_txn(txn, table, keyvalues, updatevalues)
            if count == 0:
                raise StoreError(404, "No row found (%s)" % (table,))
            if count > 1:
                raise StoreError(500, "More than one row matched (%s)" % (table,))

        return self.runInteraction(desc, txn_func)

    def simple_delete(
        self, table: str, keyvalues: Mapping[str, Any], desc: str = "simple_delete"
    ) -> "defer.Deferred[int]":
        """How many rows were deleted (``keyvalues`` must not be empty)."""
        return self.runInteraction(desc, self.simple_delete_txn, table, keyvalues)

    @staticmethod
    def simple_delete_txn(txn: LoggingTransaction, table: str, keyvalues: Mapping[str, Any]) -> int:
        if not keyvalues:
            raise ValueError("simple_delete needs at least one key (refusing to empty the table)")
        where, params = _where(keyvalues)
        txn.execute(f"DELETE FROM {_ident(table)}{where}", params)
        return txn.rowcount


def _execute_txn(
    txn: LoggingTransaction, query: str, args: Tuple[Any, ...]
) -> List[Tuple[Any, ...]]:
    txn.execute(query, args)
    return txn.fetchall()
