"""FederationCallbacks: delivery notifications run for every callback; errors are logged."""

from __future__ import annotations

from typing import Any, List

import attr
from twisted.internet import defer

from synapse_modhost.callbacks.federation import (
    FederatedEventDeliveryMethod,
    FederationCallbacks,
    FederationEventDeliveryEvent,
)
from tests.callbacks._support import ALL_LOGS, CategoryTestCase

LOGGER = "synapse_modhost.callbacks.federation"


def recorder(calls: List[Any]) -> Any:
    async def cb(delivery: Any) -> None:
        calls.append(delivery)

    return cb


class FederationTests(CategoryTestCase[FederationCallbacks]):
    category_class = FederationCallbacks

    def test_delivery_event_is_frozen_attrs(self) -> None:
        """FederationEventDeliveryEvent holds server_name, events and method and is immutable."""
        ev = FederationEventDeliveryEvent(
            server_name="remote", events=["e"], method=FederatedEventDeliveryMethod.SEND
        )
        self.assertEqual((ev.server_name, list(ev.events), ev.method), ("remote", ["e"], "/send"))
        self.assertRaises(attr.exceptions.FrozenInstanceError, setattr, ev, "server_name", "x")

    def test_methods_are_endpoint_paths(self) -> None:
        """Delivery methods compare equal to Synapse's endpoint path strings."""
        self.assertEqual(
            [m.value for m in FederatedEventDeliveryMethod],
            [
                "/send",
                "/backfill",
                "/get_missing_events",
                "/event",
                "/event_auth",
                "/state",
                "/send_join",
            ],
        )

    def test_all_run_in_order(self) -> None:
        """Every callback receives the delivery record, in registration order."""
        f = self.cat
        calls: List[Any] = []
        f.register_callbacks("a", on_event_delivered_over_federation=recorder(calls))
        f.register_callbacks("b", on_event_delivered_over_federation=recorder(calls))
        ev = FederationEventDeliveryEvent("remote", ["e1"], FederatedEventDeliveryMethod.BACKFILL)
        self.successResultOf(defer.ensureDeferred(f.on_event_delivered_over_federation(ev)))
        self.assertEqual(calls, [ev, ev])

    def test_empty_event_list_skipped(self) -> None:
        """No callback runs for a delivery without events."""
        f = self.cat
        calls: List[Any] = []
        f.register_callbacks("a", on_event_delivered_over_federation=recorder(calls))
        ev = FederationEventDeliveryEvent("remote", [], FederatedEventDeliveryMethod.SEND)
        self.successResultOf(defer.ensureDeferred(f.on_event_delivered_over_federation(ev)))
        self.successResultOf(
            defer.ensureDeferred(f.notify_on_event_delivered_over_federation("r", [], "/send"))
        )
        self.assertEqual(calls, [])

    def test_exception_logged_next_runs(self) -> None:
        """A raising callback is logged with Synapse's message and the next still runs."""
        f = self.cat
        calls: List[Any] = []

        async def bad(delivery: Any) -> None:
            raise RuntimeError("x")

        f.register_callbacks("a", on_event_delivered_over_federation=bad)
        f.register_callbacks("b", on_event_delivered_over_federation=recorder(calls))
        with self.assertLogs(LOGGER, "ERROR") as logs:
            self.successResultOf(
                defer.ensureDeferred(
                    f.on_event_delivered_over_federation(
                        FederationEventDeliveryEvent("r", ["e"], "/event")
                    )
                )
            )
        self.assertEqual(len(calls), 1)
        self.assertIn("Error running on_event_delivered_over_federation callback", logs.output[0])

    def test_sync_callback_logged(self) -> None:
        """A synchronous callback fails with TypeError, which is only logged."""
        f = self.cat
        f.register_callbacks("a", on_event_delivered_over_federation=lambda d: None)
        with self.assertLogs(ALL_LOGS, "WARNING") as logs:
            self.successResultOf(
                defer.ensureDeferred(
                    f.on_event_delivered_over_federation(
                        FederationEventDeliveryEvent("r", ["e"], "/state")
                    )
                )
            )
        errors = [x for x in logs.output if x.startswith(f"ERROR:{LOGGER}:")]
        self.assertEqual(len(errors), 1)
        self.assertIn("TypeError", errors[0])

    def test_notify_builds_record(self) -> None:
        """notify_on_event_delivered_over_federation builds the record from its arguments."""
        f = self.cat
        calls: List[Any] = []
        self.assertFalse(f.interested_in_events_delivered_over_federation())
        f.register_callbacks("a", on_event_delivered_over_federation=recorder(calls))
        self.assertTrue(f.interested_in_events_delivered_over_federation())
        self.successResultOf(
            defer.ensureDeferred(
                f.notify_on_event_delivered_over_federation(
                    "remote", ["e"], FederatedEventDeliveryMethod.SEND_JOIN
                )
            )
        )
        self.assertEqual(
            calls,
            [FederationEventDeliveryEvent("remote", ["e"], FederatedEventDeliveryMethod.SEND_JOIN)],
        )
