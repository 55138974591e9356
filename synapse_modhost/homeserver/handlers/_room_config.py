"""The room-related ``homeserver.yaml`` settings the stand-in honours, with Synapse's
defaults (read from the raw config: the host's typed config does not model them)."""

from __future__ import annotations

import re
from typing import Any, Collection, Dict, List, Mapping, Optional, Pattern

import attr

__all__ = ["DirectoryRule", "RoomSettings", "glob_to_regex"]

_PRESETS = ("private_chat", "trusted_private_chat", "public_chat")


def glob_to_regex(glob: str) -> Pattern[str]:
    """Synapse's glob: ``*`` any run, ``?`` one character, whole string, any case."""
    parts = []
    for ch in glob:
        if ch == "*":
            parts.append(".*?")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile(r"\A" + "".join(parts) + r"\Z", re.IGNORECASE)


@attr.s(frozen=True, slots=True, auto_attribs=True)
class DirectoryRule:
    """One ``alias_creation_rules`` / ``room_list_publication_rules`` entry."""

    action: str
    user_id: Pattern[str]
    room_id: Pattern[str]
    alias: Pattern[str]
    alias_matches_all: bool

    @classmethod
    def parse(cls, rule: Mapping[str, Any]) -> "DirectoryRule":
        alias = str(rule.get("alias", "*"))
        return cls(
            action=str(rule.get("action")),
            user_id=glob_to_regex(str(rule.get("user_id", "*"))),
            room_id=glob_to_regex(str(rule.get("room_id", "*"))),
            alias=glob_to_regex(alias),
            alias_matches_all=alias == "*",
        )

    def matches(self, user_id: str, room_id: str, aliases: Collection[str]) -> bool:
        if not self.user_id.match(user_id) or not self.room_id.match(room_id):
            return False
        if self.alias_matches_all:
            return True
        return any(self.alias.match(a) for a in aliases)


def _rules(raw: Any, default: List[DirectoryRule]) -> List[DirectoryRule]:
    if raw is None:
        return default
    return [DirectoryRule.parse(r) for r in raw if isinstance(r, Mapping)]


def _first_match(rules: List[DirectoryRule], user_id: str, room_id: str, aliases: Collection[str]) -> bool:
    for rule in rules:
        if rule.matches(user_id, room_id, aliases):
            return rule.action == "allow"
    return False


@attr.s(frozen=True, slots=True, auto_attribs=True)
class RoomSettings:
    """Room settings from the config (Synapse's names and defaults)."""

    default_room_version: str = "12"
    #: presets whose rooms get ``m.room.encryption`` (``encryption_enabled_by_default_for_room_type``)
    encrypted_presets: Collection[str] = ()
    default_power_level_content_override: Optional[Mapping[str, Any]] = None
    block_non_admin_invites: bool = False
    require_membership_for_aliases: bool = True
    include_profile_data_on_invite: bool = True
    allow_per_room_profiles: bool = True
    enable_room_list_search: bool = True
    alias_creation_rules: List[DirectoryRule] = attr.ib(factory=list)
    room_list_publication_rules: List[DirectoryRule] = attr.ib(factory=list)
    rc_invites: Dict[str, Dict[str, float]] = attr.ib(factory=dict)

    @classmethod
    def from_config(cls, config: Any) -> "RoomSettings":
        get = config.get
        encryption = get("encryption_enabled_by_default_for_room_type", "off")
        presets: Collection[str] = ()
        if encryption == "all":
            presets = _PRESETS
        elif encryption == "invite":
            presets = ("private_chat", "trusted_private_chat")
        rc_invites = get("rc_invites") or {}
        return cls(
            default_room_version=str(get("default_room_version", "12")),
            encrypted_presets=presets,
            default_power_level_content_override=get("default_power_level_content_override"),
            block_non_admin_invites=bool(get("block_non_admin_invites", False)),
            require_membership_for_aliases=bool(get("require_membership_for_aliases", True)),
            include_profile_data_on_invite=bool(get("include_profile_data_on_invite", True)),
            allow_per_room_profiles=bool(get("allow_per_room_profiles", True)),
            enable_room_list_search=bool(get("enable_room_list_search", True)),
            alias_creation_rules=_rules(
                get("alias_creation_rules"),
                [DirectoryRule.parse({"action": "allow"})],
            ),
            room_list_publication_rules=_rules(get("room_list_publication_rules"), []),
            rc_invites=dict(rc_invites) if isinstance(rc_invites, Mapping) else {},
        )

    def is_alias_creation_allowed(self, user_id: str, room_id: str, alias: str) -> bool:
        return _first_match(self.alias_creation_rules, user_id, room_id, [alias])

    def is_publishing_room_allowed(self, user_id: str, room_id: str, aliases: Collection[str]) -> bool:
        """``room_list_publication_rules``; none configured denies (Synapse's default)."""
        return _first_match(self.room_list_publication_rules, user_id, room_id, aliases)
