"""The authenticated media API on the Client-Server router: ``/_matrix/client/v1/media/...``.

- ``GET config`` (auth) — as ``/_matrix/media/v3/config``;
- ``GET download/{server}/{id}[/{name}]`` (auth, guests allowed) — local media with
  Synapse's headers; ``admin_unsafely_bypass_quarantine=true`` needs a server admin;
- ``GET thumbnail/{server}/{id}?width=&height=`` (auth, guests allowed) — see
  ``rest/media.py`` (no thumbnails are generated);
- ``GET preview_url`` (auth) — URL previews are off: 404 ``M_UNRECOGNIZED``.

These servlets write their answers themselves in canonical JSON (the Client-Server
router otherwise answers in insertion order), as Synapse's do.

Remote media (another server name) is 404 ``Not found '<path>'``: the stand-in has no
federation (Synapse would try to fetch it and, failing, answer 502 "Failed to fetch
remote media").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Optional

from twisted.web.server import Request

from synapse_modhost._codes import Codes
from synapse_modhost.errors import UnrecognizedRequestError
from synapse_modhost.homeserver.rest.media import (
    not_found,
    parse_thumbnail_args,
    parse_timeout_ms,
    respond_json,
    respond_local_media,
    respond_local_thumbnail,
    set_corp_headers,
    set_download_headers,
    validate_server_name,
)
from synapse_modhost.web import parse_string, set_cors_headers

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]

_PREFIX = "^/_matrix/client/v1/media"
_SERVER_MEDIA = "/(?P<server_name>[^/]*)/(?P<media_id>[^/]*)"


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    """The Client-Server media servlets, in Synapse's registration order."""
    media = hs.media
    auth = hs.auth

    async def on_preview_url(request: Request) -> None:
        await auth.get_user_by_req(request)
        raise UnrecognizedRequestError(code=404)

    async def on_config(request: Request) -> None:
        requester = await auth.get_user_by_req(request)
        respond_json(request, 200, await media.get_media_config(requester.user_id))

    async def on_thumbnail(request: Request, server_name: str, media_id: str) -> None:
        validate_server_name(request, server_name)
        await auth.get_user_by_req(request, allow_guest=True)
        set_cors_headers(request)
        set_corp_headers(request)
        parse_thumbnail_args(request)
        max_timeout_ms = parse_timeout_ms(request)
        if not media.is_mine_server_name(server_name):
            raise not_found(request)
        await respond_local_thumbnail(
            hs, request, media_id, max_timeout_ms, allow_authenticated=True
        )

    async def on_download(
        request: Request, server_name: str, media_id: str, file_name: Optional[str] = None
    ) -> None:
        validate_server_name(request, server_name)
        requester = await auth.get_user_by_req(request, allow_guest=True)
        bypass_quarantine = False
        if parse_string(request, "admin_unsafely_bypass_quarantine") == "true":
            if not await auth.is_server_admin(requester):
                respond_json(
                    request,
                    400,
                    {
                        "errcode": Codes.UNKNOWN.value,
                        "error": "Must be a server admin to bypass quarantine",
                    },
                )
                return
            bypass_quarantine = True
        set_download_headers(request)
        max_timeout_ms = parse_timeout_ms(request)
        if not media.is_mine_server_name(server_name):
            raise not_found(request)
        await respond_local_media(
            hs,
            request,
            media_id,
            file_name,
            max_timeout_ms,
            allow_authenticated=True,
            bypass_quarantine=bypass_quarantine,
        )

    register = http_server.register_paths
    register("GET", [re.compile(_PREFIX + "/preview_url$")], on_preview_url, "PreviewURLServlet")
    register("GET", [re.compile(_PREFIX + "/config$")], on_config, "MediaConfigResource")
    register(
        "GET", [re.compile(_PREFIX + "/thumbnail" + _SERVER_MEDIA + "$")], on_thumbnail,
        "ThumbnailResource",
    )  # fmt: skip
    register(
        "GET",
        [re.compile(_PREFIX + "/download" + _SERVER_MEDIA + "(/(?P<file_name>[^/]*))?$")],
        on_download,
        "DownloadResource",
    )
