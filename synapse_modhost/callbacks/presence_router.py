"""Presence-router callbacks (``register_presence_router_callbacks``, Synapse 1.42)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Iterable, Set, Union

from twisted.internet import defer

from synapse_modhost.callbacks._dispatch import delay_cancellation
from synapse_modhost.callbacks._registry import CallbackCategory
from synapse_modhost.types import PRESENCE_ALL_USERS

if TYPE_CHECKING:
    from synapse_modhost.types import UserPresenceState

__all__ = ["PresenceRouterCallbacks"]

logger = logging.getLogger(__name__)

_PAIR_ERROR = (
    "PresenceRouter modules must register neither or both of the paired callbacks: "
    "[get_users_for_states, get_interested_users]"
)


class PresenceRouterCallbacks(CallbackCategory):
    """Callbacks that route presence updates to extra users.

    Registration: a module must give both of ``get_users_for_states`` and
    ``get_interested_users`` or neither; giving exactly one raises ``RuntimeError`` and
    registers nothing.

    ``get_users_for_states(state_updates)`` -> ``{user_id: {UserPresenceState, ...}}``
        Combination: every callback runs, in registration order; the sets of all results
        are unioned per user id. No callbacks -> ``{}``.
        Failure policy: a callback that raises (or is not async) is logged as a warning
        and skipped; a result that is not a ``dict`` is logged and skipped; inside a
        ``dict``, the first value that is not a ``set`` is logged and the rest of that
        dict is ignored (entries before it are kept). Cancellation is delayed until the
        callback finishes, then re-raised.

    ``get_interested_users(user_id)`` -> ``set`` of user ids or ``PRESENCE_ALL_USERS``
        Combination: callbacks run in order and their sets are unioned; a result equal to
        ``PRESENCE_ALL_USERS`` (``"ALL"``) returns it at once, skipping the remaining
        callbacks. No callbacks -> empty set.
        Failure policy: a raising callback or a result that is not a ``set`` is logged as
        a warning and skipped. Cancellation is delayed, then re-raised.
    """

    category: ClassVar[str] = "presence_router"

    def register_callbacks(
        self,
        module: str,
        *,
        get_users_for_states: Callable[..., Any] | None = None,
        get_interested_users: Callable[..., Any] | None = None,
    ) -> None:
        """Register the paired presence-router callbacks of ``module``."""
        if [get_users_for_states, get_interested_users].count(None) == 1:
            raise RuntimeError(_PAIR_ERROR)
        self._add(module, "get_users_for_states", get_users_for_states)
        self._add(module, "get_interested_users", get_interested_users)

    async def get_users_for_states(
        self, state_updates: Iterable[UserPresenceState]
    ) -> Dict[str, Set[UserPresenceState]]:
        """Which users should receive which of ``state_updates``, beyond room members."""
        refs = self.callbacks("get_users_for_states")
        if not refs:
            return {}

        users_for_states: Dict[str, Set[UserPresenceState]] = {}
        for ref in refs:
            try:
                result: object = await delay_cancellation(self._dispatcher.call(ref, state_updates))
            except defer.CancelledError:
                raise
            except Exception as e:
                logger.warning("Failed to run module API callback %s: %s", ref, e)
                continue

            if not isinstance(result, dict):
                logger.warning(
                    "Wrong type returned by module API callback %s: %s, expected Dict",
                    ref,
                    result,
                )
                continue

            for user_id, states in result.items():
                if not isinstance(states, set):
                    logger.warning(
                        "Wrong type returned by module API callback %s: %s, expected Set",
                        ref,
                        states,
                    )
                    break
                users_for_states.setdefault(user_id, set()).update(states)

        return users_for_states

    async def get_interested_users(self, user_id: str) -> Union[Set[str], str]:
        """Extra users whose presence ``user_id`` receives, or ``PRESENCE_ALL_USERS``."""
        refs = self.callbacks("get_interested_users")
        if not refs:
            return set()

        interested: Set[str] = set()
        for ref in refs:
            try:
                result: object = await delay_cancellation(self._dispatcher.call(ref, user_id))
            except defer.CancelledError:
                raise
            except Exception as e:
                logger.warning("Failed to run module API callback %s: %s", ref, e)
                continue

            if result == PRESENCE_ALL_USERS:
                return PRESENCE_ALL_USERS

            if not isinstance(result, set):
                logger.warning(
                    "Wrong type returned by module API callback %s: %s, expected set",
                    ref,
                    result,
                )
                continue

            interested.update(result)

        return interested
