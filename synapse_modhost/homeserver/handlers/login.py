"""Logging in and out: credentials, devices and access tokens (TRIGGERS.md §5).

``POST /login`` runs, as Synapse does: ``validate_login`` (module ``auth_checkers`` for
registered types, ``check_3pid_auth`` for third-party identifiers with a password, the
local password database last), then ``check_login_for_spam``, the device and token,
``on_user_login`` and the auth checker's ``post_login``. Deleting tokens (logout, device
deletion, deactivation, password changes) fires ``on_logged_out`` once per token, in the
order the tokens were created.
"""

from __future__ import annotations

import base64
import logging
import secrets
import string
import zlib
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Collection, Dict, List, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, InvalidClientTokenError, NotFoundError, SynapseError
from synapse_modhost.homeserver.handlers.auth import (
    LoginError,
    UserDeactivatedError,
    UserLockedError,
)
from synapse_modhost.storage import (
    DeviceRecord,
    LoginTokenExpired,
    LoginTokenNotFound,
    LoginTokenRecord,
    LoginTokenReused,
)
from synapse_modhost.types import NOT_SPAM, JsonDict, UserID

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = [
    "INVALID_USERNAME_OR_PASSWORD",
    "LoginHandler",
    "check_device_params",
    "generate_access_token",
    "generate_login_token",
    "phone_number_to_msisdn",
    "random_string",
]

logger = logging.getLogger(__name__)

INVALID_USERNAME_OR_PASSWORD = "Invalid username or password"
MAX_DEVICE_DISPLAY_NAME_LEN = 100
_LETTERS = string.ascii_letters
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

PostLogin = Optional[Callable[[Dict[str, Any]], Awaitable[None]]]


def random_string(length: int) -> str:
    """Random ASCII letters (cryptographically secure), as Synapse's ids and tokens."""
    return "".join(secrets.choice(_LETTERS) for _ in range(length))


def _base62(num: int, minwidth: int = 1) -> str:
    out = ""
    while num:
        num, rem = divmod(num, 62)
        out = _BASE62[rem] + out
    return "0" * (minwidth - len(out)) + out


def _with_crc(base: str) -> str:
    return "%s_%s" % (base, _base62(zlib.crc32(base.encode("ascii")), minwidth=6))


def generate_access_token(localpart: str) -> str:
    """``syt_<base64 localpart>_<20 letters>_<crc>``, Synapse's access token format."""
    b64 = base64.b64encode(localpart.encode("utf-8")).rstrip(b"=").decode("ascii")
    return _with_crc("syt_%s_%s" % (b64, random_string(20)))


def generate_login_token() -> str:
    """``syl_<20 letters>_<crc>``, Synapse's login token format."""
    return _with_crc("syl_" + random_string(20))


def canonicalise_email(address: str) -> str:
    """Case-fold the local part and lower-case the domain (``ValueError`` if no single @)."""
    parts = address.strip().split("@")
    if len(parts) != 2:
        raise ValueError("Unable to parse email address")
    return parts[0].casefold() + "@" + parts[1].lower()


def check_device_params(params: JsonDict) -> None:
    """400 unless ``device_id`` (``M_INVALID_PARAM``, as its length check) and
    ``initial_device_display_name`` (``M_BAD_JSON``) are strings or absent/``null``:
    the checks ``/login`` and ``/register`` make before anything is written (Synapse
    answers 500, or stores the value, for other types)."""
    for key, errcode in (
        ("device_id", Codes.INVALID_PARAM),
        ("initial_device_display_name", Codes.BAD_JSON),
    ):
        value = params.get(key)
        if value is not None and not isinstance(value, str):
            raise SynapseError(400, "%s must be a string." % (key,), errcode)


def _identifier_from_submission(submission: JsonDict) -> Any:
    """The ``identifier`` of a login submission, legacy ``user``/``medium``+``address``
    fields converted."""
    identifier = submission.get("identifier", {})
    user = submission.get("user")
    if user:
        identifier = {"type": "m.id.user", "user": user}
    medium, address = submission.get("medium"), submission.get("address")
    if medium and address:
        identifier = {"type": "m.id.thirdparty", "medium": medium, "address": address}
    if not identifier:
        raise SynapseError(400, "Invalid login submission", Codes.INVALID_PARAM)
    if not isinstance(identifier, dict):  # Synapse: a 500 for a number
        raise SynapseError(400, "'identifier' must be a JSON object", Codes.BAD_JSON)
    if "type" not in identifier:
        raise SynapseError(400, "'identifier' dict has no key 'type'", Codes.MISSING_PARAM)
    return identifier


