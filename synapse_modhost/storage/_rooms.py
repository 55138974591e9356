"""``RoomStore``: the ``rooms`` table, room aliases, the published room list and blocked
rooms (schema ``002_rooms``). Reached as ``EventStore.rooms``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, List, Optional, Sequence

from twisted.internet import defer

from synapse_modhost.storage._interface import DatabaseEngine
from synapse_modhost.storage._room_records import (
    AliasRecord,
    RoomAliasExistsError,
    RoomExistsError,
    RoomRecord,
)
from synapse_modhost.storage._transaction import LoggingTransaction

if TYPE_CHECKING:
    from synapse_modhost.storage._events import EventStore

__all__ = ["RoomStore"]

_ROOM_COLUMNS = "room_id, room_version, creator, is_public, created_ts"


def _room_from_row(row: Sequence[Any]) -> RoomRecord:
    return RoomRecord(row[0], row[1], row[2], bool(row[3]), int(row[4]))


class RoomStore:
    """Rooms and aliases. Every method returns a Deferred from the engine."""

    def __init__(self, engine: DatabaseEngine, events: "EventStore") -> None:
        self._engine = engine
        self._events = events

    # ------------------------------------------------------------------ rooms

    def store_room(
        self,
        room_id: str,
        room_version: str,
        creator: Optional[str],
        is_public: bool,
        created_ts: int,
    ) -> "defer.Deferred[None]":
        """Insert a room; fails with :class:`RoomExistsError` if the ID is taken."""
        integrity_error = self._engine.module.IntegrityError

        def txn_func(txn: LoggingTransaction) -> None:
            try:
                txn.execute(
                    f"INSERT INTO rooms ({_ROOM_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                    (room_id, room_version, creator, int(is_public), created_ts),
                )
            except integrity_error:
                raise RoomExistsError(room_id) from None

        return self._engine.run_interaction("store_room", txn_func)

    def get_room(self, room_id: str) -> "defer.Deferred[Optional[RoomRecord]]":
        def txn_func(txn: LoggingTransaction) -> Optional[RoomRecord]:
            txn.execute(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE room_id = ?", (room_id,))
            row = txn.fetchone()
            return _room_from_row(row) if row else None

        return self._engine.run_interaction("get_room", txn_func)

    def set_room_is_public(self, room_id: str, is_public: bool) -> "defer.Deferred[None]":
        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "UPDATE rooms SET is_public = ? WHERE room_id = ?", (int(is_public), room_id)
            )

        return self._engine.run_interaction("set_room_is_public", txn_func)

    def get_public_room_ids(self) -> "defer.Deferred[List[str]]":
        def txn_func(txn: LoggingTransaction) -> List[str]:
            txn.execute("SELECT room_id FROM rooms WHERE is_public = 1")
            return [r for (r,) in txn.fetchall()]

        return self._engine.run_interaction("get_public_room_ids", txn_func)

    def get_all_rooms(self) -> "defer.Deferred[List[RoomRecord]]":
        def txn_func(txn: LoggingTransaction) -> List[RoomRecord]:
            txn.execute(f"SELECT {_ROOM_COLUMNS} FROM rooms ORDER BY created_ts, room_id")
            return [_room_from_row(r) for r in txn.fetchall()]

        return self._engine.run_interaction("get_all_rooms", txn_func)

    async def purge_room(self, room_id: str) -> bool:
        """Delete a room with its events, state, memberships and aliases; ``False`` if it
        was not stored."""

        def txn_func(txn: LoggingTransaction) -> bool:
            txn.execute("DELETE FROM room_aliases WHERE room_id = ?", (room_id,))
            txn.execute("DELETE FROM rooms WHERE room_id = ?", (room_id,))
            return txn.rowcount > 0

        found = await self._engine.run_interaction("purge_room", txn_func)
        self._events.forget_room_cache(room_id)
        return bool(found)

    # ------------------------------------------------------------------ blocking

    def block_room(self, room_id: str, user_id: str) -> "defer.Deferred[None]":
        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "INSERT OR IGNORE INTO blocked_rooms (room_id, user_id) VALUES (?, ?)",
                (room_id, user_id),
            )

        return self._engine.run_interaction("block_room", txn_func)

    def is_room_blocked(self, room_id: str) -> "defer.Deferred[bool]":
        def txn_func(txn: LoggingTransaction) -> bool:
            txn.execute("SELECT 1 FROM blocked_rooms WHERE room_id = ?", (room_id,))
            return txn.fetchone() is not None

        return self._engine.run_interaction("is_room_blocked", txn_func)

    # ------------------------------------------------------------------ aliases

    def create_alias(
        self, room_alias: str, room_id: str, servers: Sequence[str], creator: Optional[str]
    ) -> "defer.Deferred[None]":
        """Point ``room_alias`` at ``room_id``; :class:`RoomAliasExistsError` if taken."""
        integrity_error = self._engine.module.IntegrityError

        def txn_func(txn: LoggingTransaction) -> None:
            try:
                txn.execute(
                    "INSERT INTO room_aliases (room_alias, room_id, creator, servers) "
                    "VALUES (?, ?, ?, ?)",
                    (room_alias, room_id, creator, json.dumps(list(servers))),
                )
            except integrity_error:
                raise RoomAliasExistsError(room_alias) from None

        return self._engine.run_interaction("create_alias", txn_func)

    def get_alias(self, room_alias: str) -> "defer.Deferred[Optional[AliasRecord]]":
        def txn_func(txn: LoggingTransaction) -> Optional[AliasRecord]:
            txn.execute(
                "SELECT room_alias, room_id, creator, servers FROM room_aliases "
                "WHERE room_alias = ?",
                (room_alias,),
            )
            row = txn.fetchone()
            return AliasRecord(row[0], row[1], row[2], json.loads(row[3])) if row else None

        return self._engine.run_interaction("get_alias", txn_func)

    def delete_alias(self, room_alias: str) -> "defer.Deferred[Optional[str]]":
        """Remove an alias; the room it pointed to, or ``None`` if there was none."""

        def txn_func(txn: LoggingTransaction) -> Optional[str]:
            txn.execute("SELECT room_id FROM room_aliases WHERE room_alias = ?", (room_alias,))
            row = txn.fetchone()
            if row is None:
                return None
            txn.execute("DELETE FROM room_aliases WHERE room_alias = ?", (room_alias,))
            return str(row[0])

        return self._engine.run_interaction("delete_alias", txn_func)

    def get_aliases_for_room(self, room_id: str) -> "defer.Deferred[List[str]]":
        def txn_func(txn: LoggingTransaction) -> List[str]:
            txn.execute(
                "SELECT room_alias FROM room_aliases WHERE room_id = ? ORDER BY room_alias",
                (room_id,),
            )
            return [a for (a,) in txn.fetchall()]

        return self._engine.run_interaction("get_aliases_for_room", txn_func)

    def update_aliases_for_room(
        self, old_room_id: str, new_room_id: str, creator: Optional[str]
    ) -> "defer.Deferred[None]":
        """Repoint every alias of ``old_room_id`` at ``new_room_id`` (room shutdown)."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "UPDATE room_aliases SET room_id = ?, creator = ? WHERE room_id = ?",
                (new_room_id, creator, old_room_id),
            )

        return self._engine.run_interaction("update_aliases_for_room", txn_func)
