"""Account data, room tags and sync filters (TRIGGERS.md §6, CALLBACKS.md §8).

A write is stored, then long-polls are woken, then ``on_account_data_updated(user_id,
room_id|None, type, content)`` runs (every callback, in order; exceptions logged), as
Synapse's ``AccountDataHandler`` does. Room tags are kept as the room's ``m.tag``
account data (``{"tags": {...}}``), which is how ``/sync`` shows them; they fire no
module callback (as on Synapse).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Optional

from synapse_modhost.errors import AuthError, NotFoundError, SynapseError
from synapse_modhost.storage import AccountDataSnapshot, AccountDataStore

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["AccountDataHandler", "IGNORED_USERS_TYPE", "TAG_TYPE"]

JsonDict = Dict[str, Any]

TAG_TYPE = "m.tag"
IGNORED_USERS_TYPE = "m.ignored_user_list"
MAX_TAG_LENGTH = 255


class AccountDataHandler:
    """Reads and writes account data, tags and filters."""

    def __init__(self, hs: "HomeServer") -> None:
        self._hs = hs
        self._store: AccountDataStore = hs.account_data_store
        self._callbacks = hs.callbacks.account_data

    # ------------------------------------------------------------------ account data

    async def add_account_data_for_user(
        self, user_id: str, account_data_type: str, content: JsonDict
    ) -> int:
        """Replace ``user_id``'s global account data of this type; its stream id."""
        stream_id = await self._store.add_account_data(user_id, None, account_data_type, content)
        self._hs.notifier.on_new_account_data(user_id, stream_id)
        await self._callbacks.on_account_data_updated(user_id, None, account_data_type, content)
        return stream_id

    async def add_account_data_to_room(
        self, user_id: str, room_id: str, account_data_type: str, content: JsonDict
    ) -> int:
        """Replace ``user_id``'s account data of this type in ``room_id``; its stream id."""
        stream_id = await self._store.add_account_data(user_id, room_id, account_data_type, content)
        self._hs.notifier.on_new_account_data(user_id, stream_id)
        await self._callbacks.on_account_data_updated(user_id, room_id, account_data_type, content)
        return stream_id

    async def get_global(self, user_id: str, account_data_type: str) -> Optional[JsonDict]:
        return await self._store.get_global_account_data_by_type(user_id, account_data_type)

    async def get_for_room(
        self, user_id: str, room_id: str, account_data_type: str
    ) -> Optional[JsonDict]:
        return await self._store.get_room_account_data_by_type(user_id, room_id, account_data_type)

    async def get_changes(
        self, user_id: str, since: int = 0, upto: Optional[int] = None
    ) -> AccountDataSnapshot:
        """``user_id``'s account data written in ``(since, upto]`` (all of it by default)."""
        return await self._store.get_account_data_for_user(user_id, since, upto)

    async def get_ignored_users(self, user_id: str) -> FrozenSet[str]:
        """The users ``user_id`` ignores (``m.ignored_user_list``)."""
        content = await self.get_global(user_id, IGNORED_USERS_TYPE)
        ignored = (content or {}).get("ignored_users")
        if not isinstance(ignored, dict):
            return frozenset()
        return frozenset(u for u in ignored if isinstance(u, str))

    # ------------------------------------------------------------------ tags

    async def get_tags_for_room(self, user_id: str, room_id: str) -> JsonDict:
        content = await self.get_for_room(user_id, room_id, TAG_TYPE)
        tags = (content or {}).get("tags")
        return dict(tags) if isinstance(tags, dict) else {}

    async def check_can_tag(self, user_id: str, room_id: str, tag: str) -> None:
        """Synapse's checks before a tag is set: its length, then any membership."""
        if len(tag.encode("utf-8")) > MAX_TAG_LENGTH:
            raise SynapseError(
                400, "tag parameter's length is over 255 bytes", errcode="M_INVALID_PARAM"
            )
        rooms = await self._hs.event_store.get_rooms_for_user_with_membership(user_id)
        if room_id not in rooms:
            raise AuthError(403, f"User {user_id} has no membership in room {room_id}")

    async def add_tag_to_room(self, user_id: str, room_id: str, tag: str, content: JsonDict) -> int:
        """Set ``tag`` on ``room_id`` for ``user_id`` (see :meth:`check_can_tag`)."""
        tags = await self.get_tags_for_room(user_id, room_id)
        tags[tag] = content
        return await self._put_tags(user_id, room_id, tags)

    async def remove_tag_from_room(self, user_id: str, room_id: str, tag: str) -> int:
        tags = await self.get_tags_for_room(user_id, room_id)
        tags.pop(tag, None)
        return await self._put_tags(user_id, room_id, tags)

    async def _put_tags(self, user_id: str, room_id: str, tags: JsonDict) -> int:
        stream_id = await self._store.add_account_data(user_id, room_id, TAG_TYPE, {"tags": tags})
        self._hs.notifier.on_new_account_data(user_id, stream_id)
        return stream_id

    # ------------------------------------------------------------------ filters

    async def add_user_filter(self, user_id: str, filter_json: JsonDict) -> int:
        return await self._store.add_user_filter(user_id, filter_json)

    async def get_user_filter(self, user_id: str, filter_id: int) -> JsonDict:
        """The stored filter; 404 ``M_NOT_FOUND`` "No such filter" if there is none."""
        found = await self._store.get_user_filter(user_id, filter_id)
        if found is None:
            raise NotFoundError("No such filter")
        return found
