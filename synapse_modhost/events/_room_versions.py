"""Room versions 1–12 with the properties Synapse 1.163 exposes on ``event.room_version``.

Served as ``synapse.api.room_versions``. Only the stable versions are listed; the flags
are the ones that change how events are shaped, identified and redacted.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Tuple

__all__ = [
    "KNOWN_EVENT_FORMAT_VERSIONS",
    "KNOWN_ROOM_VERSIONS",
    "EventFormatVersions",
    "RoomDisposition",
    "RoomVersion",
    "RoomVersions",
    "StateResolutionVersions",
]


class EventFormatVersions:
    """How event IDs (and room IDs) are formed."""

    #: ``$opaque:server`` IDs carried in the event; prev/auth events as ``[id, hashes]``.
    ROOM_V1_V2 = 1
    #: IDs are the standard-base64 reference hash.
    ROOM_V3 = 2
    #: IDs are the URL-safe base64 reference hash.
    ROOM_V4_PLUS = 3
    #: As v4+, and the room ID is derived from the create event's ID (room v12).
    ROOM_V11_HYDRA_PLUS = 4


KNOWN_EVENT_FORMAT_VERSIONS = frozenset(
    {
        EventFormatVersions.ROOM_V1_V2,
        EventFormatVersions.ROOM_V3,
        EventFormatVersions.ROOM_V4_PLUS,
        EventFormatVersions.ROOM_V11_HYDRA_PLUS,
    }
)


class StateResolutionVersions:
    V1 = 1
    V2 = 2
    V2_1 = 3


class RoomDisposition:
    STABLE = "stable"
    UNSTABLE = "unstable"


class RoomVersion(NamedTuple):
    """A room version; ``identifier`` is the string clients use (``"12"``).

    Synapse's is a frozen attrs class; this one is a NamedTuple (the same attributes,
    immutable, compared by value) because creating a 23-field attrs class costs about
    5 M instructions (1 ms) of every start that imports ``synapse.events``.
    """

    identifier: str
    disposition: str
    event_format: int
    state_res: int
    enforce_key_validity: bool
    special_case_aliases_auth: bool
    strict_canonicaljson: bool
    limit_notifications_power_levels: bool
    implicit_room_creator: bool
    updated_redaction_rules: bool
    restricted_join_rule: bool
    restricted_join_rule_fix: bool
    knock_join_rule: bool
    msc3389_relation_redactions: bool
    knock_restricted_join_rule: bool
    enforce_int_power_levels: bool
    msc3931_push_features: Tuple[str, ...]
    msc3757_enabled: bool
    msc4289_creator_power_enabled: bool
    msc4291_room_ids_as_hashes: bool
    strict_event_byte_limits_room_versions: bool
    msc4242_state_dags: bool
    msc4311_stripped_state: bool


def _stable(n: int) -> RoomVersion:
    """Room version ``n`` (1–12): each feature is on from the version that introduced it."""
    if n <= 2:
        fmt = EventFormatVersions.ROOM_V1_V2
    elif n == 3:
        fmt = EventFormatVersions.ROOM_V3
    elif n <= 11:
        fmt = EventFormatVersions.ROOM_V4_PLUS
    else:
        fmt = EventFormatVersions.ROOM_V11_HYDRA_PLUS
    state_res = (
        StateResolutionVersions.V1
        if n == 1
        else StateResolutionVersions.V2_1
        if n >= 12
        else StateResolutionVersions.V2
    )
    return RoomVersion(
        identifier=str(n),
        disposition=RoomDisposition.STABLE,
        event_format=fmt,
        state_res=state_res,
        enforce_key_validity=n >= 5,
        special_case_aliases_auth=n <= 5,
        strict_canonicaljson=n >= 6,
        limit_notifications_power_levels=n >= 6,
        implicit_room_creator=n >= 11,
        updated_redaction_rules=n >= 11,
        restricted_join_rule=n >= 8,
        restricted_join_rule_fix=n >= 9,
        knock_join_rule=n >= 7,
        msc3389_relation_redactions=False,
        knock_restricted_join_rule=n >= 10,
        enforce_int_power_levels=n >= 10,
        msc3931_push_features=(),
        msc3757_enabled=False,
        msc4289_creator_power_enabled=n >= 12,
        msc4291_room_ids_as_hashes=n >= 12,
        strict_event_byte_limits_room_versions=n >= 11,
        msc4242_state_dags=False,
        msc4311_stripped_state=n >= 12,
    )


class RoomVersions:
    """The stable room versions, as ``RoomVersions.V1`` … ``RoomVersions.V12``."""

    V1 = _stable(1)
    V2 = _stable(2)
    V3 = _stable(3)
    V4 = _stable(4)
    V5 = _stable(5)
    V6 = _stable(6)
    V7 = _stable(7)
    V8 = _stable(8)
    V9 = _stable(9)
    V10 = _stable(10)
    V11 = _stable(11)
    V12 = _stable(12)


KNOWN_ROOM_VERSIONS: Dict[str, RoomVersion] = {
    v.identifier: v
    for v in (
        RoomVersions.V1,
        RoomVersions.V2,
        RoomVersions.V3,
        RoomVersions.V4,
        RoomVersions.V5,
        RoomVersions.V6,
        RoomVersions.V7,
        RoomVersions.V8,
        RoomVersions.V9,
        RoomVersions.V10,
        RoomVersions.V11,
        RoomVersions.V12,
    )
}
