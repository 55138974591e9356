"""``GET /sync``: Synapse's sync algorithm on the stand-in's linear room histories.

Tokens are :class:`~synapse_modhost.homeserver.handlers.notifier.StreamToken` (room
events, presence, account data). An initial sync (no ``since``, or ``full_state``) gives
every joined room with its latest ``timeline.limit`` visible events, invites, knocks,
left rooms when the filter has ``include_leave``, all account data and the presence the
user may see. An incremental sync gives what changed after ``since``: rooms with new
events, account data or a membership change (newly joined rooms as in an initial sync;
invites; rooms left or banned from, up to the leave), changed account data and presence.

Room entries follow Synapse's rules: ``limited`` when older events were left out;
``prev_batch`` is the position before the first timeline event when the timeline was
cut or is an incremental one, else the end of the timeline; ``state`` is
``(state at the end ∪ state at the start of the timeline) − state at since − state
events in the timeline``; with ``lazy_load_members`` only the membership of the
timeline's senders (and the user) is sent, plus a ``summary``. Events pass Synapse's
visibility rules (``_visibility``) and carry ``unsigned.membership``.

A long-poll (``timeout`` with ``since``) answers as soon as the result is not empty, or
after the timeout with whatever there is (an empty result with an advanced
``next_batch`` when other users' activity moved the streams).

Not served (empty or absent, as Synapse sends them when there is nothing): ephemeral
events (typing, receipts), to-device messages, device lists, one-time key counts
(always ``{"signed_curve25519": 0}``), unread notification counts (always 0: there are
no push rules), ``m.push_rules`` account data.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple

import attr

from synapse_modhost.homeserver.handlers._filtering import FilterCollection
from synapse_modhost.homeserver.handlers._presence import PresenceTracker
from synapse_modhost.homeserver.handlers._sync_encode import encode_sync_result
from synapse_modhost.homeserver.handlers._visibility import (
    FilteredEvent,
    RoomStateHistory,
    StateKey,
    _stream,
    filter_events_for_client,
    load_room_history,
)
from synapse_modhost.homeserver.handlers.notifier import StreamToken
from synapse_modhost.types import Requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["RoomSyncResult", "SyncHandler", "SyncRequest", "SyncResult"]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]

#: Synapse tries this many pages when visibility hides events from a timeline
_MAX_PAGES = 5


@attr.s(slots=True, auto_attribs=True)
class SyncRequest:
    """What a ``/sync`` request asks for."""

    requester: Requester
    filter: FilterCollection
    since: Optional[StreamToken] = None
    timeout_ms: int = 0
    full_state: bool = False
    set_presence: str = "online"

    @property
    def user_id(self) -> str:
        return self.requester.user.to_string()


@attr.s(slots=True, auto_attribs=True)
class RoomSyncResult:
    """A joined or left room's entry."""

    room_id: str
    timeline: List[FilteredEvent]
    limited: bool
    prev_batch: StreamToken
    state: List[Any]
    account_data: List[JsonDict]
    summary: JsonDict = attr.Factory(dict)

    def __bool__(self) -> bool:
        return bool(self.timeline or self.state or self.account_data)


@attr.s(slots=True, auto_attribs=True)
class SyncResult:
    """A sync's content before serialisation."""

    next_batch: StreamToken
    account_data: List[JsonDict] = attr.Factory(list)
    presence: List[Any] = attr.Factory(list)
    joined: List[RoomSyncResult] = attr.Factory(list)
    invited: List[Tuple[str, Any]] = attr.Factory(list)
    knocked: List[Tuple[str, Any]] = attr.Factory(list)
    archived: List[RoomSyncResult] = attr.Factory(list)
    joined_room_ids: List[str] = attr.Factory(list)

    def __bool__(self) -> bool:
        return bool(
            self.account_data
            or self.presence
            or any(self.joined)
            or self.invited
            or self.knocked
            or self.archived
        )


