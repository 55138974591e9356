"""The JSON body of a ``/sync`` response (Synapse's ``SyncRestServlet.encode_response``).

Events are serialised with :func:`serialize_events_for_client` (so
``add_field_to_unsigned_callback`` runs for each, room by room: state, then timeline;
joined rooms, then invites, knocks and left rooms) in the ``client`` format without
``room_id`` (``federation``: the raw PDU). Timeline events carry the user's membership
after them; state events carry none (a module's ``membership`` key then shows through, as
on Synapse). Invites and knocks give the stripped state stored with the event
(``unsigned.invite_room_state`` / ``knock_room_state``) or, when there is none, the
room's pre-join state at the event (create, join rules, canonical alias, avatar,
encryption, name, topic, and the inviter's membership), then the event itself stripped
(MSC4319). Sections without content are left out, as Synapse does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List

from synapse_modhost.events._json import thaw
from synapse_modhost.events.utils import (
    format_event_for_client_v2_without_room_id,
    format_event_raw,
)
from synapse_modhost.homeserver.handlers._presence import format_presence_event
from synapse_modhost.homeserver.handlers._serialize import serialize_events_for_client
from synapse_modhost.homeserver.handlers._visibility import load_room_history

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer
    from synapse_modhost.homeserver.handlers.sync import RoomSyncResult, SyncRequest, SyncResult

__all__ = ["PREJOIN_STATE_TYPES", "encode_sync_result", "strip_event", "stripped_state_for"]

JsonDict = Dict[str, Any]
Formatter = Callable[[JsonDict], JsonDict]

#: Synapse's default ``room_prejoin_state`` (plus the inviter's membership for invites)
PREJOIN_STATE_TYPES = (
    "m.room.join_rules",
    "m.room.canonical_alias",
    "m.room.avatar",
    "m.room.encryption",
    "m.room.name",
    "m.room.create",
    "m.room.topic",
)


def strip_event(event: Any) -> JsonDict:
    """The stripped form of a state event: ``type``, ``state_key``, ``content``, ``sender``."""
    return {
        "type": event.type,
        "state_key": event.state_key,
        "content": thaw(event.content),
        "sender": event.sender,
    }


async def stripped_state_for(hs: "HomeServer", event: Any) -> List[JsonDict]:
    """The pre-join state of ``event``'s room at ``event`` (see the module doc)."""
    position = int(event.internal_metadata.stream_ordering or 0)
    history = await load_room_history(hs.event_store, event.room_id, position)
    wanted = {(t, "") for t in PREJOIN_STATE_TYPES}
    if event.type == "m.room.member" and event.membership == "invite":
        wanted.add(("m.room.member", event.sender))
    return [
        strip_event(e)
        for key, e in history.state_at(position).items()
        if key in wanted and e.event_id != event.event_id
    ]


async def encode_sync_result(
    hs: "HomeServer", request: "SyncRequest", result: "SyncResult"
) -> JsonDict:
    """The response body for ``result``."""
    now_ms = hs.time_msec()
    fmt: Formatter = (
        format_event_raw
        if request.filter.event_format == "federation"
        else format_event_for_client_v2_without_room_id
    )
    joined = {}
    for room in result.joined:
        joined[room.room_id] = await _encode_room(hs, request, room, now_ms, fmt, joined=True)
    invited = {}
    for room_id, event in result.invited:
        events = await _stripped_with_event(hs, request, event, now_ms, fmt, "invite_room_state")
        invited[room_id] = {"invite_state": {"events": events}}
    knocked = {}
    for room_id, event in result.knocked:
        events = await _stripped_with_event(hs, request, event, now_ms, fmt, "knock_room_state")
        knocked[room_id] = {"knock_state": {"events": events}}
    archived = {}
    for room in result.archived:
        archived[room.room_id] = await _encode_room(hs, request, room, now_ms, fmt, joined=False)

    response: JsonDict = {"next_batch": result.next_batch.to_string()}
    if result.account_data:
        response["account_data"] = {"events": result.account_data}
    if result.presence:
        response["presence"] = {
            "events": [format_presence_event(state, now_ms) for state in result.presence]
        }
    response["device_one_time_keys_count"] = {"signed_curve25519": 0}
    response["device_unused_fallback_key_types"] = []
    rooms: JsonDict = {}
    if joined:
        rooms["join"] = joined
    if invited:
        rooms["invite"] = invited
    if knocked:
        rooms["knock"] = knocked
    if archived:
        rooms["leave"] = archived
    if rooms:
        response["rooms"] = rooms
    return response


async def _stripped_with_event(
    hs: "HomeServer", request: "SyncRequest", event: Any, now_ms: int, fmt: Formatter, key: str
) -> List[JsonDict]:
    serialized = await serialize_events_for_client(
        hs,
        [event],
        request.requester,
        event_format=fmt,
        include_stripped_room_state=True,
        time_now_ms=now_ms,
    )
    unsigned = serialized[0].get("unsigned", {})
    stripped = unsigned.get(key) if isinstance(unsigned, dict) else None
    if not isinstance(stripped, list):
        stripped = await stripped_state_for(hs, event)
    return list(stripped) + [strip_event(event)]


async def _encode_room(
    hs: "HomeServer",
    request: "SyncRequest",
    room: "RoomSyncResult",
    now_ms: int,
    fmt: Formatter,
    joined: bool,
) -> JsonDict:
    requester = request.requester
    state = await serialize_events_for_client(
        hs, room.state, requester, event_format=fmt, time_now_ms=now_ms
    )
    timeline = await serialize_events_for_client(
        hs,
        [event for event, _ in room.timeline],
        requester,
        event_format=fmt,
        memberships={event.event_id: membership for event, membership in room.timeline},
        time_now_ms=now_ms,
    )
    entry: JsonDict = {
        "timeline": {
            "events": timeline,
            "prev_batch": room.prev_batch.to_string(),
            "limited": room.limited,
        },
        "state": {"events": state},
        "account_data": {"events": room.account_data},
    }
    if joined:
        entry["ephemeral"] = {"events": []}
        entry["unread_notifications"] = {"notification_count": 0, "highlight_count": 0}
        entry["summary"] = room.summary
    return entry
