"""Client serialisation of events, with the modules' extra ``unsigned`` fields.

Every endpoint returning client events goes through :func:`serialize_events_for_client`
(CALLBACKS.md §9): ``add_field_to_unsigned_callback`` is awaited once per distinct event
of the batch (every callback, in registration order, results ``dict.update``'d), before
anything is serialised; keys the server sets (``age``, ``membership``,
``transaction_id``, ...) win over the modules' keys; an exception from a callback
propagates (the request fails with 500, or the ``SynapseError``'s own response).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional

from synapse_modhost.events.utils import format_event_for_client_v1, serialize_event

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer
    from synapse_modhost.types import Requester

__all__ = ["serialize_events_for_client"]

JsonDict = Dict[str, Any]


async def serialize_events_for_client(
    hs: "HomeServer",
    events: Iterable[Any],
    requester: Optional["Requester"],
    *,
    event_format: Callable[[JsonDict], JsonDict] = format_event_for_client_v1,
    as_client_event: bool = True,
    memberships: Optional[Mapping[str, str]] = None,
    include_stripped_room_state: bool = False,
    time_now_ms: Optional[int] = None,
) -> List[JsonDict]:
    """The client format of ``events`` as ``requester`` sees them.

    ``event_format`` defaults to Synapse's default (v1: ``user_id`` and ``age`` also at
    the top level, as ``/messages``, ``/context``, ``/event`` and ``/state`` return
    them); ``/sync`` passes ``format_event_for_client_v2_without_room_id``.
    ``memberships`` maps event IDs to the requester's membership after each event
    (``unsigned.membership``, MSC4115); events it does not name get none (as state
    sections in Synapse). One timestamp is used for the whole batch.
    """
    batch = list(events)
    now = hs.time_msec() if time_now_ms is None else time_now_ms
    unsigned_fields = hs.callbacks.unsigned_fields
    additions: Dict[str, JsonDict] = {}
    for event in batch:
        if event.event_id not in additions:
            additions[event.event_id] = await unsigned_fields.add_field_to_unsigned_callback(event)
    return [
        serialize_event(
            event,
            now,
            event_format=event_format,
            as_client_event=as_client_event,
            requester=requester,
            membership=memberships.get(event.event_id) if memberships else None,
            include_stripped_room_state=include_stripped_room_state,
            unsigned_additions=additions[event.event_id],
        )
        for event in batch
    ]
