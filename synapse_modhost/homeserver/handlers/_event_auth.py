"""The Matrix event authorization rules the stand-in applies to local events, with
Synapse 1.163's error texts (``synapse/event_auth.py``).

Only the state-dependent rules matter here: every event is built locally, from the
room's current state, so the state-independent checks (signatures, auth-event shape)
hold by construction. The power-level helpers are also used by handlers (directory,
redaction checks).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from synapse_modhost.errors import AuthError, SynapseError
from synapse_modhost.events import Event, RoomVersion

__all__ = [
    "CREATOR_POWER_LEVEL",
    "StateMap",
    "auth_types_for_event",
    "check_redaction",
    "check_state_dependent_auth_rules",
    "compute_auth_event_ids",
    "get_named_level",
    "get_send_level",
    "get_user_power_level",
    "is_creator",
]

#: what room creators' power level counts as from room version 12 (MSC4289)
CREATOR_POWER_LEVEL = 2**53

StateKey = Tuple[str, str]
StateMap = Mapping[StateKey, Event]

_CREATE = ("m.room.create", "")
_POWER = ("m.room.power_levels", "")
_JOIN_RULES = ("m.room.join_rules", "")
_MEMBERSHIPS = ("invite", "join", "leave", "ban", "knock")


def _domain(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def auth_types_for_event(
    room_version: RoomVersion, event_type: str, sender: str, state_key: Optional[str], content: Mapping[str, Any]
) -> Set[StateKey]:
    """The state an event of this shape is authorised against."""
    if event_type == "m.room.create":
        return set()
    types: Set[StateKey] = {_POWER, ("m.room.member", sender), _CREATE}
    if event_type == "m.room.member":
        membership = content.get("membership")
        if membership in ("join", "invite", "knock"):
            types.add(_JOIN_RULES)
        types.add(("m.room.member", state_key or ""))
        if membership == "invite":
            tpi = content.get("third_party_invite")
            if isinstance(tpi, Mapping):
                signed = tpi.get("signed")
                if isinstance(signed, Mapping) and isinstance(signed.get("token"), str):
                    types.add(("m.room.third_party_invite", signed["token"]))
        if room_version.restricted_join_rule and membership == "join":
            via = content.get("join_authorised_via_users_server")
            if isinstance(via, str):
                types.add(("m.room.member", via))
    return types


def compute_auth_event_ids(
    room_version: RoomVersion,
    event_type: str,
    sender: str,
    state_key: Optional[str],
    content: Mapping[str, Any],
    state_ids: Mapping[StateKey, str],
) -> List[str]:
    """The ``auth_events`` of a new event, picked from the state before it."""
    out: List[str] = []
    for key in sorted(auth_types_for_event(room_version, event_type, sender, state_key, content)):
        event_id = state_ids.get(key)
        if event_id:
            out.append(event_id)
    return out


# ---------------------------------------------------------------------- power levels


def is_creator(create: Event, user_id: str) -> bool:
    """The sender of the create event, or (room v12) one of its ``additional_creators``."""
    if create.sender == user_id:
        return True
    if create.room_version.msc4289_creator_power_enabled:
        additional = _get(create.content, "additional_creators") or []
        return isinstance(additional, list) and user_id in additional
    return False


def _get(content: Any, key: str, default: Any = None) -> Any:
    """A value of an event's (frozen) content without copying it; read-only."""
    return dict.get(content, key, default)


def get_user_power_level(user_id: str, auth_events: StateMap) -> int:
    create = auth_events.get(_CREATE)
    if create is None:
        raise AssertionError("no create event in the room state")
    if create.room_version.msc4289_creator_power_enabled and is_creator(create, user_id):
        return CREATOR_POWER_LEVEL
    power = auth_events.get(_POWER)
    if power is not None:
        users = _get(power.content, "users") or {}
        level = _get(users, user_id) if isinstance(users, dict) else None
        if level is None:
            level = _get(power.content, "users_default", 0)
        return 0 if level is None else int(level)
    if create.room_version.implicit_room_creator:
        creator = create.sender
    else:
        creator = _get(create.content, "creator")
    return 100 if creator == user_id else 0


