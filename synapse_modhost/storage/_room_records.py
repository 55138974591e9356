"""Records the room and event stores hand out (schema ``002_rooms``)."""

from __future__ import annotations

from typing import Dict, List, Optional

import attr

from synapse_modhost.types import StateKey

__all__ = [
    "AliasRecord",
    "MembershipRecord",
    "PublicRoomRecord",
    "RoomAliasExistsError",
    "RoomExistsError",
    "RoomRecord",
    "StateKey",
]


class RoomExistsError(Exception):
    """A room with this ID is already stored (``store_room``)."""

    def __init__(self, room_id: str) -> None:
        super().__init__("room %s already exists" % (room_id,))
        self.room_id = room_id


class RoomAliasExistsError(Exception):
    """The alias already points to a room (``create_alias``)."""

    def __init__(self, room_alias: str) -> None:
        super().__init__("Room alias %s already exists" % (room_alias,))
        self.room_alias = room_alias


@attr.s(frozen=True, slots=True, auto_attribs=True)
class RoomRecord:
    """A row of ``rooms``."""

    room_id: str
    room_version: str
    creator: Optional[str]
    is_public: bool
    created_ts: int


@attr.s(frozen=True, slots=True, auto_attribs=True)
class MembershipRecord:
    """A local user's current membership in a room."""

    user_id: str
    room_id: str
    membership: str
    event_id: str
    stream_ordering: int
    forgotten: bool = False


@attr.s(frozen=True, slots=True, auto_attribs=True)
class AliasRecord:
    """A room alias and where it points."""

    room_alias: str
    room_id: str
    creator: Optional[str]
    servers: List[str]


@attr.s(frozen=True, slots=True, auto_attribs=True)
class PublicRoomRecord:
    """What the public room list shows of a room (from its current state)."""

    room_id: str
    joined_members: int
    name: Optional[str] = None
    topic: Optional[str] = None
    canonical_alias: Optional[str] = None
    avatar: Optional[str] = None
    history_visibility: Optional[str] = None
    guest_access: Optional[str] = None
    join_rules: Optional[str] = None
    room_type: Optional[str] = None

    def entry(self) -> Dict[str, object]:
        """The ``/publicRooms`` chunk entry (``None`` values left out, as Synapse does)."""
        entry: Dict[str, object] = {
            "room_id": self.room_id,
            "name": self.name,
            "topic": self.topic,
            "canonical_alias": self.canonical_alias,
            "num_joined_members": self.joined_members,
            "avatar_url": self.avatar,
            "world_readable": self.history_visibility == "world_readable",
            "guest_can_join": self.guest_access == "can_join",
            "join_rule": self.join_rules,
            "room_type": self.room_type,
        }
        return {k: v for k, v in entry.items() if v is not None}
