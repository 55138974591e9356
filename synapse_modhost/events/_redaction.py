"""The Matrix redaction algorithm and reference hashes (event IDs for room v3+).

Follows the Matrix specification's per-room-version redaction rules; the reference hash
is the SHA-256 of the redacted event's canonical JSON without ``signatures`` and
``unsigned``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Dict, FrozenSet, Mapping

from synapse_modhost.events._json import canonical_json, thaw
from synapse_modhost.events._room_versions import EventFormatVersions, RoomVersion

__all__ = ["compute_event_id", "prune_event_dict", "reference_hash"]

_KEPT_TOP_LEVEL: FrozenSet[str] = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    }
)
#: Dropped from the kept keys from room version 11.
_KEPT_TOP_LEVEL_BEFORE_V11: FrozenSet[str] = frozenset({"origin", "membership", "prev_state"})

_POWER_LEVEL_KEYS = (
    "users",
    "users_default",
    "events",
    "events_default",
    "state_default",
    "ban",
    "kick",
    "redact",
)

#: ``unsigned`` keys that survive pruning.
_KEPT_UNSIGNED = ("age_ts", "replaces_state", "redacted_because")


def _kept_content(
    room_version: RoomVersion, event_type: Any, content: Mapping[str, Any]
) -> Dict[str, Any]:
    keys: tuple = ()
    new_rules = room_version.updated_redaction_rules
    if event_type == "m.room.member":
        keys = ("membership",)
        if room_version.restricted_join_rule_fix:
            keys += ("join_authorised_via_users_server",)
        if new_rules:
            tpi = content.get("third_party_invite")
            out = {k: content[k] for k in keys if k in content}
            if isinstance(tpi, Mapping):
                out["third_party_invite"] = {k: tpi[k] for k in ("signed",) if k in tpi}
            return out
    elif event_type == "m.room.create":
        if new_rules:
            return dict(content)
        keys = ("creator",)
    elif event_type == "m.room.join_rules":
        keys = ("join_rule", "allow") if room_version.restricted_join_rule else ("join_rule",)
    elif event_type == "m.room.power_levels":
        keys = _POWER_LEVEL_KEYS + (("invite",) if new_rules else ())
    elif event_type == "m.room.aliases":
        keys = ("aliases",) if room_version.special_case_aliases_auth else ()
    elif event_type == "m.room.history_visibility":
        keys = ("history_visibility",)
    elif event_type == "m.room.redaction":
        keys = ("redacts",) if new_rules else ()
    return {k: content[k] for k in keys if k in content}


def prune_event_dict(room_version: RoomVersion, event_dict: Mapping[str, Any]) -> Dict[str, Any]:
    """The redacted form of an event dict (a new plain dict; the input is not changed)."""
    kept = _KEPT_TOP_LEVEL
    if not room_version.updated_redaction_rules:
        kept = kept | _KEPT_TOP_LEVEL_BEFORE_V11
    out: Dict[str, Any] = {k: thaw(v) for k, v in event_dict.items() if k in kept}
    content = event_dict.get("content")
    out["content"] = thaw(
        _kept_content(room_version, event_dict.get("type"), content)
        if isinstance(content, Mapping)
        else {}
    )
    unsigned = event_dict.get("unsigned")
    if isinstance(unsigned, Mapping):
        kept_unsigned = {k: thaw(unsigned[k]) for k in _KEPT_UNSIGNED if k in unsigned}
        if kept_unsigned:
            out["unsigned"] = kept_unsigned
    return out


def reference_hash(room_version: RoomVersion, event_dict: Mapping[str, Any]) -> bytes:
    """SHA-256 over the redacted event without ``signatures`` and ``unsigned``."""
    pruned = prune_event_dict(room_version, event_dict)
    pruned.pop("signatures", None)
    pruned.pop("unsigned", None)
    pruned.pop("age_ts", None)
    return hashlib.sha256(canonical_json(pruned)).digest()


def compute_event_id(room_version: RoomVersion, event_dict: Mapping[str, Any]) -> str:
    """The ``$…`` ID of an event in a room version whose IDs are reference hashes (v3+)."""
    digest = reference_hash(room_version, event_dict)
    if room_version.event_format == EventFormatVersions.ROOM_V3:
        encoded = base64.b64encode(digest)
    else:
        encoded = base64.urlsafe_b64encode(digest)
    return "$" + encoded.rstrip(b"=").decode("ascii")
