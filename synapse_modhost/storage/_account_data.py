"""``AccountDataStore``: users' global and per-room account data, and their sync filters
(schema ``004_account_data``).

Every write takes the next account data stream id (one counter for all users, the
account data part of a sync token); a row keeps the id of its last write, so "what
changed since position N" is one indexed range query. Contents are stored as JSON
text. Every method returns a Deferred from the engine.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple

import attr
from twisted.internet import defer

from synapse_modhost.storage._interface import DatabaseEngine
from synapse_modhost.storage._transaction import LoggingTransaction

__all__ = ["AccountDataSnapshot", "AccountDataStore"]

JsonDict = Dict[str, Any]

#: ``room_id`` column value of global account data
_GLOBAL = ""


def _encode(content: Any, canonical: bool = False) -> str:
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False, sort_keys=canonical)


@attr.s(slots=True, auto_attribs=True)
class AccountDataSnapshot:
    """A user's account data: ``global_data[type]`` and ``room_data[room_id][type]``."""

    global_data: Dict[str, JsonDict] = attr.Factory(dict)
    room_data: Dict[str, Dict[str, JsonDict]] = attr.Factory(dict)


class AccountDataStore:
    """Account data and filters on a :class:`DatabaseEngine`."""

    def __init__(self, engine: DatabaseEngine) -> None:
        self._engine = engine

    # ================================================================== stream

    def get_max_stream_id(self) -> "defer.Deferred[int]":
        """The stream id of the latest write (0 when there is none)."""

        def txn_func(txn: LoggingTransaction) -> int:
            return _max_stream_id(txn)

        return self._engine.run_interaction("get_max_account_data_stream_id", txn_func)

    # ================================================================== writes

    def add_account_data(
        self, user_id: str, room_id: Optional[str], account_data_type: str, content: JsonDict
    ) -> "defer.Deferred[int]":
        """Replace the user's account data of this type (global when ``room_id`` is
        ``None``); fires with the write's stream id."""
        encoded = _encode(content)
        room = _GLOBAL if room_id is None else room_id

        def txn_func(txn: LoggingTransaction) -> int:
            stream_id = _max_stream_id(txn) + 1
            txn.execute(
                "INSERT INTO account_data (user_id, room_id, account_data_type, stream_id, content) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id, account_data_type) "
                "DO UPDATE SET stream_id = excluded.stream_id, content = excluded.content",
                (user_id, room, account_data_type, stream_id, encoded),
            )
            return stream_id

        return self._engine.run_interaction("add_account_data", txn_func)

    # ================================================================== reads

    def get_global_account_data_by_type(
        self, user_id: str, account_data_type: str
    ) -> "defer.Deferred[Optional[JsonDict]]":
        return self._get_one("get_global_account_data_by_type", user_id, _GLOBAL, account_data_type)

    def get_room_account_data_by_type(
        self, user_id: str, room_id: str, account_data_type: str
    ) -> "defer.Deferred[Optional[JsonDict]]":
        return self._get_one("get_room_account_data_by_type", user_id, room_id, account_data_type)

    def _get_one(
        self, desc: str, user_id: str, room_id: str, account_data_type: str
    ) -> "defer.Deferred[Optional[JsonDict]]":
        def txn_func(txn: LoggingTransaction) -> Optional[JsonDict]:
            txn.execute(
                "SELECT content FROM account_data "
                "WHERE user_id = ? AND room_id = ? AND account_data_type = ?",
                (user_id, room_id, account_data_type),
            )
            row = txn.fetchone()
            return None if row is None else json.loads(row[0])

        return self._engine.run_interaction(desc, txn_func)

    def get_account_data_for_user(
        self, user_id: str, since_stream_id: int = 0, upto_stream_id: Optional[int] = None
    ) -> "defer.Deferred[AccountDataSnapshot]":
        """The user's account data written after ``since_stream_id`` (everything with
        the default 0) and up to ``upto_stream_id`` when given, in write order."""

        def txn_func(txn: LoggingTransaction) -> AccountDataSnapshot:
            sql = (
                "SELECT room_id, account_data_type, content FROM account_data "
                "WHERE user_id = ? AND stream_id > ?"
            )
            args: Tuple[Any, ...] = (user_id, since_stream_id)
            if upto_stream_id is not None:
                sql += " AND stream_id <= ?"
                args += (upto_stream_id,)
            txn.execute(sql + " ORDER BY stream_id", args)
            snapshot = AccountDataSnapshot()
            for room_id, data_type, content in txn.fetchall():
                if room_id == _GLOBAL:
                    snapshot.global_data[data_type] = json.loads(content)
                else:
                    snapshot.room_data.setdefault(room_id, {})[data_type] = json.loads(content)
            return snapshot

        return self._engine.run_interaction("get_account_data_for_user", txn_func)

    # ================================================================== filters

    def add_user_filter(self, user_id: str, filter_json: JsonDict) -> "defer.Deferred[int]":
        """Store a filter; fires with its id (0, 1, ... per user). An identical filter
        already stored gets its existing id back, as on Synapse."""
        encoded = _encode(filter_json, canonical=True)

        def txn_func(txn: LoggingTransaction) -> int:
            txn.execute(
                "SELECT filter_id FROM user_filters WHERE user_id = ? AND filter_json = ?",
                (user_id, encoded),
            )
            row = txn.fetchone()
            if row is not None:
                return int(row[0])
            txn.execute("SELECT MAX(filter_id) FROM user_filters WHERE user_id = ?", (user_id,))
            top = txn.fetchone()
            filter_id = 0 if top is None or top[0] is None else int(top[0]) + 1
            txn.execute(
                "INSERT INTO user_filters (user_id, filter_id, filter_json) VALUES (?, ?, ?)",
                (user_id, filter_id, encoded),
            )
            return filter_id

        return self._engine.run_interaction("add_user_filter", txn_func)

    def get_user_filter(self, user_id: str, filter_id: int) -> "defer.Deferred[Optional[JsonDict]]":
        def txn_func(txn: LoggingTransaction) -> Optional[JsonDict]:
            txn.execute(
                "SELECT filter_json FROM user_filters WHERE user_id = ? AND filter_id = ?",
                (user_id, filter_id),
            )
            row = txn.fetchone()
            return None if row is None else json.loads(row[0])

        return self._engine.run_interaction("get_user_filter", txn_func)


def _max_stream_id(txn: LoggingTransaction) -> int:
    txn.execute("SELECT MAX(stream_id) FROM account_data")
    row: Optional[Tuple[Any, ...]] = txn.fetchone()
    return 0 if row is None or row[0] is None else int(row[0])
