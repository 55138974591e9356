"""Membership servlets (``/join/{roomIdOrAlias}``, ``/rooms/{roomId}/{join,invite,leave,
ban,unban,kick}``, ``/forget``) and member lists (``/members``, ``/joined_members``), as
Synapse's ``rest/client/room.py``. Registered by ``rest/rooms.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, ShadowBanError, SynapseError
from synapse_modhost.homeserver.handlers._txn_cache import HttpTransactionCache
from synapse_modhost.homeserver.handlers.state import get_state_handler
from synapse_modhost.homeserver.rest._base import client_patterns
from synapse_modhost.types import Requester, RoomAlias, RoomID, UserID
from synapse_modhost.web._servlet import (
    assert_params_in_dict,
    parse_json_object_from_request,
    parse_string,
    parse_strings_from_args,
)

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]

JsonDict = Dict[str, Any]
Response = Tuple[int, Any]


async def resolve_room_id(
    hs: "HomeServer", room_identifier: str, remote_room_hosts: Optional[List[str]]
) -> Tuple[str, Optional[List[str]]]:
    """A room ID or alias → ``(room ID, servers)`` (Synapse's ``ResolveRoomIdMixin``)."""
    if RoomID.is_valid(room_identifier):
        return room_identifier, remote_room_hosts
    if RoomAlias.is_valid(room_identifier):
        room_id, hosts = await hs.membership.lookup_room_alias(RoomAlias.from_string(room_identifier))
        return room_id.to_string(), hosts
    raise SynapseError(400, "%s was not legal room ID or room alias" % (room_identifier,))


def register_servlets(hs: "HomeServer", http_server: Any, txns: HttpTransactionCache) -> None:
    from synapse_modhost.homeserver.rest.rooms import (
        _path,
        register_txn_handler,
        register_txn_path,
    )

    auth = hs.auth
    state_handler = get_state_handler(hs)

    # ------------------------------------------------------------------ /join/{roomIdOrAlias}

    async def join(request: Any, requester: Requester, room_identifier: str, txn_id: Optional[str]) -> Response:
        content = parse_json_object_from_request(request, allow_empty_body=True)
        args = request.args or {}
        hosts = parse_strings_from_args(args, "via", required=False)
        if hosts is None:
            hosts = parse_strings_from_args(args, "server_name", required=False)
        room_id, hosts = await resolve_room_id(hs, room_identifier, hosts)
        await hs.membership.update_membership(
            requester, requester.user_id, room_id, "join",
            txn_id=txn_id, remote_room_hosts=hosts, content=content,
        )  # fmt: skip
        return 200, {"room_id": room_id}

    register_txn_handler(
        http_server,
        hs,
        txns,
        "/join/(?P<room_identifier>[^/]*)",
        join,
        "JoinRoomAliasServlet",
        allow_guest=True,
    )

    # ------------------------------------------------------------------ /rooms/{roomId}/{action}

    async def membership(
        request: Any, requester: Requester, room_id: str, membership_action: str, txn_id: Optional[str]
    ) -> Response:
        if requester.is_guest and membership_action not in ("join", "leave"):
            raise AuthError(403, "Guest access not allowed")
        body = parse_json_object_from_request(request, allow_empty_body=True)
        if membership_action == "invite" and all(k in body for k in ("medium", "address")):
            if not all(k in body for k in ("id_server", "id_access_token")):
                raise SynapseError(
                    400,
                    "`id_server` and `id_access_token` are required when doing 3pid invite",
                    Codes.MISSING_PARAM,
                )
            for key in ("medium", "address", "id_server", "id_access_token"):
                if not isinstance(body[key], str):  # Synapse: a 500 for some
                    raise SynapseError(400, "`%s` must be a string" % (key,), Codes.BAD_JSON)
            try:
                await hs.membership.do_3pid_invite(
                    room_id, requester, body["medium"], body["address"], body["id_server"],
                    body["id_access_token"], txn_id=txn_id,
                )  # fmt: skip
            except ShadowBanError:
                pass
            return 200, {}
        target = requester.user_id
        if membership_action in ("invite", "ban", "unban", "kick"):
            assert_params_in_dict(body, ["user_id"])
            target = UserID.from_string(body["user_id"]).to_string()
        content = {"reason": body["reason"]} if "reason" in body else None
        try:
            await hs.membership.update_membership(
                requester, target, room_id, membership_action, txn_id=txn_id, content=content
            )
        except ShadowBanError:
            pass
        return 200, ({"room_id": room_id} if membership_action == "join" else {})

    register_txn_handler(
        http_server,
        hs,
        txns,
        "/rooms/(?P<room_id>[^/]*)/(?P<membership_action>join|invite|leave|ban|unban|kick)",
        membership,
        "RoomMembershipRestServlet",
        allow_guest=True,
    )

    # ------------------------------------------------------------------ /forget

    async def forget(requester: Requester, room_id: str) -> Response:
        await hs.membership.forget(requester.user_id, room_id)
        return 200, {}

    async def on_forget_post(request: Any, room_id: str) -> Response:
        requester = await auth.get_user_by_req(request)
        return await forget(requester, room_id)

    async def on_forget_put(request: Any, room_id: str, txn_id: str) -> Response:
        requester = await auth.get_user_by_req(request)
        return await txns.fetch_or_execute(_path(request), requester, forget, requester, room_id)

    register_txn_path(
        http_server, "/rooms/(?P<room_id>[^/]*)/forget", on_forget_post, on_forget_put, "RoomForgetRestServlet"
    )

    # ------------------------------------------------------------------ member lists

    async def on_members(request: Any, room_id: str) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        membership_filter = parse_string(request, "membership")
        not_membership = parse_string(request, "not_membership")
        chunk = await state_handler.get_members(requester, room_id, membership_filter, not_membership)
        return 200, {"chunk": chunk}

    http_server.register_paths(
        "GET",
        client_patterns("/rooms/(?P<room_id>[^/]*)/members$", v1=True),
        on_members,
        "RoomMemberListRestServlet",
    )

    async def on_joined_members(request: Any, room_id: str) -> Response:
        requester = await auth.get_user_by_req(request)
        return 200, {"joined": await state_handler.get_joined_members(requester, room_id)}

    http_server.register_paths(
        "GET",
        client_patterns("/rooms/(?P<room_id>[^/]*)/joined_members$", v1=True),
        on_joined_members,
        "JoinedRoomMemberListRestServlet",
    )
