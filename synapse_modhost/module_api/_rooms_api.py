"""ModuleApi members for rooms, events, state and aliases (mixed into ``ModuleApi``).

They call the stand-in's handlers (``self._host.hs``), the same ones the REST layer uses,
so modules' own events go through the same checks and callbacks (MODULEAPI.md §1.3).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, Generator, Iterable, List, Optional, Tuple

from twisted.internet import defer

from synapse_modhost.errors import SynapseError

# The attrs value types (UserID, RoomAlias, ...) are imported where they are used, so that
# loading a module does not build them (see synapse_modhost.types).
if TYPE_CHECKING:
    from synapse_modhost.events import Event
    from synapse_modhost.host import ModuleHost
    from synapse_modhost.types import RoomAlias, RoomID

__all__ = ["RoomsApiMixin"]

logger = logging.getLogger("synapse_modhost.module_api")

StateKey = Tuple[str, str]


def _filter_state(
    state: Dict[StateKey, "Event"], types: Optional[Iterable[Tuple[str, Optional[str]]]]
) -> Dict[StateKey, "Event"]:
    """Synapse's ``StateFilter.from_types``: ``(type, None)`` means any state key."""
    if types is None:
        return dict(state)
    wanted = list(types)
    if not wanted:
        return {}
    return {
        key: event
        for key, event in state.items()
        if any(key[0] == t and (k is None or key[1] == k) for t, k in wanted)
    }


class RoomsApiMixin:
    """ModuleApi members for rooms, events, state and aliases."""

    _host: "ModuleHost"
    _module_name: str
    _server_name: str

    # ------------------------------------------------------------------ state

    def get_state_events_in_room(
        self, room_id: str, types: Iterable[Tuple[str, Optional[str]]]
    ) -> "Generator[defer.Deferred[Any], Any, Iterable[Event]]":
        """The room's current state events of the given ``(type, state_key or None)``.
        Added in Synapse v1.22.0 (an ``inlineCallbacks``-style generator, as there)."""

        @defer.inlineCallbacks
        def get() -> "Generator[defer.Deferred[Any], Any, Iterable[Event]]":
            state = yield defer.ensureDeferred(self._host.hs.event_store.get_current_state(room_id))
            return _filter_state(state, types).values()

        return get()  # type: ignore[return-value]

    async def get_room_state(
        self, room_id: str, event_filter: Optional[Iterable[Tuple[str, Optional[str]]]] = None
    ) -> Dict[StateKey, "Event"]:
        """The room's current state ``{(type, state_key): event}``, optionally filtered.
        Added in Synapse v1.47.0."""
        state = await self._host.hs.event_store.get_current_state(room_id)
        event_filter = list(event_filter) if event_filter else None
        return _filter_state(state, event_filter)

    # ------------------------------------------------------------------ events

    async def create_and_send_event_into_room(self, event_dict: Dict[str, Any]) -> "Event":
        """Send a non-membership event as ``event_dict["sender"]`` (``check_event_allowed``
        and ``check_event_for_spam`` run; no rate limit, shadow-bans ignored); returns the
        event, or the earlier identical state event. Added in Synapse v1.22.0."""
        from synapse_modhost.types import create_requester

        requester = create_requester(event_dict["sender"], authenticated_entity=self._server_name)
        return await self._host.hs.events.create_and_send_nonmember_event(
            requester, event_dict, ratelimit=False, ignore_shadow_ban=True
        )

    async def update_room_membership(
        self,
        sender: str,
        target: str,
        room_id: str,
        new_membership: str,
        content: Optional[Dict[str, Any]] = None,
        remote_room_hosts: Optional[List[str]] = None,
    ) -> "Event":
        """Change ``target``'s membership as ``sender`` (a local user), through the normal
        membership checks; the profile fills ``displayname``/``avatar_url`` when absent.
        Added in Synapse v1.46.0."""
        if not self._host.hs.is_mine_id(sender):
            raise RuntimeError("Tried to send an event as a user that isn't local to this homeserver")
        from synapse_modhost.types import UserID, create_requester

        hs = self._host.hs
        requester = create_requester(sender)
        target_id = UserID.from_string(target)
        content = {} if content is None else content
        if "avatar_url" not in content or "displayname" not in content:
            profile: Dict[str, Any]
            stored = await hs.user_store.get_profile(target) if self._host.hs.is_mine_id(target) else None
            if stored is None:
                profile = {"displayname": target_id.localpart, "avatar_url": None}
            else:
                profile = {}
                if stored.displayname is not None:
                    profile["displayname"] = stored.displayname
                if stored.avatar_url is not None:
                    profile["avatar_url"] = stored.avatar_url
            for field in ("avatar_url", "displayname"):
                if field not in content and field in profile:
                    content[field] = profile[field]
        event_id, _ = await hs.membership.update_membership(
            requester, target, room_id, new_membership, content=content, remote_room_hosts=remote_room_hosts
        )
        event = await hs.event_store.get_event(event_id)
        assert event is not None
        return event

    # ------------------------------------------------------------------ rooms

    async def create_room(
        self,
        user_id: str,
        config: Dict[str, Any],
        ratelimit: bool = True,
        creator_join_profile: Optional[Dict[str, Any]] = None,
    ) -> Tuple[str, Optional[str]]:
        """Create a room as a local user, through the full ``createRoom`` path;
        ``(room_id, alias or None)``. Added in Synapse v1.65.0."""
        if not self._host.hs.is_mine_id(user_id):
            raise RuntimeError("Tried to create a room as a user that isn't local to this homeserver")
        from synapse_modhost.types import create_requester

        room_id, alias, _ = await self._host.hs.rooms.create_room(
            create_requester(user_id), config, ratelimit=ratelimit, creator_join_profile=creator_join_profile
        )
        return room_id, alias.to_string() if alias else None

    async def delete_room(self, room_id: str) -> None:
        """Schedule the room's shutdown and purge (``check_can_shutdown_room(None, room)``
        runs in the background); does not wait. Added in Synapse v1.89.0."""
        from synapse_modhost.homeserver.handlers._room_shutdown import get_shutdown_handler

        get_shutdown_handler(self._host.hs).start_shutdown_and_purge_room(
            room_id,
            {
                "new_room_user_id": None,
                "new_room_name": None,
                "message": None,
                "requester_user_id": None,
                "block": False,
                "purge": True,
                "force_purge": False,
            },
        )

    # ------------------------------------------------------------------ aliases

    async def lookup_room_alias(self, room_alias: str) -> Tuple[str, List[str]]:
        """``(room_id, servers)`` for an alias; ``SynapseError`` if invalid or unknown.
        Added in Synapse v1.65.0."""
        from synapse_modhost.types import RoomAlias

        alias = RoomAlias.from_string(room_alias)
        room_id, hosts = await self._host.hs.membership.lookup_room_alias(alias)
        return room_id.to_string(), hosts

    async def get_canonical_room_alias(self, room_id: RoomID) -> Optional[RoomAlias]:
        """The room's ``m.room.canonical_alias`` alias, or ``None``. Added in v1.86.0."""
        event = await self._host.hs.event_store.get_current_state_event(
            room_id.to_string(), "m.room.canonical_alias", ""
        )
        alias = event.content.get("alias") if event is not None else None
        if not isinstance(alias, str) or not alias:
            return None
        from synapse_modhost.types import RoomAlias

        try:
            return RoomAlias.from_string(alias)
        except SynapseError:
            return None
