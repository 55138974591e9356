"""The legacy account-validity endpoints, served by the module callbacks (TRIGGERS.md §7).

Synapse keeps its own expiry bookkeeping (the ``account_validity`` config section) for
when no module registers ``on_legacy_renew`` / ``on_legacy_send_mail`` /
``on_legacy_admin_request``; the stand-in has none, so without a module these endpoints
answer as a Synapse whose account validity is off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Tuple

from synapse_modhost.errors import AuthError, SynapseError

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["AccountValidityHandler"]


class AccountValidityHandler:
    """``renew``, ``send_mail`` and the admin ``validity`` endpoint."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self._callbacks = hs.callbacks.account_validity

    async def renew_account(self, renewal_token: str) -> Tuple[bool, bool, int]:
        """(token valid and unused, token valid but used, expiry ms) — from
        ``on_legacy_renew``; without it every token is unknown."""
        if self._callbacks.has("on_legacy_renew"):
            valid, stale, expiration_ts = await self._callbacks.on_legacy_renew(renewal_token)
            return bool(valid), bool(stale), int(expiration_ts)
        return False, False, 0

    async def send_renewal_email_to_user(self, user_id: str) -> None:
        """``on_legacy_send_mail``; without it, Synapse's 403 for renewal by email off."""
        if self._callbacks.has("on_legacy_send_mail"):
            await self._callbacks.on_legacy_send_mail(user_id)
            return
        raise AuthError(403, "Account renewal via email is disabled on this server.")

    async def admin_request(self, request: Any, user_id: Optional[str]) -> Any:
        """The admin ``validity`` endpoint's ``expiration_ts``: ``on_legacy_admin_request``;
        without it the request needs a ``user_id``, and the stand-in keeps no expiry."""
        if self._callbacks.has("on_legacy_admin_request"):
            return await self._callbacks.on_legacy_admin_request(request)
        if user_id is None:
            raise SynapseError(400, "Missing property 'user_id' in the request body")
        raise SynapseError(
            400,
            "synapse-modhost keeps no account expiry of its own: register "
            "on_legacy_admin_request in a module to serve this endpoint",
        )
