"""``RoomCreationHandler``: ``POST /createRoom`` with Synapse 1.163's validation, callback
order and initial events (``handlers/room.py``; TRIGGERS.md §1).

Order: ``on_create_room`` → body checks → ``rc_invites.per_room`` (with invites) →
``user_may_create_room`` (non-admins) → [room v12: the create event, whose ID names the
room: ``check_event_allowed(create, {})``] → ``check_visibility_can_be_modified(room,
{}, visibility)`` → alias (``user_may_create_room_alias``) → create event (older
versions) → creator's join → the batched initial state (power levels, canonical alias,
join rules, history visibility, guest access, ``initial_state``, encryption, name,
topic), which module callbacks see against the state right after the creator's join →
invites (``user_may_invite`` for non-admins) → third-party invites.

A failed request leaves nothing behind: the body's shape is checked first (400
``M_BAD_JSON`` where Synapse answers 500), nothing is written until the room ID is
settled and ``check_visibility_can_be_modified`` allowed it, and a failure after the room
was stored removes the room with everything this request wrote (alias, events, state,
memberships) before the error is answered. Callbacks run as on Synapse up to the failure.
"""

from __future__ import annotations

import logging
import random
import string
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Set, Tuple

from twisted.internet import task

from synapse_modhost._codes import Codes
from synapse_modhost.errors import LimitExceededError, SynapseError
from synapse_modhost.events import Event, RoomVersion
from synapse_modhost.events._room_versions import KNOWN_ROOM_VERSIONS
from synapse_modhost.homeserver.handlers._builder import random_string
from synapse_modhost.homeserver.handlers._event_context import EventContext, StateKey
from synapse_modhost.homeserver.handlers._event_validation import _schema_type_error
from synapse_modhost.homeserver.handlers._room_config import RoomSettings
from synapse_modhost.homeserver.handlers._room_presets import initial_power_levels, preset_config
from synapse_modhost.storage import RoomExistsError
from synapse_modhost.types import NOT_SPAM, Requester, RoomAlias, UserID

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["RoomCreationHandler"]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]


