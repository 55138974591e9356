"""The media API under ``/_matrix/media/{r0,v3,v1}`` (Synapse's ``MediaRepositoryResource``),
and the HTTP pieces the Client-Server media servlets (``media_client.py``) share.

Endpoints (all answer canonical JSON with CORS headers, as Synapse's media servlets):

- ``GET  .../config`` (auth) — ``get_media_config_for_user`` or ``{"m.upload.size": N}``;
- ``POST .../upload[?filename=]`` (auth) — TRIGGERS.md §8's order;
- ``POST /_matrix/media/v1/create`` (auth) and ``PUT /_matrix/media/v3/upload/{server}/{id}``;
- ``GET  .../download/{server}/{id}[/{name}]`` (no auth): local media uploaded with
  authenticated media on (always, as Synapse's default) is refused with 404 "Not found",
  as Synapse 1.163 does; only media marked unauthenticated would be served here;
- ``GET  .../thumbnail/{server}/{id}`` (no auth): the same refusal;
- ``GET  .../preview_url`` (auth) — URL previews are off: 404 ``M_UNRECOGNIZED``.

Downloads answer with Synapse's headers (CORS, ``Cross-Origin-Resource-Policy``, the
sandboxing ``Content-Security-Policy``, ``Referrer-Policy``, ``Content-Disposition``,
caching, ``ETag: 1``, ``Content-Length``, ``X-Robots-Tag``) and honour
``If-None-Match: 1`` with a 304. An invalid server name in the path is a 500, as on
Synapse (its validation raises a bare ``ValueError``). Remote media is never fetched
(no federation): 404.

Thumbnails are not generated: for the types Synapse thumbnails (JPEG, PNG, GIF, WebP)
the original file is returned; for other types Synapse's 400 "Cannot find any
thumbnails ..." (what it answers with ``dynamic_thumbnails`` off).
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import TYPE_CHECKING, Any, BinaryIO, Dict, Optional, Tuple

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.web.server import Request
from zope.interface import implementer

from synapse_modhost._codes import Codes
from synapse_modhost.config._server import parse_and_validate_server_name
from synapse_modhost.errors import (
    LimitExceededError,
    NotFoundError,
    SynapseError,
    UnrecognizedRequestError,
)
from synapse_modhost.homeserver.handlers.media import (
    DEFAULT_MAX_TIMEOUT_MS,
    MAXIMUM_ALLOWED_MAX_TIMEOUT_MS,
    UnknownMediaError,
)
from synapse_modhost.homeserver.rest._base import media_patterns
from synapse_modhost.web import (
    finish_request,
    parse_boolean,
    parse_bytes_from_args,
    parse_integer,
    parse_string,
    respond_with_json,
    set_cors_headers,
)

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer
    from synapse_modhost.storage import LocalMedia

__all__ = [
    "add_file_headers",
    "not_found",
    "parse_thumbnail_args",
    "parse_timeout_ms",
    "read_upload",
    "register_servlets",
    "respond_json",
    "respond_local_media",
    "respond_local_thumbnail",
    "set_corp_headers",
    "set_download_headers",
    "validate_server_name",
]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]

#: types given ``charset=UTF-8`` when served (Synapse's TEXT_CONTENT_TYPES)
TEXT_CONTENT_TYPES = frozenset(
    (
        "text/css", "text/csv", "text/html", "text/calendar", "text/plain",
        "text/javascript", "application/json", "application/ld+json", "application/rtf",
        "image/svg+xml", "text/xml",
    )
)  # fmt: skip

#: types served ``inline`` rather than ``attachment`` (Synapse's INLINE_CONTENT_TYPES)
INLINE_CONTENT_TYPES = frozenset(
    (
        "text/css", "text/plain", "text/csv", "application/json", "application/ld+json",
        "image/jpeg", "image/gif", "image/png", "image/apng", "image/webp", "image/avif",
        "video/mp4", "video/webm", "video/ogg", "video/quicktime", "audio/mp4",
        "audio/webm", "audio/aac", "audio/mpeg", "audio/ogg", "audio/wave", "audio/wav",
        "audio/x-wav", "audio/x-pn-wav", "audio/flac", "audio/x-flac",
    )
)  # fmt: skip

#: the types Synapse makes thumbnails of, in the order its error message lists them
THUMBNAIL_TYPES = ("image/jpeg", "image/jpg", "image/webp", "image/gif", "image/png")

_NO_THUMBNAIL = (
    "Cannot find any thumbnails for the requested media ('%s'). This might mean the media "
    "is not a supported_media_format=(%s) or that thumbnailing failed for some other "
    "reason. (Dynamic thumbnails are disabled on this server.)"
)

_CSP = (
    b"sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf;"
    b" style-src 'unsafe-inline'; media-src 'self'; object-src 'self';"
)

#: media never changes, so its ETag is a constant (Synapse's)
_IMMUTABLE_ETAG = b"1"

# RFC 2616 separators: a file name with one of these (or a control, space or non-ASCII
# character) is sent as filename*=utf-8''<percent-encoded>.
_FILENAME_SEPARATORS = frozenset('()<>@,;:\\"/[]?={}')

_FILE_CHUNK = 64 * 1024


# ---------------------------------------------------------------------- shared helpers


def respond_json(request: Request, code: int, obj: Any) -> None:
    """Canonical JSON with CORS (what Synapse's media servlets send on any router)."""
    respond_with_json(request, code, obj, send_cors=True, canonical_json=True)


def not_found(request: Request) -> SynapseError:
    """Synapse's ``respond_404``: 404 ``M_NOT_FOUND`` "Not found '<request path>'"."""
    path = (request.path or b"").decode("utf-8", "replace")
    return SynapseError(404, "Not found '%s'" % (path,), Codes.NOT_FOUND)


def validate_server_name(request: Request, server_name: str) -> None:
    """Synapse's check of the server name in a media path; its ``ValueError`` becomes a
    500, as on Synapse. A server name that tries to leave the media store (a dot segment,
    a slash) is a 404 like any such path, where Synapse answers 500."""
    if server_name in (".", "..") or "/" in server_name or "\\" in server_name:
        raise not_found(request)
    parse_and_validate_server_name(server_name)


def set_corp_headers(request: Request) -> None:
    request.setHeader(b"Cross-Origin-Resource-Policy", b"cross-origin")


def set_download_headers(request: Request) -> None:
    """The headers every download answer carries, errors included."""
    set_cors_headers(request)
    set_corp_headers(request)
    request.setHeader(b"Content-Security-Policy", _CSP)
    request.setHeader(b"X-Content-Security-Policy", b"sandbox;")
    request.setHeader(b"Referrer-Policy", b"no-referrer")


def parse_timeout_ms(request: Request) -> int:
    """``timeout_ms`` (default 20 s), capped at 60 s."""
    value = parse_integer(request, "timeout_ms", default=DEFAULT_MAX_TIMEOUT_MS)
    assert value is not None
    return min(value, MAXIMUM_ALLOWED_MAX_TIMEOUT_MS)


def _can_encode_filename_as_token(name: str) -> bool:
    return all(32 < ord(c) < 127 and c not in _FILENAME_SEPARATORS for c in name)


def add_file_headers(
    request: Request, media_type: str, file_size: Optional[int], upload_name: Optional[str]
) -> None:
    """``Content-Type`` (UTF-8 charset for text), ``Content-Disposition``, caching,
    ``ETag``, ``Content-Length`` and ``X-Robots-Tag``, as Synapse sets them."""
    if media_type.lower() in TEXT_CONTENT_TYPES:
        content_type = media_type + "; charset=UTF-8"
    else:
        content_type = media_type
    request.setHeader(b"Content-Type", content_type.encode("utf-8"))

    if media_type.lower().split(";", 1)[0] in INLINE_CONTENT_TYPES:
        disposition = "inline"
    else:
        disposition = "attachment"
    if upload_name:
        if _can_encode_filename_as_token(upload_name):
            disposition = "%s; filename=%s" % (disposition, upload_name)
        else:
            quoted = urllib.parse.quote(upload_name.encode("utf-8"))
            disposition = "%s; filename*=utf-8''%s" % (disposition, quoted)
    request.setHeader(b"Content-Disposition", disposition.encode("ascii"))

    _add_cache_headers(request)
    if file_size is not None:
        request.setHeader(b"Content-Length", b"%d" % (file_size,))
    request.setHeader(b"X-Robots-Tag", b"noindex, nofollow, noarchive, noimageindex")


def _add_cache_headers(request: Request) -> None:
    request.setHeader(b"Cache-Control", b"public,max-age=86400,s-maxage=0,proxy-revalidate")
    request.setHeader(b"ETag", _IMMUTABLE_ETAG)


def _respond_if_cached(request: Request) -> bool:
    """Answer 304 to ``If-None-Match: 1`` (the client has the immutable media)."""
    if request.getHeader(b"If-None-Match") != _IMMUTABLE_ETAG:
        return False
    request.setResponseCode(304)
    if not request._disconnected:
        _add_cache_headers(request)
        finish_request(request)
    return True


@implementer(IPushProducer)
class _FileProducer:
    """Writes an open file to a request as the transport takes it; ``done`` fires (and
    the file is closed) at the end or when the client goes away."""

    def __init__(self, request: Request, file: BinaryIO) -> None:
        self.done: "Deferred[None]" = Deferred()
        self._request: Optional[Request] = request
        self._file: Optional[BinaryIO] = file
        self._paused = False
        request.notifyFinish().addErrback(lambda _: self.stopProducing())
        request.registerProducer(self, True)
        self.resumeProducing()

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        while not self._paused and self._file is not None and self._request is not None:
            chunk = self._file.read(_FILE_CHUNK)
            if not chunk:
                self._request.unregisterProducer()
                self.stopProducing()
                return
            self._request.write(chunk)

    def stopProducing(self) -> None:
        file, self._file = self._file, None
        self._request = None
        if file is not None:
            file.close()
        if not self.done.called:
            self.done.callback(None)


async def _respond_with_file(
    request: Request,
    file: BinaryIO,
    media_type: str,
    file_size: Optional[int],
    upload_name: Optional[str],
) -> None:
    if request._disconnected:
        file.close()
        logger.warning("Not sending response to request %s, already disconnected.", request)
        return
    add_file_headers(request, media_type, file_size, upload_name)
    await _FileProducer(request, file).done
    finish_request(request)


async def _local_media_or_404(
    hs: "HomeServer",
    request: Request,
    media_id: str,
    max_timeout_ms: int,
    allow_authenticated: bool,
    bypass_quarantine: bool = False,
) -> "LocalMedia":
    try:
        return await hs.media.get_local_media(
            media_id,
            max_timeout_ms,
            allow_authenticated=allow_authenticated,
            bypass_quarantine=bypass_quarantine,
        )
    except UnknownMediaError:
        raise not_found(request) from None


async def respond_local_media(
    hs: "HomeServer",
    request: Request,
    media_id: str,
    file_name: Optional[str],
    max_timeout_ms: int,
    *,
    allow_authenticated: bool,
    bypass_quarantine: bool = False,
) -> None:
    """Answer with the local media ``media_id`` (404 when unknown or refused, 504 when
    its content never arrived, 304 for ``If-None-Match: 1``)."""
    media = await _local_media_or_404(
        hs, request, media_id, max_timeout_ms, allow_authenticated, bypass_quarantine
    )
    if _respond_if_cached(request):
        return
    file = await hs.media.open_local_file(media_id)
    if file is None:
        raise not_found(request)
    upload_name = file_name if file_name else media.upload_name
    media_type = media.media_type or "application/octet-stream"
    await _respond_with_file(request, file, media_type, media.media_length, upload_name)


async def respond_local_thumbnail(
    hs: "HomeServer",
    request: Request,
    media_id: str,
    max_timeout_ms: int,
    *,
    allow_authenticated: bool,
) -> None:
    """A "thumbnail" of local media: the original file for an image type Synapse
    thumbnails, Synapse's 400 "Cannot find any thumbnails ..." for any other type."""
    media = await _local_media_or_404(hs, request, media_id, max_timeout_ms, allow_authenticated)
    if _respond_if_cached(request):
        return
    media_type = media.media_type or "application/octet-stream"
    file = await hs.media.open_local_file(media_id) if media_type in THUMBNAIL_TYPES else None
    if file is None:
        path = (request.path or b"").decode("utf-8", "replace")
        raise SynapseError(400, _NO_THUMBNAIL % (path, ", ".join(THUMBNAIL_TYPES)))
    await _respond_with_file(request, file, media_type, media.media_length, None)


def parse_thumbnail_args(request: Request) -> None:
    """Check ``width``/``height`` (required integers), ``method`` and ``animated``."""
    parse_integer(request, "width", required=True)
    parse_integer(request, "height", required=True)
    parse_string(request, "method", "scale")
    parse_boolean(request, "animated", default=False)


def _parse_content_length(request: Request) -> int:
    raw = request.getHeader(b"Content-Length")
    if raw is None:
        raise SynapseError(400, "Request must specify a Content-Length")
    try:
        return int(raw)
    except ValueError:
        raise SynapseError(400, "Content-Length value is invalid") from None


def _parse_upload_name_and_type(request: Request) -> Tuple[Optional[str], str]:
    upload_name_bytes = parse_bytes_from_args(request.args or {}, "filename")
    upload_name: Optional[str] = None
    if upload_name_bytes:
        try:
            upload_name = upload_name_bytes.decode("utf8")
        except UnicodeDecodeError:
            raise SynapseError(
                400, "Invalid UTF-8 filename parameter: %r" % (upload_name_bytes,)
            ) from None
    content_types = request.requestHeaders.getRawHeaders(b"Content-Type")
    media_type = content_types[0].decode("ascii") if content_types else "application/octet-stream"
    return upload_name, media_type


async def read_upload(
    hs: "HomeServer", request: Request, user_id: str
) -> Tuple[int, Optional[str], str]:
    """Steps 2-5 of an upload: ``(content_length, upload_name, media_type)``."""
    content_length = _parse_content_length(request)
    await hs.media.check_upload_allowed(user_id, content_length)
    upload_name, media_type = _parse_upload_name_and_type(request)
    return content_length, upload_name, media_type


# ---------------------------------------------------------------------- servlets


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    """The media repository's servlets, in Synapse's registration order."""
    media = hs.media
    auth = hs.auth

    async def on_create(request: Request) -> Tuple[int, JsonDict]:
        requester = await auth.get_user_by_req(request)
        reached, first_expiration = await media.reached_pending_media_limit(requester.user_id)
        if reached:
            raise LimitExceededError(
                limiter_name="max_pending_media_uploads",
                retry_after_ms=first_expiration - hs.time_msec(),
            )
        content_uri, unused_expires_at = await media.create_media_id(requester.user_id)
        logger.info("Created media URI %r (unused, expires at %d)", content_uri, unused_expires_at)
        return 200, {"content_uri": content_uri, "unused_expires_at": unused_expires_at}

    async def on_upload(request: Request) -> Tuple[int, JsonDict]:
        requester = await auth.get_user_by_req(request)
        user_id = requester.user_id
        content_length, upload_name, media_type = await read_upload(hs, request, user_id)
        assert request.content is not None
        content_uri = await media.create_or_update_content(
            media_type, upload_name, request.content, content_length, user_id
        )
        logger.info("Uploaded content with URI %r", content_uri)
        return 200, {"content_uri": content_uri}

    async def on_put_upload(
        request: Request, server_name: str, media_id: str
    ) -> Tuple[int, JsonDict]:
        requester = await auth.get_user_by_req(request)
        user_id = requester.user_id
        if server_name != hs.server_name:
            raise SynapseError(404, "Non-local server name specified", Codes.NOT_FOUND)
        with media.upload_lock(media_id):
            await media.verify_can_upload(media_id, user_id)
            content_length, upload_name, media_type = await read_upload(hs, request, user_id)
            assert request.content is not None
            await media.create_or_update_content(
                media_type, upload_name, request.content, content_length, user_id, media_id
            )
        logger.info("Uploaded content for media ID %r", media_id)
        return 200, {}

    async def on_download(
        request: Request, server_name: str, media_id: str, file_name: Optional[str] = None
    ) -> None:
        validate_server_name(request, server_name)
        set_download_headers(request)
        max_timeout_ms = parse_timeout_ms(request)
        if media.is_mine_server_name(server_name):
            await respond_local_media(
                hs, request, media_id, file_name, max_timeout_ms, allow_authenticated=False
            )
            return
        if not parse_boolean(request, "allow_remote", default=True):
            raise not_found(request)
        # Remote media that is not cached is never fetched for this endpoint.
        raise NotFoundError()

    async def on_thumbnail(request: Request, server_name: str, media_id: str) -> None:
        validate_server_name(request, server_name)
        set_cors_headers(request)
        set_corp_headers(request)
        parse_thumbnail_args(request)
        max_timeout_ms = parse_timeout_ms(request)
        if media.is_mine_server_name(server_name):
            await respond_local_thumbnail(
                hs, request, media_id, max_timeout_ms, allow_authenticated=False
            )
            return
        raise NotFoundError()

    async def on_preview_url(request: Request) -> None:
        await auth.get_user_by_req(request)
        raise UnrecognizedRequestError(code=404)

    async def on_config(request: Request) -> Tuple[int, JsonDict]:
        requester = await auth.get_user_by_req(request)
        return 200, await media.get_media_config(requester.user_id)

    server_media = "/(?P<server_name>[^/]*)/(?P<media_id>[^/]*)"
    register = http_server.register_paths
    register("POST", media_patterns("/create$", ("v1",)), on_create, "CreateResource")
    register("POST", media_patterns("/upload$"), on_upload, "UploadServlet")
    register(
        "PUT", media_patterns("/upload" + server_media + "$", ("v3",)), on_put_upload,
        "AsyncUploadServlet",
    )  # fmt: skip
    register(
        "GET", media_patterns("/download" + server_media + "(/(?P<file_name>[^/]*))?$"),
        on_download, "DownloadResource",
    )  # fmt: skip
    register(
        "GET", media_patterns("/thumbnail" + server_media + "$"), on_thumbnail,
        "ThumbnailResource",
    )  # fmt: skip
    register("GET", media_patterns("/preview_url$"), on_preview_url, "PreviewUrlResource")
    register("GET", media_patterns("/config$"), on_config, "MediaConfigResource")
