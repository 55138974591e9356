"""``CredentialStore``: devices, access/refresh tokens and login tokens (schema
``001_users``), the base of :class:`~synapse_modhost.storage.UserStore`.

``get_user_by_access_token`` answers from an in-memory :class:`TokenCache` after the
first lookup; every method that deletes a token or changes a user's flags invalidates
it, so the store must be the only writer of those tables in the process.
"""

from __future__ import annotations

from typing import Any, Collection, List, Optional, Tuple

from twisted.internet import defer

from synapse_modhost.storage._interface import DatabaseEngine
from synapse_modhost.storage._transaction import LoggingTransaction
from synapse_modhost.storage._user_records import (
    AccessTokenRecord,
    ClientIpRecord,
    DeviceRecord,
    ExternalIdReuseError,
    LoginTokenExpired,
    LoginTokenNotFound,
    LoginTokenRecord,
    LoginTokenReused,
    RefreshTokenRecord,
    TokenCache,
    TokenInfo,
)

__all__ = ["CredentialStore"]

_SELECT_TOKEN = (
    "SELECT t.user_id, t.id, t.device_id, t.valid_until_ms, t.puppets_user_id, "
    "t.refresh_token_id, u.is_guest, u.is_admin, u.shadow_banned, u.deactivated, "
    "u.locked, u.suspended, u.approved "
    "FROM access_tokens AS t JOIN users AS u ON u.user_id = COALESCE(t.puppets_user_id, t.user_id) "
    "WHERE t.token = ?"
)

_DEVICE_COLUMNS = (
    "user_id, device_id, display_name, last_seen_ts, last_seen_ip, last_seen_user_agent, hidden"
)


def _device_from_row(row: Tuple[Any, ...]) -> DeviceRecord:
    return DeviceRecord(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))


def _tokens_from_rows(rows: List[Tuple[Any, ...]]) -> List[AccessTokenRecord]:
    return [
        AccessTokenRecord(token, token_id, user, device) for token, token_id, user, device in rows
    ]


