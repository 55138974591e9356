"""Admin room servlets: ``DELETE /_synapse/admin/v1/rooms/{roomId}`` (shutdown and purge,
answered when done), ``DELETE /_synapse/admin/v2/rooms/{roomId}`` (a background task:
``{"delete_id"}``) and the v2 ``delete_status`` reads, as Synapse's
``rest/admin/rooms.py``. The task list lives in memory. A body field of the wrong type
(``new_room_user_id``, ``room_name`` or ``message`` not a string) is 400 ``M_BAD_JSON``
before anything is done (Synapse answers 500 for a ``new_room_user_id`` that is not a
string)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import NotFoundError, SynapseError
from synapse_modhost.homeserver.handlers._room_shutdown import get_shutdown_handler
from synapse_modhost.homeserver.rest._base import admin_patterns
from synapse_modhost.types import RoomID
from synapse_modhost.web._servlet import parse_json_object_from_request

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]

JsonDict = Dict[str, Any]
Response = Tuple[int, Any]


def _bool_param(content: JsonDict, name: str, default: bool) -> bool:
    value = content.get(name, default)
    if not isinstance(value, bool):
        raise SynapseError(400, "Param '%s' must be a boolean, if given" % (name,), Codes.BAD_JSON)
    return value


def _optional_string_param(content: JsonDict, name: str) -> Optional[str]:
    value = content.get(name)
    if value is not None and not isinstance(value, str):
        raise SynapseError(400, "Param '%s' must be a string, if given" % (name,), Codes.BAD_JSON)
    return value


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    auth = hs.auth
    shutdown = get_shutdown_handler(hs)

    async def parse(request: Any) -> Tuple[str, JsonDict]:
        requester = await auth.get_user_by_req(request)
        await auth.assert_user_is_admin(requester)
        content = parse_json_object_from_request(request)
        params = {
            "block": _bool_param(content, "block", False),
            "purge": _bool_param(content, "purge", True),
            "force_purge": _bool_param(content, "force_purge", False),
            "new_room_user_id": _optional_string_param(content, "new_room_user_id"),
            "new_room_name": _optional_string_param(content, "room_name"),
            "message": _optional_string_param(content, "message"),
            "requester_user_id": requester.user_id,
        }
        return requester.user_id, params

    async def on_delete_v1(request: Any, room_id: str) -> Response:
        _, params = await parse(request)
        result = await shutdown.shutdown_room(room_id, params)
        if params["purge"]:
            await shutdown.purge_room(room_id, force=params["force_purge"])
        return 200, result

    async def on_delete_v2(request: Any, room_id: str) -> Response:
        user_id, params = await parse(request)
        if not RoomID.is_valid(room_id):
            raise SynapseError(400, "%s is not a legal room ID" % (room_id,))
        if not await hs.callbacks.third_party_rules.check_can_shutdown_room(user_id, room_id):
            raise SynapseError(403, "Shutdown of this room is forbidden", Codes.FORBIDDEN)
        return 200, {"delete_id": shutdown.start_shutdown_and_purge_room(room_id, params)}

    http_server.register_paths(
        "DELETE", admin_patterns("/rooms/(?P<room_id>[^/]*)$"), on_delete_v1, "RoomRestServlet"
    )
    http_server.register_paths(
        "DELETE", admin_patterns("/rooms/(?P<room_id>[^/]*)$", "v2"), on_delete_v2, "RoomRestV2Servlet"
    )

    async def on_status_by_room(request: Any, room_id: str) -> Response:
        await auth.get_admin_by_req(request)
        if not RoomID.is_valid(room_id):
            raise SynapseError(400, "%s is not a legal room ID" % (room_id,))
        tasks = shutdown.get_delete_tasks_by_room(room_id)
        if not tasks:
            raise NotFoundError("No delete task for room_id '%s' found" % (room_id,))
        return 200, {"results": [t.response() for t in tasks]}

    async def on_status_by_id(request: Any, delete_id: str) -> Response:
        await auth.get_admin_by_req(request)
        task = shutdown.get_delete_task(delete_id)
        if task is None:
            raise NotFoundError("delete id '%s' not found" % (delete_id,))
        return 200, task.response()

    http_server.register_paths(
        "GET",
        admin_patterns("/rooms/(?P<room_id>[^/]*)/delete_status$", "v2"),
        on_status_by_room,
        "DeleteRoomStatusByRoomIdRestServlet",
    )
    http_server.register_paths(
        "GET",
        admin_patterns("/rooms/delete_status/(?P<delete_id>[^/]*)$", "v2"),
        on_status_by_id,
        "DeleteRoomStatusByDeleteIdRestServlet",
    )
