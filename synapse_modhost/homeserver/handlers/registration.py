"""Creating accounts: client registration with user-interactive auth, shared-secret
admin registration, and ``ModuleApi.register_user`` (TRIGGERS.md §5).

The order is Synapse's: ``get_username_for_registration`` →
``get_displayname_for_registration`` → ``check_registration_for_spam`` (``DENY`` → 429
``M_UNKNOWN`` "Rate limited", ``SHADOW_BAN`` → the account is shadow-banned) → username
checks → the user row → ``on_user_registration``. Not done: rate limits, captcha,
registration tokens, terms, password policies, ``auto_join_rooms``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, InvalidClientTokenError, SynapseError
from synapse_modhost.homeserver.handlers.auth import (
    PASSWORD_HASH,
    REGISTERED_USER_ID,
    ClientInfo,
    InteractiveAuthIncompleteError,
)
from synapse_modhost.homeserver.handlers.login import canonicalise_email, check_device_params
from synapse_modhost.storage import UserExistsError
from synapse_modhost.types import (
    JsonDict,
    RegistrationBehaviour,
    UserID,
    contains_invalid_mxid_characters,
)

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["RegistrationHandler"]

logger = logging.getLogger(__name__)

MAX_USERID_LENGTH = 255
NONCE_TIMEOUT = 60
EMAIL_IDENTITY = "m.login.email.identity"
MSISDN = "m.login.msisdn"


class RegistrationHandler:
    """Account creation."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.user_store
        self.settings = hs.auth.settings
        self._providers = hs.callbacks.password_auth_provider
        #: shared-secret registration nonce -> when it was handed out (seconds)
        self._nonces: Dict[str, int] = {}

    @property
    def flows(self) -> List[List[str]]:
        """The registration UIA flows: ``m.login.dummy`` unless a 3PID is required, and
        ``m.login.email.identity`` when email is configured."""
        require_email = "email" in self.settings.registrations_require_3pid
        flows: List[List[str]] = []
        if not require_email and "msisdn" not in self.settings.registrations_require_3pid:
            flows.append(["m.login.dummy"])
        if self.settings.can_verify_email:
            flows.append([EMAIL_IDENTITY])
        return flows

    # ------------------------------------------------------------------ checks

    async def check_username(
        self,
        localpart: str,
        guest_access_token: Optional[str] = None,
        assigned_user_id: Optional[str] = None,
        inhibit_user_in_use_error: bool = False,
    ) -> None:
        """Synapse's username rules, with its texts (400 ``M_INVALID_USERNAME``,
        ``M_USER_IN_USE``)."""
        if contains_invalid_mxid_characters(localpart):
            raise SynapseError(400, "User ID can only contain characters a-z, 0-9, or '=_-./+'",
                               Codes.INVALID_USERNAME)  # fmt: skip
        if not localpart:
            raise SynapseError(400, "User ID cannot be empty", Codes.INVALID_USERNAME)
        if localpart[0] == "_" and not self.settings.allow_underscore_prefixed_localpart:
            raise SynapseError(400, "User ID may not begin with _", Codes.INVALID_USERNAME)
        user_id = UserID(localpart, self.hs.server_name).to_string()
        if assigned_user_id:
            if user_id == assigned_user_id:
                return
            raise SynapseError(400, "A different user ID has already been registered for this session")
        if len(user_id) > MAX_USERID_LENGTH:
            raise SynapseError(400, "User ID may not be longer than %s characters" % (MAX_USERID_LENGTH,),
                               Codes.INVALID_USERNAME)  # fmt: skip
        if await self.store.get_users_by_id_case_insensitive(user_id):
            if not inhibit_user_in_use_error and not guest_access_token:
                raise SynapseError(400, "User ID already taken.", Codes.USER_IN_USE)
            if guest_access_token:
                requester = await self.hs.auth.get_user_by_access_token(guest_access_token)
                if not requester.is_guest or requester.user.localpart != localpart:
                    raise AuthError(403, "Cannot register taken user ID without valid guest "
                                    "credentials for that user.")  # fmt: skip
        if guest_access_token is None and localpart.isdigit() and localpart.isascii():
            raise SynapseError(400, "Numeric user IDs are reserved for guest users.",
                               Codes.INVALID_USERNAME)  # fmt: skip

    # ------------------------------------------------------------------ registering

    async def register_user(
        self,
        localpart: Optional[str] = None,
        password_hash: Optional[str] = None,
        guest_access_token: Optional[str] = None,
        make_guest: bool = False,
        admin: bool = False,
        threepid: Optional[JsonDict] = None,
        user_type: Optional[str] = None,
        default_display_name: Optional[str] = None,
        bind_emails: Iterable[str] = (),
        by_admin: bool = False,
        user_agent_ips: Optional[List[Tuple[str, str]]] = None,
        auth_provider_id: Optional[str] = None,
    ) -> str:
        """Create an account (a numeric id when ``localpart`` is ``None``); its user id."""
        spam_checker = self.hs.callbacks.spam_checker
        behaviour = await spam_checker.check_registration_for_spam(
            threepid, localpart, user_agent_ips or [], auth_provider_id
        )
        if behaviour == RegistrationBehaviour.DENY:
            logger.info("Blocked registration of %r", localpart)
            raise spam_checker.denial_error("check_registration_for_spam", behaviour)
        shadow_banned = behaviour == RegistrationBehaviour.SHADOW_BAN
        if shadow_banned:
            logger.info("Shadow banning registration of %r", localpart)
        if user_type is None:
            user_type = self.settings.default_user_type
        if localpart is not None:
            await self.check_username(localpart, guest_access_token=guest_access_token)
            user_id = UserID(localpart, self.hs.server_name).to_string()
            if default_display_name is None:
                default_display_name = localpart
            await self._create(user_id, password_hash, admin, make_guest, user_type,
                               default_display_name, shadow_banned)  # fmt: skip
        else:
            for _ in range(11):
                generated = await self.store.generate_user_id()
                user_id = UserID(generated, self.hs.server_name).to_string()
                name = generated if default_display_name is None else default_display_name
                try:
                    await self._create(user_id, password_hash, False, make_guest, None, name,
                                       shadow_banned)  # fmt: skip
                    break
                except SynapseError:
                    continue
            else:
                raise SynapseError(500, "Unable to find a suitable guest user ID")
        now = self.hs.time_msec()
        for email in bind_emails:
            await self.hs.threepids.add_threepid(user_id, "email", email, now)
        return user_id

    async def _create(
        self, user_id: str, password_hash: Optional[str], admin: bool, guest: bool,
        user_type: Optional[str], displayname: Optional[str], shadow_banned: bool,
    ) -> None:  # fmt: skip
        try:
            await self.store.create_user(
                user_id, password_hash=password_hash, admin=admin, is_guest=guest,
                shadow_banned=shadow_banned, user_type=user_type, displayname=displayname,
                create_profile=bool(displayname),
            )  # fmt: skip
        except UserExistsError:
            raise SynapseError(400, "User ID already taken.", Codes.USER_IN_USE) from None
        await self.hs.callbacks.account_validity.on_user_registration(user_id)

    async def create_registration_details(self, user_id: str, params: JsonDict) -> JsonDict:
        """``{"user_id", "home_server"}`` plus a device and token unless ``inhibit_login``."""
        result: JsonDict = {"user_id": user_id, "home_server": self.hs.server_name}
        if not params.get("inhibit_login", False):
            device_id, token, _, _ = await self.hs.login.register_device(
                user_id, params.get("device_id"), params.get("initial_device_display_name")
            )
            result.update({"access_token": token, "device_id": device_id})
        return result

    async def register_guest(self, params: JsonDict) -> JsonDict:
        """``POST /register?kind=guest``."""
        if not self.settings.allow_guest_access:
            raise SynapseError(403, "Guest access is disabled")
        check_device_params({"initial_device_display_name": params.get("initial_device_display_name")})
        user_id = await self.register_user(make_guest=True)
        device_id, token, _, _ = await self.hs.login.register_device(
            user_id, "guest_device", params.get("initial_device_display_name")
        )
        return {"user_id": user_id, "device_id": device_id, "access_token": token,
                "home_server": self.hs.server_name}  # fmt: skip

    # ------------------------------------------------------------------ POST /register

    async def register(self, body: JsonDict, info: ClientInfo, has_access_token: bool) -> JsonDict:
        """``POST /register`` (``kind=user``); raises :class:`InteractiveAuthIncompleteError`
        while stages are missing."""
        refresh = body.get("refresh_token", False)
        if not isinstance(refresh, bool):
            raise SynapseError(400, "`refresh_token` should be true or false.")
        desired_username = None
        if "username" in body:
            desired_username = body["username"]
            if not isinstance(desired_username, str) or len(desired_username) > 512:
                raise SynapseError(400, "Invalid username")
        if body.get("type") == "m.login.application_service":
            if not has_access_token:
                raise SynapseError(400, "Appservice token must be provided when using a type "
                                   "of m.login.application_service")  # fmt: skip
            if desired_username is None:
                raise SynapseError(400, "Desired Username is missing or not a string")
            raise InvalidClientTokenError()  # the stand-in has no application services
        if has_access_token:
            raise SynapseError(400, "An access token should not be provided on requests to "
                               "/register (except if type is m.login.application_service)")  # fmt: skip
        if not self.settings.enable_registration:
            raise SynapseError(403, "Registration has been disabled", Codes.FORBIDDEN)
        if desired_username is not None:
            desired_username = desired_username.lower()
        guest_access_token = body.get("guest_access_token")
        password = body.pop("password", None)
        if password is not None and (not isinstance(password, str) or len(password) > 512):
            raise SynapseError(400, "Invalid password")
        if "initial_device_display_name" in body and password is None:
            logger.warning("Ignoring initial_device_display_name without password")
            del body["initial_device_display_name"]
        check_device_params(body)
        uia = self.hs.auth.uia
        session_id = uia.get_session_id(body)
        registered_user_id = password_hash = None
        if session_id:
            registered_user_id = uia.get_session_data(session_id, REGISTERED_USER_ID)
            password_hash = uia.get_session_data(session_id, PASSWORD_HASH)
        if desired_username is not None:
            await self.check_username(
                desired_username, guest_access_token, registered_user_id,
                self.settings.inhibit_user_in_use_error,
            )  # fmt: skip
        try:
            auth_result, params, session_id = await uia.check_ui_auth(
                self.flows, info, body, "register a new account"
            )
        except InteractiveAuthIncompleteError as e:
            if not password_hash and password:
                uia.set_session_data(e.session_id, PASSWORD_HASH,
                                     await self.hs.auth.hasher.hash(password))  # fmt: skip
            raise
        await self._check_registration_threepids(auth_result)
        registered = False
        if registered_user_id is None:
            if password:
                password_hash = await self.hs.auth.hasher.hash(password)
            if not password_hash:
                raise SynapseError(400, "Missing params: password", Codes.MISSING_PARAM)
            registered_user_id = await self._register_from_uia(
                auth_result, params, session_id, password_hash, info
            )
            registered = True
        else:
            logger.info("Already registered user ID %r for this session", registered_user_id)
        result = await self.create_registration_details(registered_user_id, params)
        if registered:
            await self.post_registration_actions(registered_user_id, auth_result)
        return result

    async def _check_registration_threepids(self, auth_result: JsonDict) -> None:
        for login_type in (EMAIL_IDENTITY, MSISDN):
            if auth_result and login_type in auth_result:
                threepid = auth_result[login_type]
                if not await self.hs.threepids.check_3pid_allowed(
                    threepid["medium"], threepid["address"], registration=True
                ):
                    raise SynapseError(
                        403,
                        "Third party identifiers (email/phone numbers) are not authorized on this server",
                        Codes.THREEPID_DENIED,
                    )

    async def _register_from_uia(
        self, auth_result: JsonDict, params: JsonDict, session_id: str, password_hash: str,
        info: ClientInfo,
    ) -> str:  # fmt: skip
        desired = await self._providers.get_username_for_registration(auth_result, params)
        if desired is None:
            desired = params.get("username")
        guest_access_token = params.get("guest_access_token")
        if desired is not None:
            desired = desired.lower()
        threepid = auth_result.get(EMAIL_IDENTITY) if auth_result else None
        for login_type in (EMAIL_IDENTITY, MSISDN):
            if auth_result and login_type in auth_result:
                medium = auth_result[login_type]["medium"]
                address = auth_result[login_type]["address"]
                if medium == "email":
                    try:
                        address = canonicalise_email(address)
                    except ValueError as e:
                        raise SynapseError(400, str(e)) from None
                if await self.store.get_user_id_by_threepid(medium, address) is not None:
                    raise SynapseError(400, "%s is already in use" % medium, Codes.THREEPID_IN_USE)
        uia = self.hs.auth.uia
        entries = uia.user_agents_ips(session_id)
        display_name = await self._providers.get_displayname_for_registration(auth_result, params)
        user_id = await self.register_user(
            localpart=desired, password_hash=password_hash,
            guest_access_token=guest_access_token, threepid=threepid,
            default_display_name=display_name, user_agent_ips=entries,
        )  # fmt: skip
        uia.set_session_data(session_id, REGISTERED_USER_ID, user_id)
        return user_id

    async def post_registration_actions(self, user_id: str, auth_result: JsonDict) -> None:
        """Bind the email validated during registration."""
        threepid = (auth_result or {}).get(EMAIL_IDENTITY)
        if isinstance(threepid, dict):
            if any(k not in threepid for k in ("medium", "address", "validated_at")):
                logger.info("Can't add incomplete 3pid")
                return
            await self.hs.threepids.add_threepid(
                user_id, threepid["medium"], threepid["address"], threepid["validated_at"]
            )

    # ------------------------------------------------------------------ shared secret

    def _clear_old_nonces(self) -> None:
        now = int(self.hs.reactor.seconds())
        for nonce, ts in list(self._nonces.items()):
            if now - ts > NONCE_TIMEOUT:
                del self._nonces[nonce]

    def new_nonce(self) -> str:
        """A nonce for ``POST /_synapse/admin/v1/register`` (valid 60 seconds)."""
        self._clear_old_nonces()
        nonce = secrets.token_hex(64)
        self._nonces[nonce] = int(self.hs.reactor.seconds())
        return nonce

    async def register_with_shared_secret(self, body: JsonDict) -> JsonDict:
        """``POST /_synapse/admin/v1/register``: nonce, HMAC-SHA1 over
        ``nonce\\0username\\0password\\0admin|notadmin[\\0user_type]``."""
        self._clear_old_nonces()
        secret = self.settings.registration_shared_secret
        if not secret:
            raise SynapseError(400, "Shared secret registration is not enabled")
        if "nonce" not in body:
            raise SynapseError(400, "nonce must be specified", Codes.BAD_JSON)
        nonce = body["nonce"]
        if not isinstance(nonce, str):  # Synapse: 500 (an unhashable nonce)
            raise SynapseError(400, "nonce must be a string", Codes.BAD_JSON)
        if nonce not in self._nonces:
            raise SynapseError(400, "unrecognised nonce")
        del self._nonces[nonce]
        username = _checked_bytes(body, "username")
        password_bytes = _checked_bytes(body, "password")
        password_hash = await self.hs.auth.hasher.hash(body["password"])
        admin = body.get("admin", None)
        user_type = body.get("user_type", None)
        displayname = body.get("displayname", None)
        if user_type is not None and user_type not in self.settings.all_user_types:
            raise SynapseError(400, "Invalid user type")
        if "mac" not in body:
            raise SynapseError(400, "mac must be specified", Codes.BAD_JSON)
        if not isinstance(body["mac"], str):  # Synapse: 500
            raise SynapseError(400, "mac must be a string", Codes.BAD_JSON)
        parts = [nonce.encode("utf8"), username, password_bytes, b"admin" if admin else b"notadmin"]
        if user_type:
            parts.append(user_type.encode("utf8"))
        want = hmac.new(key=secret.encode(), msg=b"\x00".join(parts), digestmod=hashlib.sha1)
        got = body["mac"]
        if not hmac.compare_digest(want.hexdigest().encode("ascii"), got.encode("ascii")):
            logger.debug("UserRegisterServlet: HMAC incorrect (username=%s)", username)
            raise SynapseError(403, "HMAC incorrect")
        if not isinstance(body.get("refresh_token", False), bool):
            raise SynapseError(400, "refresh_token must be a boolean")
        user_id = await self.register_user(
            localpart=body["username"].lower(), password_hash=password_hash, admin=bool(admin),
            user_type=user_type, default_display_name=displayname, by_admin=True,
        )  # fmt: skip
        return await self.create_registration_details(user_id, body)


def _checked_bytes(body: JsonDict, key: str) -> bytes:
    """``body[key]`` as UTF-8, with the 400s of shared-secret registration."""
    if key not in body:
        raise SynapseError(400, "%s must be specified" % key, Codes.BAD_JSON)
    value = body[key]
    if not isinstance(value, str) or len(value) > 512:
        raise SynapseError(400, "Invalid %s" % key)
    data = value.encode("utf-8")
    if b"\x00" in data:
        raise SynapseError(400, "Invalid %s" % key)
    return data
