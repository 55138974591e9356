"""Background update controller (``register_background_update_controller_callbacks``, 1.49)."""

from __future__ import annotations

import logging
from typing import Any, AsyncContextManager, Callable, ClassVar

from synapse_modhost.callbacks._dispatch import CallbackRef
from synapse_modhost.callbacks._registry import CallbackCategory

__all__ = ["BackgroundUpdateControllerCallbacks"]

logger = logging.getLogger(__name__)


class BackgroundUpdateControllerCallbacks(CallbackCategory):
    """One module's callbacks pacing database background updates.

    Registration: ``on_update`` is required (keyword-only). Only the first module that
    registers an ``on_update`` becomes the controller; a later registration logs a
    warning and is ignored entirely. ``default_batch_size`` and ``min_batch_size`` are
    optional; the controller applies to every database.

    ``on_update(update_name, database_name, one_shot)`` -> async context manager
        Called plainly (not awaited; it is a plain function in Synapse) and the returned
        context manager is used around each batch; its value is the target duration in
        ms. No controller -> ``None`` (the host uses its own pacing).
        Failure policy: exceptions propagate to the updater.

    ``default_batch_size(update_name, database_name)`` and
    ``min_batch_size(update_name, database_name)`` -> ``int``
        Awaited; the controller's answer is used as is. Not registered -> ``None`` (the
        host uses its configured sizes). Failure policy: exceptions propagate.
    """

    category: ClassVar[str] = "background_updates"

    def register_callbacks(
        self,
        module: str,
        *,
        on_update: Callable[..., Any],
        default_batch_size: Callable[..., Any] | None = None,
        min_batch_size: Callable[..., Any] | None = None,
    ) -> None:
        """Make ``module`` the background update controller, unless one exists already."""
        if self.has("on_update"):
            logger.warning(
                "More than one module tried to register callbacks for controlling"
                " background updates. Only the callbacks registered by the first module"
                " (in order of appearance in Synapse's configuration file) that tried to"
                " do so will be called."
            )
            return
        self._add(module, "on_update", on_update)
        self._add(module, "default_batch_size", default_batch_size)
        self._add(module, "min_batch_size", min_batch_size)

    def _single(self, name: str) -> CallbackRef | None:
        refs = self._callbacks.get(name)
        return refs[-1] if refs else None

    @property
    def has_controller(self) -> bool:
        """Whether a module controls background updates."""
        return self.has("on_update")

    def on_update(
        self, update_name: str, database_name: str, one_shot: bool
    ) -> AsyncContextManager[int] | None:
        """The controller's context manager for one batch of ``update_name``, or ``None``."""
        ref = self._single("on_update")
        if ref is None:
            return None
        result: AsyncContextManager[int] = ref.func(update_name, database_name, one_shot)
        return result

    async def default_batch_size(self, update_name: str, database_name: str) -> int | None:
        """The controller's first batch size for a new update, or ``None``."""
        ref = self._single("default_batch_size")
        if ref is None:
            return None
        result: int = await self._dispatcher.call(ref, update_name, database_name)
        return result

    async def min_batch_size(self, update_name: str, database_name: str) -> int | None:
        """The controller's lower bound on batch sizes, or ``None``."""
        ref = self._single("min_batch_size")
        if ref is None:
            return None
        result: int = await self._dispatcher.call(ref, update_name, database_name)
        return result
