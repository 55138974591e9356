"""Spam-checker callbacks (``register_spam_checker_callbacks``, Synapse 1.37+).

The combination rules, return normalisation and warning texts are Synapse 1.163's
(CALLBACKS.md §1); :meth:`SpamCheckerCallbacks.denial_error` turns a denial into the exact
client error of the spec's "Client-visible denials" table.
"""

from __future__ import annotations

import inspect
import logging
from copy import deepcopy
from typing import TYPE_CHECKING, Any, Collection, Dict, Tuple, Union

from synapse_modhost._codes import Codes
from synapse_modhost.callbacks._dispatch import CallbackRef, delay_cancellation
from synapse_modhost.callbacks._registry import CallbackCategory
from synapse_modhost.errors import AuthError, NotFoundError, SynapseError
from synapse_modhost.types import NOT_SPAM, RegistrationBehaviour, UserProfile

if TYPE_CHECKING:
    from synapse_modhost.types import RoomAlias

__all__ = ["SPAM_DENIAL_MESSAGES", "SpamCheckDenial", "SpamCheckResult", "SpamCheckerCallbacks"]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]
#: A denial: the errcode and the extra top-level JSON fields of the error response.
SpamCheckDenial = Tuple[Codes, JsonDict]
#: ``NOT_SPAM`` (the constant itself) or a denial.
SpamCheckResult = Union[str, SpamCheckDenial]

#: The ``error`` text of the 403 each callback's denial produces (handlers' wording).
SPAM_DENIAL_MESSAGES: Dict[str, str] = {
    "check_event_for_spam": "This message has been rejected as probable spam",
    "user_may_create_room": "You are not permitted to create rooms",
    "user_may_join_room": "Not allowed to join this room",
    "user_may_invite": "Invites have been disabled on this server",
    "federated_user_may_invite": "This user is not permitted to send invites to this server/user",
    "user_may_send_3pid_invite": "Cannot send threepid invite",
    "user_may_create_room_alias": "This user is not permitted to create this alias",
    "user_may_publish_room": "This user is not permitted to publish rooms to the room list",
    "user_may_send_state_event": "You are not permitted to send the state event",
    "check_login_for_spam": "Login was blocked by the server",
}
_AUTH_ERROR_DENIALS = frozenset({"user_may_create_room_alias", "user_may_publish_room"})
_EVENT_SPAM_MESSAGE = SPAM_DENIAL_MESSAGES["check_event_for_spam"]


def _is_code_tuple(res: Any) -> bool:
    return (
        isinstance(res, tuple)
        and len(res) == 2
        and isinstance(res[0], Codes)
        and isinstance(res[1], dict)
    )


def _invalid(what: str) -> SpamCheckDenial:
    logger.warning("Module returned invalid value, rejecting %s as spam", what)
    return Codes.FORBIDDEN, {}


def _family_a(res: Any, what: str) -> SpamCheckDenial | None:
    """``None`` to go on to the next callback, else the denial (legacy ``True`` allows)."""
    if res is True or res is NOT_SPAM:
        return None
    if res is False:
        return Codes.FORBIDDEN, {}
    if isinstance(res, Codes):
        return res, {}
    if _is_code_tuple(res):
        return res
    return _invalid(what)


def _takes_two(cb: CallbackRef) -> bool:
    return len(inspect.signature(cb.func).parameters) == 2


