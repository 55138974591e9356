"""``/account/*`` and ``/devices``: whoami, third-party ids, deactivation, password,
devices (TRIGGERS.md §5, §7).

Bodies Synapse validates with pydantic models are checked here with the same error
texts (:func:`validate_body`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Sequence, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import NotFoundError, SynapseError
from synapse_modhost.homeserver.handlers.auth import InteractiveAuthIncompleteError, client_info
from synapse_modhost.homeserver.handlers.threepids import validate_email
from synapse_modhost.homeserver.rest._base import client_patterns
from synapse_modhost.web import assert_params_in_dict, parse_json_object_from_request

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets", "validate_body"]

JsonDict = Dict[str, Any]
Response = Tuple[int, JsonDict]

_PYDANTIC_DOCS = "https://errors.pydantic.dev/2.14/v/"
_SECRET = re.compile(r"^[0-9a-zA-Z.=_-]+$")
_SECRET_PATTERN = "^[0-9a-zA-Z.=_-]+$"

# ---------------------------------------------------------------------- body validation


def _repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 50 else text[:25] + "..." + text[-24:]


def _check(kind: Any, value: Any, loc: str) -> List[Tuple[str, str, str, Any]]:
    """Errors ``(loc, type, message, input)`` for one field value."""
    if isinstance(kind, tuple):  # ("literal", choices)
        choices = kind[1]
        if value in choices and isinstance(value, str):
            return []
        quoted = ["'%s'" % c for c in choices]
        text = " or ".join([", ".join(quoted[:-1]), quoted[-1]]) if len(quoted) > 1 else quoted[0]
        return [(loc, "literal_error", "Input should be " + text, value)]
    if kind in ("str", "str?", "secret", "password"):
        if kind in ("str?", "password") and value is None:
            return []
        if not isinstance(value, str):
            return [(loc, "string_type", "Input should be a valid string", value)]
        if kind == "password" and len(value) > 512:
            return [(loc, "string_too_long", "String should have at most 512 characters", value)]
        if kind == "secret":
            if not value:
                return [(loc, "string_too_short", "String should have at least 1 character", value)]
            if len(value) > 255:
                return [(loc, "string_too_long", "String should have at most 255 characters", value)]
            if not _SECRET.match(value):
                return [(loc, "string_pattern_mismatch",
                         "String should match pattern '%s'" % _SECRET_PATTERN, value)]  # fmt: skip
        return []
    if kind == "bool":
        return [] if isinstance(value, bool) else [(loc, "bool_type", "Input should be a valid boolean", value)]
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return []
        return [(loc, "int_type", "Input should be a valid integer", value)]
    if kind == "email":
        if not isinstance(value, str):
            return [(loc, "string_type", "Input should be a valid string", value)]
        try:
            validate_email(value)
        except ValueError as e:
            return [(loc, "value_error", "Value error, %s" % e, value)]
        return []
    if kind == "auth":
        if value is None:
            return []
        if not isinstance(value, dict):
            return [(loc, "model_type",
                     "Input should be a valid dictionary or instance of AuthenticationData", value)]  # fmt: skip
        errors = []
        for key in ("session", "type"):
            errors += _check("str?", value.get(key), "%s.%s" % (loc, key))
        return errors
    if kind == "list_str":
        if not isinstance(value, list):
            return [(loc, "list_type", "Input should be a valid list", value)]
        return [e for i, v in enumerate(value) for e in _check("str", v, "%s.%d" % (loc, i))]
    raise ValueError(kind)


def validate_body(model: str, body: JsonDict, fields: Sequence[Tuple[str, Any, bool]]) -> None:
    """400 with pydantic's text when ``body`` does not fit ``fields``
    (``(name, kind, required)``); ``M_MISSING_PARAM`` for one missing field,
    ``M_INVALID_PARAM`` for one ``value_error``, else ``M_BAD_JSON``."""
    errors: List[Tuple[str, str, str, Any]] = []
    for name, kind, required in fields:
        if name not in body:
            if required:
                errors.append((name, "missing", "Field required", body))
            continue
        errors += _check(kind, body[name], name)
    if not errors:
        return
    count = len(errors)
    lines = ["%d validation error%s for %s" % (count, "" if count == 1 else "s", model)]
    for loc, err_type, message, value in errors:
        lines.append(loc)
        lines.append("  %s [type=%s, input_value=%s, input_type=%s]"
                     % (message, err_type, _repr(value), type(value).__name__))  # fmt: skip
        lines.append("    For further information visit %s%s" % (_PYDANTIC_DOCS, err_type))
    errcode = Codes.BAD_JSON
    if count == 1 and errors[0][1] == "missing":
        errcode = Codes.MISSING_PARAM
    elif count == 1 and errors[0][1] == "value_error":
        errcode = Codes.INVALID_PARAM
    raise SynapseError(400, "\n".join(lines), errcode)


_REQUEST_TOKEN_FIELDS = (
    ("client_secret", "secret", True),
    ("id_server", "str?", False),
    ("id_access_token", "str?", False),
    ("next_link", "str?", False),
    ("send_attempt", "int", True),
    ("email", "email", True),
)


async def request_email_token(hs: "HomeServer", kind: str, request: Any) -> JsonDict:
    """The body checks and handler call of both email ``requestToken`` endpoints."""
    body = parse_json_object_from_request(request)
    validate_body("EmailRequestTokenBody", body, _REQUEST_TOKEN_FIELDS)
    email = validate_email(body["email"])
    return await hs.threepids.request_email_token(
        kind, body["client_secret"], email, body["send_attempt"]
    )


# ---------------------------------------------------------------------- servlets


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    auth = hs.auth
    settings = auth.settings

    def reg(method: str, path: str, callback: Any, name: str, **kw: Any) -> None:
        http_server.register_paths(method, client_patterns(path, **kw), callback, name)

    def check_3pid_changes() -> None:
        if not settings.enable_3pid_changes:
            raise SynapseError(400, "3PID changes are disabled on this server", Codes.FORBIDDEN)

    async def whoami(request: Any) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        response: JsonDict = {"user_id": requester.user.to_string(), "is_guest": bool(requester.is_guest)}
        if requester.device_id is not None:
            response["device_id"] = requester.device_id
        return 200, response

    async def get_threepids(request: Any) -> Response:
        requester = await auth.get_user_by_req(request)
        return 200, {"threepids": await hs.threepids.get_threepids(requester.user.to_string())}

    async def post_threepid(request: Any) -> Response:
        check_3pid_changes()
        requester = await auth.get_user_by_req(request)
        body = parse_json_object_from_request(request)
        creds = body.get("threePidCreds") or body.get("three_pid_creds")
        if creds is None:
            raise SynapseError(400, "Missing param three_pid_creds", Codes.MISSING_PARAM)
        if not isinstance(creds, dict):  # Synapse: a 500 for most other values
            raise SynapseError(400, "Param 'three_pid_creds' must be a JSON object", Codes.BAD_JSON)
        assert_params_in_dict(creds, ["client_secret", "sid"])
        _assert_valid_client_secret(creds["client_secret"])
        if not isinstance(creds["sid"], str):
            raise SynapseError(400, "Param 'sid' must be a string", Codes.BAD_JSON)
        await hs.threepids.add_from_session(
            requester.user.to_string(), creds["client_secret"], creds["sid"], creds
        )
        return 200, {}

    async def add_threepid(request: Any) -> Response:
        check_3pid_changes()
        requester = await auth.get_user_by_req(request)
        body = parse_json_object_from_request(request)
        validate_body("PostBody", body, (("auth", "auth", False), ("client_secret", "secret", True),
                                         ("sid", "str", True)))  # fmt: skip
        extra = _pick(body, ("medium", "address"))
        params = _pick(body, ("auth", "client_secret", "sid"))
        try:
            await auth.uia.validate_user_via_ui_auth(
                requester, client_info(request), params, "add a third-party identifier to your account"
            )
        except InteractiveAuthIncompleteError as e:
            return 401, e.result
        await hs.threepids.add_from_session(
            requester.user.to_string(), body["client_secret"], body["sid"], extra
        )
        return 200, {}

    async def delete_threepid(request: Any) -> Response:
        check_3pid_changes()
        body = parse_json_object_from_request(request)
        validate_body("PostBody", body, (("address", "str", True), ("id_server", "str?", False),
                                         ("medium", ("literal", ("email", "msisdn")), True)))  # fmt: skip
        requester = await auth.get_user_by_req(request)
        user_id = requester.user.to_string()
        unbound = await hs.threepids.try_unbind_threepid(
            user_id, body["medium"], body["address"], body.get("id_server")
        )
        await hs.threepids.delete_local_threepid(user_id, body["medium"], body["address"])
        return 200, {"id_server_unbind_result": "success" if unbound else "no-support"}

    async def email_request_token(request: Any) -> Response:
        check_3pid_changes()
        if not settings.can_verify_email:
            raise SynapseError(400, "Adding an email to your account is disabled on this server",
                               Codes.THREEPID_MEDIUM_NOT_SUPPORTED)  # fmt: skip
        return 200, await request_email_token(hs, "account", request)

    async def msisdn_request_token(request: Any) -> Response:
        raise SynapseError(
            400,
            "Adding phone numbers to user account is not supported by this homeserver",
            Codes.THREEPID_MEDIUM_NOT_SUPPORTED,
        )

    async def deactivate(request: Any) -> Response:
        body = parse_json_object_from_request(request)
        validate_body("PostBody", body, (("auth", "auth", False), ("id_server", "str?", False),
                                         ("erase", "bool", False)))  # fmt: skip
        requester = await auth.get_user_by_req(request)
        params = _pick(body, ("auth", "id_server", "erase"))
        try:
            await auth.uia.validate_user_via_ui_auth(
                requester, client_info(request), params, "deactivate your account"
            )
        except InteractiveAuthIncompleteError as e:
            return 401, e.result
        result = await hs.deactivation.deactivate_account(
            requester.user.to_string(), body.get("erase", False), requester,
            id_server=body.get("id_server"),
        )  # fmt: skip
        return 200, {"id_server_unbind_result": "success" if result else "no-support"}

    async def change_password(request: Any) -> Response:
        body = parse_json_object_from_request(request)
        validate_body("PostBody", body, (("auth", "auth", False), ("logout_devices", "bool", False),
                                         ("new_password", "password", False)))  # fmt: skip
        requester = await auth.get_user_by_req(request)
        params = _pick(body, ("auth", "logout_devices", "new_password"))
        new_password = body.get("new_password")
        uia = auth.uia
        try:
            _, session_id = await uia.validate_user_via_ui_auth(
                requester, client_info(request), params, "modify your account password"
            )
        except InteractiveAuthIncompleteError as e:
            if new_password:
                uia.set_session_data(e.session_id, "new_password_hash",
                                     await auth.hasher.hash(new_password))  # fmt: skip
            return 401, e.result
        if new_password:
            password_hash = await auth.hasher.hash(new_password)
        elif session_id is not None and uia.get_session_data(session_id, "new_password_hash"):
            password_hash = uia.get_session_data(session_id, "new_password_hash")
        else:
            raise SynapseError(400, "Missing params: password", Codes.MISSING_PARAM)
        await hs.admin.set_password(requester.user.to_string(), password_hash,
                                    body.get("logout_devices", True), requester)  # fmt: skip
        return 200, {}

    async def get_devices(request: Any) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        return 200, {"devices": await hs.login.get_devices(requester.user.to_string())}

    async def get_device(request: Any, device_id: str) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        device = await hs.login.get_device(requester.user.to_string(), device_id)
        if device is None:
            raise NotFoundError()
        return 200, device

    async def put_device(request: Any, device_id: str) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        body = parse_json_object_from_request(request)
        validate_body("PutBody", body, (("display_name", "str?", False),))
        await hs.login.update_device(requester.user.to_string(), device_id, body)
        return 200, {}

    async def _delete(request: Any, model: str, fields: Any, description: str) -> Any:
        requester = await auth.get_user_by_req(request)
        try:
            body = parse_json_object_from_request(request)
        except SynapseError as e:
            if e.errcode != Codes.NOT_JSON:
                raise
            body = {}
        validate_body(model, body, fields)
        params = {k: v for k, v in body.items() if k in dict((f[0], 1) for f in fields)}
        await auth.uia.validate_user_via_ui_auth(
            requester, client_info(request), params, description, can_skip_ui_auth=True
        )
        return requester, body

    async def delete_device(request: Any, device_id: str) -> Response:
        try:
            requester, _ = await _delete(request, "DeleteBody", (("auth", "auth", False),),
                                         "remove a device from your account")  # fmt: skip
        except InteractiveAuthIncompleteError as e:
            return 401, e.result
        await hs.login.delete_devices(requester.user.to_string(), [device_id])
        return 200, {}

    async def delete_devices(request: Any) -> Response:
        try:
            requester, body = await _delete(
                request, "PostBody", (("auth", "auth", False), ("devices", "list_str", True)),
                "remove device(s) from your account",
            )  # fmt: skip
        except InteractiveAuthIncompleteError as e:
            return 401, e.result
        await hs.login.delete_devices(requester.user.to_string(), body["devices"])
        return 200, {}

    reg("GET", "/account/whoami$", whoami, "WhoamiRestServlet")
    reg("GET", "/account/3pid$", get_threepids, "ThreepidRestServlet")
    reg("POST", "/account/3pid$", post_threepid, "ThreepidRestServlet")
    reg("POST", "/account/3pid/add$", add_threepid, "ThreepidAddRestServlet")
    reg("POST", "/account/3pid/delete$", delete_threepid, "ThreepidDeleteRestServlet")
    reg("POST", "/account/3pid/email/requestToken$", email_request_token,
        "EmailThreepidRequestTokenRestServlet")  # fmt: skip
    reg("POST", "/account/3pid/msisdn/requestToken$", msisdn_request_token,
        "MsisdnThreepidRequestTokenRestServlet")  # fmt: skip
    reg("POST", "/account/deactivate$", deactivate, "DeactivateAccountRestServlet")
    reg("POST", "/account/password$", change_password, "PasswordRestServlet")
    reg("GET", "/devices$", get_devices, "DevicesRestServlet")
    reg("POST", "/delete_devices$", delete_devices, "DeleteDevicesRestServlet")
    reg("GET", "/devices/(?P<device_id>[^/]*)$", get_device, "DeviceRestServlet")
    reg("PUT", "/devices/(?P<device_id>[^/]*)$", put_device, "DeviceRestServlet")
    reg("DELETE", "/devices/(?P<device_id>[^/]*)$", delete_device, "DeviceRestServlet")


def _pick(body: JsonDict, keys: Sequence[str]) -> JsonDict:
    return {k: body[k] for k in keys if k in body}


def _assert_valid_client_secret(client_secret: Any) -> None:
    if (
        not isinstance(client_secret, str)
        or not 0 < len(client_secret) <= 255
        or not _SECRET.match(client_secret)
    ):
        raise SynapseError(400, "Invalid client_secret parameter", Codes.INVALID_PARAM)
