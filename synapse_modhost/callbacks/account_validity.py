"""Account-validity callbacks (``register_account_validity_callbacks``, Synapse 1.39+).

Rules are Synapse 1.163's (CALLBACKS.md §3).
"""

from __future__ import annotations

import logging
from typing import Any, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.callbacks._dispatch import CallbackRef, delay_cancellation
from synapse_modhost.callbacks._registry import CallbackCategory
from synapse_modhost.errors import AuthError

__all__ = ["AccountValidityCallbacks"]

logger = logging.getLogger(__name__)

_LEGACY_SLOTS = ("on_legacy_send_mail", "on_legacy_renew", "on_legacy_admin_request")


class AccountValidityCallbacks(CallbackCategory):
    """``account_validity`` callbacks. Every exception **propagates** (500 unless it is a
    ``SynapseError``), including the ``TypeError`` of a non-async callback.

    * ``is_user_expired`` (``delay_cancellation``): the first non-``None`` result; ``None``
      when no module answers (the caller then applies the ``account_validity`` config, or
      ``False``).
    * ``on_user_registration``, ``on_user_login`` (plain await): all run, in order.
    * ``on_legacy_send_mail``, ``on_legacy_renew``, ``on_legacy_admin_request``: single
      slots — registering a second one raises ``RuntimeError("Tried to register <name>
      twice")`` (callbacks earlier in the same call stay registered, as in Synapse); the
      caller checks :meth:`has` and falls back to the built-in behaviour when unset;
      calling one that is unset raises ``LookupError``.
    """

    category = "account_validity"

    def register_callbacks(
        self,
        module: str,
        *,
        is_user_expired: Any | None = None,
        on_user_registration: Any | None = None,
        on_user_login: Any | None = None,
        on_legacy_send_mail: Any | None = None,
        on_legacy_renew: Any | None = None,
        on_legacy_admin_request: Any | None = None,
    ) -> None:
        """Append the list callbacks; fill the single slots (a second one raises)."""
        self._add(module, "is_user_expired", is_user_expired)
        self._add(module, "on_user_registration", on_user_registration)
        self._add(module, "on_user_login", on_user_login)
        legacy = (on_legacy_send_mail, on_legacy_renew, on_legacy_admin_request)
        for name, func in zip(_LEGACY_SLOTS, legacy, strict=False):
            if func is None:
                continue
            if self.has(name):
                raise RuntimeError(f"Tried to register {name} twice")
            self._add(module, name, func)

    async def is_user_expired(self, user_id: str) -> bool | None:
        """The first non-``None`` result, or ``None`` when no callback decided."""
        for cb in self.callbacks("is_user_expired"):
            expired = await delay_cancellation(self._dispatcher.call(cb, user_id))
            if expired is not None:
                return expired
        return None

    async def on_user_registration(self, user_id: str) -> None:
        """Run every callback; exceptions propagate (the user row already exists)."""
        for cb in self.callbacks("on_user_registration"):
            await self._dispatcher.call(cb, user_id)

    async def on_user_login(
        self,
        user_id: str,
        auth_provider_type: str | None,
        auth_provider_id: str | None,
    ) -> None:
        """Run every callback; exceptions propagate (the token already exists)."""
        for cb in self.callbacks("on_user_login"):
            await self._dispatcher.call(cb, user_id, auth_provider_type, auth_provider_id)

    def _slot(self, name: str) -> CallbackRef:
        cbs = self.callbacks(name)
        if not cbs:
            raise LookupError(f"No {name} callback is registered")
        return cbs[0]

    async def on_legacy_send_mail(self, user_id: str) -> None:
        """Run the single ``on_legacy_send_mail`` callback; exceptions propagate."""
        await self._dispatcher.call(self._slot("on_legacy_send_mail"), user_id)

    async def on_legacy_renew(self, renewal_token: str) -> Tuple[bool, bool, int]:
        """``(token_valid, token_stale, expiration_ts)`` from the single callback."""
        return await self._dispatcher.call(self._slot("on_legacy_renew"), renewal_token)

    async def on_legacy_admin_request(self, request: Any) -> Any:
        """The ``expiration_ts`` the single callback returns for the admin request."""
        return await self._dispatcher.call(self._slot("on_legacy_admin_request"), request)

    @staticmethod
    def expired_error() -> AuthError:
        """403 ``ORG_MATRIX_EXPIRED_ACCOUNT`` "User account has expired" (``get_user_by_req``)."""
        return AuthError(403, "User account has expired", errcode=Codes.EXPIRED_ACCOUNT)