#: calling codes of common countries (the stand-in has no phone-number library)
_CALLING_CODES = {
    "AR": "54", "AT": "43", "AU": "61", "BE": "32", "BR": "55", "CA": "1", "CH": "41",
    "CN": "86", "CZ": "420", "DE": "49", "DK": "45", "ES": "34", "FI": "358", "FR": "33",
    "GB": "44", "GR": "30", "HK": "852", "IE": "353", "IL": "972", "IN": "91", "IT": "39",
    "JP": "81", "KR": "82", "MX": "52", "NL": "31", "NO": "47", "NZ": "64", "PL": "48",
    "PT": "351", "RU": "7", "SE": "46", "SG": "65", "TR": "90", "UA": "380", "US": "1",
    "ZA": "27",
}  # fmt: skip


def phone_number_to_msisdn(country: str, number: str) -> str:
    """The MSISDN (E.164 digits) of a phone number: ``+``-prefixed numbers as they are,
    national numbers with the country's calling code (trunk ``0`` dropped); 400
    ``M_INVALID_PARAM`` "Unable to parse phone number" otherwise. An approximation of
    Synapse's ``phonenumbers``-based parsing."""
    text = str(number).strip()
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+") and len(digits) >= 3:
        return digits
    code = _CALLING_CODES.get(str(country).upper())
    if code is None or len(digits) < 3:
        raise SynapseError(400, "Unable to parse phone number", Codes.INVALID_PARAM)
    if digits.startswith("0") and country.upper() != "IT":
        digits = digits[1:]
    return code + digits


def _phone_to_thirdparty(identifier: JsonDict) -> JsonDict:
    if "country" not in identifier or ("phone" not in identifier and "number" not in identifier):
        raise SynapseError(400, "Invalid phone-type identifier", Codes.INVALID_PARAM)
    # As in Synapse, "number" is read even when "phone" is given (a KeyError without it,
    # which /login reports as "Missing JSON keys.").
    phone = identifier.get("phone", identifier["number"])
    msisdn = phone_number_to_msisdn(identifier["country"], str(phone))
    return {"type": "m.id.thirdparty", "medium": "msisdn", "address": msisdn}


