"""``PublicRoomListManager`` and ``AccountDataManager`` (MODULEAPI.md §2).

Both need the homeserver stand-in (rooms, users, account data), which does not exist
yet: the classes exist so that modules can import them and keep a reference to
``api.public_room_list_manager`` / ``api.account_data_manager`` at construction time;
calling any method raises ``NotImplementedError``.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["AccountDataManager", "PublicRoomListManager"]


def _not_yet(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{what} needs the homeserver stand-in (a later issue); synapse-modhost does not "
        "serve it yet"
    )


class PublicRoomListManager:
    """Adds rooms to and removes them from the public room directory. Added in v1.22.0."""

    def __init__(self, host: Any = None) -> None:
        self._host = host

    async def room_is_in_public_room_list(self, room_id: str) -> bool:
        """Whether ``room_id`` is published in the room directory (False if unknown)."""
        raise _not_yet("PublicRoomListManager.room_is_in_public_room_list")

    async def add_room_to_public_room_list(self, room_id: str) -> None:
        """Publish ``room_id`` in the room directory."""
        raise _not_yet("PublicRoomListManager.add_room_to_public_room_list")

    async def remove_room_from_public_room_list(self, room_id: str) -> None:
        """Remove ``room_id`` from the room directory."""
        raise _not_yet("PublicRoomListManager.remove_room_from_public_room_list")


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
