"""The second half of sending an event (Synapse's ``handle_new_client_event`` and
``_persist_and_notify_client_events``): state deduplication, the authorization rules,
the checks made just before persisting (canonical aliases, redactions, invite state),
one transaction, then ``on_new_event`` and the notifier in the background."""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from twisted.internet import defer, task

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, NotFoundError, ShadowBanError, SynapseError
from synapse_modhost.events import Event
from synapse_modhost.events._json import canonical_json
from synapse_modhost.homeserver.handlers import _event_auth as event_auth
from synapse_modhost.homeserver.handlers._event_context import EventContext, StateKey
from synapse_modhost.homeserver.handlers._event_validation import check_size_limits
from synapse_modhost.storage import PersistRow
from synapse_modhost.types import Requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer
    from synapse_modhost.homeserver.handlers.events import EventCreationHandler

__all__ = ["DEFAULT_PREJOIN_STATE", "EventPersister"]

logger = logging.getLogger(__name__)

#: the state copied into ``unsigned.invite_room_state`` / ``knock_room_state``
DEFAULT_PREJOIN_STATE: Tuple[StateKey, ...] = (
    ("m.room.create", ""),
    ("m.room.join_rules", ""),
    ("m.room.canonical_alias", ""),
    ("m.room.avatar", ""),
    ("m.room.encryption", ""),
    ("m.room.name", ""),
    ("m.room.topic", ""),
)


def strip_event(event: Event) -> Dict[str, Any]:
    """The stripped form of a state event (``type``, ``state_key``, ``content``, ``sender``)."""
    return {
        "type": event.type,
        "state_key": event.get_state_key(),
        "content": event.content.copy(),
        "sender": event.sender,
    }


