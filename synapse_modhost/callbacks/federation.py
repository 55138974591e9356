"""Federation callbacks (``register_federation_callbacks``, Synapse 1.158)."""

from __future__ import annotations

import enum
import logging
from typing import Any, Callable, ClassVar, Collection, Union

import attr

from synapse_modhost.callbacks._registry import CallbackCategory

__all__ = [
    "FederatedEventDeliveryMethod",
    "FederationCallbacks",
    "FederationEventDeliveryEvent",
]

logger = logging.getLogger(__name__)


class FederatedEventDeliveryMethod(str, enum.Enum):
    """How events reached another server (non-exhaustive; values are endpoint paths).

    Only ``SEND`` deliveries were acknowledged by the remote; the others are responses
    to the remote's requests.
    """

    SEND = "/send"
    BACKFILL = "/backfill"
    GET_MISSING_EVENTS = "/get_missing_events"
    EVENT = "/event"
    EVENT_AUTH = "/event_auth"
    STATE = "/state"
    SEND_JOIN = "/send_join"


@attr.s(frozen=True, slots=True, auto_attribs=True)
class FederationEventDeliveryEvent:
    """Some events delivered to ``server_name`` by ``method``.

    ``events`` may be one batch among several for a single request.
    """

    server_name: str
    events: Collection[Any]
    method: Union[FederatedEventDeliveryMethod, str]


class FederationCallbacks(CallbackCategory):
    """Callbacks told about events delivered to other servers.

    ``on_event_delivered_over_federation(FederationEventDeliveryEvent)``
        Not called at all when the delivery has no events. Combination: every callback
        runs, in registration order (plain await). Failure policy: an exception
        (including a callback that is not async) is logged with its traceback as
        ``Error running on_event_delivered_over_federation callback`` and the next
        callback runs; nothing reaches the caller.
    """

    category: ClassVar[str] = "federation"

    def register_callbacks(
        self,
        module: str,
        *,
        on_event_delivered_over_federation: Callable[..., Any] | None = None,
    ) -> None:
        """Register ``module``'s federation callbacks."""
        self._add(module, "on_event_delivered_over_federation", on_event_delivered_over_federation)

    def interested_in_events_delivered_over_federation(self) -> bool:
        """Whether any ``on_event_delivered_over_federation`` callback is registered.

        Synapse bypasses a ``/state`` response cache when this is true.
        """
        return self.has("on_event_delivered_over_federation")

    async def on_event_delivered_over_federation(self, event: FederationEventDeliveryEvent) -> None:
        """Tell every callback about ``event`` (skipped when it holds no events)."""
        if not event.events:
            return
        for ref in self.callbacks("on_event_delivered_over_federation"):
            try:
                await self._dispatcher.call(ref, event)
            except Exception:
                logger.exception("Error running on_event_delivered_over_federation callback")

    async def notify_on_event_delivered_over_federation(
        self,
        server_name: str,
        events: Collection[Any],
        method: Union[FederatedEventDeliveryMethod, str],
    ) -> None:
        """Build the delivery record and run the callbacks (Synapse's entry point)."""
        if not events or not self.has("on_event_delivered_over_federation"):
            return
        await self.on_event_delivered_over_federation(
            FederationEventDeliveryEvent(server_name=server_name, events=events, method=method)
        )
