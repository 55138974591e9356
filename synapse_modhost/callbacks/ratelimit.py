"""Ratelimit callbacks (``register_ratelimit_callbacks``, Synapse 1.132+).

Rules are Synapse 1.163's (CALLBACKS.md §5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synapse_modhost.callbacks._dispatch import delay_cancellation
from synapse_modhost.callbacks._registry import CallbackCategory

if TYPE_CHECKING:
    from synapse_modhost.types import RatelimitOverride

__all__ = ["RatelimitCallbacks"]


class RatelimitCallbacks(CallbackCategory):
    """``ratelimit`` callbacks.

    * ``get_ratelimit_override_for_user`` (``delay_cancellation``): run in registration
      order; the first truthy result wins; ``None`` when none answered (the limiter keeps
      its configured rate). Exceptions, including the ``TypeError`` of a non-async
      callback, **propagate**.
    """

    category = "ratelimit"

    def register_callbacks(
        self,
        module: str,
        *,
        get_ratelimit_override_for_user: Any | None = None,
    ) -> None:
        """Append the callback; ``None`` is ignored; no de-duplication."""
        self._add(module, "get_ratelimit_override_for_user", get_ratelimit_override_for_user)

    async def get_ratelimit_override_for_user(
        self, user_id: str, limiter_name: str
    ) -> RatelimitOverride | None:
        """The first truthy override for ``(user_id, limiter_name)``, else ``None``."""
        for cb in self.callbacks("get_ratelimit_override_for_user"):
            res = await delay_cancellation(self._dispatcher.call(cb, user_id, limiter_name))
            if res:
                return res
        return None
