"""``UserStore``: accounts, profiles, third-party ids and SSO external ids, on top of
:class:`CredentialStore`'s devices and tokens (schema ``001_users``).

Every method returns a Deferred from the engine (already fired in inline mode) and
touches rows through an index; :meth:`UserStore.search_users` is the one scan (a
substring match for the user directory).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import defer

from synapse_modhost.storage._credentials import CredentialStore
from synapse_modhost.storage._transaction import LoggingTransaction
from synapse_modhost.storage._user_records import (
    ExternalIdReuseError,
    Profile,
    ThreepidRecord,
    UserDirectoryEntry,
    UserExistsError,
    UserRecord,
)

__all__ = ["UserStore"]

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


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class UserStore(CredentialStore):
    """Users and their credentials on a :class:`DatabaseEngine` (schema ``001_users``).

    ``clock`` (default: the engine's reactor) gives ``creation_ts`` and the time login
    tokens are checked against.
    """

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
    ) -> "defer.Deferred[None]":
        """Insert the user and its profile row (``displayname``, no avatar); fails with
        :class:`UserExistsError` when the id is taken (exactly; case is not folded)."""
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
            txn.execute(
                "INSERT INTO profiles (user_id, displayname) VALUES (?, ?)", (user_id, displayname)
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