class CredentialStore:
    """Devices and tokens on a :class:`DatabaseEngine`.

    ``clock`` (default: the engine's reactor) gives the time login tokens are checked
    against (and ``UserStore``'s ``creation_ts``).
    """

    def __init__(
        self, engine: DatabaseEngine, *, clock: Any = None, token_cache_size: int = 50_000
    ) -> None:
        self._engine = engine
        self._clock = clock if clock is not None else engine.reactor
        self._tokens = TokenCache(token_cache_size)

    @property
    def token_cache(self) -> TokenCache:
        return self._tokens

    def _now_ms(self) -> int:
        return int(self._clock.seconds() * 1000)

    # ================================================================== devices

    def create_device(
        self, user_id: str, device_id: str, display_name: Optional[str] = None
    ) -> "defer.Deferred[bool]":
        """``True`` if created, ``False`` if the device already existed (left as is)."""

        def txn_func(txn: LoggingTransaction) -> bool:
            txn.execute(
                "INSERT INTO devices (user_id, device_id, display_name) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, device_id) DO NOTHING",
                (user_id, device_id, display_name),
            )
            return txn.rowcount > 0

        return self._engine.run_interaction("create_device", txn_func)

    def get_device(self, user_id: str, device_id: str) -> "defer.Deferred[Optional[DeviceRecord]]":
        def txn_func(txn: LoggingTransaction) -> Optional[DeviceRecord]:
            txn.execute(
                f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE user_id = ? AND device_id = ?",
                (user_id, device_id),
            )
            row = txn.fetchone()
            return None if row is None else _device_from_row(row)

        return self._engine.run_interaction("get_device", txn_func)

    def get_devices(self, user_id: str) -> "defer.Deferred[List[DeviceRecord]]":
        """The user's devices, ordered by device id."""

        def txn_func(txn: LoggingTransaction) -> List[DeviceRecord]:
            txn.execute(
                f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE user_id = ? ORDER BY device_id",
                (user_id,),
            )
            return [_device_from_row(row) for row in txn.fetchall()]

        return self._engine.run_interaction("get_devices", txn_func)

    def update_device(
        self, user_id: str, device_id: str, display_name: Optional[str]
    ) -> "defer.Deferred[bool]":
        """Set the display name; whether the device exists."""

        def txn_func(txn: LoggingTransaction) -> bool:
            txn.execute(
                "UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
                (display_name, user_id, device_id),
            )
            return txn.rowcount > 0

        return self._engine.run_interaction("update_device", txn_func)

    def update_device_last_seen(
        self, user_id: str, device_id: str, ts: int, ip: Optional[str], user_agent: Optional[str]
    ) -> "defer.Deferred[None]":
        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?, last_seen_user_agent = ? "
                "WHERE user_id = ? AND device_id = ?",
                (ts, ip, user_agent, user_id, device_id),
            )

        return self._engine.run_interaction("update_device_last_seen", txn_func)

    def delete_device(
        self, user_id: str, device_id: str
    ) -> "defer.Deferred[List[AccessTokenRecord]]":
        """Delete the device, its access and refresh tokens; the access tokens deleted."""
        return self.delete_devices(user_id, [device_id])

    def delete_devices(
        self, user_id: str, device_ids: Optional[Collection[str]] = None
    ) -> "defer.Deferred[List[AccessTokenRecord]]":
        """Delete these devices (all the user's when ``None``) with their access and
        refresh tokens; the access tokens deleted, in creation order."""
        self._tokens.invalidate_user(user_id)
        if device_ids is not None:
            device_ids = list(device_ids)

        def txn_func(txn: LoggingTransaction) -> List[AccessTokenRecord]:
            deleted: List[AccessTokenRecord] = []
            if device_ids is None:
                txn.execute(
                    "SELECT token, id, user_id, device_id FROM access_tokens "
                    "WHERE user_id = ? AND device_id IS NOT NULL ORDER BY id",
                    (user_id,),
                )
                deleted = _tokens_from_rows(txn.fetchall())
                txn.execute(
                    "DELETE FROM access_tokens WHERE user_id = ? AND device_id IS NOT NULL",
                    (user_id,),
                )
                txn.execute("DELETE FROM refresh_tokens WHERE user_id = ?", (user_id,))
                txn.execute("DELETE FROM devices WHERE user_id = ?", (user_id,))
            else:
                for device_id in device_ids:
                    key = (user_id, device_id)
                    txn.execute(
                        "SELECT token, id, user_id, device_id FROM access_tokens "
                        "WHERE user_id = ? AND device_id = ? ORDER BY id",
                        key,
                    )
                    deleted.extend(_tokens_from_rows(txn.fetchall()))
                    txn.execute(
                        "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?", key
                    )
                    txn.execute(
                        "DELETE FROM refresh_tokens WHERE user_id = ? AND device_id = ?", key
                    )
                    txn.execute("DELETE FROM devices WHERE user_id = ? AND device_id = ?", key)
                deleted.sort(key=lambda t: t.token_id)
            txn.call_after(self._tokens.invalidate_user, user_id)
            return deleted

        return self._engine.run_interaction("delete_devices", txn_func)

    # ================================================================== access tokens

    def add_access_token(
        self,
        user_id: str,
        token: str,
        device_id: Optional[str],
        *,
        valid_until_ms: Optional[int] = None,
        puppets_user_id: Optional[str] = None,
        refresh_token_id: Optional[int] = None,
    ) -> "defer.Deferred[int]":
        """Store a token for ``user_id`` (who must exist); its token id."""

        def txn_func(txn: LoggingTransaction) -> int:
            txn.execute(
                "INSERT INTO access_tokens (token, user_id, device_id, valid_until_ms, "
                "puppets_user_id, refresh_token_id) VALUES (?, ?, ?, ?, ?, ?)",
                (token, user_id, device_id, valid_until_ms, puppets_user_id, refresh_token_id),
            )
            token_id = txn.lastrowid
            assert token_id is not None
            return token_id

        return self._engine.run_interaction("add_access_token", txn_func)

    def get_user_by_access_token(self, token: str) -> "defer.Deferred[Optional[TokenInfo]]":
        """Who ``token`` authenticates (cached; one indexed join on a miss)."""
        cached = self._tokens.get(token)
        if cached is not None:
            return defer.succeed(cached)
        d = self._engine.run_interaction("get_user_by_access_token", _lookup_token_txn, token)
        d.addCallback(self._tokens.fill, token, self._tokens.generation)
        return d

    def delete_access_token(self, token: str) -> "defer.Deferred[Optional[AccessTokenRecord]]":
        """Delete one token (not its device); what was deleted, ``None`` if unknown."""
        self._tokens.invalidate_tokens((token,))

        def txn_func(txn: LoggingTransaction) -> Optional[AccessTokenRecord]:
            txn.execute(
                "SELECT token, id, user_id, device_id FROM access_tokens WHERE token = ?",
                (token,),
            )
            rows = txn.fetchall()
            if not rows:
                return None
            txn.execute("DELETE FROM access_tokens WHERE token = ?", (token,))
            txn.call_after(self._tokens.invalidate_tokens, (token,))
            return _tokens_from_rows(rows)[0]

        return self._engine.run_interaction("delete_access_token", txn_func)

    def delete_access_tokens(
        self,
        user_id: str,
        *,
        except_token_id: Optional[int] = None,
        device_id: Optional[str] = None,
    ) -> "defer.Deferred[List[AccessTokenRecord]]":
        """Delete the user's tokens (only ``device_id``'s when given; all but
        ``except_token_id``); what was deleted, in creation order."""
        self._tokens.invalidate_user(user_id)
        where = "user_id = ?"
        params: List[Any] = [user_id]
        if device_id is not None:
            where += " AND device_id = ?"
            params.append(device_id)
        if except_token_id is not None:
            where += " AND id != ?"
            params.append(except_token_id)

        def txn_func(txn: LoggingTransaction) -> List[AccessTokenRecord]:
            txn.execute(
                f"SELECT token, id, user_id, device_id FROM access_tokens WHERE {where} "
                "ORDER BY id",
                params,
            )
            deleted = _tokens_from_rows(txn.fetchall())
            if deleted:
                txn.execute(f"DELETE FROM access_tokens WHERE {where}", params)
            txn.call_after(self._tokens.invalidate_user, user_id)
            return deleted

        return self._engine.run_interaction("delete_access_tokens", txn_func)

    def get_access_tokens(self, user_id: str) -> "defer.Deferred[List[AccessTokenRecord]]":
        """The user's tokens, in creation order."""

        def txn_func(txn: LoggingTransaction) -> List[AccessTokenRecord]:
            txn.execute(
                "SELECT token, id, user_id, device_id FROM access_tokens WHERE user_id = ? "
                "ORDER BY id",
                (user_id,),
            )
            return _tokens_from_rows(txn.fetchall())

        return self._engine.run_interaction("get_access_tokens", txn_func)

    # ================================================================== refresh tokens

    def add_refresh_token(
        self,
        user_id: str,
        token: str,
        device_id: str,
        *,
        expiry_ts: Optional[int] = None,
        ultimate_session_expiry_ts: Optional[int] = None,
    ) -> "defer.Deferred[int]":
        """Store a refresh token; its id (pass it to ``add_access_token``)."""

        def txn_func(txn: LoggingTransaction) -> int:
            txn.execute(
                "INSERT INTO refresh_tokens (token, user_id, device_id, expiry_ts, "
                "ultimate_session_expiry_ts) VALUES (?, ?, ?, ?, ?)",
                (token, user_id, device_id, expiry_ts, ultimate_session_expiry_ts),
            )
            token_id = txn.lastrowid
            assert token_id is not None
            return token_id

        return self._engine.run_interaction("add_refresh_token", txn_func)

    def get_refresh_token(self, token: str) -> "defer.Deferred[Optional[RefreshTokenRecord]]":
        def txn_func(txn: LoggingTransaction) -> Optional[RefreshTokenRecord]:
            txn.execute(
                "SELECT id, user_id, device_id, next_token_id, expiry_ts, "
                "ultimate_session_expiry_ts FROM refresh_tokens WHERE token = ?",
                (token,),
            )
            row = txn.fetchone()
            return None if row is None else RefreshTokenRecord(*row)

        return self._engine.run_interaction("get_refresh_token", txn_func)

    # ================================================================== login tokens

    def add_login_token(
        self,
        token: str,
        user_id: str,
        expiry_ts: int,
        *,
        auth_provider_id: Optional[str] = None,
        auth_provider_session_id: Optional[str] = None,
    ) -> "defer.Deferred[None]":
        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "INSERT INTO login_tokens (token, user_id, expiry_ts, auth_provider_id, "
                "auth_provider_session_id) VALUES (?, ?, ?, ?, ?)",
                (token, user_id, expiry_ts, auth_provider_id, auth_provider_session_id),
            )

        return self._engine.run_interaction("add_login_token", txn_func)

    def consume_login_token(self, token: str) -> "defer.Deferred[LoginTokenRecord]":
        """Mark the token used and return it. Fails with :class:`LoginTokenNotFound`,
        :class:`LoginTokenReused` (checked first) or :class:`LoginTokenExpired`; a
        failed attempt on an existing token still marks it used, as Synapse does."""
        now = self._now_ms()

        def txn_func(txn: LoggingTransaction) -> Tuple[LoginTokenRecord, Optional[int], int]:
            txn.execute(
                "SELECT user_id, expiry_ts, auth_provider_id, auth_provider_session_id, "
                "used_ts FROM login_tokens WHERE token = ?",
                (token,),
            )
            row = txn.fetchone()
            if row is None:
                raise LoginTokenNotFound()
            user_id, expiry_ts, provider, session, used_ts = row
            if used_ts is None:
                txn.execute("UPDATE login_tokens SET used_ts = ? WHERE token = ?", (now, token))
            return LoginTokenRecord(user_id, provider, session), used_ts, expiry_ts

        def check(result: Tuple[LoginTokenRecord, Optional[int], int]) -> LoginTokenRecord:
            record, used_ts, expiry_ts = result
            if used_ts is not None:
                raise LoginTokenReused()
            if expiry_ts <= now:
                raise LoginTokenExpired()
            return record

        return self._engine.run_interaction("consume_login_token", txn_func).addCallback(check)

    def invalidate_login_tokens_by_session_id(
        self, auth_provider_id: str, auth_provider_session_id: str
    ) -> "defer.Deferred[None]":
        now = self._now_ms()

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "UPDATE login_tokens SET used_ts = ? WHERE auth_provider_id = ? "
                "AND auth_provider_session_id = ? AND used_ts IS NULL",
                (now, auth_provider_id, auth_provider_session_id),
            )

        return self._engine.run_interaction("invalidate_login_tokens_by_session_id", txn_func)

    def delete_expired_login_tokens(self, before_ts: int) -> "defer.Deferred[int]":
        """Delete tokens that expired before ``before_ts``; how many."""

        def txn_func(txn: LoggingTransaction) -> int:
            txn.execute("DELETE FROM login_tokens WHERE expiry_ts < ?", (before_ts,))
            return txn.rowcount

        return self._engine.run_interaction("delete_expired_login_tokens", txn_func)


    # ================================================================== 3PID sessions

    def create_threepid_session(
        self,
        session_id: str,
        client_secret: str,
        medium: str,
        address: str,
        *,
        validated_at: Optional[int] = None,
    ) -> "defer.Deferred[None]":
        """Store a validation session for (medium, address)."""
        now = self._now_ms()

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "INSERT INTO threepid_sessions (session_id, client_secret, medium, address, "
                "created_ts, validated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, client_secret, medium, address, now, validated_at),
            )

        return self._engine.run_interaction("create_threepid_session", txn_func)

    def get_threepid_session(
        self, client_secret: str, session_id: str
    ) -> "defer.Deferred[Optional[Tuple[str, str, Optional[int]]]]":
        """``(medium, address, validated_at)`` of the session with this id and secret."""
        sql = (
            "SELECT medium, address, validated_at FROM threepid_sessions "
            "WHERE session_id = ? AND client_secret = ?"
        )
        params = (session_id, client_secret)

        def txn_func(txn: LoggingTransaction) -> Optional[Tuple[str, str, Optional[int]]]:
            txn.execute(sql, params)
            row = txn.fetchone()
            return None if row is None else (row[0], row[1], row[2])

        return self._engine.run_interaction("get_threepid_session", txn_func)

    # ================================================================== 3PID bindings, SSO ids

    def add_bound_threepid(
        self, user_id: str, medium: str, address: str, id_server: str
    ) -> "defer.Deferred[None]":
        """Record that (medium, address) is bound to the user on ``id_server``."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "INSERT INTO user_threepid_id_server (user_id, medium, address, id_server) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (user_id, medium, address, id_server),
            )

        return self._engine.run_interaction("add_bound_threepid", txn_func)

    def get_bound_threepids(self, user_id: str) -> "defer.Deferred[List[Tuple[str, str, str]]]":
        """``(medium, address, id_server)`` bindings recorded for the user."""

        def txn_func(txn: LoggingTransaction) -> List[Tuple[str, str, str]]:
            txn.execute(
                "SELECT medium, address, id_server FROM user_threepid_id_server "
                "WHERE user_id = ? ORDER BY medium, address, id_server",
                (user_id,),
            )
            return [(r[0], r[1], r[2]) for r in txn.fetchall()]

        return self._engine.run_interaction("get_bound_threepids", txn_func)

    def remove_bound_threepids(
        self, user_id: str, medium: Optional[str] = None, address: Optional[str] = None
    ) -> "defer.Deferred[int]":
        """Forget the user's bindings (only this 3PID's when given); how many."""
        where, params = "user_id = ?", [user_id]
        if medium is not None and address is not None:
            where += " AND medium = ? AND address = ?"
            params += [medium, address]

        def txn_func(txn: LoggingTransaction) -> int:
            txn.execute(f"DELETE FROM user_threepid_id_server WHERE {where}", params)
            return txn.rowcount

        return self._engine.run_interaction("remove_bound_threepids", txn_func)

    def replace_user_external_ids(
        self, user_id: str, pairs: List[Tuple[str, str]]
    ) -> "defer.Deferred[None]":
        """Make ``pairs`` the user's SSO ids; :class:`ExternalIdReuseError` (nothing
        changed) when one belongs to another user."""
        integrity_error = self._engine.module.IntegrityError

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute("DELETE FROM user_external_ids WHERE user_id = ?", (user_id,))
            try:
                txn.executemany(
                    "INSERT INTO user_external_ids (auth_provider, external_id, user_id) "
                    "VALUES (?, ?, ?)",
                    [(p, e, user_id) for p, e in pairs],
                )
            except integrity_error:
                raise ExternalIdReuseError("External id is already in use") from None

        return self._engine.run_interaction("replace_user_external_ids", txn_func)

    # ================================================================== client IPs

    def upsert_client_ips(
        self, rows: Collection[Tuple[str, str, str, str, Optional[str], int]]
    ) -> "defer.Deferred[None]":
        """Record ``(user_id, access_token, ip, user_agent, device_id, last_seen)`` rows
        (one per token and IP; the latest wins) and the devices' last-seen columns."""
        rows = list(rows)

        def txn_func(txn: LoggingTransaction) -> None:
            txn.executemany(
                "INSERT INTO user_ips (user_id, access_token, ip, user_agent, device_id, "
                "last_seen) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, access_token, ip) "
                "DO UPDATE SET user_agent = excluded.user_agent, device_id = excluded.device_id, "
                "last_seen = excluded.last_seen",
                rows,
            )
            txn.executemany(
                "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?, last_seen_user_agent = ? "
                "WHERE user_id = ? AND device_id = ?",
                [(r[5], r[2], r[3], r[0], r[4]) for r in rows if r[4] is not None],
            )

        return self._engine.run_interaction("upsert_client_ips", txn_func)

    def get_client_ips(
        self, user_id: str, since_ts: int = 0
    ) -> "defer.Deferred[List[ClientIpRecord]]":
        """Where the user's tokens were used from since ``since_ts`` (ms)."""

        def txn_func(txn: LoggingTransaction) -> List[ClientIpRecord]:
            txn.execute(
                "SELECT access_token, ip, user_agent, last_seen FROM user_ips "
                "WHERE user_id = ? AND last_seen >= ?",
                (user_id, since_ts),
            )
            return [ClientIpRecord(*row) for row in txn.fetchall()]

        return self._engine.run_interaction("get_client_ips", txn_func)

    def get_last_seen(self, user_id: str) -> "defer.Deferred[Optional[int]]":
        """The latest time (ms) the user was seen, if ever."""

        def txn_func(txn: LoggingTransaction) -> Optional[int]:
            txn.execute("SELECT MAX(last_seen) FROM user_ips WHERE user_id = ?", (user_id,))
            row = txn.fetchone()
            return None if row is None else row[0]

        return self._engine.run_interaction("get_last_seen", txn_func)


def _lookup_token_txn(txn: LoggingTransaction, token: str) -> Optional[TokenInfo]:
    txn.execute(_SELECT_TOKEN, (token,))
    row = txn.fetchone()
    if row is None:
        return None
    user_id, token_id, device_id, valid_until_ms, puppets, refresh_id = row[:6]
    guest, admin, shadow_banned, deactivated, locked, suspended, approved = row[6:]
    if puppets:
        # a token held by user_id (an admin) that authenticates as the puppeted user
        owner, user_id = user_id, puppets
    else:
        owner = user_id
    return TokenInfo(
        user_id=user_id,
        token_id=token_id,
        device_id=device_id,
        valid_until_ms=valid_until_ms,
        token_owner=owner,
        is_guest=bool(guest),
        is_admin=bool(admin),
        shadow_banned=bool(shadow_banned),
        deactivated=bool(deactivated),
        locked=bool(locked),
        suspended=bool(suspended),
        approved=bool(approved),
        refresh_token_id=refresh_id,
    )
