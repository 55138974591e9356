"""Extra ``unsigned`` fields for client events.

Synapse's ``register_add_extra_fields_to_unsigned_client_event_callbacks`` (1.96).
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from synapse_modhost.callbacks._registry import CallbackCategory
from synapse_modhost.types import JsonDict

__all__ = ["UnsignedFieldsCallbacks"]


class UnsignedFieldsCallbacks(CallbackCategory):
    """Callbacks that add fields to the ``unsigned`` section of events sent to clients.

    ``add_field_to_unsigned_callback(event)`` -> ``dict``
        Awaited once per serialised event. Combination: every callback runs, in
        registration order; their results are merged into one dict with ``dict.update``
        (a later callback's key replaces an earlier one's). The serializer then lets the
        keys Synapse itself sets win over these. Failure policy: exceptions propagate
        (the request fails with 500), including a callback that is not async and a
        result ``dict.update`` rejects (e.g. ``None``).
    """

    category: ClassVar[str] = "unsigned_fields"

    def register_callbacks(
        self,
        module: str,
        *,
        add_field_to_unsigned_callback: Callable[..., Any] | None = None,
    ) -> None:
        """Register ``module``'s unsigned-field callback."""
        self._add(module, "add_field_to_unsigned_callback", add_field_to_unsigned_callback)

    async def add_field_to_unsigned_callback(self, event: Any) -> JsonDict:
        """The fields modules add to ``event``'s ``unsigned`` (``{}`` without callbacks)."""
        new_unsigned: JsonDict = {}
        for ref in self.callbacks("add_field_to_unsigned_callback"):
            new_unsigned.update(await self._dispatcher.call(ref, event))
        return new_unsigned
