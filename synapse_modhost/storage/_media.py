"""``MediaStore``: the local media repository's metadata (schema ``003_media``).

Files live on disk (``homeserver/handlers/_media_files.py``); this store keeps one row
per media id: who uploaded it and when, its type, name, length and hash. Timestamps are
passed in by the caller (milliseconds), so the store needs no clock.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import attr
from twisted.internet import defer

from synapse_modhost.storage._interface import DatabaseEngine
from synapse_modhost.storage._transaction import LoggingTransaction

__all__ = ["LocalMedia", "MediaStore"]

_COLUMNS = (
    "media_id, user_id, created_ts, media_type, upload_name, media_length, sha256, "
    "authenticated, quarantined_by, last_access_ts"
)


@attr.s(frozen=True, slots=True, auto_attribs=True)
class LocalMedia:
    """One row of ``local_media_repository``."""

    media_id: str
    user_id: str
    created_ts: int
    media_type: Optional[str]
    upload_name: Optional[str]
    #: ``None`` while a media id reserved by ``POST /create`` has no content
    media_length: Optional[int]
    sha256: Optional[str]
    authenticated: bool
    quarantined_by: Optional[str]
    last_access_ts: Optional[int]


def _media_from_row(row: Tuple[Any, ...]) -> LocalMedia:
    return LocalMedia(
        media_id=row[0],
        user_id=row[1],
        created_ts=row[2],
        media_type=row[3],
        upload_name=row[4],
        media_length=row[5],
        sha256=row[6],
        authenticated=bool(row[7]),
        quarantined_by=row[8],
        last_access_ts=row[9],
    )


class MediaStore:
    """Local media metadata on a :class:`DatabaseEngine`."""

    def __init__(self, engine: DatabaseEngine) -> None:
        self._engine = engine

    def store_local_media_id(
        self, media_id: str, user_id: str, time_now_ms: int, authenticated: bool = True
    ) -> "defer.Deferred[None]":
        """Reserve ``media_id`` for ``user_id`` (``POST /create``): a row without content."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "INSERT INTO local_media_repository (media_id, user_id, created_ts, "
                "authenticated) VALUES (?, ?, ?, ?)",
                (media_id, user_id, time_now_ms, int(authenticated)),
            )

        return self._engine.run_interaction("store_local_media_id", txn_func)

    def store_local_media(
        self,
        media_id: str,
        user_id: str,
        time_now_ms: int,
        media_type: str,
        upload_name: Optional[str],
        media_length: int,
        sha256: str,
        authenticated: bool = True,
    ) -> "defer.Deferred[None]":
        """Insert the row of a completed upload."""
        values = (
            media_id, user_id, time_now_ms, media_type, upload_name, media_length, sha256,
            int(authenticated),
        )  # fmt: skip

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "INSERT INTO local_media_repository (media_id, user_id, created_ts, "
                "media_type, upload_name, media_length, sha256, authenticated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )

        return self._engine.run_interaction("store_local_media", txn_func)

    def update_local_media(
        self,
        media_id: str,
        media_type: str,
        upload_name: Optional[str],
        media_length: int,
        sha256: str,
    ) -> "defer.Deferred[None]":
        """Record the content of a reserved media id (``created_ts`` is kept)."""

        def txn_func(txn: LoggingTransaction) -> None:
            txn.execute(
                "UPDATE local_media_repository SET media_type = ?, upload_name = ?, "
                "media_length = ?, sha256 = ? WHERE media_id = ?",
                (media_type, upload_name, media_length, sha256, media_id),
            )

        return self._engine.run_interaction("update_local_media", txn_func)

    def get_local_media(self, media_id: str) -> "defer.Deferred[Optional[LocalMedia]]":
        """The row of ``media_id``, or ``None``."""

        def txn_func(txn: LoggingTransaction) -> Optional[LocalMedia]:
            txn.execute(
                f"SELECT {_COLUMNS} FROM local_media_repository WHERE media_id = ?", (media_id,)
            )
            row = txn.fetchone()
            return None if row is None else _media_from_row(row)

        return self._engine.run_interaction("get_local_media", txn_func)

    def get_media_uploaded_size_for_user(
        self, user_id: str, since_ts: int
    ) -> "defer.Deferred[int]":
        """Bytes ``user_id`` uploaded in media created after ``since_ts`` (pending ids count
        as nothing)."""

        def txn_func(txn: LoggingTransaction) -> int:
            txn.execute(
                "SELECT COALESCE(SUM(media_length), 0) FROM local_media_repository "
                "WHERE user_id = ? AND created_ts > ?",
                (user_id, since_ts),
            )
            row = txn.fetchone()
            return 0 if row is None else int(row[0])

        return self._engine.run_interaction("get_media_uploaded_size_for_user", txn_func)

    def count_pending_media(
        self, user_id: str, since_ts: int
    ) -> "defer.Deferred[Tuple[int, Optional[int]]]":
        """``(count, earliest created_ts)`` of ``user_id``'s media ids reserved after
        ``since_ts`` that still have no content (``(0, None)`` when there are none)."""

        def txn_func(txn: LoggingTransaction) -> Tuple[int, Optional[int]]:
            txn.execute(
                "SELECT COUNT(*), MIN(created_ts) FROM local_media_repository "
                "WHERE user_id = ? AND created_ts > ? AND media_length IS NULL",
                (user_id, since_ts),
            )
            row = txn.fetchone()
            if row is None:
                return 0, None
            return int(row[0]), row[1]

        return self._engine.run_interaction("count_pending_media", txn_func)
