"""The base of every callback category: registration bookkeeping."""

from __future__ import annotations

import logging
from typing import Any, Callable, ClassVar, Dict, List, Optional

from synapse_modhost.callbacks._dispatch import CallbackRef, Dispatcher

__all__ = ["CallbackCategory"]

logger = logging.getLogger("synapse_modhost.callbacks")


class CallbackCategory:
    """Holds one category's callbacks in registration order and runs them.

    Subclasses define ``register_callbacks(self, module, *, <name>=None, ...)`` with
    Synapse's callback names, and one ``async`` method per callback name that runs the
    registered callbacks with Synapse's combination rule for it.
    """

    #: the category's name, as used in logs and ``host.callbacks.<category>``
    category: ClassVar[str] = ""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._callbacks: Dict[str, List[CallbackRef]] = {}
        self._order: List[CallbackRef] = []

    def _add(self, module: str, name: str, func: Optional[Callable[..., Any]]) -> None:
        """Append ``func`` (ignored when ``None``) to the callbacks called ``name``."""
        if func is None:
            return
        ref = CallbackRef(func=func, module=module, category=self.category, name=name)
        self._callbacks.setdefault(name, []).append(ref)
        self._order.append(ref)
        logger.info(
            "Registered callback %s -> %s.%s (%s)", module, self.category, name, ref.qualname
        )

    def callbacks(self, name: str) -> List[CallbackRef]:
        """The callbacks registered under ``name``, in registration order."""
        return list(self._callbacks.get(name, ()))

    def registered(self) -> List[CallbackRef]:
        """Every callback of this category, in registration order."""
        return list(self._order)

    def has(self, name: str) -> bool:
        """Whether any callback is registered under ``name``."""
        return bool(self._callbacks.get(name))