class RoomCreationHandler:
    """Creates rooms (``hs.rooms``)."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.event_store
        self.settings = RoomSettings.from_config(hs.config)
        self._third_party = hs.callbacks.third_party_rules
        self._spam = hs.callbacks.spam_checker
        #: IDs of rooms being created (not stored yet)
        self._reserved_room_ids: Set[str] = set()

    async def create_room(
        self,
        requester: Requester,
        config: JsonDict,
        ratelimit: bool = True,
        creator_join_profile: Optional[JsonDict] = None,
    ) -> Tuple[str, Optional[RoomAlias], int]:
        """Create a room from a ``/createRoom`` body (the dict modules may mutate in
        ``on_create_room``); ``(room_id, alias or None, last stream position)``."""
        user_id = requester.user_id
        is_admin = await self.hs.auth.is_server_admin(requester)
        await self._third_party.on_create_room(requester, config, is_admin)
        _check_body_shapes(config)
        invite_3pid_list = config.get("invite_3pid", [])
        invite_list = config.get("invite", [])
        for invite_3pid in invite_3pid_list:
            if not all(k in invite_3pid for k in ("medium", "address", "id_server", "id_access_token")):
                raise SynapseError(
                    400,
                    "all of `medium`, `address`, `id_server` and `id_access_token` are required "
                    "when making a 3pid invite",
                    Codes.MISSING_PARAM,
                )
        room_version = self._room_version(config)
        room_alias = await self._requested_alias(config)
        for invitee in invite_list:
            try:
                uid = UserID.from_string(invitee)
                _validate_server_name(uid.domain)
            except Exception:
                raise SynapseError(400, "Invalid user_id: %s" % (invitee,)) from None
        if (invite_list or invite_3pid_list) and requester.shadow_banned:
            await task.deferLater(self.hs.reactor, random.randint(1, 10), lambda: None)
            invite_list, invite_3pid_list = [], []
        if invite_list or invite_3pid_list:
            try:
                await self.hs.membership.ratelimiters.ratelimit_multiple_invites(
                    requester, None, len(invite_list) + len(invite_3pid_list), update=False
                )
            except LimitExceededError:
                raise SynapseError(400, "Cannot invite so many users at once") from None
        pl_override = config.get("power_level_content_override")
        if (
            pl_override
            and not room_version.msc4289_creator_power_enabled
            and "users" in pl_override
            and user_id not in pl_override["users"]
        ):
            raise SynapseError(
                400,
                "Not a valid power_level_content_override: 'users' did not contain %s" % (user_id,),
            )
        visibility = config.get("visibility", "private")
        is_public = visibility == "public"
        preset_name, preset = preset_config(config, self.settings)
        if not is_admin:
            spam = await self._spam.user_may_create_room(user_id, config)
            if spam != NOT_SPAM:
                raise self._spam.denial_error("user_may_create_room", spam)
        creation_content = config.get("creation_content", {})
        creation_content["room_version"] = room_version.identifier
        if (
            room_version.msc4289_creator_power_enabled
            and config.get("preset") == "trusted_private_chat"
            and config.get("invite")
        ):
            creation_content["additional_creators"] = sorted(
                set(creation_content.get("additional_creators", [])) | set(config["invite"])
            )

        create: Optional[Tuple[Event, EventContext]] = None
        if room_version.msc4291_room_ids_as_hashes:
            create = await self._create_event_naming_room(requester, creation_content, room_version)
            room_id = create[0].room_id
        else:
            room_id = await self._pick_random_room_id()
        try:
            if not await self._third_party.check_visibility_can_be_modified(room_id, {}, visibility):
                raise SynapseError(403, "Room visibility value not allowed.")
            if is_public:
                aliases = [room_alias.to_string()] if room_alias else []
                is_public = self.settings.is_publishing_room_allowed(user_id, room_id, aliases)
            await self._store_room(room_id, room_version, user_id, is_public)
            try:
                last_stream = await self._fill_new_room(
                    requester, room_id, room_version, config, preset_name, preset, invite_list,
                    invite_3pid_list, creation_content, room_alias, pl_override,
                    creator_join_profile, create,
                )  # fmt: skip
            except Exception:
                await self._discard_new_room(room_id)
                raise
        finally:
            self._reserved_room_ids.discard(room_id)
        return room_id, room_alias, last_stream

    async def _fill_new_room(
        self,
        requester: Requester,
        room_id: str,
        room_version: RoomVersion,
        config: JsonDict,
        preset_name: str,
        preset: JsonDict,
        invite_list: List[str],
        invite_3pid_list: List[JsonDict],
        creation_content: JsonDict,
        room_alias: Optional[RoomAlias],
        pl_override: Optional[JsonDict],
        creator_join_profile: Optional[JsonDict],
        create: Optional[Tuple[Event, EventContext]],
    ) -> int:
        """Everything after the room row: the alias, the initial events and the invites;
        the last stream position."""
        if room_alias is not None:
            await self.hs.directory.create_association(
                requester, room_alias, room_id, servers=[self.hs.server_name], check_membership=False
            )
        initial_state: Dict[StateKey, Any] = {}
        for entry in config.get("initial_state", []):
            initial_state[(entry["type"], entry.get("state_key", ""))] = entry["content"]
        last_stream, last_event_id, depth = await self._send_events_for_new_room(
            requester,
            room_id,
            room_version,
            config,
            preset_name,
            preset,
            invite_list,
            initial_state,
            creation_content,
            room_alias,
            pl_override,
            creator_join_profile,
            create,
        )
        membership = self.hs.membership
        async with membership.member_linearizer.queue(room_id):
            content: JsonDict = {}
            if config.get("is_direct"):
                content["is_direct"] = config["is_direct"]
            for invitee in invite_list:
                last_event_id, last_stream = await membership.update_membership_locked(
                    requester,
                    invitee,
                    room_id,
                    "invite",
                    content=content,
                    new_room=True,
                    prev_event_ids=[last_event_id],
                    depth=depth,
                )
                depth += 1
        for invite_3pid in invite_3pid_list:
            last_event_id, last_stream = await membership.do_3pid_invite(
                room_id,
                requester,
                invite_3pid["medium"],
                invite_3pid["address"],
                invite_3pid["id_server"],
                invite_3pid["id_access_token"],
                prev_event_ids=[last_event_id],
                depth=depth,
            )
            depth += 1
        return last_stream

    async def _discard_new_room(self, room_id: str) -> None:
        """Remove a room whose creation failed, with everything written for it: its row,
        aliases, events, current state and memberships (the database cascades from the
        room row) and the store's caches of them. Sync, ``/joined_rooms``, the directory
        and the room list read the database, so none of them shows it afterwards."""
        logger.info("Removing room %s: its creation failed", room_id)
        try:
            await self.store.rooms.purge_room(room_id)
        except Exception:
            logger.exception("Failed to remove the partly created room %s", room_id)

    # ------------------------------------------------------------------ checks

    def _room_version(self, config: JsonDict) -> RoomVersion:
        version_id = config.get("room_version", self.settings.default_room_version)
        if not isinstance(version_id, str):
            raise SynapseError(400, "room_version must be a string", Codes.BAD_JSON)
        room_version = KNOWN_ROOM_VERSIONS.get(version_id)
        if room_version is None:
            raise SynapseError(
                400, "Your homeserver does not support this room version", Codes.UNSUPPORTED_ROOM_VERSION
            )
        return room_version

    async def _requested_alias(self, config: JsonDict) -> Optional[RoomAlias]:
        if "room_alias_name" not in config:
            return None
        name = config["room_alias_name"]
        if any(ch in name for ch in string.whitespace):
            raise SynapseError(400, "Invalid characters in room alias")
        if ":" in name:
            raise SynapseError(
                400,
                "':' is not permitted in the room alias name. Please note this expects a "
                "local part — 'wombat', not '#wombat:example.com'.",
            )
        alias = RoomAlias(name, self.hs.server_name)
        if await self.store.rooms.get_alias(alias.to_string()) is not None:
            raise SynapseError(400, "Room alias already taken", Codes.ROOM_IN_USE)
        return alias

    # ------------------------------------------------------------------ the room ID

    async def _room_id_free(self, room_id: str) -> bool:
        """Whether no room has (or is being created with) this ID; reserves it if so."""
        if room_id in self._reserved_room_ids:
            return False
        if await self.store.rooms.get_room(room_id) is not None or room_id in self._reserved_room_ids:
            return False
        self._reserved_room_ids.add(room_id)
        return True

    async def _pick_random_room_id(self) -> str:
        for _ in range(5):
            room_id = "!%s:%s" % (random_string(18), self.hs.server_name)
            if await self._room_id_free(room_id):
                return room_id
        raise SynapseError(500, "Couldn't generate a room ID.")

    async def _store_room(
        self, room_id: str, room_version: RoomVersion, creator: str, is_public: bool
    ) -> None:
        """Write the (reserved) room row and register the room in the store's cache."""
        try:
            await self.store.rooms.store_room(
                room_id, room_version.identifier, creator, is_public, self.hs.time_msec()
            )
        except RoomExistsError:
            raise SynapseError(500, "Couldn't generate a unique room ID.") from None
        self.store.add_room_to_cache(room_id, room_version, creator)

    async def _create_event_naming_room(
        self, requester: Requester, creation_content: JsonDict, room_version: RoomVersion
    ) -> Tuple[Event, EventContext]:
        """Room v12: build the create event (its ID names the room), retrying with a
        slightly different timestamp while the ID is taken; the ID is reserved."""
        for attempt in range(8):
            event_dict: JsonDict = {
                "content": creation_content,
                "sender": requester.user_id,
                "type": "m.room.create",
                "state_key": "",
            }
            if attempt:
                # Synapse adds 1-10 ms; the range grows here so that rooms created under a
                # frozen test clock still find a free ID.
                spread = 10 ** attempt
                event_dict["origin_server_ts"] = self.hs.time_msec() + random.randint(1, spread)
            event, context = await self.hs.events.create_event(
                requester, event_dict, prev_event_ids=[], depth=1, state_ids={}
            )
            if await self._room_id_free(event.room_id):
                return event, context
        raise SynapseError(500, "Couldn't generate a unique room ID.")

    # ------------------------------------------------------------------ initial events

    async def _send_events_for_new_room(
        self,
        creator: Requester,
        room_id: str,
        room_version: RoomVersion,
        config: JsonDict,
        preset_name: str,
        preset: JsonDict,
        invite_list: List[str],
        initial_state: Dict[StateKey, Any],
        creation_content: JsonDict,
        room_alias: Optional[RoomAlias],
        pl_override: Optional[JsonDict],
        creator_join_profile: Optional[JsonDict],
        create: Optional[Tuple[Event, EventContext]],
    ) -> Tuple[int, str, int]:
        events = self.hs.events
        creator_id = creator.user_id
        if create is None:
            content = dict(creation_content)
            if not room_version.implicit_room_creator:
                content["creator"] = creator_id
            create = await events.create_event(
                creator,
                {"type": "m.room.create", "content": content, "room_id": room_id,
                 "sender": creator_id, "state_key": ""},
                prev_event_ids=[], depth=1, state_ids={},
            )  # fmt: skip
        create_event = await events.handle_new_client_event(creator, [create], ignore_shadow_ban=True)
        member_event_id, _ = await self.hs.membership.update_membership(
            creator,
            creator_id,
            room_id,
            "join",
            ratelimit=False,
            content=creator_join_profile,
            new_room=True,
            prev_event_ids=[create_event.event_id],
            depth=2,
        )
        depth = 3
        prev = [member_event_id]
        state_map: Dict[StateKey, str] = {
            ("m.room.create", ""): create_event.event_id,
            ("m.room.member", creator_id): member_event_id,
        }
        callback_state = dict(state_map)
        batch: List[Tuple[Event, EventContext]] = []

        async def add(event_type: str, content: Any, state_key: str = "") -> None:
            nonlocal depth, prev
            event, context = await events.create_event(
                creator,
                {"type": event_type, "content": content, "room_id": room_id,
                 "sender": creator_id, "state_key": state_key},
                prev_event_ids=prev, depth=depth, state_ids=dict(state_map),
                callback_state_ids=callback_state,
            )  # fmt: skip
            depth += 1
            prev = [event.event_id]
            state_map[(event.type, state_key)] = event.event_id
            batch.append((event, context))

        pl_content = initial_state.pop(("m.room.power_levels", ""), None)
        if pl_content is None:
            pl_content = initial_power_levels(
                room_version, creator_id, invite_list, preset_name, preset, self.settings, pl_override
            )
        await add("m.room.power_levels", pl_content)
        if room_alias is not None and ("m.room.canonical_alias", "") not in initial_state:
            await add("m.room.canonical_alias", {"alias": room_alias.to_string()})
        if ("m.room.join_rules", "") not in initial_state:
            await add("m.room.join_rules", {"join_rule": preset["join_rules"]})
        if ("m.room.history_visibility", "") not in initial_state:
            await add("m.room.history_visibility", {"history_visibility": preset["history_visibility"]})
        if preset["guest_can_join"] and ("m.room.guest_access", "") not in initial_state:
            await add("m.room.guest_access", {"guest_access": "can_join"})
        for (event_type, state_key), content in initial_state.items():
            await add(event_type, content, state_key)
        supplied = initial_state.get(("m.room.encryption", ""))
        supplied_valid = isinstance(supplied, dict) and isinstance(supplied.get("algorithm"), str)
        if preset["encrypted"] and not supplied_valid:
            await add("m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"})
        if "name" in config:
            await add("m.room.name", {"name": config["name"]})
        if "topic" in config:
            topic = config["topic"]
            await add("m.room.topic", {"topic": topic, "m.topic": {"m.text": [{"body": topic}]}})
        last = await events.handle_new_client_event(creator, batch, ignore_shadow_ban=True)
        return int(last.internal_metadata.stream_ordering or 0), last.event_id, depth


