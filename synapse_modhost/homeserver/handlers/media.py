"""The local media repository: config, uploads (with their callbacks) and lookups for
downloads, in Synapse 1.163's order (TRIGGERS.md §8).

An upload runs: ``check_upload_allowed`` (``Content-Length`` over ``max_upload_size``,
then ``is_user_allowed_to_upload_media_of_size``), then — after the REST layer has read
the file name and type — :meth:`MediaHandler.create_or_update_content`: the file is
written to the store, ``check_media_file_for_spam`` reads it, the upload limits are
checked (``get_media_upload_limits_for_user`` or ``media_upload_limits``, then
``on_media_upload_limit_exceeded``), and only then is the row written. A failed upload
leaves no row and no file.

Differences from Synapse: no thumbnails are generated (so no extra spam checks for them),
no quarantine by hash, no storage providers, no remote media (no federation), and the file
of an upload refused for exceeding a limit is deleted (Synapse leaves it on disk).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import string
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Dict, Iterator, List, Optional, Sequence, Tuple

from twisted.internet.task import deferLater

from synapse_modhost._codes import Codes
from synapse_modhost.errors import NotFoundError, SynapseError, UserLimitExceededError
from synapse_modhost.homeserver.handlers._media_files import MediaFiles, ReadableFileWrapper
from synapse_modhost.storage import LocalMedia, MediaStore
from synapse_modhost.types import NOT_SPAM, FileInfo, MediaUploadLimit

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = [
    "DEFAULT_MAX_TIMEOUT_MS",
    "MAXIMUM_ALLOWED_MAX_TIMEOUT_MS",
    "MediaHandler",
    "UnknownMediaError",
    "random_media_id",
]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]

#: ``timeout_ms`` of downloads and thumbnails: the default and the cap (Synapse's)
DEFAULT_MAX_TIMEOUT_MS = 20_000
MAXIMUM_ALLOWED_MAX_TIMEOUT_MS = 60_000

#: Synapse's defaults for ``unused_expiration_time`` (24h) and ``max_pending_media_uploads``
UNUSED_EXPIRATION_TIME_MS = 24 * 60 * 60 * 1000
MAX_PENDING_MEDIA_UPLOADS = 5

#: how often a download of a media id without content looks again (Synapse: 500 ms)
_PENDING_POLL_SECONDS = 0.5

_ID_CHARACTERS = string.ascii_letters


def random_media_id(length: int = 24) -> str:
    """A new media id: ``length`` random ASCII letters, as Synapse makes them."""
    return "".join(secrets.choice(_ID_CHARACTERS) for _ in range(length))


class UnknownMediaError(Exception):
    """No local media by that id (or it is quarantined, or a reserved id expired unused).

    The REST layer answers Synapse's ``404 {"errcode":"M_NOT_FOUND","error":"Not found
    '<request path>'"}``.
    """


class MediaHandler:
    """Uploads and lookups of local media."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.server_name = hs.server_name
        self.clock = hs.clock
        self._store: MediaStore = hs.media_store
        self._media_callbacks = hs.callbacks.media_repository
        self._spam_checker = hs.callbacks.spam_checker
        media_config = hs.config.media
        self.max_upload_size: int = media_config.max_upload_size
        self._default_limits: Sequence[MediaUploadLimit] = media_config.media_upload_limits
        self._fallback_info_uri = (
            hs.config.server.public_baseurl + "_synapse/client/media_upload_limit_exceeded"
        )
        # Synapse's enable_authenticated_media (default true): uploads are marked
        # authenticated and the legacy download endpoints refuse them.
        self.enable_authenticated_media: bool = getattr(
            media_config, "enable_authenticated_media", True
        )
        self.files = MediaFiles(
            media_config.media_store_path,
            hs.reactor,
            threaded=bool(getattr(hs.host, "database_threaded", False)),
        )
        # media ids with a PUT in progress (Synapse's "upload_media" lock)
        self._uploading: set[str] = set()

    def is_mine_server_name(self, server_name: str) -> bool:
        return server_name == self.server_name

    # ------------------------------------------------------------------ config

    async def get_media_config(self, user_id: str) -> JsonDict:
        """The first truthy ``get_media_config_for_user`` answer, verbatim; else
        ``{"m.upload.size": max_upload_size}``."""
        user_config = await self._media_callbacks.get_media_config_for_user(user_id)
        if user_config:
            return user_config
        return {"m.upload.size": self.max_upload_size}

    # ------------------------------------------------------------------ uploads

    async def check_upload_allowed(self, user_id: str, content_length: int) -> None:
        """413 ``M_TOO_LARGE`` "Upload request body is too large" when ``content_length``
        exceeds ``max_upload_size`` or ``is_user_allowed_to_upload_media_of_size`` says
        no (asked only when it does not)."""
        if content_length > self.max_upload_size:
            raise self._media_callbacks.upload_too_large_error()
        allowed = await self._media_callbacks.is_user_allowed_to_upload_media_of_size(
            user_id, content_length
        )
        if not allowed:
            raise self._media_callbacks.upload_too_large_error()

    async def create_or_update_content(
        self,
        media_type: str,
        upload_name: Optional[str],
        content: IO[bytes],
        content_length: int,
        user_id: str,
        media_id: Optional[str] = None,
    ) -> str:
        """Store an upload; its ``mxc://`` URI. ``media_id`` is a reserved id to fill
        (``PUT``), ``None`` for a new one.

        Raises 400 "Bad content" when ``check_media_file_for_spam`` refuses the file and
        403 ``M_USER_LIMIT_EXCEEDED`` when an upload limit is exceeded; exceptions from
        callbacks propagate. The file is deleted whenever the upload fails.
        """
        is_new_media = media_id is None
        if media_id is None:
            media_id = random_media_id()

        path, sha256 = await self.files.store(media_id, content)
        try:
            await self._check_spam(path, media_id)
            await self._check_upload_limits(user_id, content_length)
            if is_new_media:
                await self._store.store_local_media(
                    media_id=media_id,
                    user_id=user_id,
                    time_now_ms=self.hs.time_msec(),
                    media_type=media_type,
                    upload_name=upload_name,
                    media_length=content_length,
                    sha256=sha256,
                    authenticated=self.enable_authenticated_media,
                )
            else:
                await self._store.update_local_media(
                    media_id=media_id,
                    media_type=media_type,
                    upload_name=upload_name,
                    media_length=content_length,
                    sha256=sha256,
                )
        except BaseException:
            await self.files.remove(path)
            raise
        logger.info("Stored local media %s in %s", media_id, path)
        return f"mxc://{self.server_name}/{media_id}"

    async def _check_spam(self, path: str, media_id: str) -> None:
        result = await self._spam_checker.check_media_file_for_spam(
            ReadableFileWrapper(self.clock, path),
            FileInfo(server_name=None, file_id=media_id, url_cache=False, thumbnail=None),
        )
        if result != NOT_SPAM:
            logger.info("Blocking media %s due to spam checker", media_id)
            raise self._spam_checker.denial_error("check_media_file_for_spam", result)

    async def _check_upload_limits(self, user_id: str, content_length: int) -> None:
        limits: Optional[
            List[MediaUploadLimit]
        ] = await self._media_callbacks.get_media_upload_limits_for_user(user_id)
        checked: Sequence[MediaUploadLimit] = limits if limits is not None else self._default_limits
        # As Synapse: the total of the longest period is queried first, and again for a
        # shorter period only when it alone would exceed that period's limit.
        uploaded: Optional[int] = None
        for limit in checked:
            if uploaded is None or uploaded + content_length > limit.max_bytes:
                uploaded = await self._store.get_media_uploaded_size_for_user(
                    user_id, self.hs.time_msec() - limit.time_period_ms
                )
            if uploaded + content_length > limit.max_bytes:
                await self._media_callbacks.on_media_upload_limit_exceeded(
                    user_id, limit, uploaded, content_length
                )
                raise UserLimitExceededError(
                    403,
                    "Media upload limit exceeded",
                    info_uri=limit.info_uri or self._fallback_info_uri,
                    can_upgrade=limit.can_upgrade,
                )

    # ------------------------------------------------------------------ create + PUT

    async def create_media_id(self, user_id: str) -> Tuple[str, int]:
        """Reserve a media id for ``user_id``: ``(mxc URI, unused_expires_at)``."""
        media_id = random_media_id()
        now = self.hs.time_msec()
        await self._store.store_local_media_id(
            media_id, user_id, now, authenticated=self.enable_authenticated_media
        )
        return f"mxc://{self.server_name}/{media_id}", now + UNUSED_EXPIRATION_TIME_MS

    async def reached_pending_media_limit(self, user_id: str) -> Tuple[bool, int]:
        """Whether ``user_id`` holds ``max_pending_media_uploads`` unused ids, and when the
        first of them expires (0 if none)."""
        count, first_created = await self._store.count_pending_media(
            user_id, self.hs.time_msec() - UNUSED_EXPIRATION_TIME_MS
        )
        first_expiration = (
            first_created + UNUSED_EXPIRATION_TIME_MS if first_created is not None else 0
        )
        return count >= MAX_PENDING_MEDIA_UPLOADS, first_expiration

    @contextlib.contextmanager
    def upload_lock(self, media_id: str) -> Iterator[None]:
        """Held while content is uploaded to ``media_id``; 409
        ``M_CANNOT_OVERWRITE_MEDIA`` "Media ID cannot be overwritten" if already held."""
        if media_id in self._uploading:
            raise SynapseError(
                409, "Media ID cannot be overwritten", errcode=Codes.CANNOT_OVERWRITE_MEDIA
            )
        self._uploading.add(media_id)
        try:
            yield
        finally:
            self._uploading.discard(media_id)

    async def verify_can_upload(self, media_id: str, user_id: str) -> None:
        """Check that ``user_id`` may upload to the reserved ``media_id`` (Synapse's texts)."""
        media = await self._store.get_local_media(media_id)
        if media is None:
            raise NotFoundError("Unknown media ID")
        if media.user_id != user_id:
            raise SynapseError(
                403, "Only the creator of the media ID can upload to it", errcode=Codes.FORBIDDEN
            )
        if media.media_length is not None:
            raise SynapseError(
                409, "Media ID already has content", errcode=Codes.CANNOT_OVERWRITE_MEDIA
            )
        if media.created_ts < self.hs.time_msec() - UNUSED_EXPIRATION_TIME_MS:
            raise NotFoundError("Media ID has expired")

    # ------------------------------------------------------------------ downloads

    async def get_local_media_info(
        self, media_id: str, max_timeout_ms: int, bypass_quarantine: bool = False
    ) -> LocalMedia:
        """The row of an uploaded ``media_id``, waiting up to ``max_timeout_ms`` for the
        content of a reserved id.

        Raises :class:`UnknownMediaError` (unknown, quarantined or expired unused) and 504
        ``M_NOT_YET_UPLOADED`` "Media has not been uploaded yet" after the wait.
        """
        wait_until = self.hs.time_msec() + max_timeout_ms
        while True:
            media = await self._store.get_local_media(media_id)
            if media is None:
                logger.info("Media %s is unknown", media_id)
                raise UnknownMediaError(media_id)
            if media.quarantined_by and not bypass_quarantine:
                logger.info("Media %s is quarantined", media_id)
                raise UnknownMediaError(media_id)
            if media.media_length is not None:
                return media
            now = self.hs.time_msec()
            if media.created_ts < now - UNUSED_EXPIRATION_TIME_MS:
                logger.info("Media %s has expired without being uploaded", media_id)
                raise UnknownMediaError(media_id)
            if now >= wait_until:
                break
            await deferLater(self.clock, _PENDING_POLL_SECONDS)
        logger.info("Media %s has not yet been uploaded", media_id)
        raise SynapseError(504, "Media has not been uploaded yet", errcode=Codes.NOT_YET_UPLOADED)

    async def get_local_media(
        self,
        media_id: str,
        max_timeout_ms: int,
        *,
        allow_authenticated: bool = True,
        bypass_quarantine: bool = False,
    ) -> LocalMedia:
        """:meth:`get_local_media_info`, then 404 ``M_NOT_FOUND`` "Not found" when the
        media is authenticated and the endpoint is not (``allow_authenticated=False``)."""
        media = await self.get_local_media_info(media_id, max_timeout_ms, bypass_quarantine)
        if self.enable_authenticated_media and not allow_authenticated and media.authenticated:
            raise NotFoundError()
        return media

    async def open_local_file(self, media_id: str) -> Optional[BinaryIO]:
        """The stored file of ``media_id`` opened for reading, or ``None`` if missing."""
        return await self.files.open_local(media_id)
