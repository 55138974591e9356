"""``DirectoryHandler``: room aliases, the published room list and ``/publicRooms``, with
Synapse 1.163's checks and texts (``handlers/directory.py``, ``handlers/room_list.py``;
TRIGGERS.md §4).

- Creating an alias: length → membership (``require_membership_for_aliases``, not for
  admins) → ``user_may_create_room_alias`` (every non-appservice user, admins included)
  → ``alias_creation_rules`` → stored (409 when taken).
- Publishing: ``user_may_publish_room`` (for "public" and "private") → guests →
  ``enable_room_list_search`` → the room exists → the requester may send
  ``m.room.canonical_alias`` → for "public": ``room_list_publication_rules`` (none
  configured: denied, Synapse's default) → ``check_visibility_can_be_modified``.

Pagination tokens of ``/publicRooms`` are the stand-in's own (opaque offsets).
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, NotFoundError, ShadowBanError, SynapseError
from synapse_modhost.homeserver.handlers import _event_auth as event_auth
from synapse_modhost.homeserver.handlers._room_config import RoomSettings
from synapse_modhost.homeserver.handlers.state import get_state_handler
from synapse_modhost.storage import PublicRoomRecord, RoomAliasExistsError
from synapse_modhost.types import NOT_SPAM, Requester, RoomAlias

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["MAX_PUBLIC_ROOMS_IN_RESPONSE", "DirectoryHandler"]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]
MAX_ALIAS_LENGTH = 255
MAX_PUBLIC_ROOMS_IN_RESPONSE = 100
_LISTED_JOIN_RULES = ("public", "knock", "knock_restricted")


class DirectoryHandler:
    """Aliases and the room directory (``hs.directory``)."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.event_store
        self.rooms = hs.event_store.rooms
        self.settings = RoomSettings.from_config(hs.config)
        self._spam = hs.callbacks.spam_checker
        self._third_party = hs.callbacks.third_party_rules

    # ------------------------------------------------------------------ aliases

    async def create_association(
        self,
        requester: Requester,
        room_alias: RoomAlias,
        room_id: str,
        servers: Optional[Sequence[str]] = None,
        check_membership: bool = True,
    ) -> None:
        """Point ``room_alias`` at ``room_id`` (``PUT /directory/room/{alias}``)."""
        user_id = requester.user_id
        alias_str = room_alias.to_string()
        if len(alias_str) > MAX_ALIAS_LENGTH:
            raise SynapseError(
                400,
                "Can't create aliases longer than %s characters" % MAX_ALIAS_LENGTH,
                Codes.INVALID_PARAM,
            )
        if requester.app_service_id is None:
            is_admin = await self.hs.auth.is_server_admin(requester)
            if self.settings.require_membership_for_aliases and check_membership and not is_admin:
                if room_id not in await self.store.get_rooms_for_user(user_id):
                    raise AuthError(403, "You must be in the room to create an alias for it")
            spam = await self._spam.user_may_create_room_alias(user_id, room_alias)
            if spam != NOT_SPAM:
                raise self._spam.denial_error("user_may_create_room_alias", spam)
            if not self.settings.is_alias_creation_allowed(user_id, room_id, alias_str):
                raise SynapseError(403, "Not allowed to create alias")
        if any(ch.isspace() for ch in room_alias.localpart):
            raise SynapseError(400, "Invalid characters in room alias")
        if ":" in room_alias.localpart:
            raise SynapseError(400, "Invalid character in room alias localpart: ':'.")
        if not self.hs.is_mine_id(alias_str):
            raise SynapseError(400, "Room alias must be local")
        if not servers:
            servers = [self.hs.server_name]
        try:
            await self.rooms.create_alias(alias_str, room_id, list(servers), user_id)
        except RoomAliasExistsError:
            raise SynapseError(409, "Room alias %s already exists" % (alias_str,)) from None

    async def get_association(self, room_alias: RoomAlias) -> JsonDict:
        """``{"room_id", "servers"}``; 404 ``M_NOT_FOUND`` "Room alias … not found"."""
        mapping = None
        if self.hs.is_mine_id(room_alias.to_string()):
            mapping = await self.rooms.get_alias(room_alias.to_string())
        if mapping is None:
            raise SynapseError(
                404, "Room alias %s not found" % (room_alias.to_string(),), Codes.NOT_FOUND
            )
        servers = set(mapping.servers)
        if await self._host_in_room(mapping.room_id):
            servers.add(self.hs.server_name)
        ordered = sorted(servers)
        if self.hs.server_name in servers:
            ordered = [self.hs.server_name] + [s for s in ordered if s != self.hs.server_name]
        return {"room_id": mapping.room_id, "servers": ordered}

    async def _host_in_room(self, room_id: str) -> bool:
        state = await self.store.get_current_state_ids(room_id)
        return any(k[0] == "m.room.member" for k in state)

    async def delete_association(self, requester: Requester, room_alias: RoomAlias) -> str:
        """``DELETE /directory/room/{alias}``: by its creator, an admin or someone who may
        send ``m.room.canonical_alias``; updates the canonical alias event."""
        alias_str = room_alias.to_string()
        mapping = await self.rooms.get_alias(alias_str)
        if mapping is None:
            raise NotFoundError("Unknown room alias")
        if mapping.creator != requester.user_id:
            if not await self.check_can_change_room_list(mapping.room_id, requester):
                raise AuthError(403, "You don't have permission to delete the alias.")
        if not self.hs.is_mine_id(alias_str):
            raise SynapseError(400, "Room alias must be local")
        room_id = await self.rooms.delete_alias(alias_str)
        if room_id is None:
            raise NotFoundError("Unknown room alias")
        try:
            await self._update_canonical_alias(requester, room_id, alias_str)
        except ShadowBanError as e:
            logger.info("Failed to update alias events due to shadow-ban: %s", e)
        except AuthError as e:
            logger.info("Failed to update alias events: %s", e)
        return room_id

    async def _update_canonical_alias(self, requester: Requester, room_id: str, alias: str) -> None:
        event = await self.store.get_current_state_event(room_id, "m.room.canonical_alias")
        if event is None:
            return
        content = event.content.copy()
        send_update = False
        if content.get("alias", "") == alias:
            send_update = True
            content.pop("alias", "")
        alt_aliases = content.get("alt_aliases")
        if isinstance(alt_aliases, list) and alias in alt_aliases:
            send_update = True
            remaining = [a for a in alt_aliases if a != alias]
            if remaining:
                content["alt_aliases"] = remaining
            else:
                del content["alt_aliases"]
        if send_update:
            await self.hs.events.create_and_send_nonmember_event(
                requester,
                {"type": "m.room.canonical_alias", "state_key": "", "room_id": room_id,
                 "sender": requester.user_id, "content": content},
                ratelimit=False,
            )  # fmt: skip

    async def get_aliases_for_room(self, requester: Requester, room_id: str) -> List[str]:
        if not await self.hs.auth.is_server_admin(requester):
            await get_state_handler(self.hs).check_user_in_room_or_world_readable(room_id, requester)
        return await self.rooms.get_aliases_for_room(room_id)

    # ------------------------------------------------------------------ the room list

    async def check_can_change_room_list(self, room_id: str, requester: Requester) -> bool:
        """Admins, and members who may send ``m.room.canonical_alias``."""
        if await self.hs.auth.is_server_admin(requester):
            return True
        await get_state_handler(self.hs).check_user_in_room(room_id, requester)
        state = await self.store.get_current_state(room_id)
        auth = {k: v for k, v in state.items() if k in (("m.room.power_levels", ""), ("m.room.create", ""))}
        send_level = event_auth.get_send_level("m.room.canonical_alias", "", auth.get(("m.room.power_levels", "")))
        return event_auth.get_user_power_level(requester.user_id, auth) >= send_level

    async def edit_published_room_list(self, requester: Requester, room_id: str, visibility: str) -> None:
        """``PUT /directory/list/room/{roomId}``."""
        user_id = requester.user_id
        spam = await self._spam.user_may_publish_room(user_id, room_id)
        if spam != NOT_SPAM:
            raise self._spam.denial_error("user_may_publish_room", spam)
        if requester.is_guest:
            raise AuthError(403, "Guests cannot edit the published room list")
        if visibility == "public" and not self.settings.enable_room_list_search:
            raise AuthError(403, "This user is not permitted to publish rooms to the room list")
        if await self.rooms.get_room(room_id) is None:
            raise SynapseError(400, "Unknown room")
        if not await self.check_can_change_room_list(room_id, requester):
            raise AuthError(
                403,
                "This server requires you to be a moderator in the room to edit its room list entry",
            )
        making_public = visibility == "public"
        if making_public:
            aliases = list(await self.rooms.get_aliases_for_room(room_id))
            canonical = await self.store.get_current_state_event(room_id, "m.room.canonical_alias")
            alias = canonical.content.get("alias") if canonical is not None else None
            if isinstance(alias, str):
                aliases.append(alias)
            if not self.settings.is_publishing_room_allowed(user_id, room_id, aliases):
                raise SynapseError(403, "Not allowed to publish room")
            state = await self.store.get_current_state(room_id)
            if not await self._third_party.check_visibility_can_be_modified(room_id, state, visibility):
                raise SynapseError(403, "Not allowed to publish room")
        await self.rooms.set_room_is_public(room_id, making_public)

    async def get_visibility(self, room_id: str) -> str:
        room = await self.rooms.get_room(room_id)
        if room is None:
            raise NotFoundError("Unknown room")
        return "public" if room.is_public else "private"

    async def public_room_record(self, room_id: str) -> Optional[PublicRoomRecord]:
        """What the directory shows of a room, from its current state."""
        state = await self.store.get_current_state(room_id)
        if not state:
            return None

        def value(event_type: str, key: str) -> Optional[Any]:
            event = state.get((event_type, ""))
            found = event.content.get(key) if event is not None else None
            return found if isinstance(found, str) else None

        joined = sum(
            1 for (t, _), e in state.items() if t == "m.room.member" and e.content.get("membership") == "join"
        )
        create = state.get(("m.room.create", ""))
        room_type = create.content.get("type") if create is not None else None
        return PublicRoomRecord(
            room_id=room_id,
            joined_members=joined,
            name=value("m.room.name", "name"),
            topic=value("m.room.topic", "topic"),
            canonical_alias=value("m.room.canonical_alias", "alias"),
            avatar=value("m.room.avatar", "url"),
            history_visibility=value("m.room.history_visibility", "history_visibility"),
            guest_access=value("m.room.guest_access", "guest_access"),
            join_rules=value("m.room.join_rules", "join_rule"),
            room_type=room_type if isinstance(room_type, str) else None,
        )

    async def get_local_public_room_list(
        self,
        limit: Optional[int] = None,
        since_token: Optional[str] = None,
        search_filter: Optional[Mapping[str, Any]] = None,
    ) -> JsonDict:
        """``/publicRooms``: most joined members first, then room ID descending."""
        if not self.settings.enable_room_list_search:
            return {"chunk": [], "total_room_count_estimate": 0}
        capped = MAX_PUBLIC_ROOMS_IN_RESPONSE if limit is None or limit > MAX_PUBLIC_ROOMS_IN_RESPONSE else limit
        records = []
        for room_id in await self.rooms.get_public_room_ids():
            record = await self.public_room_record(room_id)
            if record is not None and _listed(record) and _matches(record, search_filter):
                records.append(record)
        records.sort(key=lambda r: (r.joined_members, r.room_id), reverse=True)
        start = _decode_token(since_token)
        page = records[start : start + capped]
        response: JsonDict = {"chunk": [r.entry() for r in page]}
        if start + capped < len(records):
            response["next_batch"] = _encode_token(start + capped)
        if start > 0:
            response["prev_batch"] = _encode_token(max(0, start - capped))
        response["total_room_count_estimate"] = len(records)
        return response


def _listed(record: PublicRoomRecord) -> bool:
    return record.join_rules in _LISTED_JOIN_RULES or record.history_visibility == "world_readable"


def _matches(record: PublicRoomRecord, search_filter: Optional[Mapping[str, Any]]) -> bool:
    if not search_filter:
        return True
    term = search_filter.get("generic_search_term")
    if isinstance(term, str) and term:
        needle = term.lower()
        fields = (record.name, record.topic, record.canonical_alias)
        if not any(f is not None and needle in f.lower() for f in fields):
            return False
    room_types = search_filter.get("room_types")
    if isinstance(room_types, list) and room_types:
        if record.room_type not in room_types:
            return False
    return True


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(b"o%d" % offset).decode("ascii").rstrip("=")


def _decode_token(token: Optional[str]) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if raw.startswith(b"o"):
            return max(0, int(raw[1:]))
    except (ValueError, TypeError):
        pass
    raise ValueError("Invalid since token %r" % (token,))
