"""Authenticating client requests: access token → ``Requester`` (TRIGGERS.md §0).

The order is Synapse's: token extraction, token lookup, locked account, then
``is_user_expired`` (unless ``allow_expired``), then the guest check; the requester is
stored on the request. Every authenticated endpoint goes through :meth:`Auth.get_user_by_req`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from synapse_modhost._codes import Codes
from synapse_modhost.errors import (
    AuthError,
    InvalidClientTokenError,
    MissingClientTokenError,
)
from synapse_modhost.types import Requester, create_requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["Auth", "get_access_token_from_request"]


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


class Auth:
    """Turns access tokens into requesters and checks admin rights."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self._users = hs.user_store
        self._validity = hs.callbacks.account_validity

    async def get_user_by_access_token(self, token: str, allow_expired: bool = False) -> Requester:
        """The requester a token stands for; 401 ``M_UNKNOWN_TOKEN`` if unknown or expired."""
        info = await self._users.get_user_by_access_token(token)
        if info is None or info.deactivated:
            raise InvalidClientTokenError()
        if info.valid_until_ms is not None and info.valid_until_ms < self.hs.time_msec():
            raise InvalidClientTokenError("Access token has expired", soft_logout=True)
        return create_requester(
            info.user_id,
            access_token_id=info.token_id,
            is_guest=info.is_guest,
            shadow_banned=info.shadow_banned,
            device_id=info.device_id,
            authenticated_entity=info.token_owner,
        )

    async def get_user_by_req(
        self, request: Any, allow_guest: bool = False, allow_expired: bool = False
    ) -> Requester:
        """Authenticate ``request``; sets ``request.requester`` (a second call fails, as in
        Synapse, with ``AssertionError``)."""
        token = get_access_token_from_request(request)
        requester = await self.get_user_by_access_token(token, allow_expired)
        info = await self._users.get_user_by_access_token(token)
        if info is not None and info.locked:
            raise AuthError(
                401,
                "User account has been locked",
                errcode=Codes.USER_LOCKED,
                additional_fields={"soft_logout": True},
            )
        if not allow_expired and await self.is_user_expired(requester.user_id):
            raise AuthError(403, "User account has expired", errcode=Codes.EXPIRED_ACCOUNT)
        if requester.is_guest and not allow_guest:
            raise AuthError(403, "Guest access not allowed", errcode=Codes.GUEST_ACCESS_FORBIDDEN)
        request.requester = requester
        return requester

    async def is_user_expired(self, user_id: str) -> bool:
        """``is_user_expired`` callbacks (first non-``None``); else not expired."""
        expired: Optional[bool] = await self._validity.is_user_expired(user_id)
        return bool(expired)

    async def is_server_admin(self, requester: Requester) -> bool:
        user = await self._users.get_user(requester.user_id)
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

