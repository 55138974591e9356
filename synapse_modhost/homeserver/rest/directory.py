"""Directory servlets: ``/directory/room/{roomAlias}``, ``/directory/list/room/{roomId}``
and ``/publicRooms``, as Synapse's ``rest/client/directory.py`` and ``room.py``.

Request bodies Synapse validates with pydantic get the same 400s here, texts included
(``1 validation error for PutBody\\nroom_id\\n  Field required [...]``). In the
``POST /publicRooms`` body, a ``limit`` ``int()`` rejects or a ``since`` that is not a
string is 400 ``M_BAD_JSON`` (Synapse answers 500). A ``since`` (query or body) that is
not a token of this server is 400 ``M_INVALID_PARAM`` "Invalid since token" (Synapse: 500).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.homeserver.rest._base import client_patterns
from synapse_modhost.types import RoomAlias
from synapse_modhost.web._servlet import (
    parse_integer,
    parse_json_object_from_request,
    parse_string,
)

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["pydantic_error", "register_servlets"]

JsonDict = Dict[str, Any]
Response = Tuple[int, Any]
_PYDANTIC_DOCS = "https://errors.pydantic.dev/2.14/v/"

#: (location, message, type, input value)
_Problem = Tuple[str, str, str, Any]


def _truncated_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 50 else text[:25] + "..." + text[-24:]


def pydantic_error(model: str, problems: List[_Problem]) -> SynapseError:
    """The 400 ``validate_json_object`` raises for pydantic validation errors."""
    count = len(problems)
    lines = ["%d validation error%s for %s" % (count, "" if count == 1 else "s", model)]
    for loc, message, err_type, value in problems:
        lines.append(loc)
        lines.append(
            "  %s [type=%s, input_value=%s, input_type=%s]"
            % (message, err_type, _truncated_repr(value), type(value).__name__)
        )
        lines.append("    For further information visit " + _PYDANTIC_DOCS + err_type)
    errcode = Codes.BAD_JSON
    if count == 1 and problems[0][2] == "missing":
        errcode = Codes.MISSING_PARAM
    return SynapseError(400, "\n".join(lines), errcode)


def _alias_put_body(content: JsonDict) -> Tuple[str, Optional[List[str]]]:
    problems: List[_Problem] = []
    room_id = content.get("room_id")
    if "room_id" not in content:
        problems.append(("room_id", "Field required", "missing", content))
    elif not isinstance(room_id, str):
        problems.append(("room_id", "Input should be a valid string", "string_type", room_id))
    servers = content.get("servers")
    if servers is not None:
        if not isinstance(servers, list):
            problems.append(("servers", "Input should be a valid list", "list_type", servers))
        else:
            for i, server in enumerate(servers):
                if not isinstance(server, str):
                    problems.append(("servers.%d" % i, "Input should be a valid string", "string_type", server))
    if problems:
        raise pydantic_error("PutBody", problems)
    return str(room_id), servers


def _visibility_body(content: JsonDict) -> str:
    visibility = content.get("visibility", "public")
    if visibility not in ("public", "private") or not isinstance(visibility, str):
        raise pydantic_error(
            "PutBody",
            [("visibility", "Input should be 'public' or 'private'", "literal_error", visibility)],
        )
    return visibility


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    auth = hs.auth

    def alias_from_path(room_alias: str) -> RoomAlias:
        if not RoomAlias.is_valid(room_alias):
            raise SynapseError(400, "Room alias invalid", Codes.INVALID_PARAM)
        return RoomAlias.from_string(room_alias)

    async def on_alias_get(request: Any, room_alias: str) -> Response:
        return 200, await hs.directory.get_association(alias_from_path(room_alias))

    async def on_alias_put(request: Any, room_alias: str) -> Response:
        alias = alias_from_path(room_alias)
        room_id, servers = _alias_put_body(parse_json_object_from_request(request))
        if await hs.event_store.rooms.get_room(room_id) is None:
            raise SynapseError(400, "Room does not exist")
        requester = await auth.get_user_by_req(request)
        await hs.directory.create_association(requester, alias, room_id, servers)
        return 200, {}

    async def on_alias_delete(request: Any, room_alias: str) -> Response:
        alias = alias_from_path(room_alias)
        requester = await auth.get_user_by_req(request)
        await hs.directory.delete_association(requester, alias)
        return 200, {}

    patterns = client_patterns("/directory/room/(?P<room_alias>[^/]*)$", v1=True)
    http_server.register_paths("GET", patterns, on_alias_get, "ClientDirectoryServer")
    http_server.register_paths("PUT", patterns, on_alias_put, "ClientDirectoryServer")
    http_server.register_paths("DELETE", patterns, on_alias_delete, "ClientDirectoryServer")

    async def on_list_get(request: Any, room_id: str) -> Response:
        return 200, {"visibility": await hs.directory.get_visibility(room_id)}

    async def on_list_put(request: Any, room_id: str) -> Response:
        requester = await auth.get_user_by_req(request)
        visibility = _visibility_body(parse_json_object_from_request(request))
        await hs.directory.edit_published_room_list(requester, room_id, visibility)
        return 200, {}

    patterns = client_patterns("/directory/list/room/(?P<room_id>[^/]*)$", v1=True)
    http_server.register_paths("GET", patterns, on_list_get, "ClientDirectoryListServer")
    http_server.register_paths("PUT", patterns, on_list_put, "ClientDirectoryListServer")

    async def on_public_get(request: Any) -> Response:
        server = parse_string(request, "server")
        await auth.get_user_by_req(request, allow_guest=True)
        limit: Optional[int] = parse_integer(request, "limit", 0)
        since = parse_string(request, "since")
        return 200, await _public_rooms(hs, server, limit or None, since, None)

    async def on_public_post(request: Any) -> Response:
        await auth.get_user_by_req(request, allow_guest=True)
        server = parse_string(request, "server")
        content = parse_json_object_from_request(request)
        # int() as Synapse (so "10" and 1.5 are accepted); what it rejects is a 400 here
        try:
            limit: Optional[int] = int(content.get("limit", 100))
        except (TypeError, ValueError, OverflowError):
            raise SynapseError(400, "Param 'limit' must be an integer", Codes.BAD_JSON) from None
        since = content.get("since")
        if since is not None and not isinstance(since, str):
            raise SynapseError(400, "Param 'since' must be a string, if given", Codes.BAD_JSON)
        if content.get("include_all_networks") and content.get("third_party_instance_id") is not None:
            raise SynapseError(400, "Can't use include_all_networks with an explicit network")
        return 200, await _public_rooms(hs, server, limit or None, since, content.get("filter"))

    patterns = client_patterns("/publicRooms$", v1=True)
    http_server.register_paths("GET", patterns, on_public_get, "PublicRoomListRestServlet")
    http_server.register_paths("POST", patterns, on_public_post, "PublicRoomListRestServlet")


async def _public_rooms(
    hs: "HomeServer", server: Optional[str], limit: Optional[int], since: Optional[str], search: Any
) -> JsonDict:
    if server and server != hs.server_name:
        from synapse_modhost.types import is_valid_server_name

        if not is_valid_server_name(server):
            raise SynapseError(400, "Invalid server name: %s" % (server,), Codes.INVALID_PARAM)
        # no federation: a remote server's list cannot be fetched
        raise SynapseError(502, "Failed to fetch room list")
    try:
        return await hs.directory.get_local_public_room_list(
            limit=limit, since_token=since, search_filter=search if isinstance(search, dict) else None
        )
    except ValueError:
        # the handler's "Invalid since token" (Synapse fails to decode it: a 500)
        raise SynapseError(400, "Invalid since token", Codes.INVALID_PARAM) from None
