"""``EventCreationHandler``: building, checking and persisting local events, in Synapse
1.163's order (``handlers/message.py``; TRIGGERS.md §2).

For one event: room version → shape checks (400s) → prev events (the room's forward
extremities), depth, auth events from the state before the event → signed, hashed PDU →
``check_event_allowed(event, state before)`` (a denial is 403 ``M_FORBIDDEN``; a
replacement rebuilds the event, CALLBACKS.md §2) → validation → for client-sent
non-member events ``check_event_for_spam`` → state deduplication → authorization rules →
one transaction → the notifier → ``on_new_event(event, current state)`` in the
background.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from twisted.internet import task

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, ShadowBanError, SynapseError
from synapse_modhost.events import Event, RoomVersion
from synapse_modhost.events._room_versions import KNOWN_ROOM_VERSIONS
from synapse_modhost.homeserver.handlers import _event_auth as event_auth
from synapse_modhost.homeserver.handlers._builder import EventSigner, build_event
from synapse_modhost.homeserver.handlers._event_context import EventContext, StateKey
from synapse_modhost.homeserver.handlers._event_persistence import EventPersister
from synapse_modhost.homeserver.handlers._event_validation import validate_builder, validate_new
from synapse_modhost.types import NOT_SPAM, Requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["EventContext", "EventCreationHandler"]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]


class EventCreationHandler:
    """Creates and sends local events (``hs.events``)."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.event_store
        self.server_name = hs.server_name
        self.signer = EventSigner(hs.server_name, hs.config.get("signing_key_path"))
        self._third_party = hs.callbacks.third_party_rules
        self._spam = hs.callbacks.spam_checker
        self.persister = EventPersister(hs, self)

    # ------------------------------------------------------------------ helpers

    async def _sleep_for_shadow_ban(self) -> None:
        await task.deferLater(self.hs.reactor, random.randint(1, 10), lambda: None)

    async def _is_suspended(self, user_id: str) -> bool:
        user = await self.hs.user_store.get_user(user_id)
        return bool(user is not None and user.suspended)

    async def state_events(self, state_ids: Mapping[StateKey, str]) -> Dict[StateKey, Event]:
        return await self.store.state_events_from_ids(dict(state_ids))

    # ------------------------------------------------------------------ transactions

    async def get_event_from_transaction(
        self, requester: Requester, txn_id: str, room_id: str
    ) -> Optional[Event]:
        """The event this device already sent with ``txn_id`` in the room (spec: per
        device), or ``None``."""
        if not requester.device_id:
            return None
        event_id = await self.store.get_event_id_for_txn(
            room_id, requester.user_id, requester.device_id, txn_id
        )
        return await self.store.get_event(event_id) if event_id else None

    # ------------------------------------------------------------------ creation

    async def create_event(
        self,
        requester: Requester,
        event_dict: JsonDict,
        *,
        txn_id: Optional[str] = None,
        prev_event_ids: Optional[List[str]] = None,
        depth: Optional[int] = None,
        state_ids: Optional[Dict[StateKey, str]] = None,
        callback_state_ids: Optional[Dict[StateKey, str]] = None,
        suspended: Optional[bool] = None,
    ) -> Tuple[Event, EventContext]:
        """Build an event and run ``check_event_allowed`` on it (not persisted).

        ``prev_event_ids``/``depth``/``state_ids`` (the state before the event) default
        to the room's current ones; ``callback_state_ids`` is the state module callbacks
        see, when it differs (the batched initial events of ``createRoom``).
        ``suspended`` is the sender's suspension when the caller knows it (else read).
        """
        if requester.authenticated_entity != self.server_name:
            if suspended is None:
                suspended = await self._is_suspended(requester.user_id)
            if suspended:
                await self._check_suspended(requester, event_dict)
        is_create = event_dict.get("type") == "m.room.create" and event_dict.get("state_key") == ""
        room_version = await self._room_version_for(event_dict, is_create)
        validate_builder(room_version, event_dict)
        metadata: JsonDict = {}
        if requester.device_id is not None:
            metadata["device_id"] = requester.device_id
        elif txn_id is not None and requester.access_token_id is not None:
            metadata["token_id"] = requester.access_token_id
        if txn_id is not None:
            metadata["txn_id"] = txn_id
        event, context = await self._build(
            room_version, event_dict, metadata, is_create, prev_event_ids, depth, state_ids
        )
        if callback_state_ids is not None:
            context.callback_state_ids = callback_state_ids
        event, context = await self._third_party_rules(event, context, metadata)
        validate_new(event)
        if event.type == "m.call.invite":
            join_rules = await self.store.get_current_state_event(event.room_id, "m.room.join_rules")
            if join_rules is not None and join_rules.content.get("join_rule") == "public":
                raise SynapseError(403, "Call invites are not allowed in public rooms.", Codes.FORBIDDEN)
        return event, context

    async def _check_suspended(self, requester: Requester, event_dict: Mapping[str, Any]) -> None:
        """The errors a suspended user gets (only redactions of their own events and
        leaves are allowed)."""
        event_type = event_dict.get("type")
        if event_type == "m.room.redaction":
            redacts = (event_dict.get("content") or {}).get("redacts") or event_dict.get("redacts")
            target = await self.store.get_event(redacts) if isinstance(redacts, str) else None
            if target is not None and target.sender != requester.user_id:
                raise SynapseError(
                    403,
                    "You can only redact your own events while account is suspended.",
                    Codes.USER_ACCOUNT_SUSPENDED,
                )
        elif event_type == "m.room.member":
            if (event_dict.get("content") or {}).get("membership") != "leave":
                raise SynapseError(
                    403,
                    "Changing membership while account is suspended is not allowed.",
                    Codes.USER_ACCOUNT_SUSPENDED,
                )
        else:
            raise SynapseError(
                403,
                "Sending messages while account is suspended is not allowed.",
                Codes.USER_ACCOUNT_SUSPENDED,
            )

    async def _room_version_for(self, event_dict: Mapping[str, Any], is_create: bool) -> RoomVersion:
        if is_create:
            version_id = (event_dict.get("content") or {}).get("room_version")
            room_version = KNOWN_ROOM_VERSIONS.get(version_id) if isinstance(version_id, str) else None
            if room_version is None:
                raise SynapseError(
                    400,
                    "Your homeserver does not support this room version",
                    Codes.UNSUPPORTED_ROOM_VERSION,
                )
            return room_version
        room_id = event_dict.get("room_id")
        found = await self.store.get_room_version(room_id) if isinstance(room_id, str) else None
        if found is None:
            raise AuthError(403, "Unknown room")
        return found

    async def _build(
        self,
        room_version: RoomVersion,
        event_dict: JsonDict,
        metadata: JsonDict,
        is_create: bool,
        prev_event_ids: Optional[List[str]],
        depth: Optional[int],
        state_ids: Optional[Dict[StateKey, str]],
    ) -> Tuple[Event, EventContext]:
        room = None
        if not (room_version.msc4291_room_ids_as_hashes and is_create):
            room = await self.store.get_room_cache(event_dict["room_id"])
        elif event_dict.get("room_id") is not None:
            raise SynapseError(400, "Cannot resend m.room.create event", Codes.INVALID_PARAM)
        if prev_event_ids is None:
            extremities = list(room.extremities) if room is not None else []
            extremities.sort(key=lambda x: x[1])
            extremities = extremities[-10:]
            prev_event_ids = [e for e, _ in extremities]
            if depth is None:
                depth = max((d for _, d in extremities), default=0) + 1
        if is_create and prev_event_ids:
            raise SynapseError(400, "Cannot resend m.room.create event", Codes.INVALID_PARAM)
        if depth is None:
            depth = await self._depth_after(prev_event_ids)
        if state_ids is None:
            state_ids = room.state_ids if room is not None else {}
        content = event_dict.get("content") or {}
        auth_ids = event_auth.compute_auth_event_ids(
            room_version,
            event_dict["type"],
            event_dict["sender"],
            event_dict.get("state_key"),
            content,
            state_ids,
        )
        event, pdu = build_event(
            room_version,
            event_dict,
            prev_event_ids=prev_event_ids,
            auth_event_ids=auth_ids,
            depth=min(depth, 2**63 - 1),
            now_ms=self.hs.time_msec(),
            signer=self.signer,
            internal_metadata=metadata,
        )
        context = EventContext(state_ids=state_ids, pdu=pdu)
        self._set_replaces_state(event, context)
        return event, context

    async def _depth_after(self, prev_event_ids: Sequence[str]) -> int:
        if not prev_event_ids:
            return 1
        events = await self.store.get_events(prev_event_ids)
        return max((e.depth for e in events.values()), default=0) + 1

    @staticmethod
    def _set_replaces_state(event: Event, context: EventContext) -> None:
        state_key = event.get_state_key()
        if state_key is None:
            return
        replaces = context.state_ids.get((event.type, state_key))
        if replaces and replaces != event.event_id:
            event.unsigned["replaces_state"] = replaces

    async def _third_party_rules(
        self, event: Event, context: EventContext, metadata: JsonDict
    ) -> Tuple[Event, EventContext]:
        async def state() -> Dict[StateKey, Event]:
            return await self.state_events(context.callback_state_ids or context.state_ids)

        allowed, replacement = await self._third_party.check_event_allowed(event, state)
        if not allowed:
            logger.info("Event %s forbidden by third-party rules", event)
            raise SynapseError(403, "This event is not allowed in this context", Codes.FORBIDDEN)
        if replacement is not None:
            return await self._rebuild_after_third_party_rules(replacement, event, metadata)
        return event, context

    async def _rebuild_after_third_party_rules(
        self, replacement: JsonDict, original: Event, metadata: JsonDict
    ) -> Tuple[Event, EventContext]:
        """Synapse's ``_rebuild_event_after_third_party_rules``: a complete event dict
        (a missing ``type``/``sender`` is a ``KeyError``: 500), same room, type and state
        key, a local sender; rebuilt on the room's current extremities."""
        proto: JsonDict = {
            "type": replacement["type"],
            "sender": replacement["sender"],
            "state_key": replacement.get("state_key"),
            "room_id": replacement.get("room_id"),
            "content": replacement.get("content", {}),
            "unsigned": replacement.get("unsigned", {}),
            "redacts": replacement.get("redacts"),
            "origin_server_ts": replacement.get("origin_server_ts"),
        }
        try:
            validate_builder(original.room_version, proto)
        except SynapseError as e:
            raise SynapseError(
                500, "Third party rules module created an invalid event: " + e.msg, e.errcode
            ) from e
        for key in ("room_id", "type", "state_key"):
            if proto[key] != original.get(key):
                raise Exception(
                    "Third party rules module created an invalid event: cannot change field " + key
                )
        if not self.hs.is_mine_id(proto["sender"]):
            raise Exception(
                "Third party rules module created an invalid event: invalid sender " + proto["sender"]
            )
        if "state_key" not in replacement:
            proto.pop("state_key")
        is_create = original.type == "m.room.create" and original.get_state_key() == ""
        prev_event_ids: Optional[List[str]] = None
        state_ids: Optional[Dict[StateKey, str]] = None
        if is_create and original.room_version.msc4291_room_ids_as_hashes:
            proto.pop("room_id", None)
            prev_event_ids, state_ids = [], {}
        return await self._build(
            original.room_version,
            proto,
            dict(original.internal_metadata.get_dict()),
            is_create,
            prev_event_ids,
            None if prev_event_ids is None else 1,
            state_ids,
        )

    # ------------------------------------------------------------------ sending

    async def create_and_send_nonmember_event(
        self,
        requester: Requester,
        event_dict: JsonDict,
        *,
        txn_id: Optional[str] = None,
        ratelimit: bool = True,
        ignore_shadow_ban: bool = False,
        prev_event_ids: Optional[List[str]] = None,
        depth: Optional[int] = None,
        suspended: Optional[bool] = None,
    ) -> Event:
        """Create, spam-check and send a non-membership event; returns the persisted event
        (the earlier one when the transaction ID or an identical state event dedupes)."""
        if event_dict["type"] == "m.room.member":
            raise SynapseError(500, "Tried to send member event through non-member codepath")
        if not ignore_shadow_ban and requester.shadow_banned:
            await self._sleep_for_shadow_ban()
            raise ShadowBanError()
        room_id = event_dict["room_id"]
        if txn_id:
            existing = await self.get_event_from_transaction(requester, txn_id, room_id)
            if existing is not None:
                return existing
        if not prev_event_ids:
            user_id = requester.user_id
            membership, _ = await self._current_membership(user_id, room_id)
            if membership != "join":
                raise AuthError(403, "User %s not in room %s" % (user_id, room_id))
        event, context = await self.create_event(
            requester,
            event_dict,
            txn_id=txn_id,
            prev_event_ids=prev_event_ids,
            depth=depth,
            suspended=suspended,
        )
        spam = await self._spam.check_event_for_spam(event)
        if spam != NOT_SPAM:
            raise self._spam.denial_error("check_event_for_spam", spam)
        return await self.handle_new_client_event(
            requester, [(event, context)], ignore_shadow_ban=ignore_shadow_ban
        )

    async def _current_membership(self, user_id: str, room_id: str) -> Tuple[Optional[str], Optional[str]]:
        """A local user's current membership, from the room's cached state."""
        room = await self.store.get_room_cache(room_id)
        if room is None:
            return None, None
        event_id = room.state_ids.get(("m.room.member", user_id))
        if event_id is None:
            return None, None
        event = await self.store.get_event(event_id)
        if event is None:
            return None, None
        return event.content.get("membership"), event_id

    async def handle_new_client_event(
        self,
        requester: Requester,
        events_and_contexts: Sequence[Tuple[Event, EventContext]],
        *,
        ignore_shadow_ban: bool = False,
    ) -> Event:
        """Deduplicate, authorise and persist; returns the last persisted event (or the
        existing event an identical state event deduplicated to)."""
        return await self.persister.handle_new_client_event(
            requester, events_and_contexts, ignore_shadow_ban=ignore_shadow_ban
        )

