"""``createRoom`` presets and the initial power levels (Synapse 1.163's values)."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.events import RoomVersion
from synapse_modhost.homeserver.handlers._room_config import RoomSettings

__all__ = ["PRESETS", "initial_power_levels", "preset_config"]

JsonDict = Dict[str, Any]

PRESETS: Dict[str, JsonDict] = {
    "private_chat": {
        "join_rules": "invite",
        "history_visibility": "shared",
        "original_invitees_have_ops": False,
        "guest_can_join": True,
        "power_level_content_override": {"invite": 0},
    },
    "trusted_private_chat": {
        "join_rules": "invite",
        "history_visibility": "shared",
        "original_invitees_have_ops": True,
        "guest_can_join": True,
        "power_level_content_override": {"invite": 0},
    },
    "public_chat": {
        "join_rules": "public",
        "history_visibility": "shared",
        "original_invitees_have_ops": False,
        "guest_can_join": False,
        "power_level_content_override": {"events": {"m.call.invite": 50}},
    },
}


def preset_config(config: Mapping[str, Any], settings: RoomSettings) -> Tuple[str, JsonDict]:
    """``(preset name, its settings)`` for a ``createRoom`` body: ``preset``, else
    ``private_chat`` for private rooms and ``public_chat`` for public ones."""
    visibility = config.get("visibility", "private")
    name = config.get("preset", "private_chat" if visibility == "private" else "public_chat")
    try:
        preset = dict(PRESETS[name])
    except (KeyError, TypeError):
        raise SynapseError(400, f"'{name}' is not a valid preset", Codes.BAD_JSON) from None
    preset["encrypted"] = name in settings.encrypted_presets
    _check_encryption_override(config, name, preset, settings)
    return name, preset


def _check_encryption_override(
    config: Mapping[str, Any], name: str, preset: JsonDict, settings: RoomSettings
) -> None:
    initial_state = config.get("initial_state", [])
    wants_encryption = any(
        isinstance(s, Mapping) and s.get("type", "") == "m.room.encryption" for s in initial_state
    )
    override = (settings.default_power_level_content_override or {}).get(name)
    if (preset["encrypted"] or wants_encryption) and override is not None:
        levels = override.get("events", {})
        admin_level = levels.get("m.room.power_levels", 100)
        encryption_level = levels.get("m.room.encryption", 100)
        if encryption_level > admin_level:
            raise SynapseError(
                403,
                f"You cannot create an encrypted room. user_level ({admin_level}) < "
                f"send_level ({encryption_level})",
            )


def _deepmerge(base: JsonDict, override: Mapping[str, Any]) -> JsonDict:
    for key, value in override.items():
        existing = base.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            base[key] = _deepmerge(dict(existing), value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def initial_power_levels(
    room_version: RoomVersion,
    creator_id: str,
    invite_list: List[str],
    preset_name: str,
    preset: JsonDict,
    settings: RoomSettings,
    override: Optional[Mapping[str, Any]],
) -> JsonDict:
    """The ``m.room.power_levels`` content of a new room (no ``initial_state`` one)."""
    creator_power = room_version.msc4289_creator_power_enabled
    content: JsonDict = {
        "users": {} if creator_power else {creator_id: 100},
        "users_default": 0,
        "events": {
            "m.room.name": 50,
            "m.room.power_levels": 100,
            "m.room.history_visibility": 100,
            "m.room.canonical_alias": 50,
            "m.room.avatar": 50,
            "m.room.tombstone": 150 if creator_power else 100,
            "m.room.server_acl": 100,
            "m.room.encryption": 100,
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 50,
        "historical": 100,
    }
    if preset["original_invitees_have_ops"] and not creator_power:
        for invitee in invite_list:
            content["users"][invitee] = 100
    content = _deepmerge(content, preset["power_level_content_override"])
    server_override = (settings.default_power_level_content_override or {}).get(preset_name)
    if server_override is not None:
        content.update(server_override)
    if override:
        content.update(override)
    return content
