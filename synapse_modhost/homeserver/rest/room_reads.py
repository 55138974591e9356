"""Reading a room's history: ``GET /rooms/{roomId}/messages`` and
``GET /rooms/{roomId}/context/{eventId}`` (also under ``/api/v1``), with Synapse's
parameter checks and texts (``dir`` ``b``/``f``, default ``f``; ``limit`` default 10, at
most 1000; ``from``/``to`` tokens; a JSON ``filter``; ``raw``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.homeserver.rest._base import (
    check_int64_param,
    client_patterns,
    parse_stream_token,
)
from synapse_modhost.web import parse_integer, parse_json, parse_string

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer
    from synapse_modhost.homeserver.handlers._filtering import EventFilter
    from synapse_modhost.homeserver.handlers.notifier import StreamToken

# The handlers are imported on the first request (start-up stays light).

__all__ = ["register_servlets"]

JsonDict = Dict[str, Any]

#: Synapse's ``MAX_LIMIT`` for pagination
MAX_LIMIT = 1000


def _token(request: Any, name: str) -> Optional["StreamToken"]:
    text = parse_string(request, name)
    if not text or (name == "from" and text == "END"):
        return None
    try:
        return parse_stream_token(text)
    except ValueError:
        raise SynapseError(400, f"'{name}' parameter is invalid") from None


def _event_filter(request: Any) -> Optional["EventFilter"]:
    """The ``filter`` parameter (none when absent or a JSON value that is false).

    Synapse uses it unchecked, and answers 500 for most malformed ones (one that is not an
    object, ``types`` that is not a list of strings, ...): it is checked here as a sync
    filter's timeline section is, 400 ``M_INVALID_PARAM`` "Query parameter filter is not a
    valid event filter: <the sync filter check's text>". Its ``limit`` is ignored, as
    Synapse does on these endpoints.
    """
    from synapse_modhost.homeserver.handlers._filtering import EventFilter, check_valid_filter

    filter_json: Any = parse_json(request, "filter", encoding="utf-8")
    if not filter_json:
        return None
    if isinstance(filter_json, dict):
        filter_json = {k: v for k, v in filter_json.items() if k != "limit"}
    try:
        check_valid_filter({"room": {"timeline": filter_json}})
    except SynapseError as e:
        raise SynapseError(
            400, "Query parameter filter is not a valid event filter: " + e.msg, Codes.INVALID_PARAM
        ) from None
    return EventFilter(filter_json)


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    """``/messages`` and ``/context``."""

    async def on_messages(request: Any, room_id: str) -> Tuple[int, JsonDict]:
        requester = await hs.auth.get_user_by_req(request, allow_guest=True)
        direction = parse_string(request, "dir", default="f", allowed_values=["b", "f"])
        from_token = _token(request, "from")
        to_token = _token(request, "to")
        limit = min(parse_integer(request, "limit", default=10) or 0, MAX_LIMIT)
        event_filter = _event_filter(request)
        as_client_event = b"raw" not in (request.args or {})
        if (
            event_filter is not None
            and event_filter.filter_json.get("event_format", "client") == "federation"
        ):
            as_client_event = False
        body = await hs.messages.get_messages(
            requester,
            room_id,
            from_token=from_token,
            to_token=to_token,
            direction=direction or "f",
            limit=limit,
            event_filter=event_filter,
            as_client_event=as_client_event,
        )
        return 200, body

    async def on_context(request: Any, room_id: str, event_id: str) -> Tuple[int, JsonDict]:
        requester = await hs.auth.get_user_by_req(request, allow_guest=True)
        limit = parse_integer(request, "limit", default=10) or 0
        event_filter = _event_filter(request)
        # Synapse's query fails (500) for a limit beyond 64 bits
        check_int64_param("limit", limit)
        body = await hs.messages.get_event_context(
            requester, room_id, event_id, limit, event_filter
        )
        return 200, body

    http_server.register_paths(
        "GET",
        client_patterns("/rooms/(?P<room_id>[^/]*)/messages$", v1=True),
        on_messages,
        "RoomMessageListRestServlet",
    )
    http_server.register_paths(
        "GET",
        client_patterns("/rooms/(?P<room_id>[^/]*)/context/(?P<event_id>[^/]*)$", v1=True),
        on_context,
        "RoomEventContextServlet",
    )
