"""UnsignedFieldsCallbacks: results merged with dict.update in order; exceptions propagate."""

from __future__ import annotations

from typing import Any, List

from twisted.internet import defer

from synapse_modhost.callbacks.unsigned_fields import UnsignedFieldsCallbacks
from synapse_modhost.errors import SynapseError
from tests.callbacks._support import ALL_LOGS, CategoryTestCase


def returning(value: Any, calls: List[Any] | None = None) -> Any:
    async def cb(event: Any) -> Any:
        if calls is not None:
            calls.append(event)
        return value

    return cb


class UnsignedFieldsTests(CategoryTestCase[UnsignedFieldsCallbacks]):
    category_class = UnsignedFieldsCallbacks

    def test_no_callbacks_empty(self) -> None:
        """Without callbacks nothing is added."""
        self.assertEqual(
            self.successResultOf(
                defer.ensureDeferred(self.cat.add_field_to_unsigned_callback(object()))
            ),
            {},
        )

    def test_results_merged_later_wins(self) -> None:
        """Each callback gets the event; results are merged in order, later keys replacing earlier."""
        u = self.cat
        calls: List[Any] = []
        event = object()
        u.register_callbacks("a", add_field_to_unsigned_callback=returning({"x": 1, "y": 1}, calls))
        u.register_callbacks("b", add_field_to_unsigned_callback=returning({"y": 2, "z": 2}))
        res = self.successResultOf(defer.ensureDeferred(u.add_field_to_unsigned_callback(event)))
        self.assertEqual(res, {"x": 1, "y": 2, "z": 2})
        self.assertEqual(calls, [event])

    def test_exception_propagates(self) -> None:
        """An exception from a callback reaches the caller unchanged; later callbacks do not run."""
        u = self.cat
        later: List[Any] = []

        async def bad(event: Any) -> Any:
            raise SynapseError(418, "teapot")

        u.register_callbacks("a", add_field_to_unsigned_callback=bad)
        u.register_callbacks("b", add_field_to_unsigned_callback=returning({}, later))
        f = self.failureResultOf(
            defer.ensureDeferred(u.add_field_to_unsigned_callback(object())), SynapseError
        )
        self.assertEqual(f.value.code, 418)
        self.assertEqual(later, [])

    def test_sync_callback_raises_type_error(self) -> None:
        """A synchronous callback fails with TypeError, which propagates."""
        u = self.cat
        u.register_callbacks("a", add_field_to_unsigned_callback=lambda e: {"x": 1})
        with self.assertLogs(ALL_LOGS, "WARNING"):
            f = self.failureResultOf(
                defer.ensureDeferred(u.add_field_to_unsigned_callback(object())), TypeError
            )
        self.assertIn("can't be used in 'await' expression", str(f.value))

    def test_none_result_raises_type_error(self) -> None:
        """A None result cannot be merged: dict.update's TypeError propagates."""
        u = self.cat
        u.register_callbacks("a", add_field_to_unsigned_callback=returning(None))
        self.failureResultOf(
            defer.ensureDeferred(u.add_field_to_unsigned_callback(object())), TypeError
        )
