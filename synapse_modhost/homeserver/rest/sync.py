"""``GET /sync`` and the filter endpoints (``POST /user/{userId}/filter``,
``GET /user/{userId}/filter/{filterId}``), with Synapse's parameter checks and texts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, NotFoundError, SynapseError
from synapse_modhost.homeserver.rest._base import client_patterns, fits_int64, parse_stream_token
from synapse_modhost.types import Requester, UserID
from synapse_modhost.web import (
    parse_boolean,
    parse_integer,
    parse_json_object_from_request,
    parse_string,
)

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer
    from synapse_modhost.homeserver.handlers._filtering import FilterCollection

# The handlers are imported on the first request (start-up stays light).

__all__ = ["register_servlets"]

JsonDict = Dict[str, Any]

_PRESENCE_STATES = ["offline", "online", "unavailable"]


def _reject_constant(value: str) -> None:
    raise ValueError("Invalid JSON value: %r" % (value,))


def _timeline_limit_checked(filter_json: JsonDict) -> JsonDict:
    """``filter_json``, refused with 400 ``M_INVALID_PARAM`` when its timeline limit is
    negative (Synapse accepts the filter, then its ``/sync`` fails with a 500)."""
    room = filter_json.get("room")
    timeline = room.get("timeline") if isinstance(room, dict) else None
    limit = timeline.get("limit") if isinstance(timeline, dict) else None
    if isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit < 0:
        raise SynapseError(
            400, "The filter's room.timeline.limit must not be negative", Codes.INVALID_PARAM
        )
    return filter_json


async def _filter_for(
    hs: "HomeServer", requester: Requester, filter_id: Optional[str]
) -> "FilterCollection":
    from synapse_modhost.homeserver.handlers._filtering import (
        FilterCollection,
        check_valid_filter,
        set_timeline_upper_limit,
    )

    if filter_id is None:
        return FilterCollection()
    if filter_id.startswith("{"):
        try:
            # NaN and Infinity are not JSON (Synapse's decoder refuses them too)
            filter_json = json.loads(filter_id, parse_constant=_reject_constant)
        except ValueError:
            raise SynapseError(400, "Invalid filter JSON", errcode="M_NOT_JSON") from None
        check_valid_filter(filter_json)
        set_timeline_upper_limit(filter_json)
        return FilterCollection(_timeline_limit_checked(filter_json))
    try:
        filter_int = int(filter_id)
    except ValueError:
        raise SynapseError(400, "Invalid filter ID", errcode="M_INVALID_PARAM") from None
    try:
        if not fits_int64(filter_int):  # Synapse's query fails (500); no such filter here
            raise NotFoundError()
        found = await hs.account_data.get_user_filter(requester.user.to_string(), filter_int)
    except NotFoundError:
        raise SynapseError(400, "No such filter", errcode="M_INVALID_PARAM") from None
    return FilterCollection(_timeline_limit_checked(found))


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    """``/sync`` and the filter endpoints."""

    async def on_sync(request: Any) -> Tuple[int, JsonDict]:
        from synapse_modhost.homeserver.handlers.sync import SyncRequest

        if b"from" in (request.args or {}):
            raise SynapseError(400, "'from' is not a valid query parameter. Did you mean 'since'?")
        requester = await hs.auth.get_user_by_req(request, allow_guest=True)
        timeout = parse_integer(request, "timeout", default=0)
        since = parse_string(request, "since")
        set_presence = parse_string(
            request, "set_presence", default="online", allowed_values=_PRESENCE_STATES
        )
        filter_id = parse_string(request, "filter")
        full_state = parse_boolean(request, "full_state", default=False)
        sync_filter = await _filter_for(hs, requester, filter_id)
        since_token = None
        if since is not None:
            try:
                since_token = parse_stream_token(since)
            except ValueError:
                raise SynapseError(400, "Invalid stream token") from None
        body = await hs.sync.sync(
            SyncRequest(
                requester=requester,
                filter=sync_filter,
                since=since_token,
                timeout_ms=timeout or 0,
                full_state=bool(full_state),
                set_presence=set_presence or "online",
            )
        )
        return 200, body

    # A client that goes away cancels its long-poll (Synapse's @cancellable).
    on_sync.cancellable = True  # type: ignore[attr-defined]

    async def on_get_filter(request: Any, user_id: str, filter_id: str) -> Tuple[int, JsonDict]:
        target = UserID.from_string(user_id)
        requester = await hs.auth.get_user_by_req(request)
        if target != requester.user:
            raise AuthError(403, "Cannot get filters for other users")
        if target.domain != hs.server_name:
            raise AuthError(403, "Can only get filters for local users")
        try:
            filter_int = int(filter_id)
        except ValueError:
            raise SynapseError(400, "Invalid filter_id") from None
        if not fits_int64(filter_int):  # Synapse's query fails (500); no such filter here
            raise NotFoundError("No such filter")
        return 200, await hs.account_data.get_user_filter(user_id, filter_int)

    async def on_create_filter(request: Any, user_id: str) -> Tuple[int, JsonDict]:
        from synapse_modhost.homeserver.handlers._filtering import (
            check_valid_filter,
            set_timeline_upper_limit,
        )

        target = UserID.from_string(user_id)
        requester = await hs.auth.get_user_by_req(request)
        if target != requester.user:
            raise AuthError(403, "Cannot create filters for other users")
        if target.domain != hs.server_name:
            raise AuthError(403, "Can only create filters for local users")
        content = parse_json_object_from_request(request)
        set_timeline_upper_limit(content)
        check_valid_filter(content)
        filter_int = await hs.account_data.add_user_filter(user_id, content)
        return 200, {"filter_id": str(filter_int)}

    http_server.register_paths("GET", client_patterns("/sync$"), on_sync, "SyncRestServlet")
    http_server.register_paths(
        "GET",
        client_patterns("/user/(?P<user_id>[^/]*)/filter/(?P<filter_id>[^/]*)$"),
        on_get_filter,
        "GetFilterRestServlet",
    )
    http_server.register_paths(
        "POST",
        client_patterns("/user/(?P<user_id>[^/]*)/filter$"),
        on_create_filter,
        "CreateFilterRestServlet",
    )