def get_named_level(auth_events: StateMap, name: str, default: int) -> int:
    power = auth_events.get(_POWER)
    if power is None:
        return default
    level = _get(power.content, name)
    return default if level is None else int(level)


def get_send_level(event_type: str, state_key: Optional[str], power: Optional[Event]) -> int:
    content: Mapping[str, Any] = power.content if power is not None else {}
    events = _get(content, "events") or {}
    level = _get(events, event_type) if isinstance(events, dict) else None
    if level is None:
        if state_key is not None:
            level = _get(content, "state_default", 50)
        else:
            level = _get(content, "events_default", 0)
    return int(level)


# ---------------------------------------------------------------------- the rules


def check_state_dependent_auth_rules(event: Event, auth_events: StateMap) -> None:
    """Raise ``AuthError`` (or ``SynapseError`` for malformed power levels) unless the
    event is allowed against ``auth_events`` (the state before it)."""
    if event.type == "m.room.create":
        return
    create = auth_events.get(_CREATE)
    if create is None:
        raise AuthError(403, "Event %s is missing a create event in auth_events." % (event.event_id,))
    if _domain(create.sender) != _domain(event.sender) and _get(create.content, "m.federate", True) is False:
        raise AuthError(403, "This room has been marked as unfederatable.")
    rv = event.room_version
    if event.type == "m.room.aliases" and rv.special_case_aliases_auth:
        if not event.is_state():
            raise AuthError(403, "Alias event must be a state event")
        if not event.state_key:
            raise AuthError(403, "Alias event must have non-empty state_key")
        if event.state_key != _domain(event.sender):
            raise AuthError(403, "Alias event's state_key does not match sender's domain")
        return
    if event.type == "m.room.member":
        _check_membership(rv, event, auth_events)
        return
    _check_sender_in_room(event, auth_events)
    if event.type == "m.room.third_party_invite":
        if get_user_power_level(event.sender, auth_events) < get_named_level(auth_events, "invite", 0):
            raise AuthError(403, "You don't have permission to invite users")
        return
    _check_can_send(event, auth_events)
    if event.type == "m.room.power_levels":
        _check_power_levels(event, auth_events)


def _check_sender_in_room(event: Event, auth_events: StateMap) -> None:
    member = auth_events.get(("m.room.member", event.sender))
    if member is None or _get(member.content, "membership") != "join":
        raise AuthError(
            403, "User %s not in room %s (%r)" % (event.sender, event.room_id, member)
        )


def _check_can_send(event: Event, auth_events: StateMap) -> None:
    state_key = event.get_state_key()
    send_level = get_send_level(event.type, state_key, auth_events.get(_POWER))
    user_level = get_user_power_level(event.sender, auth_events)
    if user_level < send_level:
        raise AuthError(
            403,
            "You don't have permission to post that to the room. "
            "user_level (%d) < send_level (%d)" % (user_level, send_level),
        )
    if state_key is not None and state_key.startswith("@") and state_key != event.sender:
        raise AuthError(403, "You are not allowed to set others state")