class EventPersister:
    """Checks, persists and announces events built by :class:`EventCreationHandler`."""

    def __init__(self, hs: "HomeServer", creation: "EventCreationHandler") -> None:
        self.hs = hs
        self.store = hs.event_store
        self._creation = creation
        self._third_party = hs.callbacks.third_party_rules

    # ------------------------------------------------------------------ checks

    async def deduplicate_state_event(self, event: Event, context: EventContext) -> Optional[Event]:
        """The current state event this one repeats (same sender and content), if any."""
        prev_id = context.state_ids.get((event.type, event.get_state_key() or ""))
        if not prev_id:
            return None
        prev = await self.store.get_event(prev_id)
        if prev is None or prev.sender != event.sender:
            return None
        if canonical_json(prev.content.copy()) == canonical_json(event.content.copy()):
            return prev
        return None

    async def _auth_events(
        self, event: Event, context: EventContext, batch: Mapping[str, Event]
    ) -> Dict[StateKey, Event]:
        keys = event_auth.auth_types_for_event(
            event.room_version, event.type, event.sender, event.get_state_key(), event.content
        )
        wanted = {k: context.state_ids[k] for k in keys if k in context.state_ids}
        out: Dict[StateKey, Event] = {}
        missing: Dict[StateKey, str] = {}
        for key, event_id in wanted.items():
            found = batch.get(event_id) or self.store.get_cached_event(event_id)
            if found is not None:
                out[key] = found
            else:
                missing[key] = event_id
        if missing:
            loaded = await self.store.get_events(missing.values())
            out.update({k: loaded[e] for k, e in missing.items() if e in loaded})
        return out

    async def handle_new_client_event(
        self,
        requester: Requester,
        events_and_contexts: Sequence[Tuple[Event, EventContext]],
        *,
        ignore_shadow_ban: bool = False,
    ) -> Event:
        batch = {event.event_id: event for event, _ in events_and_contexts}
        rows: List[PersistRow] = []
        for event, context in events_and_contexts:
            if event.type != "m.room.member" and not ignore_shadow_ban and requester.shadow_banned:
                await task.deferLater(self.hs.reactor, random.randint(1, 10), lambda: None)
                raise ShadowBanError()
            if event.is_state():
                duplicate = await self.deduplicate_state_event(event, context)
                if duplicate is not None:
                    logger.info(
                        "Not bothering to persist state event %s duplicated by %s",
                        event.event_id,
                        duplicate.event_id,
                    )
                    return duplicate
            row = PersistRow(stream_ordering=0, event=event, pdu=context.pdu)
            check_size_limits(event, row.json())
            rows.append(row)
            auth_events = await self._auth_events(event, context, batch)
            try:
                event_auth.check_state_dependent_auth_rules(event, auth_events)
            except AuthError as e:
                logger.warning("Denying new event %r because %s", event, e)
                raise
        for row, (_, context) in zip(rows, events_and_contexts, strict=True):
            await self._pre_persist(row, context)
        persisted = await self.store.persist_events(rows, now_ms=self.hs.time_msec())
        self._announce(persisted)
        return persisted[-1]

    async def _pre_persist(self, row: PersistRow, context: EventContext) -> None:
        """The checks of ``_persist_and_notify_client_events``; completes the row."""
        event = row.event
        if event.type == "m.room.canonical_alias":
            await self._check_canonical_alias(event)
        elif event.type == "m.room.member":
            row.local_membership = self.hs.is_mine_id(event.state_key)
            membership = event.content.get("membership")
            if membership in ("invite", "knock"):
                key = "invite_room_state" if membership == "invite" else "knock_room_state"
                event.unsigned[key] = await self._stripped_state(event, context)
                row.pdu_json = None
        elif event.type == "m.room.redaction":
            row.redacts = await self._check_redaction(event, context)
        elif event.type == "m.room.create" and context.state_ids:
            raise AuthError(403, "Changing the room create event is forbidden")
        meta = row.metadata()
        txn_id, device_id = meta.get("txn_id"), meta.get("device_id")
        if txn_id is not None and device_id is not None:
            row.txn_key = (event.sender, device_id, txn_id)

    async def _stripped_state(self, event: Event, context: EventContext) -> List[Dict[str, Any]]:
        keys = list(DEFAULT_PREJOIN_STATE)
        extra = self.hs.config.get("room_prejoin_state") or {}
        if isinstance(extra, Mapping):
            if extra.get("disable_default_event_types"):
                keys = [("m.room.create", "")]
            for entry in extra.get("additional_event_types") or []:
                if isinstance(entry, str):
                    keys.extend(k for k in context.state_ids if k[0] == entry)
                elif isinstance(entry, (list, tuple)) and len(entry) == 2:
                    keys.append((str(entry[0]), str(entry[1])))
        if event.content.get("membership") == "invite":
            keys.append(("m.room.member", event.sender))
        ids = [context.state_ids[k] for k in dict.fromkeys(keys) if k in context.state_ids]
        events = await self.store.get_events(ids)
        return [strip_event(events[e]) for e in ids if e in events]

    async def _check_canonical_alias(self, event: Event) -> None:
        original_alias: Any = None
        original_alt: Any = []
        replaces = event.unsigned.get("replaces_state")
        if isinstance(replaces, str):
            original = await self.store.get_event(replaces)
            if original is not None:
                original_alias = original.content.get("alias")
                original_alt = original.content.get("alt_aliases", [])
        alias = event.content.get("alias")
        if alias and alias != original_alias:
            if not isinstance(alias, str):
                raise SynapseError(400, "The alias must be of type string.", Codes.INVALID_PARAM)
            await self._validate_alias(alias, event.room_id)
        alt_aliases = event.content.get("alt_aliases", [])
        if not isinstance(alt_aliases, list):
            raise SynapseError(400, "The alt_aliases property must be a list.", Codes.INVALID_PARAM)
        if not isinstance(original_alt, list):
            original_alt = []
        for alt in alt_aliases:
            if alt in original_alt:
                continue
            if not isinstance(alt, str):
                raise SynapseError(400, "Each alt_alias must be of type string.", Codes.INVALID_PARAM)
            await self._validate_alias(alt, event.room_id)

    async def _validate_alias(self, alias: str, room_id: str) -> None:
        from synapse_modhost.types import RoomAlias

        try:
            mapping = await self.hs.directory.get_association(RoomAlias.from_string(alias))
        except SynapseError as e:
            if e.errcode == Codes.NOT_FOUND:
                raise SynapseError(
                    400, "Room alias %s does not point to the room" % (alias,), Codes.BAD_ALIAS
                ) from None
            raise
        if mapping["room_id"] != room_id:
            raise SynapseError(
                400, "Room alias %s does not point to the room" % (alias,), Codes.BAD_ALIAS
            )

    async def _check_redaction(self, event: Event, context: EventContext) -> Optional[str]:
        """The event the redaction applies to (``None`` if it is unknown), or an error."""
        redacts = event.redacts
        if not isinstance(redacts, str):
            return None
        original = await self.store.get_event(redacts, redact=False)
        if original is not None:
            if original.type == "m.room.create":
                raise AuthError(403, "Redacting create events is not permitted")
            if original.room_id != event.room_id:
                raise SynapseError(400, "Cannot redact event from a different room")
            if original.type == "m.room.server_acl":
                raise AuthError(403, "Redacting server ACL events is not permitted")
        auth_events = await self._auth_events(event, context, {})
        if event_auth.check_redaction(event, auth_events):
            if original is None:
                raise NotFoundError("Could not find event %s" % (redacts,))
            if event.sender != original.sender:
                raise AuthError(403, "You don't have permission to redact events")
        return redacts if original is not None else None

    # ------------------------------------------------------------------ after the commit

    def _announce(self, persisted: List[Event]) -> None:
        """``on_new_event`` for each event, in order, then the notifier (Synapse's
        ``notify_new_room_events``), in the background."""
        events = list(dict.fromkeys(persisted))
        if not self._third_party.has("on_new_event"):
            self._notify(events)
            return
        d = defer.ensureDeferred(self._run_on_new_event(events))
        d.addErrback(lambda f: logger.error("on_new_event failed: %s", f.getTraceback()))

    async def _run_on_new_event(self, events: List[Event]) -> None:
        for event in events:
            room_id = event.room_id

            async def state(room_id: str = room_id) -> Dict[StateKey, Event]:
                return await self.store.get_current_state(room_id)

            stored = await self.store.get_event(event.event_id)
            await self._third_party.on_new_event(stored or event, state)
        self._notify(events)

    def _notify(self, events: List[Event]) -> None:
        try:
            on_new_room_event = self.hs.notifier.on_new_room_event
        except (ImportError, AttributeError):
            logger.debug("no notifier to tell about new events")
            return
        for event in events:
            on_new_room_event(event, int(event.internal_metadata.stream_ordering or 0))
