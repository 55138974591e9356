"""The event object handed to modules (``synapse.events.EventBase``).

Shaped as Synapse 1.163's Rust ``Event`` (MODULEAPI.md §4.1): read-only properties,
mapping-style access to the top-level PDU keys, identity equality, and the same ``repr``.
One deliberate difference: ``content`` is a read-only ``dict`` subclass
(:class:`~synapse_modhost.events._json.FrozenDict`) rather than Synapse's ``JsonObject``,
so modules can also ``.copy()``, ``copy.deepcopy()`` and ``json.dumps()`` it; mutating
what they get back never changes the event.

Build events with ``make_event_from_dict(event_dict, room_version, ...)`` or
``Event(event_dict_or_json, room_version, internal_metadata_dict, rejected_reason)``.
"""

from __future__ import annotations

import collections.abc
import datetime
import json
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.events._json import FrozenDict, freeze, thaw
from synapse_modhost.events._parts import EventInternalMetadata, Signatures, Unsigned
from synapse_modhost.events._redaction import compute_event_id
from synapse_modhost.events._room_versions import (
    KNOWN_ROOM_VERSIONS,
    EventFormatVersions,
    RoomVersion,
    RoomVersions,
)

__all__ = [
    "Event",
    "EventBase",
    "EventInternalMetadata",
    "RoomVersion",
    "RoomVersions",
    "Signatures",
    "Unsigned",
    "make_event_from_dict",
    "make_event_from_json",
]

_MISSING = object()

# ``isinstance`` against ``typing.Mapping`` goes through the typing module; the ABC is
# the same check, answered faster.
_AbcMapping = collections.abc.Mapping

#: The order of keys in ``get_dict()``; other top-level keys follow in input order.
_DICT_ORDER = (
    "room_id",
    "auth_events",
    "prev_events",
    "event_id",
    "content",
    "depth",
    "hashes",
    "origin_server_ts",
    "sender",
    "state_key",
    "type",
)


def _room_version(rv: Union[RoomVersion, str]) -> RoomVersion:
    if isinstance(rv, RoomVersion):
        return rv
    try:
        return KNOWN_ROOM_VERSIONS[str(rv)]
    except KeyError:
        raise ValueError("Unknown room version %r" % (rv,)) from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_event_refs(refs: Any, v1_format: bool) -> bool:
    if not isinstance(refs, list):
        return False
    if v1_format:
        return all(
            isinstance(r, (list, tuple))
            and len(r) == 2
            and isinstance(r[0], str)
            and isinstance(r[1], _AbcMapping)
            for r in refs
        )
    return all(isinstance(r, str) for r in refs)


def _validate(d: Mapping[str, Any], rv: RoomVersion) -> Optional[str]:
    """Why ``d`` is not a valid event for ``rv``, or ``None`` if it is."""
    v1_format = rv.event_format == EventFormatVersions.ROOM_V1_V2
    checks: List[Tuple[str, Any, bool]] = [
        ("type", str, True),
        ("sender", str, True),
        ("content", _AbcMapping, True),
        ("hashes", _AbcMapping, True),
        ("state_key", str, False),
        ("signatures", _AbcMapping, False),
        ("unsigned", _AbcMapping, False),
        (
            "room_id",
            str,
            not (rv.msc4291_room_ids_as_hashes and d.get("type") == "m.room.create"),
        ),
        ("event_id", str, v1_format),
    ]
    for key, typ, required in checks:
        if key not in d:
            if required:
                return "missing field `%s`" % (key,)
        elif not isinstance(d[key], typ):
            return "invalid type for field `%s`" % (key,)
    for key in ("depth", "origin_server_ts"):
        if key not in d:
            return "missing field `%s`" % (key,)
        if not _is_int(d[key]):
            return "invalid type for field `%s`" % (key,)
    for key in ("prev_events", "auth_events"):
        if key not in d:
            return "missing field `%s`" % (key,)
        if not _check_event_refs(d[key], v1_format):
            return "invalid type for field `%s`" % (key,)
    return None


