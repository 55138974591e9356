"""Third-party rules callbacks (``register_third_party_rules_callbacks``, Synapse 1.39+).

Combination and failure rules are Synapse 1.163's (CALLBACKS.md §2);
:meth:`ThirdPartyRulesCallbacks.denial_error` gives the exact client errors of the denials.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Mapping, Tuple, Union

from twisted.internet.defer import CancelledError

from synapse_modhost._codes import Codes
from synapse_modhost.callbacks._dispatch import delay_cancellation
from synapse_modhost.callbacks._registry import CallbackCategory
from synapse_modhost.errors import ModuleFailedException, SynapseError

if TYPE_CHECKING:
    from synapse_modhost.types import ProfileInfo, Requester

__all__ = ["StateEvents", "StateSource", "ThirdPartyRulesCallbacks"]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]
#: ``{(event type, state key): event}``
StateEvents = Mapping[Tuple[str, str], Any]
#: The state itself, or a zero-argument function returning an awaitable of it; a function
#: is only called when a callback is registered (Synapse loads the state only then).
StateSource = Union[StateEvents, Callable[[], Awaitable[StateEvents]]]


async def _resolve(state: StateSource) -> StateEvents:
    if callable(state):
        return await state()
    return state


class ThirdPartyRulesCallbacks(CallbackCategory):
    """``third_party_rules`` callbacks, run in registration order.

    * ``check_event_allowed`` (``delay_cancellation``): none registered → ``(True, None)``
      without loading state; each result is unpacked as ``res, replacement``; ``res is
      False`` → stop, ``(False, None)``; a dict replacement → stop, ``(True, replacement)``;
      else next. ``SynapseError``/``CancelledError`` propagate; any other exception,
      including a result that does not unpack into two values, → ``ModuleFailedException``
      ("Failed to run `check_event_allowed` module API callback"), chained from the cause.
    * ``on_create_room`` (plain await): all run with the live request dict; a
      ``SynapseError`` propagates; any other ``Exception`` (``CancelledError`` included) →
      ``SynapseError(403, "Room creation forbidden with these parameters")`` (``M_UNKNOWN``).
      A ``False`` result does not deny.
    * ``check_threepid_can_be_invited``, ``check_visibility_can_be_modified``
      (``delay_cancellation``): none registered → ``True`` without loading state; only a
      literal ``False`` denies (stop); exceptions logged with a warning and treated as
      allow; ``CancelledError`` propagates.
    * ``check_can_shutdown_room``, ``check_can_deactivate_user`` (``delay_cancellation``):
      only ``False`` denies; exceptions logged (``logger.exception``), treated as allow;
      ``CancelledError`` propagates.
    * Notifications (plain await, all run): ``on_new_event`` (nothing loaded when none are
      registered), ``on_profile_update``, ``on_user_deactivation_status_changed``,
      ``on_threepid_bind``, ``on_add_user_third_party_identifier``,
      ``on_remove_user_third_party_identifier``: any ``Exception`` is logged with
      ``logger.exception`` and swallowed.
    """

    category = "third_party_rules"

    def register_callbacks(
        self,
        module: str,
        *,
        check_event_allowed: Any | None = None,
        on_create_room: Any | None = None,
        check_threepid_can_be_invited: Any | None = None,
        check_visibility_can_be_modified: Any | None = None,
        on_new_event: Any | None = None,
        check_can_shutdown_room: Any | None = None,
        check_can_deactivate_user: Any | None = None,
        on_profile_update: Any | None = None,
        on_user_deactivation_status_changed: Any | None = None,
        on_threepid_bind: Any | None = None,
        on_add_user_third_party_identifier: Any | None = None,
        on_remove_user_third_party_identifier: Any | None = None,
    ) -> None:
        """Append each given callback; ``None`` is ignored; no de-duplication."""
        self._add(module, "check_event_allowed", check_event_allowed)
        self._add(module, "on_create_room", on_create_room)
        self._add(module, "check_threepid_can_be_invited", check_threepid_can_be_invited)
        self._add(module, "check_visibility_can_be_modified", check_visibility_can_be_modified)
        self._add(module, "on_new_event", on_new_event)
        self._add(module, "check_can_shutdown_room", check_can_shutdown_room)
        self._add(module, "check_can_deactivate_user", check_can_deactivate_user)
        self._add(module, "on_profile_update", on_profile_update)
        self._add(
            module, "on_user_deactivation_status_changed", on_user_deactivation_status_changed
        )
        self._add(module, "on_threepid_bind", on_threepid_bind)
        self._add(module, "on_add_user_third_party_identifier", on_add_user_third_party_identifier)
        self._add(
            module, "on_remove_user_third_party_identifier", on_remove_user_third_party_identifier
        )

    # ------------------------------------------------------------------ decisions

    async def check_event_allowed(
        self, event: Any, state_events: StateSource
    ) -> Tuple[bool, JsonDict | None]:
        """``(allowed, replacement event dict or None)``; ``state_events`` is the state
        before the event. See the class docstring for the failure policy."""
        cbs = self.callbacks("check_event_allowed")
        if not cbs:
            return True, None
        state = await _resolve(state_events)
        for cb in cbs:
            try:
                res, replacement = await delay_cancellation(self._dispatcher.call(cb, event, state))
            except CancelledError:
                raise
            except SynapseError:
                raise
            except Exception as e:
                raise ModuleFailedException(
                    "Failed to run `check_event_allowed` module API callback"
                ) from e
            if res is False:
                return False, None
            if isinstance(replacement, dict):
                return True, replacement
        return True, None

    async def on_create_room(
        self, requester: Requester, request_content: JsonDict, is_requester_admin: bool
    ) -> None:
        """Run every callback with the live ``/createRoom`` body; see the class docstring."""
        for cb in self.callbacks("on_create_room"):
            try:
                await self._dispatcher.call(cb, requester, request_content, is_requester_admin)
            except SynapseError:
                raise
            except Exception as e:
                raise SynapseError(403, "Room creation forbidden with these parameters") from e

    async def _check_bool(self, name: str, args: Tuple[Any, ...], *, warn: bool) -> bool:
        for cb in self.callbacks(name):
            try:
                res = await delay_cancellation(self._dispatcher.call(cb, *args))
                if res is False:
                    return False
            except CancelledError:
                raise
            except Exception as e:
                if warn:
                    logger.warning("Failed to run module API callback %s: %s", cb.func, e)
                else:
                    logger.exception("Failed to run module API callback %s: %s", cb.func, e)
        return True

    async def check_threepid_can_be_invited(
        self, medium: str, address: str, state_events: StateSource
    ) -> bool:
        """``False`` if a callback returns ``False``; exceptions warned, allow."""
        if not self.has("check_threepid_can_be_invited"):
            return True
        state = await _resolve(state_events)
        return await self._check_bool(
            "check_threepid_can_be_invited", (medium, address, state), warn=True
        )

    async def check_visibility_can_be_modified(
        self, room_id: str, state_events: StateSource, new_visibility: str
    ) -> bool:
        """``False`` if a callback returns ``False``; exceptions warned, allow."""
        if not self.has("check_visibility_can_be_modified"):
            return True
        state = await _resolve(state_events)
        return await self._check_bool(
            "check_visibility_can_be_modified", (room_id, state, new_visibility), warn=True
        )

    async def check_can_shutdown_room(self, user_id: str | None, room_id: str) -> bool:
        """``False`` if a callback returns ``False``; exceptions logged, allow."""
        return await self._check_bool("check_can_shutdown_room", (user_id, room_id), warn=False)

    async def check_can_deactivate_user(self, user_id: str, by_admin: bool) -> bool:
        """``False`` if a callback returns ``False``; exceptions logged, allow."""
        return await self._check_bool("check_can_deactivate_user", (user_id, by_admin), warn=False)

    # ------------------------------------------------------------------ notifications

    async def _notify(self, name: str, *args: Any) -> None:
        for cb in self.callbacks(name):
            try:
                await self._dispatcher.call(cb, *args)
            except Exception as e:
                logger.exception("Failed to run module API callback %s: %s", cb.func, e)

    async def on_new_event(self, event: Any, state_events: StateSource) -> None:
        """All run with the room's current state; exceptions logged and swallowed."""
        if not self.has("on_new_event"):
            return
        state = await _resolve(state_events)
        await self._notify("on_new_event", event, state)

    async def on_profile_update(
        self, user_id: str, new_profile: ProfileInfo, by_admin: bool, deactivation: bool
    ) -> None:
        """All run; exceptions logged and swallowed."""
        await self._notify("on_profile_update", user_id, new_profile, by_admin, deactivation)

    async def on_user_deactivation_status_changed(
        self, user_id: str, deactivated: bool, by_admin: bool
    ) -> None:
        """All run; exceptions logged and swallowed."""
        await self._notify("on_user_deactivation_status_changed", user_id, deactivated, by_admin)

    async def on_threepid_bind(self, user_id: str, medium: str, address: str) -> None:
        """All run (deprecated callback); exceptions logged and swallowed."""
        await self._notify("on_threepid_bind", user_id, medium, address)

    async def on_add_user_third_party_identifier(
        self, user_id: str, medium: str, address: str
    ) -> None:
        """All run; exceptions logged and swallowed."""
        await self._notify("on_add_user_third_party_identifier", user_id, medium, address)

    async def on_remove_user_third_party_identifier(
        self, user_id: str, medium: str, address: str
    ) -> None:
        """All run; exceptions logged and swallowed."""
        await self._notify("on_remove_user_third_party_identifier", user_id, medium, address)

    # ------------------------------------------------------------------ denials

    @staticmethod
    def denial_error(callback_name: str, *, where: str | None = None) -> SynapseError:
        """The error Synapse's handlers raise when ``callback_name`` denies:

        * ``check_event_allowed``: 403 ``M_FORBIDDEN`` "This event is not allowed in this
          context";
        * ``on_create_room``: 403 ``M_UNKNOWN`` "Room creation forbidden with these
          parameters" (what a failing callback becomes);
        * ``check_visibility_can_be_modified``: ``where="create_room"`` → 403 ``M_UNKNOWN``
          "Room visibility value not allowed."; ``where="directory"`` → 403 ``M_UNKNOWN``
          "Not allowed to publish room";
        * ``check_threepid_can_be_invited``: 403 ``M_FORBIDDEN`` "This third-party
          identifier can not be invited in this room";
        * ``check_can_shutdown_room``: 403 ``M_FORBIDDEN`` "Shutdown of this room is
          forbidden";
        * ``check_can_deactivate_user``: 403 ``M_FORBIDDEN`` "Deactivation of this user is
          forbidden".

        Raises ``ValueError`` for other names or a missing/unknown ``where``.
        """
        if callback_name == "check_visibility_can_be_modified":
            if where == "create_room":
                return SynapseError(403, "Room visibility value not allowed.")
            if where == "directory":
                return SynapseError(403, "Not allowed to publish room")
            raise ValueError(f"where must be 'create_room' or 'directory', not {where!r}")
        try:
            msg, errcode = _DENIALS[callback_name]
        except KeyError:
            raise ValueError(f"{callback_name} has no client-visible denial") from None
        return SynapseError(403, msg, errcode)


_DENIALS: Dict[str, Tuple[str, Codes]] = {
    "check_event_allowed": ("This event is not allowed in this context", Codes.FORBIDDEN),
    "on_create_room": ("Room creation forbidden with these parameters", Codes.UNKNOWN),
    "check_threepid_can_be_invited": (
        "This third-party identifier can not be invited in this room",
        Codes.FORBIDDEN,
    ),
    "check_can_shutdown_room": ("Shutdown of this room is forbidden", Codes.FORBIDDEN),
    "check_can_deactivate_user": ("Deactivation of this user is forbidden", Codes.FORBIDDEN),
}