class SyncHandler:
    """Computes sync responses and waits for long-polls."""

    def __init__(self, hs: "HomeServer") -> None:
        self._hs = hs
        self.presence = PresenceTracker(hs)

    async def sync(self, request: SyncRequest) -> JsonDict:
        """The response body of a ``/sync`` request."""
        store = self._hs.event_store
        rooms = await store.get_rooms_for_user_with_membership(request.user_id)
        joined = [room_id for room_id, entry in rooms.items() if entry[0] == "join"]
        await self.presence.user_syncing(request.user_id, request.set_presence, joined)
        result = await self._wait_for_sync(request)
        return await encode_sync_result(self._hs, request, result)

    async def _wait_for_sync(self, request: SyncRequest) -> SyncResult:
        result = await self.generate(request)
        if request.since is None or request.full_state or request.timeout_ms <= 0:
            return result
        clock = self._hs.reactor
        end = clock.seconds() + request.timeout_ms / 1000.0
        notifier = self._hs.notifier
        while not result:
            remaining_ms = int(round((end - clock.seconds()) * 1000))
            if remaining_ms <= 0:
                break
            woke = await notifier.wait_for_events(
                request.user_id, result.next_batch, remaining_ms, result.joined_room_ids
            )
            result = await self.generate(request)
            if not woke:
                break
        return result

    # ------------------------------------------------------------------ generation

    async def generate(self, request: SyncRequest) -> SyncResult:
        """The sync result from ``request.since`` to now, without waiting."""
        hs = self._hs
        user_id = request.user_id
        flt = request.filter
        since = None if request.full_state else request.since
        now = await hs.notifier.get_current_token()
        result = SyncResult(next_batch=now)

        account_data = await hs.account_data.get_changes(
            user_id, since.account_data if since else 0, now.account_data
        )
        result.account_data = flt.account_data.filter(
            {"type": t, "content": c} for t, c in account_data.global_data.items()
        )
        ignored = await hs.account_data.get_ignored_users(user_id)

        memberships = await hs.event_store.get_rooms_for_user_with_membership(user_id)
        for room_id in sorted(memberships):
            membership, event_id, position = memberships[room_id]
            if position > now.room or not flt.allows_room(room_id):
                continue
            if membership == "join":
                result.joined_room_ids.append(room_id)
            room_data = account_data.room_data.get(room_id, {})
            if membership in ("invite", "knock"):
                if since is None or position > since.room:
                    event = await hs.event_store.get_event(event_id)
                    if event is not None:
                        target = result.invited if membership == "invite" else result.knocked
                        target.append((room_id, event))
                continue
            if membership == "join":
                if (
                    since is not None
                    and position <= since.room
                    and not room_data
                    and not hs.notifier.room_changed_since(room_id, since.room)
                ):
                    continue
                history = await load_room_history(hs.event_store, room_id, now.room)
                newly_joined = (
                    since is not None and history.membership_at(user_id, since.room) != "join"
                )
                entry = await self._room_entry(
                    request, room_id, history, now, since, newly_joined, room_data, ignored
                )
                if entry or since is None or newly_joined:
                    result.joined.append(entry)
            elif membership in ("leave", "ban"):
                if since is None and not flt.include_leave:
                    continue
                if since is not None and position <= since.room:
                    continue
                history = await load_room_history(hs.event_store, room_id, position)
                newly_joined = (
                    since is not None and history.membership_at(user_id, since.room) != "join"
                )
                leave_token = (since or now).copy_and_replace_room(position)
                result.archived.append(
                    await self._room_entry(
                        request,
                        room_id,
                        history,
                        leave_token,
                        since,
                        newly_joined,
                        room_data,
                        ignored,
                        archived=True,
                    )
                )

        # Presence positions are not persisted: a token from before a restart may be
        # ahead, and then gets everything again.
        from_key = None if since is None or since.presence > now.presence else since.presence
        states = await self.presence.get_updates_for_user(
            user_id,
            from_key,
            now.presence,
            lambda: self._users_sharing_rooms(result.joined_room_ids),
            include_offline=since is not None,
        )
        result.presence = [
            s for s in states if flt.presence.check_fields("m.presence", s.user_id, None)
        ]
        return result

    async def _users_sharing_rooms(self, room_ids: List[str]) -> Set[str]:
        """The users joined to any of ``room_ids``."""
        users: Set[str] = set()
        for room_id in room_ids:
            state = await self._hs.event_store.get_current_state(room_id)
            users.update(
                key[1]
                for key, event in state.items()
                if key[0] == "m.room.member" and event.membership == "join"
            )
        return users

    async def _room_entry(
        self,
        request: SyncRequest,
        room_id: str,
        history: RoomStateHistory,
        end: StreamToken,
        since: Optional[StreamToken],
        newly_joined: bool,
        room_data: Dict[str, JsonDict],
        ignored: Any,
        archived: bool = False,
    ) -> RoomSyncResult:
        """A room's timeline, state and account data up to ``end`` (the leave, for an
        archived room), after ``since`` (``None``: an initial entry)."""
        user_id = request.user_id
        flt = request.filter
        end_state = history.state_at(end.room)
        current_ids = {e.event_id for e in end_state.values()}
        timeline, limited, prev_batch = await self._load_timeline(
            user_id, room_id, history, end, since, newly_joined, archived, flt, ignored, current_ids
        )
        start_pos = _stream(timeline[0][0]) - 1 if timeline else end.room
        state_since = None if since is None or newly_joined else since.room
        state = _state_delta(
            user_id,
            timeline,
            history.state_at(start_pos),
            end_state,
            history.state_at(state_since) if state_since is not None else {},
            flt,
        )
        summary: JsonDict = {}
        if flt.lazy_load_members and (
            since is None or any(e.type == "m.room.member" for e, _ in timeline)
        ):
            summary = _summary(user_id, end_state)
        account_data = flt.room_account_data.filter(
            {"type": t, "content": c} for t, c in room_data.items()
        )
        return RoomSyncResult(
            room_id=room_id,
            timeline=timeline,
            limited=limited,
            prev_batch=prev_batch,
            state=state,
            account_data=account_data,
            summary=summary,
        )

    async def _load_timeline(
        self,
        user_id: str,
        room_id: str,
        history: RoomStateHistory,
        end: StreamToken,
        since: Optional[StreamToken],
        newly_joined: bool,
        archived: bool,
        flt: FilterCollection,
        ignored: Any,
        current_ids: Set[str],
    ) -> Tuple[List[FilteredEvent], bool, StreamToken]:
        """``(events, limited, prev_batch)`` as Synapse's ``_load_filtered_recents``.

        An incremental entry of a joined room first takes the last ``limit + 1`` events
        after ``since`` ("recents"); with no more than ``limit`` of them (and not newly
        joined) they are the timeline and ``prev_batch`` is just before the first shown.
        Otherwise (initial entries, archived rooms, too many recents, newly joined rooms)
        older events are loaded backwards until ``limit`` visible events are found;
        ``prev_batch`` is then just before the first shown when the timeline was cut,
        else the position the loading started from.
        """
        store = self._hs.event_store
        limit = flt.timeline_limit

        def visible(events: Any) -> List[FilteredEvent]:
            return filter_events_for_client(
                user_id,
                flt.timeline.filter(events),
                history,
                ignored_users=ignored,
                always_include_ids=current_ids,
            )

        collected: List[FilteredEvent] = []
        upto = end
        limited = True
        if since is not None and not archived:
            recents, _ = await store.paginate_room_events(
                room_id, end.room, "b", limit + 1, to_pos=since.room
            )
            recents.reverse()
            upto = end.copy_and_replace_room(_stream(recents[0]) - 1) if recents else since
            collected = visible(recents)
            limited = newly_joined or len(recents) > limit
            if not limited or flt.timeline.blocks_all():
                prev = upto
                if collected:
                    prev = upto.copy_and_replace_room(_stream(collected[0][0]) - 1)
                return collected, False, prev

        lower = None if since is None or newly_joined else since.room
        load_limit = max(limit * 2, 10)
        position = upto.room
        for _ in range(_MAX_PAGES):
            if not limited or len(collected) >= limit:
                break
            page, position = await store.paginate_room_events(
                room_id, position, "b", load_limit + 1, to_pos=lower
            )
            limited = len(page) > load_limit
            collected = visible(reversed(page[:load_limit])) + collected
            if limited:
                position = _stream(page[load_limit - 1]) - 1

        prev = upto
        if len(collected) > limit:
            limited = True
            collected = collected[-limit:]
            prev = upto.copy_and_replace_room(_stream(collected[0][0]) - 1)
        return collected, limited or newly_joined, prev


