"""Profiles in the user store: display names, avatars, custom fields, directory search.

A mixin of :class:`~synapse_modhost.storage.UserStore` (``profiles`` table of schema
``001_users`` and its custom fields).
"""

from __future__ import annotations

import json
from typing import Any, List, Optional, Tuple

from twisted.internet import defer

from synapse_modhost.storage._interface import DatabaseEngine
from synapse_modhost.storage._transaction import LoggingTransaction
from synapse_modhost.storage._user_records import (
    FullProfile,
    Profile,
    ProfileTooLargeError,
    UserDirectoryEntry,
)

__all__ = ["MAX_PROFILE_SIZE", "ProfileStore"]

#: Synapse's limit on a whole profile (display name, avatar and custom fields)
MAX_PROFILE_SIZE = 65536


def _encode_json(value: Any) -> str:
    from canonicaljson import encode_canonical_json

    return encode_canonical_json(value).decode("utf-8")


def _check_profile_size(row: Tuple[Any, ...], field: str, value: Any) -> None:
    displayname, avatar_url, fields_json = row
    total = 0
    if fields_json:
        rest = {k: v for k, v in json.loads(fields_json).items() if k != field}
        total += len(_encode_json(rest)) - 1
    # 4 quotes, a colon and a comma per entry
    if field != "displayname" and displayname:
        total += len(displayname) + len("displayname") + 6
    if field != "avatar_url" and avatar_url:
        total += len(avatar_url) + len("avatar_url") + 6
    total += len(_encode_json({field: value}).encode("utf-8"))
    if total > MAX_PROFILE_SIZE:
        raise ProfileTooLargeError("Profile too large")


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ProfileStore:
    """Profile reads and writes; mixed into ``UserStore``."""

    _engine: DatabaseEngine

    def get_profile(self, user_id: str) -> "defer.Deferred[Optional[Profile]]":
        """``None`` when the user has no profile row."""

        def txn_func(txn: LoggingTransaction) -> Optional[Profile]:
            txn.execute(
                "SELECT displayname, avatar_url FROM profiles WHERE user_id = ?", (user_id,)
            )
            row = txn.fetchone()
            return None if row is None else Profile(row[0], row[1])

        return self._engine.run_interaction("get_profile", txn_func)

    def set_displayname(self, user_id: str, displayname: Optional[str]) -> "defer.Deferred[None]":
        return self._set_profile_field("set_displayname", user_id, "displayname", displayname)

    def set_avatar_url(self, user_id: str, avatar_url: Optional[str]) -> "defer.Deferred[None]":
        return self._set_profile_field("set_avatar_url", user_id, "avatar_url", avatar_url)

    def _set_profile_field(
        self, desc: str, user_id: str, column: str, value: Optional[str]
    ) -> "defer.Deferred[None]":
        sql = (
            f"INSERT INTO profiles (user_id, {column}) VALUES (?, ?) "
            f"ON CONFLICT (user_id) DO UPDATE SET {column} = excluded.{column}"
        )

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(sql, (user_id, value))

        return self._engine.run_interaction(desc, txn_func)

    def search_users(
        self, term: str, limit: int, *, include_deactivated: bool = False
    ) -> "defer.Deferred[List[UserDirectoryEntry]]":
        """Users whose id or display name contains ``term`` (ASCII case ignored),
        ordered by user id, at most ``limit`` (a scan: there is no substring index)."""
        pattern = f"%{_escape_like(term)}%"
        deactivated = "" if include_deactivated else "AND u.deactivated = 0"

        def txn_func(txn: LoggingTransaction) -> List[UserDirectoryEntry]:
            txn.execute(
                "SELECT u.user_id, p.displayname, p.avatar_url FROM users AS u "
                "LEFT JOIN profiles AS p ON p.user_id = u.user_id "
                "WHERE (u.user_id LIKE ? ESCAPE '\\' OR p.displayname LIKE ? ESCAPE '\\') "
                f"{deactivated} ORDER BY u.user_id LIMIT ?",
                (pattern, pattern, limit),
            )
            return [UserDirectoryEntry(*row) for row in txn.fetchall()]

        return self._engine.run_interaction("search_users", txn_func)

    # ================================================================== third-party ids

    def get_full_profile(self, user_id: str) -> "defer.Deferred[Optional[FullProfile]]":
        """Display name, avatar and custom fields; ``None`` when there is no profile row."""

        def txn_func(txn: LoggingTransaction) -> Optional[FullProfile]:
            txn.execute(
                "SELECT displayname, avatar_url, fields FROM profiles WHERE user_id = ?", (user_id,)
            )
            row = txn.fetchone()
            if row is None:
                return None
            return FullProfile(row[0], row[1], json.loads(row[2]) if row[2] else {})

        return self._engine.run_interaction("get_full_profile", txn_func)

    def set_profile_field(self, user_id: str, field: str, value: Any) -> "defer.Deferred[None]":
        """Set ``displayname``, ``avatar_url`` (``None`` clears) or a custom field, creating
        the profile row if the user has none (nothing happens for an unknown user). Fails
        with :class:`ProfileTooLargeError` past 64 KiB, counted as Synapse counts."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "SELECT displayname, avatar_url, fields FROM profiles WHERE user_id = ?", (user_id,)
            )
            row = txn.fetchone() or (None, None, None)
            _check_profile_size(row, field, value)
            if field in ("displayname", "avatar_url"):
                column, stored = field, value
            else:
                fields = json.loads(row[2]) if row[2] else {}
                fields[field] = value
                column, stored = "fields", _encode_json(fields)
            txn.execute(
                f"INSERT INTO profiles (user_id, {column}) SELECT ?, ? WHERE EXISTS "
                "(SELECT 1 FROM users WHERE user_id = ?) "
                f"ON CONFLICT (user_id) DO UPDATE SET {column} = excluded.{column}",
                (user_id, stored, user_id),
            )

        return self._engine.run_interaction("set_profile_field", txn_func)

    def delete_profile_field(self, user_id: str, field: str) -> "defer.Deferred[None]":
        """Remove a custom field (no error when it is not set)."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute("SELECT fields FROM profiles WHERE user_id = ?", (user_id,))
            row = txn.fetchone()
            if row is None or not row[0]:
                return
            fields = json.loads(row[0])
            fields.pop(field, None)
            txn.execute(
                "UPDATE profiles SET fields = ? WHERE user_id = ?", (_encode_json(fields), user_id)
            )

        return self._engine.run_interaction("delete_profile_field", txn_func)

    def delete_profile(self, user_id: str) -> "defer.Deferred[None]":
        """Delete the profile row (erasure)."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute("DELETE FROM profiles WHERE user_id = ?", (user_id,))

        return self._engine.run_interaction("delete_profile", txn_func)

    def create_profile(self, user_id: str) -> "defer.Deferred[None]":
        """An empty profile row, unless the user has one (or does not exist)."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "INSERT INTO profiles (user_id) SELECT ? WHERE EXISTS "
                "(SELECT 1 FROM users WHERE user_id = ?) ON CONFLICT (user_id) DO NOTHING",
                (user_id, user_id),
            )

        return self._engine.run_interaction("create_profile", txn_func)
