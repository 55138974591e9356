"""AccountDataCallbacks: every callback runs; failures are logged, never raised."""

from __future__ import annotations

from typing import Any, List

from twisted.internet import defer

from synapse_modhost.callbacks.account_data import AccountDataCallbacks
from tests.callbacks._support import ALL_LOGS, CategoryTestCase

LOGGER = "synapse_modhost.callbacks.account_data"


def recorder(calls: List[Any], tag: str) -> Any:
    async def cb(*args: Any) -> None:
        calls.append((tag,) + args)

    return cb


class AccountDataTests(CategoryTestCase[AccountDataCallbacks]):
    category_class = AccountDataCallbacks

    def test_none_ignored(self) -> None:
        """Registering None registers nothing."""
        a = self.cat
        a.register_callbacks("m", on_account_data_updated=None)
        self.assertFalse(a.has("on_account_data_updated"))

    def test_all_run_in_order_with_arguments(self) -> None:
        """Every callback runs, in registration order, with (user_id, room_id, type, content)."""
        a = self.cat
        calls: List[Any] = []
        a.register_callbacks("one", on_account_data_updated=recorder(calls, "1"))
        a.register_callbacks("two", on_account_data_updated=recorder(calls, "2"))
        self.successResultOf(
            defer.ensureDeferred(
                a.on_account_data_updated("@a:test", None, "org.lab.ad", {"k": "v"})
            )
        )
        self.assertEqual(
            calls,
            [
                ("1", "@a:test", None, "org.lab.ad", {"k": "v"}),
                ("2", "@a:test", None, "org.lab.ad", {"k": "v"}),
            ],
        )

    def test_exception_logged_and_next_runs(self) -> None:
        """A raising callback is logged with its traceback; the next runs; nothing is raised."""
        a = self.cat
        calls: List[Any] = []

        async def bad(*args: Any) -> None:
            raise ValueError("broken module")

        a.register_callbacks("bad", on_account_data_updated=bad)
        a.register_callbacks("good", on_account_data_updated=recorder(calls, "g"))
        with self.assertLogs(LOGGER, "ERROR") as logs:
            self.successResultOf(
                defer.ensureDeferred(a.on_account_data_updated("@a:test", "!r:test", "t", {}))
            )
        self.assertEqual(len(calls), 1)
        self.assertIn("Failed to run module callback", logs.output[0])
        self.assertIn("broken module", logs.output[0])
        self.assertIn("Traceback", logs.output[0])

    def test_sync_callback_logged(self) -> None:
        """A synchronous callback runs but fails with TypeError, which is only logged."""
        a = self.cat
        calls: List[Any] = []

        def sync(*args: Any) -> None:
            calls.append(args)

        a.register_callbacks("sync", on_account_data_updated=sync)
        with self.assertLogs(ALL_LOGS, "WARNING") as logs:
            self.successResultOf(
                defer.ensureDeferred(a.on_account_data_updated("@a:test", None, "t", {}))
            )
        self.assertEqual(len(calls), 1)
        self.assertTrue(
            any("NoneType can't be used in 'await' expression" in x for x in logs.output)
        )
