"""Authenticating client requests: access token → ``Requester`` (TRIGGERS.md §0).

The order is Synapse's: token extraction, token lookup, locked account (unless
``allow_locked``), ``is_user_expired`` (unless ``allow_expired``), the client IP is
recorded, then the guest check; the requester is stored on the request. Every
authenticated endpoint goes through :meth:`Auth.get_user_by_req`.

Also here: :class:`AccountSettings` (the account-related config keys, read once),
Synapse's account errors, the client-IP batch writer, and :class:`UserInteractiveAuth`
(``Auth.uia``): Synapse's user-interactive auth. Its sessions live in memory (Synapse
keeps them in the database), so a registration in progress does not survive a restart.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

import attr

from synapse_modhost._codes import Codes
from synapse_modhost.errors import (
    AuthError,
    InvalidClientTokenError,
    MissingClientTokenError,
    SynapseError,
)
from synapse_modhost.homeserver.passwords import PasswordHasher
from synapse_modhost.storage import ClientIpRecord, TokenInfo
from synapse_modhost.types import Requester, create_requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = [
    "AccountSettings",
    "Auth",
    "ClientInfo",
    "LoginError",
    "UserDeactivatedError",
    "UserLockedError",
    "client_info",
    "InteractiveAuthIncompleteError",
    "UserInteractiveAuth",
    "get_access_token_from_request",
    "has_access_token",
]

logger = logging.getLogger(__name__)


class LoginError(SynapseError):
    """A failed authentication step (merged into the 401 of user-interactive auth)."""


class UserDeactivatedError(SynapseError):
    """403 ``M_USER_DEACTIVATED``."""

    def __init__(self, msg: str) -> None:
        super().__init__(403, msg, Codes.USER_DEACTIVATED)


class UserLockedError(SynapseError):
    """401 ``M_USER_LOCKED`` "User account has been locked" with ``soft_logout: true``."""

    def __init__(self) -> None:
        super().__init__(
            401, "User account has been locked", Codes.USER_LOCKED, {"soft_logout": True}
        )


def _raw(config: Any) -> Mapping[str, Any]:
    raw = getattr(config, "raw", None)
    return raw if isinstance(raw, Mapping) else {}


def _section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


_DURATION_UNITS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
                   "w": 604_800_000, "y": 31_536_000_000}  # fmt: skip


def _duration_ms(value: Any) -> int:
    """A Synapse duration: an int of milliseconds or a string with a unit suffix."""
    if isinstance(value, int):
        return value
    text = str(value)
    if text and text[-1] in _DURATION_UNITS:
        return int(text[:-1]) * _DURATION_UNITS[text[-1]]
    return int(text)


@attr.s(frozen=True, slots=True, auto_attribs=True)
class AccountSettings:
    """The config keys the account handlers follow, with Synapse's defaults."""

    bcrypt_rounds: int = 12
    password_pepper: str = ""
    password_enabled_for_login: bool = True
    password_enabled_for_reauth: bool = True
    password_localdb_enabled: bool = True
    enable_registration: bool = False
    registration_shared_secret: Optional[str] = None
    allow_underscore_prefixed_localpart: bool = False
    inhibit_user_in_use_error: bool = False
    enable_set_displayname: bool = True
    enable_set_avatar_url: bool = True
    enable_3pid_changes: bool = True
    registrations_require_3pid: Tuple[str, ...] = ()
    can_verify_email: bool = False
    default_user_type: Optional[str] = None
    all_user_types: Tuple[str, ...] = ("support", "bot")
    allow_guest_access: bool = False
    require_auth_for_profile_requests: bool = False
    login_via_existing_enabled: bool = False
    ui_auth_session_timeout_ms: int = 0
    #: the ``well_known`` object ``/login`` adds, or ``None``
    well_known: Optional[Dict[str, Any]] = None

    @classmethod
    def from_config(cls, config: Any) -> "AccountSettings":
        raw = _raw(config)
        password = _section(raw, "password_config")
        enabled = password.get("enabled", True)
        reauth_only = enabled == "only_for_reauth"
        user_types = _section(raw, "user_types")
        well_known: Optional[Dict[str, Any]] = None
        if raw.get("public_baseurl") is not None:
            well_known = {"m.homeserver": {"base_url": config.server.public_baseurl}}
            if raw.get("default_identity_server"):
                well_known["m.identity_server"] = {"base_url": raw["default_identity_server"]}
            for key, value in (raw.get("extra_well_known_client_content") or {}).items():
                well_known.setdefault(key, value)
        registration = config.registration
        return cls(
            bcrypt_rounds=int(raw.get("bcrypt_rounds", 12)),
            password_pepper=str(password.get("pepper", "")),
            password_enabled_for_login=bool(enabled) and not reauth_only,
            password_enabled_for_reauth=reauth_only or bool(enabled),
            password_localdb_enabled=bool(password.get("localdb_enabled", True)),
            enable_registration=registration.enable_registration,
            registration_shared_secret=registration.registration_shared_secret,
            allow_underscore_prefixed_localpart=bool(
                raw.get("allow_underscore_prefixed_localpart", False)
            ),
            inhibit_user_in_use_error=bool(raw.get("inhibit_user_in_use_error", False)),
            enable_set_displayname=bool(raw.get("enable_set_displayname", True)),
            enable_set_avatar_url=bool(raw.get("enable_set_avatar_url", True)),
            enable_3pid_changes=bool(raw.get("enable_3pid_changes", True)),
            registrations_require_3pid=tuple(raw.get("registrations_require_3pid") or ()),
            can_verify_email=bool(raw.get("email")),
            default_user_type=user_types.get("default_user_type"),
            all_user_types=("support", "bot", *user_types.get("extra_user_types", ())),
            allow_guest_access=bool(raw.get("allow_guest_access", False)),
            require_auth_for_profile_requests=bool(
                raw.get("require_auth_for_profile_requests", False)
            ),
            login_via_existing_enabled=bool(
                _section(raw, "login_via_existing_session").get("enabled", False)
            ),
            ui_auth_session_timeout_ms=_duration_ms(
                _section(raw, "ui_auth").get("session_timeout", 0)
            ),
            well_known=well_known,
        )


