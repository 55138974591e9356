"""The user admin API under ``/_synapse/admin`` (TRIGGERS.md §5, §7): shared-secret
registration, user details, creation and changes, the user list, the admin flag,
deactivation and password reset. Non-admins get 403 ``M_FORBIDDEN`` "You are not a
server admin"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import NotFoundError, SynapseError
from synapse_modhost.homeserver.rest._base import admin_patterns, check_int64_param
from synapse_modhost.storage._users import SORT_ORDERS
from synapse_modhost.types import UserID
from synapse_modhost.web import (
    assert_params_in_dict,
    parse_boolean,
    parse_integer,
    parse_json_object_from_request,
    parse_string,
    parse_strings_from_args,
)

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]

JsonDict = Dict[str, Any]
Response = Tuple[int, JsonDict]


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    auth = hs.auth

    def reg(method: str, path: str, callback: Any, name: str, version: str = "v1") -> None:
        http_server.register_paths(method, admin_patterns(path, version), callback, name)

    async def get_nonce(request: Any) -> Response:
        return 200, {"nonce": hs.registration.new_nonce()}

    async def shared_secret_register(request: Any) -> Response:
        hs.registration._clear_old_nonces()
        if not auth.settings.registration_shared_secret:
            raise SynapseError(400, "Shared secret registration is not enabled")
        body = parse_json_object_from_request(request)
        return 200, await hs.registration.register_with_shared_secret(body)

    def list_users(v3: bool) -> Any:
        async def on_get(request: Any) -> Response:
            await auth.get_admin_by_req(request)
            start = parse_integer(request, "from", default=0)
            limit = parse_integer(request, "limit", default=100)
            assert start is not None and limit is not None
            deactivated: Optional[bool]
            if v3:
                deactivated = parse_boolean(request, "deactivated")
            else:
                deactivated = None if parse_boolean(request, "deactivated") else False
            order_by = parse_string(request, "order_by", default="name", allowed_values=SORT_ORDERS)
            direction = parse_string(request, "dir", default="f", allowed_values=("f", "b"))
            user_id = parse_string(request, "user_id")
            name = parse_string(request, "name", encoding="utf-8")
            guests = parse_boolean(request, "guests", default=True)
            admins = parse_boolean(request, "admins")
            locked = parse_boolean(request, "locked", default=False)
            not_user_types = parse_strings_from_args(request.args, "not_user_type") or ()
            # after every parameter is parsed: beyond 64 bits Synapse's query fails (500)
            check_int64_param("from", start)
            check_int64_param("limit", limit)
            return 200, await hs.admin.list_users(
                start, limit,
                user_id=user_id, name=name, guests=guests, deactivated=deactivated,
                admins=admins, locked=locked, not_user_types=not_user_types,
                order_by=order_by or "name", descending=direction == "b",
            )  # fmt: skip

        return on_get

    async def get_user(request: Any, user_id: str) -> Response:
        await auth.get_admin_by_req(request)
        target = UserID.from_string(user_id)
        if target.domain != hs.server_name:
            raise SynapseError(400, "Can only look up local users")
        user = await hs.admin.get_user(target.to_string())
        if not user:
            raise NotFoundError("User not found")
        return 200, user

    async def put_user(request: Any, user_id: str) -> Response:
        requester = await auth.get_admin_by_req(request)
        target = UserID.from_string(user_id)
        body = parse_json_object_from_request(request)
        return await hs.admin.put_user(requester, target, body)

    async def get_admin(request: Any, user_id: str) -> Response:
        await auth.get_admin_by_req(request)
        target = UserID.from_string(user_id)
        if target.domain != hs.server_name:
            raise SynapseError(400, "Only local users can be admins of this homeserver")
        return 200, {"admin": await auth.is_server_admin(target.to_string())}

    async def put_admin(request: Any, user_id: str) -> Response:
        requester = await auth.get_admin_by_req(request)
        target = UserID.from_string(user_id)
        body = parse_json_object_from_request(request)
        assert_params_in_dict(body, ["admin"])
        if target.domain != hs.server_name:
            raise SynapseError(400, "Only local users can be admins of this homeserver")
        set_admin_to = bool(body["admin"])
        if target == requester.user and not set_admin_to:
            raise SynapseError(400, "You may not demote yourself.")
        await hs.user_store.set_admin(target.to_string(), set_admin_to)
        return 200, {}

    async def deactivate(request: Any, target_user_id: str) -> Response:
        requester = await auth.get_admin_by_req(request)
        if UserID.from_string(target_user_id).domain != hs.server_name:
            raise SynapseError(400, "Can only deactivate local users")
        if await hs.user_store.get_user(target_user_id) is None:
            raise NotFoundError("User not found")
        body = parse_json_object_from_request(request, allow_empty_body=True)
        erase = body.get("erase", False)
        if not isinstance(erase, bool):
            raise SynapseError(400, "Param 'erase' must be a boolean, if given", Codes.BAD_JSON)
        result = await hs.deactivation.deactivate_account(
            target_user_id, erase, requester, by_admin=True
        )
        return 200, {"id_server_unbind_result": "success" if result else "no-support"}

    async def reset_password(request: Any, target_user_id: str) -> Response:
        requester = await auth.get_admin_by_req(request)
        UserID.from_string(target_user_id)
        params = parse_json_object_from_request(request)
        assert_params_in_dict(params, ["new_password"])
        if not isinstance(params["new_password"], str):
            # Synapse answers 500 (its hasher fails on the value)
            raise SynapseError(400, "Param 'new_password' must be a string", Codes.BAD_JSON)
        password_hash = await auth.hasher.hash(params["new_password"])
        await hs.admin.set_password(
            target_user_id, password_hash, params.get("logout_devices", True), requester
        )
        return 200, {}

    reg("GET", "/register$", get_nonce, "UserRegisterServlet")
    reg("POST", "/register$", shared_secret_register, "UserRegisterServlet")
    reg("GET", "/users$", list_users(False), "UsersRestServletV2", "v2")
    reg("GET", "/users$", list_users(True), "UsersRestServletV3", "v3")
    reg("GET", "/users/(?P<user_id>[^/]*)$", get_user, "UserRestServletV2", "v2")
    reg("PUT", "/users/(?P<user_id>[^/]*)$", put_user, "UserRestServletV2", "v2")
    reg("GET", "/users/(?P<user_id>[^/]*)/admin$", get_admin, "UserAdminServlet")
    reg("PUT", "/users/(?P<user_id>[^/]*)/admin$", put_admin, "UserAdminServlet")
    reg("POST", "/deactivate/(?P<target_user_id>[^/]*)$", deactivate, "DeactivateAccountRestServlet")
    reg("POST", "/reset_password/(?P<target_user_id>[^/]*)$", reset_password,
        "ResetPasswordRestServlet")  # fmt: skip
