"""Every row of every table of a test host's database, to show that a refused request
wrote nothing."""

from __future__ import annotations

from typing import Any, Dict, List

from synapse_modhost.storage._transaction import LoggingTransaction

__all__ = ["count_rows", "table_rows"]

#: SQLite's AUTOINCREMENT bookkeeping: its ``events`` counter keeps every stream position
#: ever handed out (never reused, by design), so only its row count is compared
COUNTED_ONLY = ("sqlite_sequence",)


def _rows_txn(txn: LoggingTransaction) -> Dict[str, List[str]]:
    txn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    names = [name for (name,) in txn.fetchall()]
    out: Dict[str, List[str]] = {}
    for name in names:
        txn.execute('SELECT * FROM "%s"' % (name,))
        out[name] = sorted(repr(tuple(row)) for row in txn.fetchall())
    return out


def table_rows(case: Any) -> Dict[str, List[str]]:
    """``{table: sorted row reprs}`` of ``case``'s host (``sqlite_sequence`` as its count)."""
    rows: Dict[str, List[str]] = case.get_success(
        case.host.engine.run_interaction("table_rows", _rows_txn)
    )
    for name in COUNTED_ONLY:
        if name in rows:
            rows[name] = ["%d rows" % len(rows[name])]
    return rows


def count_rows(case: Any) -> Dict[str, int]:
    """``{table: row count}`` of every table of ``case``'s host."""
    rows: Dict[str, List[str]] = case.get_success(
        case.host.engine.run_interaction("table_rows", _rows_txn)
    )
    return {name: len(found) for name, found in rows.items()}