class SpamCheckerCallbacks(CallbackCategory):
    """``spam_checker`` callbacks. Every decision callback runs under ``delay_cancellation``;
    callbacks run in registration order and **the first non-allow wins**; exceptions
    (including the ``TypeError`` of a non-async callback) **propagate** for every callback.

    Returns mirror Synapse's internal class: ``NOT_SPAM`` (the constant) or a denial
    ``(Codes, extras)``; pass a denial to :meth:`denial_error` for the client error.

    * Family A — ``user_may_join_room``, ``user_may_invite``, ``federated_user_may_invite``,
      ``user_may_send_3pid_invite``, ``user_may_create_room``, ``user_may_create_room_alias``,
      ``user_may_publish_room``: ``True`` or ``res is NOT_SPAM`` allows (an equal string built
      at runtime does not), ``False`` → ``(FORBIDDEN, {})``, a ``Codes`` member →
      ``(code, {})``, an exact ``(Codes, dict)`` tuple → itself; anything else → warning
      ``Module returned invalid value, rejecting <what> as spam`` and ``(FORBIDDEN, {})``.
    * ``check_event_for_spam``: ``False`` or ``res == NOT_SPAM`` allows; ``True`` →
      ``(FORBIDDEN, {})``; ``Codes``/tuple as above; another ``str`` → returned as is (the
      error *message*); anything else → warning ``... rejecting message as spam`` and the
      message ``This message has been rejected as probable spam``.
    * ``check_media_file_for_spam``: ``False`` or ``NOT_SPAM`` (identity) allows, ``True``
      denies, ``Codes``/tuple as above, else warning (``media file``) + FORBIDDEN.
    * ``user_may_send_state_event``: only ``NOT_SPAM`` allows, only a bare ``Codes`` denies
      with its code; anything else (bools, tuples) → warning (Synapse's text says
      ``room creation``) + ``(FORBIDDEN, {})``.
    * ``check_login_for_spam``: only ``NOT_SPAM`` allows; ``Codes``/tuple deny; anything
      else, bools included → warning (``login``) + FORBIDDEN.
    * ``should_drop_federated_event``: the first truthy result is returned, else ``False``.
    * ``check_username_for_spam``: ``True`` at the first truthy result, else ``False``.
    * ``check_registration_for_spam``: the first result other than ``ALLOW``; a result that
      is not a ``RegistrationBehaviour`` raises ``AssertionError`` (a 500, as Synapse's
      ``assert``).
    """

    category = "spam_checker"

    def register_callbacks(
        self,
        module: str,
        *,
        check_event_for_spam: Any | None = None,
        should_drop_federated_event: Any | None = None,
        user_may_join_room: Any | None = None,
        user_may_invite: Any | None = None,
        federated_user_may_invite: Any | None = None,
        user_may_send_3pid_invite: Any | None = None,
        user_may_create_room: Any | None = None,
        user_may_create_room_alias: Any | None = None,
        user_may_publish_room: Any | None = None,
        user_may_send_state_event: Any | None = None,
        check_username_for_spam: Any | None = None,
        check_registration_for_spam: Any | None = None,
        check_media_file_for_spam: Any | None = None,
        check_login_for_spam: Any | None = None,
    ) -> None:
        """Append each given callback; ``None`` is ignored; no de-duplication."""
        self._add(module, "check_event_for_spam", check_event_for_spam)
        self._add(module, "should_drop_federated_event", should_drop_federated_event)
        self._add(module, "user_may_join_room", user_may_join_room)
        self._add(module, "user_may_invite", user_may_invite)
        self._add(module, "federated_user_may_invite", federated_user_may_invite)
        self._add(module, "user_may_send_3pid_invite", user_may_send_3pid_invite)
        self._add(module, "user_may_create_room", user_may_create_room)
        self._add(module, "user_may_send_state_event", user_may_send_state_event)
        self._add(module, "user_may_create_room_alias", user_may_create_room_alias)
        self._add(module, "user_may_publish_room", user_may_publish_room)
        self._add(module, "check_username_for_spam", check_username_for_spam)
        self._add(module, "check_registration_for_spam", check_registration_for_spam)
        self._add(module, "check_media_file_for_spam", check_media_file_for_spam)
        self._add(module, "check_login_for_spam", check_login_for_spam)

    async def _decide(self, cb: CallbackRef, *args: Any) -> Any:
        return await delay_cancellation(self._dispatcher.call(cb, *args))

    async def _run_family_a(self, name: str, what: str, *args: Any) -> SpamCheckResult:
        for cb in self.callbacks(name):
            denial = _family_a(await self._decide(cb, *args), what)
            if denial is not None:
                return denial
        return NOT_SPAM

    # ------------------------------------------------------------------ events

    async def check_event_for_spam(self, event: Any) -> SpamCheckResult:
        """``NOT_SPAM``, a denial ``(Codes, extras)``, or a ``str`` error message.

        A handler rejecting a local event raises ``denial_error("check_event_for_spam",
        result)``: a tuple gives 403 with its code and extras and the text ``This message
        has been rejected as probable spam``; a string gives 403 ``M_FORBIDDEN`` with the
        string as the text. Propagates exceptions.
        """
        for cb in self.callbacks("check_event_for_spam"):
            res = await self._decide(cb, event)
            if res is False or res == NOT_SPAM:
                continue
            if res is True:
                return Codes.FORBIDDEN, {}
            if _is_code_tuple(res):
                return res
            if isinstance(res, Codes):
                return res, {}
            if not isinstance(res, str):
                logger.warning("Module returned invalid value, rejecting message as spam")
                return _EVENT_SPAM_MESSAGE
            return res
        return NOT_SPAM

    async def should_drop_federated_event(self, event: Any) -> Union[bool, str]:
        """The first truthy result (``True`` or a str), else ``False``. Propagates."""
        for cb in self.callbacks("should_drop_federated_event"):
            res = await self._decide(cb, event)
            if res:
                return res
        return False

    # ------------------------------------------------------------------ family A

    async def user_may_join_room(
        self, user_id: str, room_id: str, is_invited: bool
    ) -> SpamCheckResult:
        """Family A (``join``). Propagates."""
        return await self._run_family_a("user_may_join_room", "join", user_id, room_id, is_invited)

    async def user_may_invite(
        self, inviter_userid: str, invitee_userid: str, room_id: str
    ) -> SpamCheckResult:
        """Family A (``invite``). Propagates."""
        return await self._run_family_a(
            "user_may_invite", "invite", inviter_userid, invitee_userid, room_id
        )

    async def federated_user_may_invite(self, event: Any) -> SpamCheckResult:
        """Family A (``invite``); when all allow, the result of
        ``user_may_invite(event.sender, event.state_key, event.room_id)``. Propagates."""
        for cb in self.callbacks("federated_user_may_invite"):
            denial = _family_a(await self._decide(cb, event), "invite")
            if denial is not None:
                return denial
        return await self.user_may_invite(event.sender, event.state_key, event.room_id)

    async def user_may_send_3pid_invite(
        self, inviter_userid: str, medium: str, address: str, room_id: str
    ) -> SpamCheckResult:
        """Family A (``3pid invite``). Propagates."""
        return await self._run_family_a(
            "user_may_send_3pid_invite", "3pid invite", inviter_userid, medium, address, room_id
        )

    async def user_may_create_room(self, userid: str, room_config: JsonDict) -> SpamCheckResult:
        """Family A (``room creation``). A callback declaring exactly two parameters gets
        ``(userid, deepcopy(room_config))``, any other gets ``(userid)``. Propagates."""
        for cb in self.callbacks("user_may_create_room"):
            if _takes_two(cb):
                res = await self._decide(cb, userid, deepcopy(room_config))
            else:
                res = await self._decide(cb, userid)
            denial = _family_a(res, "room creation")
            if denial is not None:
                return denial
        return NOT_SPAM

    async def user_may_create_room_alias(
        self, userid: str, room_alias: RoomAlias
    ) -> SpamCheckResult:
        """Family A (``room create``, Synapse's wording). Propagates."""
        return await self._run_family_a(
            "user_may_create_room_alias", "room create", userid, room_alias
        )

    async def user_may_publish_room(self, userid: str, room_id: str) -> SpamCheckResult:
        """Family A (``room publication``). Propagates."""
        return await self._run_family_a(
            "user_may_publish_room", "room publication", userid, room_id
        )

    # ------------------------------------------------------------------ strict ones

    async def user_may_send_state_event(
        self, user_id: str, room_id: str, event_type: str, state_key: str, content: JsonDict
    ) -> SpamCheckResult:
        """Strict: only ``NOT_SPAM`` allows, only a bare ``Codes`` keeps its code; each
        callback gets a deep copy of ``content``. Propagates."""
        for cb in self.callbacks("user_may_send_state_event"):
            res = await self._decide(cb, user_id, room_id, event_type, state_key, deepcopy(content))
            if res is NOT_SPAM:
                continue
            if isinstance(res, Codes):
                return res, {}
            return _invalid("room creation")
        return NOT_SPAM

    async def check_login_for_spam(
        self,
        user_id: str,
        device_id: str | None,
        initial_display_name: str | None,
        request_info: Collection[Tuple[str | None, str]],
        auth_provider_id: str | None = None,
    ) -> SpamCheckResult:
        """Strict: only ``NOT_SPAM`` allows; ``Codes``/tuple deny; bools and anything else
        → warning + FORBIDDEN. Propagates."""
        for cb in self.callbacks("check_login_for_spam"):
            res = await self._decide(
                cb, user_id, device_id, initial_display_name, request_info, auth_provider_id
            )
            if res is NOT_SPAM:
                continue
            if isinstance(res, Codes):
                return res, {}
            if _is_code_tuple(res):
                return res
            return _invalid("login")
        return NOT_SPAM

    async def check_media_file_for_spam(self, file_wrapper: Any, file_info: Any) -> SpamCheckResult:
        """Family B: ``False``/``NOT_SPAM`` allow, ``True`` denies. Propagates."""
        for cb in self.callbacks("check_media_file_for_spam"):
            res = await self._decide(cb, file_wrapper, file_info)
            if res is False or res is NOT_SPAM:
                continue
            if res is True:
                return Codes.FORBIDDEN, {}
            if isinstance(res, Codes):
                return res, {}
            if _is_code_tuple(res):
                return res
            return _invalid("media file")
        return NOT_SPAM

    # ------------------------------------------------------------------ others

    async def check_username_for_spam(self, user_profile: UserProfile, requester_id: str) -> bool:
        """``True`` (hide the user) at the first truthy result. A callback declaring two
        parameters gets ``(user_profile.copy(), requester_id)``, others
        ``(user_profile.copy())``. Propagates."""
        for cb in self.callbacks("check_username_for_spam"):
            if _takes_two(cb):
                res = await self._decide(cb, user_profile.copy(), requester_id)
            else:
                res = await self._decide(cb, user_profile.copy())
            if res:
                return True
        return False

    async def check_registration_for_spam(
        self,
        email_threepid: JsonDict | None,
        username: str | None,
        request_info: Collection[Tuple[str, str]],
        auth_provider_id: str | None = None,
    ) -> RegistrationBehaviour:
        """The first result other than ``ALLOW``, else ``ALLOW``. A result that is not a
        ``RegistrationBehaviour`` raises ``AssertionError``. Propagates."""
        for cb in self.callbacks("check_registration_for_spam"):
            behaviour = await self._decide(
                cb, email_threepid, username, request_info, auth_provider_id
            )
            if not isinstance(behaviour, RegistrationBehaviour):
                raise AssertionError(
                    f"check_registration_for_spam callback {cb.qualname} returned {behaviour!r}, not a "
                    "RegistrationBehaviour"
                )
            if behaviour != RegistrationBehaviour.ALLOW:
                return behaviour
        return RegistrationBehaviour.ALLOW

    # ------------------------------------------------------------------ denials

    @staticmethod
    def denial_error(
        callback_name: str, result: Any, *, remote_media: bool = False
    ) -> SynapseError:
        """The error a handler raises for ``result``, a non-allowing result of
        ``callback_name`` (as Synapse 1.163's handlers build it):

        * the family-A callbacks, ``federated_user_may_invite`` and ``check_login_for_spam``:
          403 with the denial's code and extra fields and the text in
          :data:`SPAM_DENIAL_MESSAGES` (``AuthError`` for alias creation and publication);
        * ``user_may_send_state_event``: the same without extra fields;
        * ``check_event_for_spam``: a tuple → 403 code + extras + ``This message has been
          rejected as probable spam`` (a tuple not of length 2 → ``M_FORBIDDEN``); a
          string → 403 ``M_FORBIDDEN`` with that string as the text;
        * ``check_registration_for_spam`` ``DENY`` → 429 ``M_UNKNOWN`` ``Rate limited``;
        * ``check_media_file_for_spam``: 400 ``M_UNKNOWN`` ``Bad content`` for uploads
          (module code ignored); with ``remote_media=True`` 404 ``Not found`` with the code;
        * ``should_drop_federated_event`` (federation ``/invite``): 403 ``M_UNKNOWN`` with the
          text ``M_FORBIDDEN``.

        Raises ``ValueError`` when ``result`` is not a denial (``NOT_SPAM``, ``ALLOW``,
        ``SHADOW_BAN``, a falsy drop result) or the callback has no client error
        (``check_username_for_spam`` hides users silently).
        """
        if callback_name == "check_registration_for_spam":
            if result == RegistrationBehaviour.DENY:
                return SynapseError(429, "Rate limited")
            raise ValueError(f"{result!r} is not a registration denial")
        if callback_name == "should_drop_federated_event":
            if result:
                return SynapseError(403, Codes.FORBIDDEN.value)
            raise ValueError(f"{result!r} does not drop the event")
        if result == NOT_SPAM:
            raise ValueError("NOT_SPAM is not a denial")
        if callback_name == "check_event_for_spam":
            if isinstance(result, tuple):
                if len(result) != 2:
                    return SynapseError(403, _EVENT_SPAM_MESSAGE, Codes.FORBIDDEN)
                code, extras = result
                return SynapseError(403, _EVENT_SPAM_MESSAGE, code, extras)
            return SynapseError(403, result, Codes.FORBIDDEN)
        if callback_name == "check_media_file_for_spam":
            if remote_media:
                return NotFoundError("Not found", errcode=result[0])
            return SynapseError(400, "Bad content")
        if callback_name not in SPAM_DENIAL_MESSAGES:
            raise ValueError(f"{callback_name} has no client-visible denial")
        code, extras = result
        if callback_name == "user_may_send_state_event":
            extras = {}
        cls = AuthError if callback_name in _AUTH_ERROR_DENIALS else SynapseError
        return cls(403, SPAM_DENIAL_MESSAGES[callback_name], code, extras)
