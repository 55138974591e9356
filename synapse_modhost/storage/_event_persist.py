"""Transaction functions of the event store: rows in, rows out (schema ``002_rooms``).

Everything here runs inside one ``run_interaction`` (on the database thread when the
engine has one) and touches no in-memory state; :class:`~._events.EventStore` updates
its caches from the results once the transaction has committed.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import attr

from synapse_modhost.events import Event, RoomVersion
from synapse_modhost.events._json import canonical_json
from synapse_modhost.events._room_versions import KNOWN_ROOM_VERSIONS
from synapse_modhost.events.utils import prune_event
from synapse_modhost.storage._room_records import MembershipRecord, StateKey
from synapse_modhost.storage._transaction import LoggingTransaction

__all__ = [
    "EVENT_COLUMNS",
    "PersistRow",
    "event_from_row",
    "fetch_events_txn",
    "persist_events_txn",
]

#: the columns :func:`event_from_row` reads, in order (``e`` is ``events``, ``r`` ``rooms``)
EVENT_COLUMNS = (
    "e.stream_ordering, e.event_id, e.json, e.internal_metadata, e.redacted_by, r.room_version"
)

_INSERT_EVENT = (
    "INSERT OR IGNORE INTO events (stream_ordering, event_id, room_id, type, state_key, "
    "sender, depth, origin_server_ts, json, internal_metadata, device_id, txn_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_STATE = (
    "INSERT OR REPLACE INTO current_state_events (room_id, type, state_key, event_id) "
    "VALUES (?, ?, ?, ?)"
)
_UPSERT_MEMBERSHIP = (
    "INSERT OR REPLACE INTO local_current_membership "
    "(user_id, room_id, membership, event_id, stream_ordering, forgotten) "
    "VALUES (?, ?, ?, ?, ?, 0)"
)


#: ``json.dumps(value, separators=(",", ":"))`` without building an encoder per call
_encode_compact = json.JSONEncoder(separators=(",", ":")).encode


@attr.s(slots=True, auto_attribs=True)
class PersistRow:
    """One event to write, with the facts the transaction needs about it."""

    stream_ordering: int
    event: Event
    #: ``(user_id, device key, txn_id)`` when sent with a transaction ID
    txn_key: Optional[Tuple[str, str, str]] = None
    #: set when the target of a membership event is a local user
    local_membership: bool = False
    #: the event a redaction redacts (only when it may be applied)
    redacts: Optional[str] = None
    #: the persisted PDU as canonical JSON (computed on first use)
    pdu_json: Optional[str] = None
    #: the internal metadata dict (computed on first use)
    meta: Optional[Dict[str, Any]] = None
    #: the plain PDU dict the event was built from, when known (spares a deep copy)
    pdu: Optional[Dict[str, Any]] = None

    def metadata(self) -> Dict[str, Any]:
        """``event.internal_metadata.get_dict()``, computed once."""
        if self.meta is None:
            self.meta = self.event.internal_metadata.get_dict()
        return self.meta

    def json(self) -> str:
        """The PDU as stored (canonical JSON of ``get_dict_for_persistence()``)."""
        if self.pdu_json is None:
            if self.pdu is not None:
                stored = dict(self.pdu)
                stored["unsigned"] = self.event.unsigned.for_persistence()
            else:
                stored = self.event.get_dict_for_persistence()
            self.pdu_json = canonical_json(stored).decode("utf-8")
        return self.pdu_json


def _event_row(row: PersistRow) -> Tuple[Any, ...]:
    event = row.event
    device, txn_id = (row.txn_key[1], row.txn_key[2]) if row.txn_key is not None else (None, None)
    return (
        row.stream_ordering,
        event.event_id,
        event.room_id,
        event.type,
        event.get_state_key(),
        event.sender,
        event.depth,
        event.origin_server_ts,
        row.json(),
        _encode_compact(row.metadata()),
        device,
        txn_id,
    )


def persist_events_txn(txn: LoggingTransaction, rows: Sequence[PersistRow]) -> List[Optional[str]]:
    """Write ``rows``.

    Returns, for each row in order, ``None`` if it was written, else the ID of the stored
    event that kept it out (one with the same ID, or the same sender, device and
    transaction ID; possibly an earlier row of the same call).
    """
    duplicates: List[Optional[str]] = []
    for row in rows:
        event = row.event
        txn.execute(_INSERT_EVENT, _event_row(row))
        if txn.rowcount == 0:
            duplicates.append(_stored_duplicate(txn, row))
            continue
        duplicates.append(None)
        state_key = event.get_state_key()
        if state_key is not None:
            txn.execute(_UPSERT_STATE, (event.room_id, event.type, state_key, event.event_id))
            if row.local_membership:
                txn.execute(
                    _UPSERT_MEMBERSHIP,
                    (
                        state_key,
                        event.room_id,
                        event.content.get("membership"),
                        event.event_id,
                        row.stream_ordering,
                    ),
                )
        if row.redacts is not None:
            txn.execute(
                "UPDATE events SET redacted_by = ? WHERE event_id = ? AND room_id = ? "
                "AND redacted_by IS NULL",
                (event.event_id, row.redacts, event.room_id),
            )
    return duplicates


def _stored_duplicate(txn: LoggingTransaction, row: PersistRow) -> str:
    event = row.event
    txn.execute("SELECT event_id FROM events WHERE event_id = ?", (event.event_id,))
    if txn.fetchone() is None and row.txn_key is not None:
        user_id, device, txn_id = row.txn_key
        txn.execute(
            "SELECT event_id FROM events WHERE room_id = ? AND sender = ? AND device_id = ? "
            "AND txn_id = ?",
            (event.room_id, user_id, device, txn_id),
        )
        found = txn.fetchone()
        if found is not None:
            return str(found[0])
    return event.event_id


def event_from_row(row: Sequence[Any], redact: bool = True) -> Event:
    """An event from :data:`EVENT_COLUMNS`; a redacted one is pruned (``redacted_by`` set
    in its internal metadata) unless ``redact`` is false."""
    stream_ordering, event_id, pdu_json, meta_json, redacted_by, room_version_id = row
    room_version: RoomVersion = KNOWN_ROOM_VERSIONS[room_version_id]
    event = Event(pdu_json, room_version, json.loads(meta_json))
    # The ID is stored: spare the reference hash (v3+ IDs are computed lazily).
    event._event_id = event_id
    meta = event.internal_metadata
    meta.stream_ordering = int(stream_ordering)
    if redacted_by is not None and redact:
        event = prune_event(event)
        event._event_id = event_id
        event.internal_metadata.redacted_by = redacted_by
    elif redacted_by is not None:
        meta.redacted_by = redacted_by
    return event


def fetch_events_txn(
    txn: LoggingTransaction, event_ids: Iterable[str]
) -> List[Tuple[Any, ...]]:
    """The :data:`EVENT_COLUMNS` rows of ``event_ids`` that exist (in chunks of 500)."""
    ids = list(event_ids)
    out: List[Tuple[Any, ...]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        txn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events e JOIN rooms r USING (room_id) "
            f"WHERE e.event_id IN ({marks})",
            chunk,
        )
        out.extend(txn.fetchall())
    return out


#: how many of a room's last events are read to find its forward extremities
EXTREMITY_WINDOW = 50


def load_room_txn(
    txn: LoggingTransaction, room_id: str
) -> Optional[Tuple[Tuple[Any, ...], Dict[StateKey, str], List[Tuple[Any, ...]], List[Tuple[str, int]]]]:
    """The room row, its current state IDs, the rows of its current state events and its
    forward extremities ``[(event_id, depth)]``: the events among its last few that no
    later event names as a previous event (the room's DAG only forks under concurrent
    sends, briefly)."""
    txn.execute(
        "SELECT room_id, room_version, creator, is_public, created_ts FROM rooms WHERE room_id = ?",
        (room_id,),
    )
    room = txn.fetchone()
    if room is None:
        return None
    txn.execute(
        "SELECT type, state_key, event_id FROM current_state_events WHERE room_id = ?",
        (room_id,),
    )
    state = {(t, k): e for t, k, e in txn.fetchall()}
    txn.execute(
        f"SELECT {EVENT_COLUMNS} FROM current_state_events c "
        "JOIN events e ON e.event_id = c.event_id JOIN rooms r ON r.room_id = e.room_id "
        "WHERE c.room_id = ?",
        (room_id,),
    )
    state_rows = txn.fetchall()
    txn.execute(
        "SELECT event_id, depth, json FROM events WHERE room_id = ? "
        "ORDER BY stream_ordering DESC LIMIT ?",
        (room_id, EXTREMITY_WINDOW),
    )
    recent = txn.fetchall()
    referenced = set()
    for _, _, pdu in recent:
        for prev in json.loads(pdu).get("prev_events", []):
            referenced.add(prev[0] if isinstance(prev, list) else prev)
    extremities = [(e, int(d)) for e, d, _ in reversed(recent) if e not in referenced]
    return room, state, state_rows, extremities


def membership_rows_txn(
    txn: LoggingTransaction, user_id: str, include_forgotten: bool
) -> List[MembershipRecord]:
    sql = (
        "SELECT user_id, room_id, membership, event_id, stream_ordering, forgotten "
        "FROM local_current_membership WHERE user_id = ?"
    )
    if not include_forgotten:
        sql += " AND forgotten = 0"
    txn.execute(sql + " ORDER BY stream_ordering", (user_id,))
    return [
        MembershipRecord(u, r, m, e, int(s), bool(f)) for u, r, m, e, s, f in txn.fetchall()
    ]