class Event:
    """A Matrix event (also exported as ``EventBase``). Equality is identity."""

    __slots__ = (
        "_d",
        "_signatures",
        "_unsigned",
        "_internal_metadata",
        "_room_version",
        "_rejected_reason",
        "_event_id",
    )

    def __init__(
        self,
        event_dict: Union[Mapping[str, Any], str, bytes],
        room_version: Union[RoomVersion, str] = RoomVersions.V1,
        internal_metadata_dict: Optional[Mapping[str, Any]] = None,
        rejected_reason: Optional[str] = None,
    ) -> None:
        """Build an event from its PDU (a dict or its JSON text).

        Raises ``ValueError`` if the PDU is malformed for ``room_version``
        (``make_event_from_dict`` turns that into ``SynapseError(400, M_BAD_JSON)``).
        """
        rv = _room_version(room_version)
        if isinstance(event_dict, (str, bytes)):
            event_dict = json.loads(event_dict)
        if not isinstance(event_dict, _AbcMapping):
            raise ValueError("Failed to parse event: not a JSON object")
        problem = _validate(event_dict, rv)
        if problem is not None:
            raise ValueError(
                "Failed to parse event for room version %s: %s" % (rv.identifier, problem)
            )
        v1_format = rv.event_format == EventFormatVersions.ROOM_V1_V2
        body = {
            k: v
            for k, v in event_dict.items()
            if k not in ("signatures", "unsigned") and (v1_format or k != "event_id")
        }
        self._d: FrozenDict = freeze(body)
        self._signatures = Signatures(event_dict.get("signatures"))
        self._unsigned = Unsigned(event_dict.get("unsigned"))
        self._internal_metadata = EventInternalMetadata(internal_metadata_dict)
        self._room_version = rv
        self._rejected_reason = rejected_reason
        self._event_id: Optional[str] = event_dict["event_id"] if v1_format else None

    # ------------------------------------------------------------------ properties

    @property
    def event_id(self) -> str:
        if self._event_id is None:
            self._event_id = compute_event_id(self._room_version, dict(dict.items(self._d)))
        return self._event_id

    @property
    def room_id(self) -> str:
        room_id = dict.get(self._d, "room_id")
        if room_id is None:
            # A room-v12 create event: the room ID is derived from its event ID.
            return "!" + self.event_id[1:]
        return room_id

    @property
    def sender(self) -> str:
        return dict.__getitem__(self._d, "sender")

    @property
    def user_id(self) -> str:
        """The sender (an old alias)."""
        return self.sender

    @property
    def type(self) -> str:
        return dict.__getitem__(self._d, "type")

    @property
    def state_key(self) -> str:
        """The state key; ``AttributeError`` on non-state events (use ``get_state_key()``)."""
        try:
            return dict.__getitem__(self._d, "state_key")
        except KeyError:
            raise AttributeError("state_key") from None

    @property
    def content(self) -> FrozenDict:
        """The content: a read-only ``dict``; reads and copies are plain and mutable."""
        return dict.__getitem__(self._d, "content")

    @property
    def origin_server_ts(self) -> int:
        return dict.__getitem__(self._d, "origin_server_ts")

    @property
    def depth(self) -> int:
        return dict.__getitem__(self._d, "depth")

    @property
    def hashes(self) -> Dict[str, str]:
        """A fresh copy of the content hashes."""
        return thaw(dict.__getitem__(self._d, "hashes"))

    @property
    def signatures(self) -> Signatures:
        return self._signatures

    @property
    def unsigned(self) -> Unsigned:
        return self._unsigned

    @property
    def internal_metadata(self) -> EventInternalMetadata:
        return self._internal_metadata

    @property
    def rejected_reason(self) -> Optional[str]:
        return self._rejected_reason

    @property
    def room_version(self) -> RoomVersion:
        return self._room_version

    @property
    def format_version(self) -> int:
        return self._room_version.event_format

    @property
    def membership(self) -> Any:
        """``content["membership"]``; ``KeyError('membership')`` when absent."""
        return thaw(dict.__getitem__(self.content, "membership"))

    @property
    def redacts(self) -> Any:
        """The redacted event's ID: from ``content`` from room v11, top-level before."""
        if self._room_version.updated_redaction_rules:
            return thaw(dict.get(self.content, "redacts"))
        return thaw(dict.get(self._d, "redacts"))

    # ------------------------------------------------------------------ methods

    def is_state(self) -> bool:
        return dict.__contains__(self._d, "state_key")

    def get_state_key(self) -> Optional[str]:
        """The state key, or ``None`` for non-state events."""
        return dict.get(self._d, "state_key")

    def _refs(self, key: str) -> List[str]:
        refs = dict.__getitem__(self._d, key)
        if self._room_version.event_format == EventFormatVersions.ROOM_V1_V2:
            return [r[0] for r in refs]
        return list(refs)

    def prev_event_ids(self) -> List[str]:
        return self._refs("prev_events")

    def auth_event_ids(self) -> List[str]:
        """The auth events; from room v12 this includes the create event, whose ID is
        derived from the room ID, although the PDU's ``auth_events`` leaves it out."""
        ids = self._refs("auth_events")
        if self._room_version.msc4291_room_ids_as_hashes and dict.__contains__(self._d, "room_id"):
            create_id = "$" + self.room_id[1:]
            if create_id not in ids:
                ids.append(create_id)
        return ids

    def get_dict(self) -> Dict[str, Any]:
        """The PDU as a new plain dict (``event_id`` only for room versions 1 and 2)."""
        return self._as_dict(self._unsigned.for_event())

    def get_dict_for_persistence(self) -> Dict[str, Any]:
        """As ``get_dict()``, with only the persisted ``unsigned`` keys."""
        return self._as_dict(self._unsigned.for_persistence())

    def _as_dict(self, unsigned: Dict[str, Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = {"signatures": self._signatures.as_dict(), "unsigned": unsigned}
        stored = self._d
        for key in _DICT_ORDER:
            if dict.__contains__(stored, key):
                out[key] = thaw(dict.__getitem__(stored, key))
        for key, value in dict.items(stored):
            if key not in out:
                out[key] = thaw(value)
        return out

    def get_pdu_json(self, time_now: Optional[int] = None) -> Dict[str, Any]:
        """The PDU for federation; with ``time_now``, ``unsigned.age_ts`` becomes ``age``."""
        pdu = self.get_dict()
        unsigned = pdu["unsigned"]
        if time_now is not None and "age_ts" in unsigned:
            unsigned["age"] = time_now - unsigned.pop("age_ts")
        return pdu

    def get_templated_pdu_json(self) -> Dict[str, Any]:
        """The PDU without ``signatures``, ``hashes`` and ``unsigned``."""
        pdu = self.get_dict()
        for key in ("signatures", "hashes", "unsigned"):
            pdu.pop(key, None)
        return pdu

    def deep_copy(self) -> "Event":
        """An independent copy (a different object: ``e.deep_copy() == e`` is ``False``)."""
        new = Event(
            self.get_dict(),
            self._room_version,
            self._internal_metadata.get_dict(),
            self._rejected_reason,
        )
        new._internal_metadata = self._internal_metadata.copy()
        new._event_id = self._event_id
        return new

    def sticky_duration(self) -> Optional[datetime.timedelta]:
        """The MSC4354 ``msc4354_sticky.duration_ms``, or ``None``."""
        sticky = dict.get(self._d, "msc4354_sticky")
        if isinstance(sticky, Mapping) and _is_int(sticky.get("duration_ms")):
            return datetime.timedelta(milliseconds=sticky["duration_ms"])
        return None

    # ------------------------------------------------------------------ mapping-ish access

    def _top(self, key: str) -> Any:
        if key == "signatures":
            return self._signatures.as_dict()
        if key == "unsigned":
            return self._unsigned.for_event()
        value = dict.get(self._d, key, _MISSING)
        return _MISSING if value is _MISSING else thaw(value)

    def __getitem__(self, key: str) -> Any:
        value = self._top(key)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._top(key)
        return default if value is _MISSING else value

    def __contains__(self, key: object) -> bool:
        return key in ("signatures", "unsigned") or dict.__contains__(self._d, key)

    def keys(self) -> List[str]:
        return list(self.get_dict())

    def items(self) -> List[Tuple[str, Any]]:
        return list(self.get_dict().items())

    def __repr__(self) -> str:
        parts = []
        if self._rejected_reason is not None:
            parts.append("REJECTED=%s" % (self._rejected_reason,))
        parts.append("event_id=%s" % (self.event_id,))
        parts.append("type=%s" % (self.type,))
        state_key = self.get_state_key()
        if state_key is not None:
            parts.append("state_key=%s" % (state_key,))
            membership = dict.get(self.content, "membership")
            if self.type == "m.room.member" and isinstance(membership, str):
                parts.append("membership=%s" % (membership,))
        return "<Event %s>" % (", ".join(parts),)


#: Synapse's old name for the event class; the same class.
EventBase = Event


def make_event_from_dict(
    event_dict: Mapping[str, Any],
    room_version: Union[RoomVersion, str] = RoomVersions.V1,
    internal_metadata_dict: Optional[Mapping[str, Any]] = None,
    rejected_reason: Optional[str] = None,
) -> Event:
    """Build an event; a malformed PDU raises ``SynapseError(400, "Invalid event JSON")``."""
    return _make_event(event_dict, room_version, internal_metadata_dict, rejected_reason)


def make_event_from_json(
    event_json: Union[str, bytes],
    room_version: Union[RoomVersion, str] = RoomVersions.V1,
    internal_metadata_dict: Optional[Mapping[str, Any]] = None,
    rejected_reason: Optional[str] = None,
) -> Event:
    """As ``make_event_from_dict``, from the PDU's JSON text."""
    return _make_event(event_json, room_version, internal_metadata_dict, rejected_reason)


def _make_event(
    pdu: Union[Mapping[str, Any], str, bytes],
    room_version: Union[RoomVersion, str],
    internal_metadata_dict: Optional[Mapping[str, Any]],
    rejected_reason: Optional[str],
) -> Event:
    """``Event(...)``, turning a malformed PDU's ``ValueError`` into ``SynapseError(400)``.

    An unknown room version is not the PDU's fault: its ``ValueError`` propagates.
    """
    room_version = _room_version(room_version)
    try:
        return Event(pdu, room_version, internal_metadata_dict, rejected_reason)
    except ValueError:
        raise SynapseError(400, "Invalid event JSON", Codes.BAD_JSON) from None
