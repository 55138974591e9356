"""Account data and room tags: ``GET``/``PUT /user/{userId}/account_data/{type}``,
``GET``/``PUT /user/{userId}/rooms/{roomId}/account_data/{type}``,
``GET /user/{userId}/rooms/{roomId}/tags``, ``PUT``/``DELETE .../tags/{tag}``.

Checks in Synapse's order and texts: the requester must be the user (403), the room ID
must be valid (400), ``m.fully_read`` and ``m.push_rules`` cannot be set here (405), the
body must be a JSON object. ``GET m.push_rules`` answers 404 (the stand-in has no push
rules; Synapse returns the user's rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple

from synapse_modhost.errors import AuthError, NotFoundError, SynapseError
from synapse_modhost.homeserver.rest._base import client_patterns
from synapse_modhost.types import RoomID
from synapse_modhost.web import parse_json_object_from_request

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]

JsonDict = Dict[str, Any]


def _check_can_set_account_data_type(account_data_type: str) -> None:
    if account_data_type == "m.fully_read":
        raise SynapseError(
            405,
            "Cannot set m.fully_read through this API. Use /rooms/!roomId:server.name/read_markers",
            "M_BAD_JSON",
        )
    if account_data_type == "m.push_rules":
        raise SynapseError(
            405, "Cannot set m.push_rules through this API. Use /pushrules", "M_BAD_JSON"
        )


def _check_room_id(room_id: str) -> None:
    if not RoomID.is_valid(room_id):
        raise SynapseError(400, f"{room_id} is not a valid room ID", "M_INVALID_PARAM")


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    """The account data and tag endpoints."""

    async def requester_is(request: Any, user_id: str, action: str) -> None:
        requester = await hs.auth.get_user_by_req(request)
        if user_id != requester.user.to_string():
            raise AuthError(403, f"Cannot {action} for other users.")

    async def put_global(
        request: Any, user_id: str, account_data_type: str
    ) -> Tuple[int, JsonDict]:
        await requester_is(request, user_id, "add account data")
        _check_can_set_account_data_type(account_data_type)
        body = parse_json_object_from_request(request)
        await hs.account_data.add_account_data_for_user(user_id, account_data_type, body)
        return 200, {}

    async def get_global(
        request: Any, user_id: str, account_data_type: str
    ) -> Tuple[int, JsonDict]:
        await requester_is(request, user_id, "get account data")
        content = await hs.account_data.get_global(user_id, account_data_type)
        if content is None:
            raise NotFoundError("Account data not found")
        return 200, content

    async def put_room(
        request: Any, user_id: str, room_id: str, account_data_type: str
    ) -> Tuple[int, JsonDict]:
        await requester_is(request, user_id, "add account data")
        _check_room_id(room_id)
        _check_can_set_account_data_type(account_data_type)
        body = parse_json_object_from_request(request)
        await hs.account_data.add_account_data_to_room(user_id, room_id, account_data_type, body)
        return 200, {}

    async def get_room(
        request: Any, user_id: str, room_id: str, account_data_type: str
    ) -> Tuple[int, JsonDict]:
        await requester_is(request, user_id, "get account data")
        _check_room_id(room_id)
        if account_data_type == "m.push_rules":
            return 200, {}
        content = await hs.account_data.get_for_room(user_id, room_id, account_data_type)
        if content is None:
            raise NotFoundError("Room account data not found")
        return 200, content

    async def get_tags(request: Any, user_id: str, room_id: str) -> Tuple[int, JsonDict]:
        await requester_is(request, user_id, "get tags")
        return 200, {"tags": await hs.account_data.get_tags_for_room(user_id, room_id)}

    async def put_tag(request: Any, user_id: str, room_id: str, tag: str) -> Tuple[int, JsonDict]:
        await requester_is(request, user_id, "add tags")
        await hs.account_data.check_can_tag(user_id, room_id, tag)
        body = parse_json_object_from_request(request)
        await hs.account_data.add_tag_to_room(user_id, room_id, tag, body)
        return 200, {}

    async def delete_tag(
        request: Any, user_id: str, room_id: str, tag: str
    ) -> Tuple[int, JsonDict]:
        await requester_is(request, user_id, "add tags")
        await hs.account_data.remove_tag_from_room(user_id, room_id, tag)
        return 200, {}

    global_path = client_patterns(
        "/user/(?P<user_id>[^/]*)/account_data/(?P<account_data_type>[^/]*)$"
    )
    room_path = client_patterns(
        "/user/(?P<user_id>[^/]*)/rooms/(?P<room_id>[^/]*)/account_data/(?P<account_data_type>[^/]*)$"
    )
    tags_path = client_patterns("/user/(?P<user_id>[^/]*)/rooms/(?P<room_id>[^/]*)/tags$")
    tag_path = client_patterns(
        "/user/(?P<user_id>[^/]*)/rooms/(?P<room_id>[^/]*)/tags/(?P<tag>[^/]*)$"
    )
    http_server.register_paths("PUT", global_path, put_global, "AccountDataServlet")
    http_server.register_paths("GET", global_path, get_global, "AccountDataServlet")
    http_server.register_paths("PUT", room_path, put_room, "RoomAccountDataServlet")
    http_server.register_paths("GET", room_path, get_room, "RoomAccountDataServlet")
    http_server.register_paths("GET", tags_path, get_tags, "TagListServlet")
    http_server.register_paths("PUT", tag_path, put_tag, "TagServlet")
    http_server.register_paths("DELETE", tag_path, delete_tag, "TagServlet")