def _check_body_shapes(config: Mapping[str, Any]) -> None:
    """400 ``M_BAD_JSON`` for fields of the wrong JSON type (Synapse fails on them with a
    500, some only after the room was stored)."""
    for key, wanted, kind in (
        ("invite", list, "array"),
        ("invite_3pid", list, "array"),
        ("initial_state", list, "array"),
        ("room_alias_name", str, "string"),
        ("creation_content", dict, "object"),
        ("power_level_content_override", dict, "object"),
    ):
        if key not in config:
            continue
        value = config[key]
        if key == "power_level_content_override" and value is None:
            continue  # Synapse ignores an empty override
        if not isinstance(value, wanted):
            raise _schema_type_error(key, value, kind)


def _validate_server_name(server_name: str) -> None:
    """Synapse's ``parse_and_validate_server_name`` (host, optional port)."""
    host, _, port = server_name.rpartition(":") if server_name.count(":") == 1 else (server_name, "", "")
    if port and not port.isdigit():
        raise ValueError("Invalid port in server name")
    if not host:
        raise ValueError("Server name is empty")
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError("Mismatched [...] in server name")
        return
    allowed = set(string.ascii_letters + string.digits + "-.")
    if not set(host) <= allowed:
        raise ValueError("Server name contains invalid characters")