def _state_delta(
    user_id: str,
    timeline: List[FilteredEvent],
    start: Dict[StateKey, Any],
    end: Dict[StateKey, Any],
    previous: Dict[StateKey, Any],
    flt: FilterCollection,
) -> List[Any]:
    """Synapse's ``_calculate_state``, ordered by stream position."""
    contains = {e.event_id for e, _ in timeline if e.is_state()}
    if flt.lazy_load_members:
        wanted = {e.sender for e, _ in timeline} | {user_id}

        def lazy(state: Dict[StateKey, Any]) -> Dict[StateKey, Any]:
            return {k: v for k, v in state.items() if k[0] != "m.room.member" or k[1] in wanted}

        start, end = lazy(start), lazy(end)
        previous = {
            k: v for k, v in previous.items() if not (k[0] == "m.room.member" and k in start)
        }
    previous_ids = {e.event_id for e in previous.values()}
    chosen: Dict[str, Any] = {}
    for event in list(end.values()) + list(start.values()):
        if event.event_id not in previous_ids and event.event_id not in contains:
            chosen[event.event_id] = event
    state = [e for e in chosen.values() if flt.state.check(e)]
    return sorted(state, key=_stream)


def _summary(user_id: str, state: Dict[StateKey, Any]) -> JsonDict:
    """``m.joined_member_count``, ``m.invited_member_count`` and, for rooms without a
    name or canonical alias, up to five ``m.heroes``."""
    members = sorted((e for k, e in state.items() if k[0] == "m.room.member"), key=_stream)
    summary: JsonDict = {
        "m.joined_member_count": sum(1 for e in members if e.membership == "join"),
        "m.invited_member_count": sum(1 for e in members if e.membership == "invite"),
    }
    name = state.get(("m.room.name", ""))
    alias = state.get(("m.room.canonical_alias", ""))
    if (name is not None and name.content.get("name")) or (
        alias is not None and alias.content.get("alias")
    ):
        return summary
    others = [e for e in members if e.state_key != user_id]
    heroes = [e.state_key for e in others if e.membership in ("join", "invite")]
    if not heroes:
        heroes = [e.state_key for e in others if e.membership in ("leave", "ban")]
    summary["m.heroes"] = heroes[:5]
    return summary
