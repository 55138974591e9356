"""In-memory presence for ``/sync``, with the presence router (CALLBACKS.md §6).

A ``/sync`` with ``set_presence`` other than ``offline`` (default ``online``) marks the
user as syncing: ``last_active_ts``/``last_user_sync_ts`` move to now and, when the
state or ``currently_active`` changes, the new state gets the next presence stream
position and is fanned out: ``get_users_for_states([state])`` names the extra users to
tell (besides the members of the user's rooms), whose long-polls are woken.

In a sync response (Synapse's ``PresenceEventSource.get_new_events``), nothing is done
when no presence changed since the token; otherwise ``get_interested_users(user)`` is
asked first: ``PRESENCE_ALL_USERS`` gives every (changed) state, passed through
``get_users_for_states`` and kept only if routed to the user; else the user sees the
(changed) states of themselves, of users sharing a room with them and of the interested
users. Initial syncs leave offline users out.

Not modelled: presence timeouts (online → unavailable after idling, → offline when the
user stops syncing), ``PUT /presence``, status messages, federation.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Collection,
    Dict,
    Iterable,
    List,
    Optional,
    Set,
    Tuple,
)

from synapse_modhost.types import PRESENCE_ALL_USERS, UserPresenceState

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["PresenceTracker", "format_presence_event"]

JsonDict = Dict[str, Any]


def format_presence_event(state: UserPresenceState, now_ms: int) -> JsonDict:
    """A ``m.presence`` event for ``/sync``."""
    content: JsonDict = {"presence": state.state}
    if state.last_active_ts:
        content["last_active_ago"] = now_ms - state.last_active_ts
    if state.status_msg:
        content["status_msg"] = state.status_msg
    if state.state == "online":
        content["currently_active"] = state.currently_active
    return {"type": "m.presence", "sender": state.user_id, "content": content}


class PresenceTracker:
    """Users' presence states, each with the stream position of its last change."""

    def __init__(self, hs: "HomeServer") -> None:
        self._hs = hs
        self._states: Dict[str, Tuple[int, UserPresenceState]] = {}

    def get_state(self, user_id: str) -> Optional[UserPresenceState]:
        entry = self._states.get(user_id)
        return None if entry is None else entry[1]

    async def user_syncing(self, user_id: str, set_presence: str, room_ids: Iterable[str]) -> None:
        """Record a ``/sync`` by ``user_id`` (see the module doc)."""
        if set_presence == "offline":
            return
        now = self._hs.time_msec()
        entry = self._states.get(user_id)
        prev = entry[1] if entry is not None else UserPresenceState.default(user_id)
        online = set_presence == "online"
        new = prev.copy_and_replace(
            state=set_presence,
            last_active_ts=now if online else prev.last_active_ts,
            last_user_sync_ts=now,
            currently_active=online,
        )
        if (
            entry is not None
            and prev.state == new.state
            and prev.currently_active == new.currently_active
        ):
            self._states[user_id] = (entry[0], new)
            return
        notifier = self._hs.notifier
        stream_id = notifier.next_presence_position()
        self._states[user_id] = (stream_id, new)
        routed = await self._hs.callbacks.presence_router.get_users_for_states([new])
        notifier.on_new_presence(stream_id, users={user_id, *routed}, rooms=room_ids)

    async def get_updates_for_user(
        self,
        user_id: str,
        from_key: Optional[int],
        current_key: int,
        sharing_users: Callable[[], Awaitable[Collection[str]]],
        include_offline: bool,
    ) -> List[UserPresenceState]:
        """The presence states ``user_id`` receives in a sync from ``from_key``
        (``None``: everything) to ``current_key``; ``sharing_users()`` gives the users
        sharing a room with them (only asked when needed)."""
        if from_key is not None and from_key >= current_key:
            return []
        router = self._hs.callbacks.presence_router
        interested = await router.get_interested_users(user_id)
        changed = [
            state
            for stream_id, state in self._states.values()
            if (from_key is None or stream_id > from_key) and stream_id <= current_key
        ]
        if interested == PRESENCE_ALL_USERS:
            routed = await router.get_users_for_states(changed)
            updates = list(routed.get(user_id, set()))
        else:
            wanted: Set[str] = {user_id, *(await sharing_users()), *interested}
            updates = [s for s in changed if s.user_id in wanted]
        if not include_offline:
            updates = [s for s in updates if s.state != "offline"]
        return updates
