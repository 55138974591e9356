"""Factories for the values callbacks receive: events, requesters, state maps."""

from __future__ import annotations

import secrets
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from synapse_modhost.events import EventBase, make_event_from_dict
from synapse_modhost.types import Requester, create_requester

__all__ = ["make_event", "make_requester", "make_state_map"]


def make_event(
    type: str = "m.room.message",
    sender: str = "@alice:test.local",
    room_id: str = "!room:test.local",
    content: Optional[Mapping[str, Any]] = None,
    state_key: Optional[str] = None,
    *,
    event_id: Optional[str] = None,
    origin_server_ts: int = 1_700_000_000_000,
    room_version: str = "10",
    unsigned: Optional[Mapping[str, Any]] = None,
    redacts: Optional[str] = None,
    **extra: Any,
) -> EventBase:
    """An event as a callback receives it (``type``, ``sender``, ``content``, ...).

    ``content`` defaults to ``{"msgtype": "m.text", "body": "hello"}`` for messages and
    ``{}`` otherwise; pass ``state_key`` for a state event. The default room version is
    10 (event ids are hashes; ``room_id`` is kept as given).
    """
    if content is None:
        content = {"msgtype": "m.text", "body": "hello"} if type == "m.room.message" else {}
    d: Dict[str, Any] = {
        "type": type,
        "sender": sender,
        "room_id": room_id,
        "content": dict(content),
        "origin_server_ts": origin_server_ts,
        "depth": extra.pop("depth", 10),
        "prev_events": extra.pop("prev_events", []),
        "auth_events": extra.pop("auth_events", []),
        "hashes": extra.pop("hashes", {"sha256": "x"}),
        "signatures": extra.pop("signatures", {}),
        "unsigned": dict(unsigned or {}),
    }
    if state_key is not None:
        d["state_key"] = state_key
    if redacts is not None:
        d["redacts"] = redacts
    d.update(extra)
    if event_id is not None:
        d["event_id"] = event_id
    event = make_event_from_dict(d, room_version)
    if event_id is not None and event.event_id != event_id:
        # Room versions 3+ derive the id from the content; the test asked for this one.
        event._event_id = event_id
    return event


def make_requester(
    user_id: str = "@alice:test.local",
    *,
    device_id: Optional[str] = None,
    is_guest: bool = False,
    shadow_banned: bool = False,
    access_token_id: Optional[int] = None,
) -> Requester:
    """A ``Requester`` as ``on_create_room`` receives it."""
    return create_requester(
        user_id,
        access_token_id=access_token_id,
        is_guest=is_guest,
        shadow_banned=shadow_banned,
        device_id=device_id or secrets.token_hex(5).upper(),
    )


def make_state_map(*events: EventBase) -> Dict[Tuple[str, str], EventBase]:
    """``{(type, state_key): event}`` for state events, as ``check_event_allowed`` gets."""
    state: Dict[Tuple[str, str], EventBase] = {}
    for event in _flatten(events):
        if not event.is_state():
            raise ValueError("make_state_map takes state events; %r has no state_key" % (event,))
        state[(event.type, event.state_key)] = event
    return state


def _flatten(events: Iterable[Any]) -> Iterable[EventBase]:
    for e in events:
        if isinstance(e, (list, tuple)):
            yield from e
        else:
            yield e
