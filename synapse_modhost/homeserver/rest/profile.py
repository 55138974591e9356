"""``/profile/{userId}`` and its fields (TRIGGERS.md §3, §6).

``displayname`` and ``avatar_url`` answer on every client API version; custom fields
only on ``v3``, as in Synapse 1.163.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.homeserver.handlers.profile import check_field_name
from synapse_modhost.homeserver.rest._base import client_patterns
from synapse_modhost.types import Requester, UserID
from synapse_modhost.web import parse_json_object_from_request

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]

JsonDict = Dict[str, Any]
Response = Tuple[int, JsonDict]


def _check_user_id(user_id: str) -> UserID:
    if not UserID.is_valid(user_id):
        raise SynapseError(400, "Invalid user id", Codes.INVALID_PARAM)
    return UserID.from_string(user_id)


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    auth = hs.auth
    profiles = hs.profile

    async def lookup_requester(request: Any) -> Optional[Requester]:
        if auth.settings.require_auth_for_profile_requests:
            return await auth.get_user_by_req(request)
        return await auth.get_optional_user_by_req(request, allow_guest=True)

    async def get_profile(request: Any, user_id: str) -> Response:
        await lookup_requester(request)
        _check_user_id(user_id)
        return 200, await profiles.get_profile(user_id)

    async def get_field(request: Any, user_id: str, field_name: str) -> Response:
        await lookup_requester(request)
        _check_user_id(user_id)
        check_field_name(field_name)
        return 200, await profiles.get_field(user_id, field_name)

    async def _authorise(request: Any, user_id: str, field_name: str) -> Tuple[Requester, UserID, bool]:
        if not UserID.is_valid(user_id):
            raise SynapseError(400, "Invalid user id", Codes.INVALID_PARAM)
        requester = await auth.get_user_by_req(request, allow_guest=field_name == "displayname")
        user = UserID.from_string(user_id)
        is_admin = await auth.is_server_admin(requester)
        check_field_name(field_name)
        return requester, user, is_admin

    async def _check_not_suspended(requester: Requester) -> None:
        record = await hs.user_store.get_user(requester.user.to_string())
        if record is not None and record.suspended:
            raise SynapseError(
                403,
                "Updating profile while account is suspended is not allowed.",
                Codes.USER_ACCOUNT_SUSPENDED,
            )

    async def put_field(request: Any, user_id: str, field_name: str) -> Response:
        requester, user, is_admin = await _authorise(request, user_id, field_name)
        content = parse_json_object_from_request(request)
        try:
            new_value = content[field_name]
        except KeyError:
            raise SynapseError(400, f"Missing key '{field_name}'", Codes.MISSING_PARAM) from None
        await _check_not_suspended(requester)
        await profiles.set_field(user, requester, field_name, new_value, by_admin=is_admin)
        return 200, {}

    async def delete_field(request: Any, user_id: str, field_name: str) -> Response:
        requester, user, is_admin = await _authorise(request, user_id, field_name)
        await _check_not_suspended(requester)
        await profiles.delete_field(user, requester, field_name, by_admin=is_admin)
        return 200, {}

    field_patterns = [
        *client_patterns("/profile/(?P<user_id>[^/]*)/(?P<field_name>displayname)$", v1=True),
        *client_patterns("/profile/(?P<user_id>[^/]*)/(?P<field_name>avatar_url)$", v1=True),
        re.compile(r"^/_matrix/client/v3/profile/(?P<user_id>[^/]*)/(?P<field_name>[^/]*)$"),
    ]
    for method, callback in (("GET", get_field), ("PUT", put_field), ("DELETE", delete_field)):
        http_server.register_paths(method, field_patterns, callback, "ProfileFieldRestServlet")
    http_server.register_paths(
        "GET", client_patterns("/profile/(?P<user_id>[^/]*)$", v1=True), get_profile,
        "ProfileRestServlet",
    )  # fmt: skip
