"""``EventContext``: what the handlers know about a new event besides the event itself."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import attr

__all__ = ["EventContext", "StateKey"]

#: ``(event type, state key)``
StateKey = Tuple[str, str]


@attr.s(slots=True, auto_attribs=True)
class EventContext:
    """The state before a new event (``{(type, state_key): event_id}``, never mutated).

    ``callback_state_ids`` is the state module callbacks are shown when it differs from
    ``state_ids``: Synapse shows the batched initial events of ``createRoom`` the state
    right after the creator's join, not the state each was built on.
    """

    state_ids: Dict[StateKey, str]
    callback_state_ids: Optional[Dict[StateKey, str]] = None
    #: the PDU the event was built from (a plain dict), to write it without copying
    pdu: Optional[Dict[str, Any]] = None