@attr.s(frozen=True, slots=True, auto_attribs=True)
class ClientInfo:
    """What handlers may know of a request: URI, method, ``User-Agent`` ("" if absent), IP."""

    uri: str
    method: str
    user_agent: str
    ip: str


def client_info(request: Any) -> ClientInfo:
    """The :class:`ClientInfo` of a request."""
    ua = request.getHeader(b"User-Agent")
    address = request.getClientAddress()
    return ClientInfo(
        uri=request.uri.decode("utf-8", "replace"),
        method=request.method.decode("ascii", "replace"),
        user_agent=ua.decode("ascii", "replace") if ua else "",
        ip=str(getattr(address, "host", address)),
    )


def has_access_token(request: Any) -> bool:
    """Whether the request carries a token (query parameter or ``Authorization``)."""
    args = request.args or {}
    return bool(args.get(b"access_token")) or bool(
        request.requestHeaders.getRawHeaders(b"Authorization")
    )


def get_access_token_from_request(request: Any) -> str:
    """The access token of ``request`` (header or query), with Synapse's errors (HTTP.md §6)."""
    args = request.args or {}
    query = args.get(b"access_token")
    auth_headers = request.requestHeaders.getRawHeaders(b"Authorization")
    if auth_headers:
        if query:
            raise MissingClientTokenError(
                "Mixing Authorization headers and access_token query parameters."
            )
        if len(auth_headers) > 1:
            raise MissingClientTokenError("Too many Authorization headers.")
        parts = auth_headers[0].split(b" ")
        if len(parts) == 2 and parts[0] == b"Bearer":
            return parts[1].decode("ascii", "replace")
        raise MissingClientTokenError("Invalid Authorization header.")
    if not query:
        raise MissingClientTokenError()
    return query[0].decode("ascii", "replace")


