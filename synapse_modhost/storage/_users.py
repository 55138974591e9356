"""``UserStore``: accounts, profiles, third-party ids and SSO external ids, on top of
:class:`CredentialStore`'s devices and tokens (schema ``001_users``).

Every method returns a Deferred from the engine (already fired in inline mode) and
touches rows through an index; :meth:`UserStore.search_users` is the one scan (a
substring match for the user directory).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from twisted.internet import defer

from synapse_modhost.storage._credentials import CredentialStore
from synapse_modhost.storage._profiles import ProfileStore
from synapse_modhost.storage._transaction import LoggingTransaction
from synapse_modhost.storage._user_records import (
    ExternalIdReuseError,
    ThreepidRecord,
    UserExistsError,
    UserListEntry,
    UserRecord,
)

__all__ = ["SORT_ORDERS", "UserStore"]

_USER_COLUMNS = (
    "user_id, creation_ts, is_admin, is_guest, deactivated, erased, shadow_banned, locked, "
    "suspended, approved, user_type, appservice_id, consent_version, consent_ts, "
    "consent_server_notice_sent"
)
_SELECT_USER = f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?"

_INSERT_USER = (
    "INSERT INTO users (user_id, password_hash, creation_ts, is_admin, is_guest, "
    "shadow_banned, approved, user_type, appservice_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

#: the ``users`` flags a setter may change (column -> whether it affects token lookups)
_FLAG_COLUMNS = {
    "is_admin": True,
    "deactivated": True,
    "erased": False,
    "shadow_banned": True,
    "locked": True,
    "suspended": True,
    "approved": True,
}


def _user_from_row(row: Tuple[Any, ...]) -> UserRecord:
    return UserRecord(
        user_id=row[0],
        creation_ts=row[1],
        is_admin=bool(row[2]),
        is_guest=bool(row[3]),
        deactivated=bool(row[4]),
        erased=bool(row[5]),
        shadow_banned=bool(row[6]),
        locked=bool(row[7]),
        suspended=bool(row[8]),
        approved=bool(row[9]),
        user_type=row[10],
        appservice_id=row[11],
        consent_version=row[12],
        consent_ts=row[13],
        consent_server_notice_sent=row[14],
    )


class UserStore(ProfileStore, CredentialStore):
    """Users and their credentials on a :class:`DatabaseEngine` (schema ``001_users``).

    ``clock`` (default: the engine's reactor) gives ``creation_ts`` and the time login
    tokens are checked against.
    """

    _next_numeric_id: Optional[int] = None

    # ================================================================== users

    def create_user(
        self,
        user_id: str,
        *,
        password_hash: Optional[str] = None,
        creation_ts: Optional[int] = None,
        admin: bool = False,
        is_guest: bool = False,
        shadow_banned: bool = False,
        approved: bool = True,
        user_type: Optional[str] = None,
        appservice_id: Optional[str] = None,
        displayname: Optional[str] = None,
        create_profile: bool = True,
    ) -> "defer.Deferred[None]":
        """Insert the user and (unless ``create_profile`` is false) its profile row
        (``displayname``, no avatar); fails with :class:`UserExistsError` when the id is
        taken (exactly; case is not folded)."""
        ts = int(self._clock.seconds()) if creation_ts is None else creation_ts
        values = (
            user_id, password_hash, ts, int(admin), int(is_guest), int(shadow_banned),
            int(approved), user_type, appservice_id,
        )  # fmt: skip
        integrity_error = self._engine.module.IntegrityError

        def txn_func(txn: LoggingTransaction) -> None:
            try:
                txn.execute(_INSERT_USER, values)
            except integrity_error:
                raise UserExistsError(user_id) from None
            if create_profile:
                txn.execute(
                    "INSERT INTO profiles (user_id, displayname) VALUES (?, ?)",
                    (user_id, displayname),
                )

        return self._engine.run_interaction("create_user", txn_func)

    def get_user(self, user_id: str) -> "defer.Deferred[Optional[UserRecord]]":
        def txn_func(txn: LoggingTransaction) -> Optional[UserRecord]:
            txn.execute(_SELECT_USER, (user_id,))
            row = txn.fetchone()
            return None if row is None else _user_from_row(row)

        return self._engine.run_interaction("get_user", txn_func)

    def get_users_by_id_case_insensitive(
        self, user_id: str
    ) -> "defer.Deferred[Dict[str, Optional[str]]]":
        """``{user_id: password_hash}`` for every user whose id equals ``user_id`` when
        ASCII case is ignored."""

        def txn_func(txn: LoggingTransaction) -> Dict[str, Optional[str]]:
            txn.execute(
                "SELECT user_id, password_hash FROM users WHERE user_id = ? COLLATE NOCASE",
                (user_id,),
            )
            return dict(txn.fetchall())

        return self._engine.run_interaction("get_users_by_id_case_insensitive", txn_func)

    def check_user_exists(self, user_id: str) -> "defer.Deferred[Optional[str]]":
        """The canonical id of the one user matching ``user_id`` case-insensitively, the
        exact match when several do, else ``None`` (``ModuleApi.check_user_exists``)."""

        def pick(matches: Dict[str, Optional[str]]) -> Optional[str]:
            if len(matches) == 1:
                return next(iter(matches))
            return user_id if user_id in matches else None

        return self.get_users_by_id_case_insensitive(user_id).addCallback(pick)

    def get_password_hash(self, user_id: str) -> "defer.Deferred[Optional[str]]":
        def txn_func(txn: LoggingTransaction) -> Optional[str]:
            txn.execute("SELECT password_hash FROM users WHERE user_id = ?", (user_id,))
            row = txn.fetchone()
            return None if row is None else row[0]

        return self._engine.run_interaction("get_password_hash", txn_func)

    def set_password_hash(
        self, user_id: str, password_hash: Optional[str]
    ) -> "defer.Deferred[bool]":
        """Whether the user exists."""
        return self._update_user("set_password_hash", user_id, "password_hash", password_hash)

    def _set_flag(
        self, desc: str, user_id: str, column: str, value: bool
    ) -> "defer.Deferred[bool]":
        if _FLAG_COLUMNS[column]:
            self._tokens.invalidate_user(user_id)
        return self._update_user(desc, user_id, column, int(value), _FLAG_COLUMNS[column])

    def _update_user(
        self, desc: str, user_id: str, column: str, value: Any, invalidate: bool = False
    ) -> "defer.Deferred[bool]":
        sql = f"UPDATE users SET {column} = ? WHERE user_id = ?"

        def txn_func(txn: LoggingTransaction) -> bool:
            txn.execute(sql, (value, user_id))
            if invalidate:
                txn.call_after(self._tokens.invalidate_user, user_id)
            return txn.rowcount > 0

        return self._engine.run_interaction(desc, txn_func)

    def set_admin(self, user_id: str, admin: bool) -> "defer.Deferred[bool]":
        """Whether the user exists."""
        return self._set_flag("set_admin", user_id, "is_admin", admin)

    def set_deactivated(self, user_id: str, deactivated: bool) -> "defer.Deferred[bool]":
        """Only the flag: the handler removes tokens, devices, threepids and profile."""
        return self._set_flag("set_deactivated", user_id, "deactivated", deactivated)

    def set_erased(self, user_id: str, erased: bool) -> "defer.Deferred[bool]":
        return self._set_flag("set_erased", user_id, "erased", erased)

    def set_shadow_banned(self, user_id: str, shadow_banned: bool) -> "defer.Deferred[bool]":
        return self._set_flag("set_shadow_banned", user_id, "shadow_banned", shadow_banned)

    def set_locked(self, user_id: str, locked: bool) -> "defer.Deferred[bool]":
        return self._set_flag("set_locked", user_id, "locked", locked)

    def set_suspended(self, user_id: str, suspended: bool) -> "defer.Deferred[bool]":
        return self._set_flag("set_suspended", user_id, "suspended", suspended)

    def set_approved(self, user_id: str, approved: bool) -> "defer.Deferred[bool]":
        return self._set_flag("set_approved", user_id, "approved", approved)

    def set_user_type(self, user_id: str, user_type: Optional[str]) -> "defer.Deferred[bool]":
        return self._update_user("set_user_type", user_id, "user_type", user_type)

    def count_users(self) -> "defer.Deferred[int]":
        def txn_func(txn: LoggingTransaction) -> int:
            txn.execute("SELECT COUNT(*) FROM users")
            row = txn.fetchone()
            assert row is not None
            return int(row[0])

        return self._engine.run_interaction("count_users", txn_func)

    # ================================================================== profiles

    def add_threepid(
        self, user_id: str, medium: str, address: str, validated_at: int, added_at: int
    ) -> "defer.Deferred[None]":
        """Bind (medium, address) to the user (taking it over from any other user)."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "INSERT INTO user_threepids (medium, address, user_id, validated_at, added_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (medium, address) DO UPDATE SET "
                "user_id = excluded.user_id, validated_at = excluded.validated_at, "
                "added_at = excluded.added_at",
                (medium, address, user_id, validated_at, added_at),
            )

        return self._engine.run_interaction("add_threepid", txn_func)

    def remove_threepid(self, user_id: str, medium: str, address: str) -> "defer.Deferred[bool]":
        """Whether the user had it."""

        def txn_func(txn: LoggingTransaction) -> bool:
            txn.execute(
                "DELETE FROM user_threepids WHERE medium = ? AND address = ? AND user_id = ?",
                (medium, address, user_id),
            )
            return txn.rowcount > 0

        return self._engine.run_interaction("remove_threepid", txn_func)

    def get_threepids(self, user_id: str) -> "defer.Deferred[List[ThreepidRecord]]":
        """The user's third-party ids, in the order they were added."""

        def txn_func(txn: LoggingTransaction) -> List[ThreepidRecord]:
            txn.execute(
                "SELECT medium, address, validated_at, added_at FROM user_threepids "
                "WHERE user_id = ? ORDER BY rowid",
                (user_id,),
            )
            return [ThreepidRecord(*row) for row in txn.fetchall()]

        return self._engine.run_interaction("get_threepids", txn_func)

    def get_user_id_by_threepid(self, medium: str, address: str) -> "defer.Deferred[Optional[str]]":
        def txn_func(txn: LoggingTransaction) -> Optional[str]:
            txn.execute(
                "SELECT user_id FROM user_threepids WHERE medium = ? AND address = ?",
                (medium, address),
            )
            row = txn.fetchone()
            return None if row is None else row[0]

        return self._engine.run_interaction("get_user_id_by_threepid", txn_func)

    # ================================================================== SSO external ids

    def record_user_external_id(
        self, auth_provider: str, external_id: str, user_id: str
    ) -> "defer.Deferred[None]":
        """Fails with :class:`ExternalIdReuseError` if the pair is already mapped."""
        integrity_error = self._engine.module.IntegrityError

        def txn_func(txn: LoggingTransaction) -> None:
            try:
                txn.execute(
                    "INSERT INTO user_external_ids (auth_provider, external_id, user_id) "
                    "VALUES (?, ?, ?)",
                    (auth_provider, external_id, user_id),
                )
            except integrity_error:
                raise ExternalIdReuseError(
                    f"External id {external_id!r} of {auth_provider!r} is already mapped"
                ) from None

        return self._engine.run_interaction("record_user_external_id", txn_func)

    def remove_user_external_id(
        self, auth_provider: str, external_id: str, user_id: str
    ) -> "defer.Deferred[bool]":
        def txn_func(txn: LoggingTransaction) -> bool:
            txn.execute(
                "DELETE FROM user_external_ids WHERE auth_provider = ? AND external_id = ? "
                "AND user_id = ?",
                (auth_provider, external_id, user_id),
            )
            return txn.rowcount > 0

        return self._engine.run_interaction("remove_user_external_id", txn_func)

    def get_user_by_external_id(
        self, auth_provider: str, external_id: str
    ) -> "defer.Deferred[Optional[str]]":
        def txn_func(txn: LoggingTransaction) -> Optional[str]:
            txn.execute(
                "SELECT user_id FROM user_external_ids WHERE auth_provider = ? AND external_id = ?",
                (auth_provider, external_id),
            )
            row = txn.fetchone()
            return None if row is None else row[0]

        return self._engine.run_interaction("get_user_by_external_id", txn_func)

    def get_external_ids_by_user(self, user_id: str) -> "defer.Deferred[List[Tuple[str, str]]]":
        """``(auth_provider, external_id)`` pairs, sorted."""

        def txn_func(txn: LoggingTransaction) -> List[Tuple[str, str]]:
            txn.execute(
                "SELECT auth_provider, external_id FROM user_external_ids WHERE user_id = ? "
                "ORDER BY auth_provider, external_id",
                (user_id,),
            )
            return [(row[0], row[1]) for row in txn.fetchall()]

        return self._engine.run_interaction("get_external_ids_by_user", txn_func)

    # ================================================================== more for accounts

    def generate_user_id(self) -> "defer.Deferred[str]":
        """A numeric localpart for an account registered without a username: one more than
        the largest numeric localpart in use (found once, then counted in memory)."""

        def txn_func(txn: LoggingTransaction) -> str:
            if self._next_numeric_id is None:
                txn.execute("SELECT user_id FROM users WHERE user_id >= '@0' AND user_id < '@a'")
                found = [int(m.group(1)) for (u,) in txn.fetchall() if (m := _NUMERIC.match(u))]
                self._next_numeric_id = max(found, default=0) + 1
            next_id = self._next_numeric_id
            self._next_numeric_id += 1
            return str(next_id)

        return self._engine.run_interaction("generate_user_id", txn_func)

    def list_users(
        self,
        start: int,
        limit: int,
        *,
        user_id: Optional[str] = None,
        name: Optional[str] = None,
        guests: bool = True,
        deactivated: Optional[bool] = False,
        admins: Optional[bool] = None,
        locked: bool = False,
        not_user_types: Sequence[str] = (),
        order_by: str = "name",
        descending: bool = False,
    ) -> "defer.Deferred[Tuple[List[UserListEntry], int]]":
        """A page of users with the admin list's filters, and how many match in all."""
        filters: List[str] = []
        args: List[Any] = []
        if name:
            filters.append("(u.user_id LIKE ? OR LOWER(p.displayname) LIKE ?)")
            args += ["@%" + name.lower() + "%:%", "%" + name.lower() + "%"]
        elif user_id:
            filters.append("u.user_id LIKE ?")
            args.append("%" + user_id.lower() + "%")
        for flag, column in ((deactivated, "deactivated"), (admins, "is_admin")):
            if flag is not None:
                filters.append(f"u.{column} = {int(flag)}")
        if not guests:
            filters.append("u.is_guest = 0")
        if not locked:
            filters.append("u.locked = 0")
        types = [t for t in not_user_types if t]
        if types:
            marks = ", ".join("?" for _ in types)
            nulls = "" if len(types) < len(not_user_types) else " OR u.user_type IS NULL"
            filters.append(f"(u.user_type NOT IN ({marks}){nulls})")
            args += types
        elif not_user_types:
            filters.append("u.user_type IS NOT NULL")
        where = ("WHERE " + " AND ".join(filters)) if filters else ""
        base = (
            "FROM users AS u LEFT JOIN profiles AS p ON p.user_id = u.user_id "
            "LEFT JOIN (SELECT user_id, MAX(last_seen) AS ts FROM user_ips GROUP BY user_id) "
            f"AS ls ON ls.user_id = u.user_id {where}"
        )
        order = "%s %s, u.user_id ASC" % (_SORT_COLUMNS[order_by], "DESC" if descending else "ASC")

        def txn_func(txn: LoggingTransaction) -> Tuple[List[UserListEntry], int]:
            txn.execute("SELECT COUNT(*) " + base, args)
            row = txn.fetchone()
            total = int(row[0]) if row else 0
            txn.execute(
                "SELECT u.user_id, u.user_type, u.is_guest, u.is_admin, u.deactivated, "
                "u.shadow_banned, p.displayname, p.avatar_url, u.creation_ts * 1000, u.erased, "
                f"ls.ts, u.locked {base} ORDER BY {order} LIMIT ? OFFSET ?",
                args + [limit, start],
            )
            users = [
                UserListEntry(
                    r[0], r[1], bool(r[2]), bool(r[3]), bool(r[4]), bool(r[5]), r[6], r[7],
                    r[8], bool(r[9]), r[10], bool(r[11]),
                )  # fmt: skip
                for r in txn.fetchall()
            ]
            return users, total

        return self._engine.run_interaction("list_users", txn_func)


#: ``order_by`` values of the admin user list -> the column they sort on
_SORT_COLUMNS = {
    "name": "u.user_id",
    "displayname": "p.displayname",
    "is_guest": "u.is_guest",
    "admin": "u.is_admin",
    "deactivated": "u.deactivated",
    "user_type": "u.user_type",
    "avatar_url": "p.avatar_url",
    "shadow_banned": "u.shadow_banned",
    "creation_ts": "u.creation_ts",
    "last_seen_ts": "ls.ts",
    "locked": "u.locked",
}
SORT_ORDERS = tuple(_SORT_COLUMNS)

_NUMERIC = re.compile(r"^@(\d+):")
