"""``AccountDataManager`` (MODULEAPI.md §2)."""

from __future__ import annotations

from typing import Any, Mapping, Optional


def _not_yet(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{what} needs the homeserver stand-in (a later issue); synapse-modhost does not "
        "serve it yet"
    )


__all__ = ["AccountDataManager"]


class AccountDataManager:
    """Reads and writes users' global account data. Added in v1.57.0."""

    def __init__(self, host: Any = None) -> None:
        self._host = host

    async def get_global(self, user_id: str, data_type: str) -> Optional[Mapping[str, Any]]:
        """The user's global account data of ``data_type`` (frozen), or ``None``."""
        raise _not_yet("AccountDataManager.get_global")

    async def put_global(self, user_id: str, data_type: str, new_data: Mapping[str, Any]) -> None:
        """Replace the user's global account data of ``data_type``."""
        raise _not_yet("AccountDataManager.put_global")