def _check_membership(rv: RoomVersion, event: Event, auth_events: StateMap) -> None:
    membership = _get(event.content, "membership")
    target = event.state_key
    prevs = event.prev_event_ids()
    create = auth_events.get(_CREATE)
    if membership == "join" and len(prevs) == 1 and create is not None and prevs[0] == create.event_id:
        creator = create.sender if rv.implicit_room_creator else _get(create.content, "creator")
        if creator == target:
            return
    if create is None:
        raise AuthError(403, "Create event missing from auth_events")
    if _domain(create.sender) != _domain(target) and _get(create.content, "m.federate", True) is False:
        raise AuthError(403, "This room has been marked as unfederatable.")

    caller = auth_events.get(("m.room.member", event.sender))
    caller_m = _get(caller.content, "membership") if caller is not None else None
    caller_in_room = caller_m == "join"
    caller_invited = caller_m == "invite"
    caller_knocked = rv.knock_join_rule and caller_m == "knock"
    target_ev = auth_events.get(("m.room.member", target))
    target_m = _get(target_ev.content, "membership") if target_ev is not None else None
    target_in_room = target_m == "join"
    target_banned = target_m == "ban"
    jr_event = auth_events.get(_JOIN_RULES)
    join_rule = _get(jr_event.content, "join_rule", "invite") if jr_event is not None else "invite"
    user_level = get_user_power_level(event.sender, auth_events)
    target_level = get_user_power_level(target, auth_events)
    invite_level = get_named_level(auth_events, "invite", 0)
    ban_level = get_named_level(auth_events, "ban", 50)

    if membership == "invite" and "third_party_invite" in event.content:
        if not _verify_third_party_invite(event, auth_events):
            raise AuthError(403, "You are not invited to this room.")
        if target_banned:
            raise AuthError(403, "%s is banned from the room" % (target,))
        return

    if membership not in ("join", "knock"):
        if (caller_invited or caller_knocked) and membership == "leave" and target == event.sender:
            return
        if not caller_in_room:
            raise AuthError(403, "%s not in room %s." % (event.sender, event.room_id))

    if membership == "invite":
        if target_banned:
            raise AuthError(403, "%s is banned from the room" % (target,))
        if target_in_room:
            raise AuthError(403, "%s is already in the room." % (target,))
        if user_level < invite_level:
            raise AuthError(403, "You don't have permission to invite users")
    elif membership == "join":
        _check_join(rv, event, auth_events, join_rule, caller_in_room, caller_invited, target_banned, invite_level)
    elif membership == "leave":
        if target_banned and user_level < ban_level:
            raise AuthError(403, "You cannot unban user %s." % (target,))
        if target != event.sender:
            kick_level = get_named_level(auth_events, "kick", 50)
            if user_level < kick_level or user_level <= target_level:
                raise AuthError(403, "You cannot kick user %s." % (target,))
    elif membership == "ban":
        if user_level < ban_level:
            raise AuthError(403, "You don't have permission to ban")
        if user_level <= target_level:
            raise AuthError(403, "You don't have permission to ban this user")
    elif rv.knock_join_rule and membership == "knock":
        knockable = join_rule == "knock" or (rv.knock_restricted_join_rule and join_rule == "knock_restricted")
        if not knockable:
            raise AuthError(403, "You don't have permission to knock")
        if target != event.sender:
            raise AuthError(403, "You cannot knock for other users")
        if target_in_room:
            raise AuthError(403, "You cannot knock on a room you are already in")
        if caller_invited:
            raise AuthError(403, "You are already invited to this room")
        if target_banned:
            raise AuthError(403, "You are banned from this room")
    else:
        raise AuthError(500, "Unknown membership %s" % (membership,))


def _check_join(
    rv: RoomVersion,
    event: Event,
    auth_events: StateMap,
    join_rule: Any,
    caller_in_room: bool,
    caller_invited: bool,
    target_banned: bool,
    invite_level: int,
) -> None:
    if event.sender != event.state_key:
        raise AuthError(403, "Cannot force another user to join.")
    if target_banned:
        raise AuthError(403, "You are banned from this room")
    if join_rule == "public":
        return
    restricted = (rv.restricted_join_rule and join_rule == "restricted") or (
        rv.knock_restricted_join_rule and join_rule == "knock_restricted"
    )
    if restricted:
        if caller_in_room or caller_invited:
            return
        via = _get(event.content, "join_authorised_via_users_server")
        if via is None:
            raise AuthError(403, "Join event is missing authorising user.")
        member = auth_events.get(("m.room.member", via))
        if member is None or _get(member.content, "membership") != "join":
            raise AuthError(403, "User %s not in room %s (%r)" % (via, event.room_id, member))
        if get_user_power_level(via, auth_events) < invite_level:
            raise AuthError(403, "Join event authorised by invalid server.")
        return
    if join_rule == "invite" or (rv.knock_join_rule and join_rule == "knock"):
        if not (caller_in_room or caller_invited):
            raise AuthError(403, "You are not invited to this room.")
        return
    raise AuthError(403, "You are not allowed to join this room")


