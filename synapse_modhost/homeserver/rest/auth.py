"""``/login``, ``/logout``, ``/register`` (TRIGGERS.md §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import InvalidClientTokenError, SynapseError, UnrecognizedRequestError
from synapse_modhost.homeserver.handlers.auth import (
    InteractiveAuthIncompleteError,
    client_info,
    get_access_token_from_request,
    has_access_token,
)
from synapse_modhost.homeserver.handlers.login import phone_number_to_msisdn
from synapse_modhost.homeserver.handlers.threepids import validate_email
from synapse_modhost.homeserver.rest._base import client_patterns
from synapse_modhost.homeserver.rest.account import _assert_valid_client_secret, validate_body
from synapse_modhost.web import assert_params_in_dict, parse_json_object_from_request, parse_string

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]

JsonDict = Dict[str, Any]
Response = Tuple[int, JsonDict]


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    auth = hs.auth
    settings = auth.settings

    def reg(method: str, path: str, callback: Any, name: str, **kw: Any) -> None:
        http_server.register_paths(method, client_patterns(path, **kw), callback, name)

    async def get_login(request: Any) -> Response:
        return 200, {"flows": hs.login.get_login_flows()}

    async def post_login(request: Any) -> Response:
        submission = parse_json_object_from_request(request)
        if submission.get("type") == "m.login.application_service":
            requester = await auth.get_user_by_req(request)
            if requester.app_service_id is None:
                raise InvalidClientTokenError("This login method is only valid for application services")
        info = request.request_info()
        return 200, await hs.login.login(submission, info.user_agent, info.ip)

    async def logout(request: Any) -> Response:
        requester = await auth.get_user_by_req(request, allow_expired=True, allow_locked=True)
        if requester.device_id is None:
            await hs.login.delete_access_token(get_access_token_from_request(request))
        else:
            await hs.login.delete_devices(requester.user.to_string(), [requester.device_id])
        return 200, {}

    async def logout_all(request: Any) -> Response:
        requester = await auth.get_user_by_req(request, allow_expired=True, allow_locked=True)
        user_id = requester.user.to_string()
        await hs.login.delete_all_devices_for_user(user_id)
        await hs.login.delete_access_tokens_for_user(user_id)
        return 200, {}

    async def register(request: Any) -> Response:
        body = parse_json_object_from_request(request)
        validate_body("UserInteractiveAuthBody", body, (("auth", "auth", False),))
        kind = parse_string(request, "kind", default="user")
        if kind == "guest":
            return 200, await hs.registration.register_guest(body)
        if kind != "user":
            raise UnrecognizedRequestError(f"Do not understand membership kind: {kind}")
        try:
            result = await hs.registration.register(
                body, client_info(request), has_access_token(request)
            )
        except InteractiveAuthIncompleteError as e:
            return 401, e.result
        return 200, result

    async def available(request: Any) -> Response:
        if not settings.enable_registration:
            raise SynapseError(403, "Registration has been disabled", Codes.FORBIDDEN)
        if settings.inhibit_user_in_use_error:
            return 200, {"available": True}
        username = parse_string(request, "username", required=True)
        assert username is not None
        await hs.registration.check_username(username)
        return 200, {"available": True}

    async def email_request_token(request: Any) -> Response:
        if not settings.can_verify_email:
            raise SynapseError(400, "Email-based registration has been disabled on this server")
        if not settings.enable_registration:
            raise SynapseError(403, "Registration is disabled on this homeserver", Codes.FORBIDDEN)
        body = parse_json_object_from_request(request)
        assert_params_in_dict(body, ["client_secret", "email", "send_attempt"])
        _assert_valid_client_secret(body["client_secret"])
        if not isinstance(body["email"], str):  # Synapse: 500
            raise SynapseError(400, "Param 'email' must be a string", Codes.BAD_JSON)
        try:
            email = validate_email(body["email"])
        except ValueError as e:
            raise SynapseError(400, str(e)) from None
        return 200, await hs.threepids.request_email_token(
            "register", body["client_secret"], email, body["send_attempt"]
        )

    async def msisdn_request_token(request: Any) -> Response:
        body = parse_json_object_from_request(request)
        assert_params_in_dict(body, ["client_secret", "country", "phone_number", "send_attempt"])
        _assert_valid_client_secret(body["client_secret"])
        msisdn = phone_number_to_msisdn(body["country"], body["phone_number"])
        return 200, await hs.threepids.request_msisdn_registration_token(msisdn)

    reg("GET", "/login$", get_login, "LoginRestServlet", v1=True)
    reg("POST", "/login$", post_login, "LoginRestServlet", v1=True)
    reg("POST", "/logout$", logout, "LogoutRestServlet", v1=True)
    reg("POST", "/logout/all$", logout_all, "LogoutAllRestServlet", v1=True)
    reg("POST", "/register$", register, "RegisterRestServlet")
    reg("GET", "/register/available$", available, "UsernameAvailabilityRestServlet")
    reg("POST", "/register/email/requestToken$", email_request_token,
        "EmailRegisterRequestTokenRestServlet")  # fmt: skip
    reg("POST", "/register/msisdn/requestToken$", msisdn_request_token,
        "MsisdnRegisterRequestTokenRestServlet")  # fmt: skip
