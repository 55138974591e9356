"""``AccountDataManager`` (MODULEAPI.md §2)."""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["AccountDataManager"]


class AccountDataManager:
    """Reads and writes users' global account data. Added in v1.57.0.

    Writes go through the stand-in's account data handler, so they wake ``/sync``
    long-polls and fire ``on_account_data_updated`` like a client's ``PUT``.
    """

    def __init__(self, host: Any = None) -> None:
        self._host = host

    def _validate_user_id(self, user_id: str) -> None:
        from synapse_modhost.types import UserID  # an attrs class: built on first use

        user = UserID.from_string(user_id)
        if user.domain != self._host.hs.server_name:
            raise ValueError(
                f"{user_id} is not local to this homeserver; can't access account data for "
                "remote users."
            )

    async def get_global(self, user_id: str, data_type: str) -> Optional[Mapping[str, Any]]:
        """The user's global account data of ``data_type`` (a frozen copy), or ``None``."""
        self._validate_user_id(user_id)
        # imported here: the events package is not needed to start the host
        from synapse_modhost.events._json import freeze

        data = await self._host.hs.account_data.get_global(user_id, data_type)
        return freeze(data)

    async def put_global(self, user_id: str, data_type: str, new_data: Mapping[str, Any]) -> None:
        """Replace the user's global account data of ``data_type`` (fires
        ``on_account_data_updated``)."""
        self._validate_user_id(user_id)
        if not isinstance(data_type, str):
            raise TypeError(f"data_type must be a str; got {type(data_type).__name__}")
        if not isinstance(new_data, dict):
            raise TypeError(f"new_data must be a dict; got {type(new_data).__name__}")
        hs = self._host.hs
        if await hs.user_store.get_user(user_id) is None:
            raise ValueError(f"User {user_id} does not exist on this server.")
        await hs.account_data.add_account_data_for_user(user_id, data_type, new_data)
