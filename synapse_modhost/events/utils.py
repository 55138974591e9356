"""Turning events into what clients see (``synapse.events.utils``).

``format_event_for_client_v1/v2/v2_without_room_id`` and ``format_event_raw`` work on a
PDU dict in place, as Synapse's backwards-compatibility functions of the same names do.
``serialize_event`` gives the full client format Synapse's event serializer produces:
``event_id`` added, ``unsigned.age`` computed from a clock, ``transaction_id`` for the
sender's own device, keys sorted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional

from synapse_modhost.events._json import thaw
from synapse_modhost.events._redaction import prune_event_dict

if TYPE_CHECKING:
    from synapse_modhost.events import Event
    from synapse_modhost.types import Requester

__all__ = [
    "format_event_for_client_v1",
    "format_event_for_client_v2",
    "format_event_for_client_v2_without_room_id",
    "format_event_raw",
    "prune_event",
    "prune_event_dict",
    "serialize_event",
    "serialize_events",
    "time_now_ms",
]

JsonDict = Dict[str, Any]

#: Federation-only keys removed from the client formats.
_FEDERATION_KEYS = (
    "auth_events",
    "prev_events",
    "hashes",
    "signatures",
    "depth",
    "origin",
    "prev_state",
)
#: ``unsigned`` keys the v1 format also copies to the top level.
_V1_HOISTED = (
    "age",
    "redacted_because",
    "replaces_state",
    "prev_content",
    "invite_room_state",
    "knock_room_state",
)


def format_event_raw(d: JsonDict) -> JsonDict:
    """The federation format: ``d`` unchanged."""
    return d


def format_event_for_client_v2(d: JsonDict) -> JsonDict:
    """Drop the federation-only keys from ``d`` (in place) and return it."""
    for key in _FEDERATION_KEYS:
        d.pop(key, None)
    return d


def format_event_for_client_v1(d: JsonDict) -> JsonDict:
    """The legacy format: v2, plus ``user_id`` and some ``unsigned`` keys at top level."""
    d = format_event_for_client_v2(d)
    d["user_id"] = d.get("sender")
    unsigned = d.get("unsigned")
    if isinstance(unsigned, Mapping):
        for key in _V1_HOISTED:
            if key in unsigned:
                d[key] = unsigned[key]
    return d


def format_event_for_client_v2_without_room_id(d: JsonDict) -> JsonDict:
    """The v2 format without ``room_id`` (as in ``/sync`` room timelines)."""
    d = format_event_for_client_v2(d)
    d.pop("room_id", None)
    return d


def time_now_ms(clock: Any) -> int:
    """Milliseconds now from ``clock``: an int, a reactor (``seconds()``) or an object
    with ``time_msec()``."""
    if isinstance(clock, int):
        return clock
    if hasattr(clock, "time_msec"):
        return int(clock.time_msec())
    return int(clock.seconds() * 1000)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def serialize_event(
    event: "Event",
    clock: Any,
    *,
    event_format: Callable[[JsonDict], JsonDict] = format_event_for_client_v2,
    as_client_event: bool = True,
    requester: Optional["Requester"] = None,
    membership: Optional[str] = None,
    include_stripped_room_state: bool = False,
    unsigned_additions: Optional[Mapping[str, Any]] = None,
) -> JsonDict:
    """The client format of ``event`` at the time given by ``clock`` (see ``time_now_ms``).

    ``unsigned.age`` replaces ``age_ts``; ``transaction_id`` is added when ``requester`` is
    the sender and used the same access token or device; ``membership`` is the requesting
    user's membership at the event (MSC4115); ``unsigned_additions`` (module fields) never
    replace keys the server sets.
    """
    now = time_now_ms(clock)
    d = event.get_dict()
    d["event_id"] = event.event_id
    if event.type == "m.room.redaction":
        # Both places, whichever the room version reads it from.
        redacts = event.redacts
        if redacts is not None:
            d["redacts"] = redacts
            d["content"]["redacts"] = redacts

    unsigned = d["unsigned"]
    age_ts = unsigned.pop("age_ts", None)
    if not include_stripped_room_state:
        unsigned.pop("invite_room_state", None)
        unsigned.pop("knock_room_state", None)
    if age_ts is not None:
        unsigned["age"] = now - age_ts
    if membership is not None:
        unsigned["membership"] = membership
    txn_id = _transaction_id_for(event, requester)
    if txn_id is not None:
        unsigned["transaction_id"] = txn_id

    if as_client_event:
        d = event_format(d)
    if "room_id" not in event:
        # A room-v12 create event: its derived room ID is always shown.
        d["room_id"] = event.room_id
    # Module-provided fields go in last and never replace the server's.
    for key, value in (unsigned_additions or {}).items():
        if key not in unsigned:
            unsigned[key] = thaw(value)
    return _sorted(d)


def _transaction_id_for(event: "Event", requester: Optional["Requester"]) -> Optional[str]:
    if requester is None or requester.user.to_string() != event.sender:
        return None
    meta = event.internal_metadata
    txn_id = getattr(meta, "txn_id", None)
    if txn_id is None:
        return None
    token_id = getattr(meta, "token_id", None)
    device_id = getattr(meta, "device_id", None)
    same_token = token_id is not None and token_id == requester.access_token_id
    same_device = device_id is not None and device_id == requester.device_id
    return txn_id if (same_token or same_device) else None


def serialize_events(events: Iterable["Event"], clock: Any, **kwargs: Any) -> List[JsonDict]:
    """``serialize_event`` for each event, with one timestamp for the batch."""
    now = time_now_ms(clock)
    return [serialize_event(e, now, **kwargs) for e in events]


def prune_event(event: "Event") -> "Event":
    """The redacted copy of ``event`` (same ID; internal metadata kept, marked redacted)."""
    from synapse_modhost.events import Event

    rv = event.room_version
    pruned = Event(
        prune_event_dict(rv, event.get_dict()),
        rv,
        event.internal_metadata.get_dict(),
        event.rejected_reason,
    )
    meta = pruned.internal_metadata
    for name in ("outlier", "stream_ordering", "instance_name", "redacted_by"):
        setattr(meta, name, getattr(event.internal_metadata, name))
    meta.redacted = True
    return pruned
