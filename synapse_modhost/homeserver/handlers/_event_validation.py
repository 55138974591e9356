"""Shape checks on new local events, with Synapse's texts (``synapse/events/validator.py``
and the size and canonical-JSON checks of ``synapse/event_auth.py``)."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.events import Event, RoomVersion
from synapse_modhost.events._json import canonical_json

__all__ = [
    "MAX_PDU_SIZE",
    "check_size_limits",
    "validate_builder",
    "validate_new",
]

MAX_PDU_SIZE = 65536
_MIN_INT = -(2**53) + 1
_MAX_INT = 2**53 - 1
_MEMBERSHIPS = ("invite", "join", "leave", "ban", "knock")


def _ensure_strings(content: Mapping[str, Any], keys: tuple) -> None:
    for key in keys:
        if key not in content:
            raise SynapseError(400, "'%s' not in content" % (key,))
        if not isinstance(content[key], str):
            raise SynapseError(400, "'%s' not a string type" % (key,))


def _ensure_state(event_type: str, state_key: Optional[str]) -> None:
    if state_key is None:
        raise SynapseError(400, "'%s' must be state events" % (event_type,))


def validate_builder(room_version: RoomVersion, event_dict: Mapping[str, Any]) -> None:
    """The checks Synapse runs on a proto-event before it is built (400s)."""
    event_type = event_dict.get("type")
    state_key = event_dict.get("state_key")
    is_create_v12 = (
        room_version.msc4291_room_ids_as_hashes and event_type == "m.room.create" and state_key == ""
    )
    names = ["sender", "type"] if is_create_v12 else ["room_id", "sender", "type"]
    if "state_key" in event_dict and state_key is not None:
        names.append("state_key")
    for name in names:
        if not isinstance(event_dict.get(name), str):
            raise SynapseError(400, "Not '%s' a string type" % (name,))
    if not is_create_v12:
        room_id = event_dict["room_id"]
        if not room_id.startswith("!"):
            raise SynapseError(400, "Expected RoomID string to start with '!'", Codes.INVALID_PARAM)
    sender = event_dict["sender"]
    if not sender.startswith("@"):
        raise SynapseError(400, "Expected UserID string to start with '@'", Codes.INVALID_PARAM)
    if ":" not in sender:
        raise SynapseError(400, "Expected UserID of the form '@localname:domain'", Codes.INVALID_PARAM)
    content = event_dict.get("content") or {}
    if event_type == "m.room.message":
        _ensure_strings(content, ("body", "msgtype"))
    elif event_type == "m.room.topic":
        _ensure_strings(content, ("topic",))
        _ensure_state(event_type, state_key)
    elif event_type == "m.room.name":
        _ensure_strings(content, ("name",))
        _ensure_state(event_type, state_key)
    elif event_type == "m.room.member":
        if "membership" not in content:
            raise SynapseError(400, "Content has not membership key")
        if content["membership"] not in _MEMBERSHIPS:
            raise SynapseError(400, "Invalid membership key")
        _ensure_state(event_type, state_key)
    elif event_type == "m.room.tombstone":
        if "replacement_room" not in content:
            raise SynapseError(400, "Content has no replacement_room key")
        if content["replacement_room"] == event_dict.get("room_id"):
            raise SynapseError(400, "Tombstone cannot reference the room it was sent in")
        _ensure_state(event_type, state_key)


def _canonical(value: Any) -> None:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return
    if kind is int:
        if value < _MIN_INT or value > _MAX_INT:
            raise SynapseError(400, "JSON integer out of range", Codes.BAD_JSON)
    elif isinstance(value, float):
        raise SynapseError(400, "Bad JSON value: float", Codes.BAD_JSON)
    elif isinstance(value, dict):
        for v in dict.values(value):
            _canonical(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _canonical(v)
    elif not isinstance(value, (bool, str)):
        raise SynapseError(400, "Unknown JSON value", Codes.BAD_JSON)


def _schema_type_error(path: Optional[str], value: Any, what: str) -> SynapseError:
    message = "%r is not of type '%s'" % (value, what)
    if path is not None:
        message = '"%s": %s' % (path, message)
    return SynapseError(400, message, Codes.BAD_JSON)


def _check_pl_int(path: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _schema_type_error(path, value, "integer")
    if value < _MIN_INT:
        raise SynapseError(
            400, '"%s": %r is less than the minimum of %d' % (path, value, _MIN_INT), Codes.BAD_JSON
        )
    if value > _MAX_INT:
        raise SynapseError(
            400, '"%s": %r is greater than the maximum of %d' % (path, value, _MAX_INT), Codes.BAD_JSON
        )


def _validate_power_levels(content: Mapping[str, Any]) -> None:
    """The JSON-schema check of ``m.room.power_levels`` content, with jsonschema's texts."""
    for key in ("ban", "events_default", "invite", "kick", "redact", "state_default", "users_default"):
        if key in content:
            _check_pl_int(key, content[key])
    for key in ("events", "notifications", "users"):
        if key not in content:
            continue
        section = content[key]
        if not isinstance(section, Mapping):
            raise _schema_type_error(key, section, "object")
        for name, value in section.items():
            _check_pl_int(name, value)


def validate_new(event: Event) -> None:
    """The checks on a built event (after the third-party rules): canonical JSON for
    room versions 6+, power-level schema, alias lengths, mentions."""
    content = event.content
    if event.room_version.strict_canonicaljson:
        _canonical(content)
    if event.type == "m.room.power_levels":
        _validate_power_levels(content)
    elif event.type == "m.room.aliases":
        for alias in content.get("aliases") or []:
            if isinstance(alias, str) and len(alias) > 255:
                raise SynapseError(400, "Can't create aliases longer than 255 characters", Codes.INVALID_PARAM)
    mentions = dict.get(content, "m.mentions")
    if mentions is not None:
        if not isinstance(mentions, Mapping):
            raise _schema_type_error(None, content.get("m.mentions"), "object")
        user_ids = mentions.get("user_ids")
        if user_ids is not None and not isinstance(user_ids, list):
            raise _schema_type_error("user_ids", user_ids, "array")
        room = mentions.get("room")
        if room is not None and not isinstance(room, bool):
            raise _schema_type_error("room", room, "boolean")


def check_size_limits(event: Event, pdu_json: Optional[str] = None) -> None:
    """413 ``M_TOO_LARGE`` "event too large" for a PDU over 64 KiB, and Synapse's field
    limits (255 bytes for ``sender``, ``room_id``, ``state_key``, ``type``).
    ``pdu_json`` is the PDU's canonical JSON when already computed."""
    size = len(pdu_json.encode("utf-8")) if pdu_json is not None else len(canonical_json(event.get_pdu_json()))
    if size > MAX_PDU_SIZE:
        raise SynapseError(413, "event too large", Codes.TOO_LARGE)
    for name, value in (
        ("sender", event.sender),
        ("room_id", event.room_id),
        ("state_key", event.get_state_key()),
        ("type", event.type),
    ):
        if value is not None and len(value.encode("utf-8")) > 255:
            raise SynapseError(413, "'%s' too large" % (name,), Codes.TOO_LARGE)
