"""``PublicRoomListManager`` (MODULEAPI.md §2): the local room directory, without any
permission or module checks."""

from __future__ import annotations

from typing import Any

__all__ = ["PublicRoomListManager"]


class PublicRoomListManager:
    """Adds rooms to and removes them from the public room directory. Added in v1.22.0."""

    def __init__(self, host: Any = None) -> None:
        self._host = host

    async def room_is_in_public_room_list(self, room_id: str) -> bool:
        """Whether ``room_id`` is published in the room directory (False if unknown)."""
        room = await self._host.hs.event_store.rooms.get_room(room_id)
        return bool(room is not None and room.is_public)

    async def add_room_to_public_room_list(self, room_id: str) -> None:
        """Publish ``room_id`` in the room directory."""
        await self._host.hs.event_store.rooms.set_room_is_public(room_id, True)

    async def remove_room_from_public_room_list(self, room_id: str) -> None:
        """Remove ``room_id`` from the room directory."""
        await self._host.hs.event_store.rooms.set_room_is_public(room_id, False)
