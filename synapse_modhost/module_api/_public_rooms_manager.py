"""``PublicRoomListManager`` (MODULEAPI.md §2)."""

from __future__ import annotations

from typing import Any


def _not_yet(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{what} needs the homeserver stand-in (a later issue); synapse-modhost does not "
        "serve it yet"
    )


__all__ = ["PublicRoomListManager"]


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
