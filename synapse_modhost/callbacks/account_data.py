"""Account data callbacks (``register_account_data_callbacks``, Synapse 1.57)."""

from __future__ import annotations

import logging
from typing import Any, Callable, ClassVar

from synapse_modhost.callbacks._registry import CallbackCategory
from synapse_modhost.types import JsonDict

__all__ = ["AccountDataCallbacks"]

logger = logging.getLogger(__name__)


class AccountDataCallbacks(CallbackCategory):
    """Callbacks told about account data writes.

    ``on_account_data_updated(user_id, room_id, account_data_type, content)``
        Called after global (``room_id=None``) or per-room account data is written
        (not for room tags; a deletion is reported with ``{}`` content).
        Combination: every callback runs, in registration order (plain await, no
        cancellation shield). Failure policy: an exception (including a callback that is
        not async) is logged with its traceback and the next callback runs; nothing
        reaches the caller.
    """

    category: ClassVar[str] = "account_data"

    def register_callbacks(
        self,
        module: str,
        *,
        on_account_data_updated: Callable[..., Any] | None = None,
    ) -> None:
        """Register ``module``'s account data callbacks."""
        self._add(module, "on_account_data_updated", on_account_data_updated)

    async def on_account_data_updated(
        self,
        user_id: str,
        room_id: str | None,
        account_data_type: str,
        content: JsonDict,
    ) -> None:
        """Notify every ``on_account_data_updated`` callback of a write."""
        for ref in self.callbacks("on_account_data_updated"):
            try:
                await self._dispatcher.call(ref, user_id, room_id, account_data_type, content)
            except Exception as e:
                logger.exception("Failed to run module callback %s: %s", ref, e)