class LoginHandler:
    """Credentials, devices and tokens."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.user_store
        self.settings = hs.auth.settings
        self._providers = hs.callbacks.password_auth_provider

    # ------------------------------------------------------------------ login types

    def get_supported_login_types(self) -> List[str]:
        """``m.login.password`` first (when enabled), then the module types in order."""
        types = list(self._providers.get_supported_login_types())
        enabled = self.settings.password_enabled_for_login
        if "m.login.password" in types:
            types.remove("m.login.password")
            if enabled:
                types.insert(0, "m.login.password")
        elif self.settings.password_localdb_enabled and enabled:
            types.insert(0, "m.login.password")
        return types

    def get_login_flows(self) -> List[JsonDict]:
        """The ``flows`` of ``GET /login``."""
        flows: List[JsonDict] = []
        if self.settings.login_via_existing_enabled:
            flows.append({"type": "m.login.token", "get_login_token": True})
        flows.extend({"type": t} for t in self.get_supported_login_types())
        flows.append({"type": "m.login.application_service"})
        return flows

    # ------------------------------------------------------------------ credentials

    async def find_user_id_and_pwd_hash(self, user_id: str) -> Optional[Tuple[str, Optional[str]]]:
        """``(canonical id, password hash)`` of the one user matching ``user_id`` ignoring
        case (the exact match when several do), else ``None``."""
        matches = await self.store.get_users_by_id_case_insensitive(user_id)
        if len(matches) == 1:
            return next(iter(matches.items()))
        if user_id in matches:
            return user_id, matches[user_id]
        if matches:
            logger.warning("Attempted to login as %s but it matches more than one user "
                           "inexactly: %r", user_id, list(matches))  # fmt: skip
        return None

    async def check_user_exists(self, user_id: str) -> Optional[str]:
        found = await self.find_user_id_and_pwd_hash(user_id)
        return None if found is None else found[0]

    async def check_local_password(self, user_id: str, password: str) -> Optional[str]:
        found = await self.find_user_id_and_pwd_hash(user_id)
        if found is None or not found[1]:
            return None
        if not await self.hs.auth.hasher.check(password, found[1]):
            logger.warning("Failed password login for user %s", found[0])
            return None
        return found[0]

    async def validate_login(
        self, submission: JsonDict, ratelimit: bool = False, is_reauth: bool = False
    ) -> Tuple[str, PostLogin]:
        """Authenticate a ``/login`` submission (or a UIA stage); ``(user_id, post_login)``."""
        login_type = submission.get("type")
        if not isinstance(login_type, str):
            raise SynapseError(400, "Bad parameter: type", Codes.INVALID_PARAM)
        password = submission.get("password")
        if login_type == "m.login.password":
            allowed = (
                self.settings.password_enabled_for_reauth
                if is_reauth
                else self.settings.password_enabled_for_login
            )
            if not allowed:
                raise SynapseError(400, "Password login has been disabled.")
            if not isinstance(password, str):
                raise SynapseError(400, "Bad parameter: password", Codes.INVALID_PARAM)
        identifier = _identifier_from_submission(submission)
        if identifier["type"] == "m.id.phone":
            identifier = _phone_to_thirdparty(identifier)
        if identifier["type"] == "m.id.thirdparty":
            address, medium = identifier.get("address"), identifier.get("medium")
            if medium is None or address is None:
                raise SynapseError(400, "Invalid thirdparty identifier")
            if not isinstance(medium, str) or not isinstance(address, str):  # Synapse: 500s
                raise SynapseError(
                    400, "Thirdparty identifier 'medium' and 'address' must be strings", Codes.BAD_JSON
                )
            if medium == "email":
                try:
                    address = canonicalise_email(address)
                except ValueError as e:
                    raise SynapseError(400, str(e)) from None
            if login_type == "m.login.password":
                assert isinstance(password, str)
                result = await self._providers.check_3pid_auth(medium, address, password)
                if result:
                    return result  # type: ignore[return-value]
            user_id = await self.store.get_user_id_by_threepid(medium, address)
            if not user_id:
                logger.warning("unknown 3pid identifier medium %s, address %r", medium, address)
                raise LoginError(403, INVALID_USERNAME_OR_PASSWORD, Codes.FORBIDDEN)
            identifier = {"type": "m.id.user", "user": user_id}
        if identifier["type"] != "m.id.user":
            raise SynapseError(400, "Unknown login identifier type")
        username = identifier.get("user")
        if not username:
            raise SynapseError(400, "User identifier is missing 'user' key")
        if not isinstance(username, str):  # Synapse: a 500
            raise SynapseError(400, "User identifier 'user' must be a string", Codes.BAD_JSON)
        return await self._validate_userid_login(username, login_type, submission)

    async def _validate_userid_login(
        self, username: str, login_type: str, submission: JsonDict
    ) -> Tuple[str, PostLogin]:
        if username.startswith("@"):
            qualified = username
        else:
            qualified = UserID(username, self.hs.server_name).to_string()
        known = False
        supported = self._providers.get_supported_login_types()
        if login_type in supported:
            known = True
            missing = [f for f in supported[login_type] if f not in submission]
            if missing:
                raise SynapseError(
                    400, "Missing parameters for login type %s: %s" % (login_type, missing)
                )
            login_dict = {f: submission[f] for f in supported[login_type]}
            result = await self._providers.check_auth(username, login_type, login_dict)
            if result:
                return result  # type: ignore[return-value]
        if login_type == "m.login.password" and self.settings.password_localdb_enabled:
            known = True
            canonical = await self.check_local_password(qualified, submission["password"])
            if canonical:
                return canonical, None
        if not known:
            raise SynapseError(400, "Unknown login type %s" % login_type)
        raise LoginError(403, INVALID_USERNAME_OR_PASSWORD, Codes.FORBIDDEN)

    # ------------------------------------------------------------------ POST /login

    async def login(self, submission: JsonDict, user_agent: Optional[str], ip: str) -> JsonDict:
        """The ``POST /login`` response for a password, module or token login."""
        refresh = submission.get("refresh_token", False)
        if not isinstance(refresh, bool):
            raise SynapseError(400, "`refresh_token` should be true or false.")
        try:
            if submission["type"] == "m.login.token":
                if not isinstance(submission["token"], str):  # Synapse: 500 for [] or {}
                    raise SynapseError(400, "Param 'token' must be a string", Codes.BAD_JSON)
                check_device_params(submission)  # before the token is used up
                record = await self.consume_login_token(submission["token"])
                result = await self.complete_login(
                    record.user_id, submission, None, user_agent, ip,
                    auth_provider_id=record.auth_provider_id,
                )  # fmt: skip
            else:
                user_id, callback = await self.validate_login(submission, ratelimit=True)
                result = await self.complete_login(user_id, submission, callback, user_agent, ip)
        except KeyError:
            raise SynapseError(400, "Missing JSON keys.") from None
        if self.settings.well_known:
            result["well_known"] = self.settings.well_known
        return result

    async def complete_login(
        self,
        user_id: str,
        submission: JsonDict,
        callback: PostLogin,
        user_agent: Optional[str],
        ip: str,
        *,
        auth_provider_id: Optional[str] = None,
    ) -> JsonDict:
        """Spam check, device and token, ``on_user_login``, then the ``post_login`` callback."""
        user = await self.store.get_user(user_id)
        if user is None:
            # Synapse's status lookup fails the same way for an id a module made up
            raise SynapseError(404, "No row found (users)")
        if user.deactivated:
            raise UserDeactivatedError("This account has been deactivated")
        if user.locked:
            raise UserLockedError()
        check_device_params(submission)
        device_id = submission.get("device_id")
        if device_id and len(device_id) > 512:
            raise LoginError(400, "device_id cannot be longer than 512 characters.",
                             Codes.INVALID_PARAM)  # fmt: skip
        display_name = submission.get("initial_device_display_name")
        spam_checker = self.hs.callbacks.spam_checker
        verdict = await spam_checker.check_login_for_spam(
            user_id, device_id, display_name, [(user_agent, ip)], auth_provider_id
        )
        if verdict is not NOT_SPAM:
            logger.info("Blocking login due to spam checker")
            raise spam_checker.denial_error("check_login_for_spam", verdict)
        device_id, token, _, _ = await self.register_device(
            user_id, device_id, display_name, auth_provider_id=auth_provider_id
        )
        result: JsonDict = {
            "user_id": user_id,
            "access_token": token,
            "home_server": self.hs.server_name,
            "device_id": device_id,
        }
        await self.hs.callbacks.account_validity.on_user_login(
            user_id, submission.get("type"), auth_provider_id
        )
        if callback is not None:
            await callback(result)
        return result

    # ------------------------------------------------------------------ devices and tokens

    async def register_device(
        self,
        user_id: str,
        device_id: Optional[str] = None,
        initial_display_name: Optional[str] = None,
        *,
        auth_provider_id: Optional[str] = None,
    ) -> Tuple[str, str, Optional[int], Optional[str]]:
        """Make sure the device exists (a new random id when ``None``) and give it a new
        access token; ``(device_id, access_token, valid_until_ms, refresh_token)``."""
        if initial_display_name and len(initial_display_name) > MAX_DEVICE_DISPLAY_NAME_LEN:
            raise SynapseError(
                400,
                "Device display name is too long (max %i)" % (MAX_DEVICE_DISPLAY_NAME_LEN,),
                Codes.TOO_LARGE,
            )
        if device_id is None:
            for _ in range(5):
                candidate = random_string(10).upper()
                if await self.store.create_device(user_id, candidate, initial_display_name):
                    device_id = candidate
                    break
            else:
                raise SynapseError(500, "Couldn't generate a device ID.")
        else:
            await self.store.create_device(user_id, device_id, initial_display_name)
        token = generate_access_token(UserID.from_string(user_id).localpart)
        await self.store.add_access_token(user_id, token, device_id)
        return device_id, token, None, None

    async def create_login_token(
        self,
        user_id: str,
        duration_ms: int = 2 * 60 * 1000,
        auth_provider_id: Optional[str] = None,
        auth_provider_session_id: Optional[str] = None,
    ) -> str:
        """A token for ``m.login.token``, valid ``duration_ms``."""
        token = generate_login_token()
        await self.store.add_login_token(
            token, user_id, self.hs.time_msec() + duration_ms,
            auth_provider_id=auth_provider_id, auth_provider_session_id=auth_provider_session_id,
        )  # fmt: skip
        return token

    async def consume_login_token(self, token: str) -> LoginTokenRecord:
        """Use up a login token; 403 ``M_FORBIDDEN`` "Invalid login token" if it is unknown,
        used or expired."""
        try:
            return await self.store.consume_login_token(token)
        except (LoginTokenNotFound, LoginTokenReused, LoginTokenExpired):
            raise AuthError(403, "Invalid login token", errcode=Codes.FORBIDDEN) from None

    async def _logged_out(self, user_id: str, records: Collection[Any]) -> None:
        for record in records:
            await self._providers.on_logged_out(user_id, record.device_id, record.token)

    async def delete_access_token(self, token: str) -> None:
        """Delete one token (not its device); ``on_logged_out``."""
        info = await self.store.get_user_by_access_token(token)
        if info is None:
            raise SynapseError(401, "Unrecognised access token")
        record = await self.store.delete_access_token(token)
        if record is not None:
            await self._providers.on_logged_out(info.user_id, info.device_id, token)

    async def delete_access_tokens_for_user(
        self, user_id: str, except_token_id: Optional[int] = None, device_id: Optional[str] = None
    ) -> None:
        """Delete the user's tokens (all but one, or one device's); ``on_logged_out`` each."""
        deleted = await self.store.delete_access_tokens(
            user_id, except_token_id=except_token_id, device_id=device_id
        )
        await self._logged_out(user_id, deleted)

    async def delete_devices(self, user_id: str, device_ids: Collection[str]) -> None:
        """Delete devices and their tokens; ``on_logged_out`` per token."""
        deleted = await self.store.delete_devices(user_id, list(device_ids))
        await self._logged_out(user_id, deleted)

    async def delete_all_devices_for_user(
        self, user_id: str, except_device_id: Optional[str] = None
    ) -> None:
        devices = [d.device_id for d in await self.store.get_devices(user_id)]
        await self.delete_devices(user_id, [d for d in devices if d != except_device_id])

    async def get_devices(self, user_id: str) -> List[JsonDict]:
        """The user's visible devices as the client API lists them (last seen from the
        database and the pending client-IP batch)."""
        seen = self.hs.auth.ips.pending_devices(user_id)
        devices = await self.store.get_devices(user_id)
        return [_device_dict(d, seen.get(d.device_id)) for d in devices if not d.hidden]

    async def get_device(self, user_id: str, device_id: str) -> Optional[JsonDict]:
        device = await self.store.get_device(user_id, device_id)
        if device is None or device.hidden:
            return None
        return _device_dict(device, self.hs.auth.ips.pending_devices(user_id).get(device_id))

    async def update_device(self, user_id: str, device_id: str, content: JsonDict) -> None:
        """Rename a device; 404 ``M_NOT_FOUND`` when the user has no such device."""
        name = content.get("display_name")
        if name and len(name) > MAX_DEVICE_DISPLAY_NAME_LEN:
            raise SynapseError(
                400,
                "Device display name is too long (max %i)" % (MAX_DEVICE_DISPLAY_NAME_LEN,),
                Codes.TOO_LARGE,
            )
        if not await self.store.update_device(user_id, device_id, name):
            raise NotFoundError()

    async def invalidate_access_token(self, token: str) -> None:
        """``ModuleApi.invalidate_access_token``: delete the token's device (or only the
        token); 401 ``M_UNKNOWN_TOKEN`` for an unknown token."""
        info = await self.store.get_user_by_access_token(token)
        if info is None:
            raise InvalidClientTokenError("Invalid access token passed.")
        if info.device_id:
            await self.delete_devices(info.user_id, [info.device_id])
        else:
            await self.delete_access_token(token)


def _device_dict(device: DeviceRecord, pending: Optional[Tuple[int, str, str]] = None) -> JsonDict:
    ts, ip = (pending[0], pending[1]) if pending else (device.last_seen_ts, device.last_seen_ip)
    return {
        "user_id": device.user_id,
        "device_id": device.device_id,
        "display_name": device.display_name,
        "last_seen_ts": ts,
        "last_seen_ip": ip,
    }