def _verify_third_party_invite(event: Event, auth_events: StateMap) -> bool:
    """A ``third_party_invite`` join/invite matches a stored ``m.room.third_party_invite``
    (token and sender of the original invite); signatures are not verified (no identity
    server in the stand-in)."""
    tpi = _get(event.content, "third_party_invite")
    if not isinstance(tpi, Mapping):
        return False
    signed = tpi.get("signed")
    if not isinstance(signed, Mapping) or signed.get("mxid") != event.state_key:
        return False
    token = signed.get("token")
    invite = auth_events.get(("m.room.third_party_invite", token)) if isinstance(token, str) else None
    return invite is not None and invite.sender == event.sender


def _check_power_levels(event: Event, auth_events: StateMap) -> None:
    rv = event.room_version
    users = _get(event.content, "users") or {}
    for user, level in (users.items() if isinstance(users, dict) else []):
        if not (isinstance(user, str) and user.startswith("@") and ":" in user):
            raise SynapseError(400, "Not a valid user_id: %s" % (user,))
        try:
            int(level)
        except Exception:
            raise SynapseError(400, "Not a valid power level: %s" % (level,)) from None
    if rv.msc4289_creator_power_enabled:
        create = auth_events.get(_CREATE)
        if create is None:
            raise SynapseError(400, "Cannot check power levels without a create event in auth_events")
        if create.sender in users:
            raise SynapseError(400, "Creator user %s must not appear in content.users" % (create.sender,))
        additional = _get(create.content, "additional_creators") or []
        if isinstance(additional, list) and set(additional) & set(users):
            raise SynapseError(400, "Additional creators users must not appear in content.users")
    current = auth_events.get(_POWER)
    if current is None:
        return
    user_level = get_user_power_level(event.sender, auth_events)
    checks: List[Tuple[str, str]] = [
        (name, "")
        for name in ("users_default", "events_default", "state_default", "ban", "redact", "kick", "invite")
    ]
    old, new = current.content, event.content
    for section in ("users", "events") + (("notifications",) if rv.limit_notifications_power_levels else ()):
        old_map = old.get(section) or {}
        new_map = new.get(section) or {}
        for name in sorted(set(old_map) | set(new_map)):
            checks.append((name, section))
    for key, section in checks:
        old_loc: Dict[str, Any] = old.get(section) or {} if section else old
        new_loc: Dict[str, Any] = new.get(section) or {} if section else new
        old_level = int(old_loc[key]) if key in old_loc else None
        new_level = int(new_loc[key]) if key in new_loc else None
        if old_level is not None and new_level is not None and old_level == new_level:
            continue
        if section == "users" and key != event.sender and old_level == user_level:
            raise AuthError(403, "You don't have permission to remove ops level equal to your own")
        if (old_level is not None and old_level > user_level) or (
            new_level is not None and new_level > user_level
        ):
            raise AuthError(403, "You don't have permission to add ops level greater than your own")


def check_redaction(event: Event, auth_events: StateMap) -> bool:
    """``True`` when the redaction is only allowed if its sender sent the redacted event
    (the sender lacks the ``redact`` level), ``False`` when it is allowed outright."""
    if get_user_power_level(event.sender, auth_events) >= get_named_level(auth_events, "redact", 50):
        return False
    return True