class ClientIpTracker:
    """Where each access token is used from, written to ``user_ips`` in batches as
    Synapse does: a (user, token, IP) is recorded at most every 2 minutes and the batch
    is written 5 seconds after its first entry (and when the host stops)."""

    GRANULARITY_MS = 120_000
    FLUSH_DELAY = 5.0
    _MAX_REMEMBERED = 100_000

    def __init__(self, hs: "HomeServer") -> None:
        self._hs = hs
        self._last_seen: Dict[Tuple[str, str, str], int] = {}
        self._batch: Dict[Tuple[str, str, str], Tuple[str, Optional[str], int]] = {}
        self._flush_call: Optional[Any] = None
        self._tracked = False

    def record(
        self, user_id: str, token: str, ip: str, user_agent: str, device_id: Optional[str]
    ) -> None:
        now = self._hs.time_msec()
        key = (user_id, token, ip)
        last = self._last_seen.get(key)
        if last is not None and now - last < self.GRANULARITY_MS:
            return
        if len(self._last_seen) >= self._MAX_REMEMBERED:
            self._last_seen.clear()
        self._last_seen[key] = now
        self._batch[key] = (user_agent, device_id, now)
        if self._flush_call is None:
            if not self._tracked:
                self._tracked = True
                self._hs.host.track_looping_call(self)
            self._flush_call = self._hs.reactor.callLater(self.FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        """Write the pending batch now."""
        self._flush_call = None
        batch, self._batch = self._batch, {}
        if not batch:
            return
        rows = [(k[0], k[1], k[2], v[0], v[1], v[2]) for k, v in batch.items()]
        d = self._hs.user_store.upsert_client_ips(rows)
        d.addErrback(lambda f: logger.debug("Could not record client IPs: %s", f.value))

    def stop(self) -> None:
        """Called when the host stops: write what is pending."""
        call, self._flush_call = self._flush_call, None
        if call is not None and call.active():
            call.cancel()
        self.flush()

    def pending_for(self, user_id: str, since_ts: int) -> List[ClientIpRecord]:
        return [
            ClientIpRecord(token, ip, ua, ts)
            for (uid, token, ip), (ua, _, ts) in self._batch.items()
            if uid == user_id and ts >= since_ts
        ]

    def pending_devices(self, user_id: str) -> Dict[str, Tuple[int, str, str]]:
        """device id -> (last seen, ip, user agent) from the pending batch."""
        seen: Dict[str, Tuple[int, str, str]] = {}
        for (uid, _token, ip), (ua, device_id, ts) in self._batch.items():
            if uid == user_id and device_id is not None and ts >= seen.get(device_id, (0,))[0]:
                seen[device_id] = (ts, ip, ua)
        return seen

    async def get_user_ips(self, user_id: str, since_ts: int = 0) -> List[ClientIpRecord]:
        """Stored and pending records, one per (token, IP)."""
        rows = await self._hs.user_store.get_client_ips(user_id, since_ts)
        merged = {(r.access_token, r.ip): r for r in rows}
        merged.update({(r.access_token, r.ip): r for r in self.pending_for(user_id, since_ts)})
        return list(merged.values())


class Auth:
    """Turns access tokens into requesters and checks admin rights."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self._users = hs.user_store
        self._validity = hs.callbacks.account_validity
        self.settings = AccountSettings.from_config(hs.config)
        self.ips = ClientIpTracker(hs)
        self.hasher = PasswordHasher(
            hs.reactor,
            rounds=self.settings.bcrypt_rounds,
            pepper=self.settings.password_pepper,
            threaded=bool(getattr(hs.host, "database_threaded", False)),
        )

    @cached_property
    def uia(self) -> "UserInteractiveAuth":
        """User-interactive authentication (sessions, flows, stages)."""
        return UserInteractiveAuth(self.hs)

    async def get_user_by_access_token(self, token: str, allow_expired: bool = False) -> Requester:
        """The requester a token stands for; 401 ``M_UNKNOWN_TOKEN`` if unknown or expired."""
        return (await self._lookup(token, allow_expired))[0]

    async def _lookup(self, token: str, allow_expired: bool) -> Tuple[Requester, TokenInfo]:
        info = await self._users.get_user_by_access_token(token)
        if info is None:
            raise InvalidClientTokenError()
        if (
            not allow_expired
            and info.valid_until_ms is not None
            and info.valid_until_ms < self.hs.time_msec()
        ):
            raise InvalidClientTokenError("Access token has expired", soft_logout=True)
        requester = create_requester(
            info.user_id,
            access_token_id=info.token_id,
            is_guest=info.is_guest,
            shadow_banned=info.shadow_banned,
            device_id=info.device_id,
            authenticated_entity=info.token_owner,
        )
        return requester, info

    async def get_user_by_req(
        self,
        request: Any,
        allow_guest: bool = False,
        allow_expired: bool = False,
        allow_locked: bool = False,
    ) -> Requester:
        """Authenticate ``request``; sets ``request.requester`` (a second call fails, as in
        Synapse, with ``AssertionError``)."""
        token = get_access_token_from_request(request)
        requester, info = await self._lookup(token, allow_expired)
        user_id = requester.user.to_string()
        if not allow_locked and info.locked:
            raise UserLockedError()
        if not allow_expired and await self.is_user_expired(user_id):
            raise AuthError(403, "User account has expired", errcode=Codes.EXPIRED_ACCOUNT)
        ua = request.getHeader(b"User-Agent")
        address = request.getClientAddress()
        self.ips.record(
            user_id,
            token,
            str(getattr(address, "host", address)),
            ua.decode("ascii", "replace") if ua else "",
            requester.device_id,
        )
        if requester.is_guest and not allow_guest:
            raise AuthError(403, "Guest access not allowed", errcode=Codes.GUEST_ACCESS_FORBIDDEN)
        request.requester = requester
        return requester

    async def get_optional_user_by_req(
        self, request: Any, allow_guest: bool = False, allow_expired: bool = False
    ) -> Optional[Requester]:
        """Like :meth:`get_user_by_req`, but ``None`` when the request has no token."""
        if not has_access_token(request):
            return None
        return await self.get_user_by_req(request, allow_guest, allow_expired)

    async def is_user_expired(self, user_id: str) -> bool:
        """``is_user_expired`` callbacks (first non-``None``); else not expired."""
        expired: Optional[bool] = await self._validity.is_user_expired(user_id)
        return bool(expired)

    async def is_server_admin(self, requester: "Requester | str") -> bool:
        user_id = requester if isinstance(requester, str) else requester.user.to_string()
        user = await self._users.get_user(user_id)
        return bool(user is not None and user.is_admin)

    async def assert_user_is_admin(self, requester: Requester) -> None:
        """403 ``M_FORBIDDEN`` "You are not a server admin" unless the requester is one."""
        if not await self.is_server_admin(requester):
            raise AuthError(403, "You are not a server admin")

    async def get_admin_by_req(self, request: Any) -> Requester:
        """Authenticate an admin API request."""
        requester = await self.get_user_by_req(request)
        await self.assert_user_is_admin(requester)
        return requester


# ---------------------------------------------------------------------- user-interactive auth

#: keys of a session's server data (Synapse's ``UIAuthSessionDataConstants``)
PASSWORD_HASH = "password_hash"
REGISTERED_USER_ID = "registered_user_id"
REQUEST_USER_ID = "request_user_id"


class InteractiveAuthIncompleteError(Exception):
    """More stages are needed: answer 401 with ``result``."""

    def __init__(self, session_id: str, result: Dict[str, Any]) -> None:
        super().__init__("Interactive auth not yet complete")
        self.session_id = session_id
        self.result = result


@attr.s(slots=True, auto_attribs=True)
class _Session:
    session_id: str
    clientdict: Dict[str, Any]
    uri: str
    method: str
    description: str
    created_ms: int
    serverdict: Dict[str, Any] = attr.Factory(dict)
    stages: Dict[str, Any] = attr.Factory(dict)
    #: (user agent, ip) pairs seen, in order
    ips: Dict[Tuple[str, str], None] = attr.Factory(dict)


class UserInteractiveAuth:
    """Synapse's UIA: flows of stages, sessions keyed by a random id, stages checked by
    type (``m.login.dummy``, ``m.login.email.identity`` when email is configured, and any
    login type through :meth:`LoginHandler.validate_login`)."""

    SESSION_EXPIRE_MS = 48 * 3600 * 1000

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self._sessions: Dict[str, _Session] = {}
        #: access token id -> when it last passed UIA (``ui_auth.session_timeout``)
        self._last_validated: Dict[int, int] = {}

    @staticmethod
    def get_session_id(clientdict: Mapping[str, Any]) -> Optional[str]:
        auth = clientdict.get("auth") if clientdict else None
        if isinstance(auth, Mapping) and "session" in auth:
            return auth["session"]
        return None

    def get_session_data(self, session_id: str, key: str, default: Any = None) -> Any:
        session = self._sessions.get(session_id)
        return default if session is None else session.serverdict.get(key, default)

    def set_session_data(self, session_id: str, key: str, value: Any) -> None:
        session = self._sessions.get(session_id)
        if session is None:
            raise SynapseError(400, "Unknown session ID: %s" % (session_id,))
        session.serverdict[key] = value

    def user_agents_ips(self, session_id: str) -> List[Tuple[str, str]]:
        """The (user agent, ip) pairs the session was used from."""
        session = self._sessions.get(session_id)
        return [] if session is None else list(session.ips)

    def _new_session(self, clientdict: Dict[str, Any], info: ClientInfo, description: str) -> _Session:
        from synapse_modhost.homeserver.handlers.login import random_string

        now = self.hs.time_msec()
        for sid in [s for s, v in self._sessions.items() if now - v.created_ms > self.SESSION_EXPIRE_MS]:
            del self._sessions[sid]
        session = _Session(random_string(24), dict(clientdict), info.uri, info.method,
                           description, now)  # fmt: skip
        self._sessions[session.session_id] = session
        return session

    @staticmethod
    def auth_dict_for_flows(flows: List[List[str]], session_id: str) -> Dict[str, Any]:
        return {"session": session_id, "flows": [{"stages": f} for f in flows], "params": {}}

    async def check_ui_auth(
        self,
        flows: List[List[str]],
        info: ClientInfo,
        clientdict: Dict[str, Any],
        description: str,
        new_session_data: Optional[Mapping[str, Any]] = None,
    ) -> Tuple[Dict[str, Any], Dict[str, Any], str]:
        """``(completed stages, request params, session id)`` once a flow is complete;
        else :class:`InteractiveAuthIncompleteError`. Pops ``auth`` from ``clientdict``."""
        authdict = clientdict.pop("auth", None) or {}
        sid = authdict.get("session") if isinstance(authdict, Mapping) else None
        if not sid:
            session = self._new_session(clientdict, info, description)
            session.serverdict.update(new_session_data or {})
        else:
            found = self._sessions.get(sid)
            if found is None:
                raise SynapseError(400, "Unknown session ID: %s" % (sid,))
            session = found
            if not clientdict:
                clientdict = dict(session.clientdict)
            if (session.uri, session.method) != (info.uri, info.method):
                raise SynapseError(
                    403, "Requested operation has changed during the UI authentication session."
                )
            if session.clientdict != clientdict:
                logger.warning(
                    "Requested operation has changed during the UI authentication session. "
                    "A future version of Synapse will remove this capability."
                )
            session.clientdict = dict(clientdict)
        session.ips[(info.user_agent, info.ip)] = None
        if not authdict:
            raise InteractiveAuthIncompleteError(
                session.session_id, self.auth_dict_for_flows(flows, session.session_id)
            )
        errordict: Dict[str, Any] = {}
        if "type" in authdict:
            try:
                result = await self._check_auth_dict(authdict, info.ip)
                if result:
                    session.stages[authdict["type"]] = result
            except LoginError as e:
                errordict = e.error_dict()
        creds = dict(session.stages)
        for flow in flows:
            if not set(flow) - set(creds):
                logger.info("Auth completed with creds: %r. Client dict has keys: %r",
                            creds, list(clientdict))  # fmt: skip
                return creds, clientdict, session.session_id
        ret = self.auth_dict_for_flows(flows, session.session_id)
        ret["completed"] = list(creds)
        ret.update(errordict)
        raise InteractiveAuthIncompleteError(session.session_id, ret)

    async def _check_auth_dict(self, authdict: Dict[str, Any], ip: str) -> Any:
        login_type = authdict["type"]
        if login_type == "m.login.dummy":
            return True
        if login_type == "m.login.email.identity" and self.hs.auth.settings.can_verify_email:
            return await self.hs.threepids.check_email_identity(authdict)
        canonical_id, _ = await self.hs.login.validate_login(authdict, is_reauth=True)
        return canonical_id

    async def available_types(self, user_id: str) -> List[str]:
        """The stages a user can re-authenticate with: a password if they have one, then
        the module login types."""
        settings = self.hs.auth.settings
        types: List[str] = []
        if settings.password_localdb_enabled and settings.password_enabled_for_reauth:
            found = await self.hs.login.find_user_id_and_pwd_hash(user_id)
            if found is not None and found[1]:
                types.append("m.login.password")
        for t in self.hs.callbacks.password_auth_provider.get_supported_login_types():
            if t == "m.login.password" and not settings.password_enabled_for_reauth:
                continue
            if t not in types:
                types.append(t)
        return types

    async def validate_user_via_ui_auth(
        self,
        requester: Requester,
        info: ClientInfo,
        request_body: Dict[str, Any],
        description: str,
        can_skip_ui_auth: bool = False,
    ) -> Tuple[Dict[str, Any], Optional[str]]:
        """Re-authenticate the requester; ``(params, session_id)``. 403 "Invalid auth"
        when the stages authenticate someone else."""
        token_id = requester.access_token_id
        if token_id is None:
            raise ValueError("Cannot validate a user without an access token")
        timeout = self.hs.auth.settings.ui_auth_session_timeout_ms
        if can_skip_ui_auth and timeout:
            last = self._last_validated.get(token_id, 0)
            if self.hs.time_msec() - last < timeout:
                request_body.pop("auth", None)
                return request_body, None
        user_id = requester.user.to_string()
        types = await self.available_types(user_id)
        result, params, session_id = await self.check_ui_auth(
            [[t] for t in types], info, request_body, description, {REQUEST_USER_ID: user_id}
        )
        for t in types:
            if t in result:
                validated = result[t]
                break
        else:
            raise Exception("check_auth returned True but no successful login type")
        if validated != user_id:
            raise AuthError(403, "Invalid auth")
        self._last_validated[token_id] = self.hs.time_msec()
        return params, session_id
