"""Sync filters (``/sync?filter=``, ``POST /user/{userId}/filter``, ``/messages?filter=``).

The parts of a Matrix filter the stand-in applies: ``types``/``not_types`` (``*``
wildcards), ``senders``/``not_senders``, ``rooms``/``not_rooms`` (event filters and the
room filter), ``contains_url``, ``limit`` of ``room.timeline`` (default 10, at most 100
as Synapse's ``filter_timeline_limit``), ``room.include_leave``, ``event_format`` and
``room.state.lazy_load_members`` / ``include_redundant_members``. ``event_fields`` and
``unread_thread_notifications`` are accepted and ignored.

Validation is lighter than Synapse's JSON schema: the sections must be objects, lists
lists of strings, ``limit`` a number, the flags booleans, ``event_format`` ``client`` or
``federation``; a violation is a 400 ``M_UNKNOWN`` whose text is the first line of the
``jsonschema`` message Synapse sends (without the schema excerpt that follows it).
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Pattern

from synapse_modhost.errors import SynapseError

__all__ = ["EventFilter", "FilterCollection", "check_valid_filter", "set_timeline_upper_limit"]

JsonDict = Dict[str, Any]

DEFAULT_TIMELINE_LIMIT = 10
FILTER_TIMELINE_LIMIT = 100

_LIST_KEYS = ("types", "not_types", "senders", "not_senders", "rooms", "not_rooms")
_BOOL_KEYS = ("contains_url", "lazy_load_members", "include_redundant_members")


def _json_type(value: Any) -> str:
    return repr(value)


def _fail(value: Any, expected: str) -> SynapseError:
    return SynapseError(400, "%s is not of type %r" % (_json_type(value), expected))


def _check_event_filter(section: Any) -> None:
    if not isinstance(section, dict):
        raise _fail(section, "object")
    for key in _LIST_KEYS:
        if key in section:
            value = section[key]
            if not isinstance(value, list):
                raise _fail(value, "array")
            for item in value:
                if not isinstance(item, str):
                    raise _fail(item, "string")
    if "limit" in section:
        limit = section["limit"]
        if isinstance(limit, bool) or not isinstance(limit, (int, float)):
            raise _fail(limit, "number")
    for key in _BOOL_KEYS:
        if key in section and not isinstance(section[key], bool):
            raise _fail(section[key], "boolean")


def check_valid_filter(filter_json: Any) -> None:
    """400 if ``filter_json`` is not a filter (see the module doc)."""
    if not isinstance(filter_json, dict):
        raise _fail(filter_json, "object")
    for key in ("presence", "account_data"):
        if key in filter_json:
            _check_event_filter(filter_json[key])
    room = filter_json.get("room", {})
    if not isinstance(room, dict):
        raise _fail(room, "object")
    for key in ("rooms", "not_rooms"):
        if key in room:
            _check_event_filter({key: room[key]})
    for key in ("state", "timeline", "ephemeral", "account_data"):
        if key in room:
            _check_event_filter(room[key])
    if "include_leave" in room and not isinstance(room["include_leave"], bool):
        raise _fail(room["include_leave"], "boolean")
    fmt = filter_json.get("event_format", "client")
    if fmt not in ("client", "federation"):
        raise SynapseError(400, "%r is not one of ['client', 'federation']" % (fmt,))
    if "event_fields" in filter_json:
        fields = filter_json["event_fields"]
        if not isinstance(fields, list):
            raise _fail(fields, "array")


def set_timeline_upper_limit(
    filter_json: JsonDict, filter_timeline_limit: int = FILTER_TIMELINE_LIMIT
) -> None:
    """Cap ``room.timeline.limit`` as Synapse does (a limit that is not a number makes
    the comparison raise ``TypeError``: a 500, as on Synapse)."""
    room = filter_json.get("room")
    if not isinstance(room, dict):
        return
    timeline = room.get("timeline")
    if not isinstance(timeline, dict) or "limit" not in timeline:
        return
    timeline["limit"] = min(timeline["limit"], filter_timeline_limit)


def _glob(pattern: str) -> Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


def _matches(value: str, patterns: Iterable[str], wildcards: bool) -> bool:
    for pattern in patterns:
        if wildcards and "*" in pattern:
            if _glob(pattern).match(value):
                return True
        elif pattern == value:
            return True
    return False


class EventFilter:
    """One event filter (``types``, ``senders``, ``rooms``, ``contains_url``, ``limit``)."""

    def __init__(
        self, filter_json: Optional[Mapping[str, Any]] = None, default_limit: int = 10
    ) -> None:
        f: Mapping[str, Any] = filter_json or {}
        self.filter_json = dict(f)
        self.types: Optional[List[str]] = f.get("types")
        self.not_types: List[str] = f.get("not_types", [])
        self.senders: Optional[List[str]] = f.get("senders")
        self.not_senders: List[str] = f.get("not_senders", [])
        self.rooms: Optional[List[str]] = f.get("rooms")
        self.not_rooms: List[str] = f.get("not_rooms", [])
        self.contains_url: Optional[bool] = f.get("contains_url")
        self.limit = int(f.get("limit", default_limit))
        self.lazy_load_members = bool(f.get("lazy_load_members", False))
        self.include_redundant_members = bool(f.get("include_redundant_members", False))

    def blocks_all(self) -> bool:
        """Whether ``not_types`` has ``*`` (nothing passes)."""
        return "*" in self.not_types

    def check_fields(self, event_type: str, sender: Optional[str], room_id: Optional[str]) -> bool:
        if _matches(event_type, self.not_types, True):
            return False
        if self.types is not None and not _matches(event_type, self.types, True):
            return False
        if sender is not None:
            if sender in self.not_senders:
                return False
            if self.senders is not None and sender not in self.senders:
                return False
        if room_id is not None:
            if room_id in self.not_rooms:
                return False
            if self.rooms is not None and room_id not in self.rooms:
                return False
        return True

    def check(self, event: Any) -> bool:
        """Whether an event (or an account data / presence dict) passes."""
        if isinstance(event, Mapping):
            return self.check_fields(
                event.get("type", ""), event.get("sender"), event.get("room_id")
            )
        if not self.check_fields(event.type, event.sender, event.room_id):
            return False
        if self.contains_url is not None:
            has_url = isinstance(event.content.get("url"), str)
            if has_url != self.contains_url:
                return False
        return True

    def filter(self, events: Iterable[Any]) -> List[Any]:
        return [e for e in events if self.check(e)]


class FilterCollection:
    """A whole sync filter."""

    def __init__(self, filter_json: Optional[Mapping[str, Any]] = None) -> None:
        f: Mapping[str, Any] = filter_json or {}
        self.filter_json = dict(f)
        room: Mapping[str, Any] = f.get("room", {}) or {}
        self.room_filter = EventFilter({k: room[k] for k in ("rooms", "not_rooms") if k in room})
        self.timeline = EventFilter(room.get("timeline"), DEFAULT_TIMELINE_LIMIT)
        self.state = EventFilter(room.get("state"))
        self.ephemeral = EventFilter(room.get("ephemeral"))
        self.room_account_data = EventFilter(room.get("account_data"))
        self.account_data = EventFilter(f.get("account_data"))
        self.presence = EventFilter(f.get("presence"))
        self.include_leave = bool(room.get("include_leave", False))
        self.event_format: str = f.get("event_format", "client")

    @property
    def timeline_limit(self) -> int:
        return self.timeline.limit

    @property
    def lazy_load_members(self) -> bool:
        return self.state.lazy_load_members

    @property
    def include_redundant_members(self) -> bool:
        return self.state.include_redundant_members

    def allows_room(self, room_id: str) -> bool:
        return self.room_filter.check_fields("", None, room_id)
