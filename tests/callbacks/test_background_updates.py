"""BackgroundUpdateControllerCallbacks: first module wins; the controller's answers are used."""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator, List

from twisted.internet import defer

from synapse_modhost.callbacks.background_updates import BackgroundUpdateControllerCallbacks
from tests.callbacks._support import ALL_LOGS, CategoryTestCase, recording, returning

LOGGER = "synapse_modhost.callbacks.background_updates"


def controller(calls: List[Any], duration: int = 100) -> Any:
    @contextlib.asynccontextmanager
    async def on_update(update_name: str, database_name: str, one_shot: bool) -> AsyncIterator[int]:
        calls.append(("enter", update_name, database_name, one_shot))
        yield duration
        calls.append(("exit",))

    return on_update


class BackgroundUpdatesTestBase(CategoryTestCase[BackgroundUpdateControllerCallbacks]):
    category_class = BackgroundUpdateControllerCallbacks


class RegistrationTests(BackgroundUpdatesTestBase):
    def test_on_update_required(self) -> None:
        """on_update is a required keyword-only argument."""
        with self.assertRaises(TypeError) as cm:
            self.cat.register_callbacks("m", default_batch_size=returning(1))  # type: ignore[call-arg]
        self.assertIn("missing 1 required keyword-only argument: 'on_update'", str(cm.exception))

    def test_second_module_ignored_with_warning(self) -> None:
        """A second module's registration logs Synapse's warning and changes nothing."""
        b = self.cat
        b.register_callbacks("first", on_update=controller([]), default_batch_size=returning(10))
        with self.assertLogs(LOGGER, "WARNING") as logs:
            b.register_callbacks(
                "second",
                on_update=controller([]),
                default_batch_size=returning(99),
                min_batch_size=returning(5),
            )
        self.assertIn(
            "More than one module tried to register callbacks for controlling background updates."
            " Only the callbacks registered by the first module (in order of appearance in"
            " Synapse's configuration file) that tried to do so will be called.",
            logs.output[0],
        )
        self.assertEqual([r.module for r in b.registered()], ["first", "first"])
        self.assertEqual(
            self.successResultOf(defer.ensureDeferred(b.default_batch_size("u", "main"))), 10
        )
        self.assertIsNone(self.successResultOf(defer.ensureDeferred(b.min_batch_size("u", "main"))))


class ControllerTests(BackgroundUpdatesTestBase):
    def test_no_controller(self) -> None:
        """Without a controller every method answers None."""
        b = self.cat
        self.assertFalse(b.has_controller)
        self.assertIsNone(b.on_update("u", "main", False))
        self.assertIsNone(
            self.successResultOf(defer.ensureDeferred(b.default_batch_size("u", "main")))
        )
        self.assertIsNone(self.successResultOf(defer.ensureDeferred(b.min_batch_size("u", "main"))))

    def test_on_update_returns_module_context_manager(self) -> None:
        """on_update calls the module's function plainly and hands back its context manager."""
        b = self.cat
        calls: List[Any] = []
        b.register_callbacks("m", on_update=controller(calls, 250))
        cm = b.on_update("populate_x", "main", True)
        assert cm is not None

        async def use() -> int:
            async with cm as duration:
                return duration

        self.assertEqual(self.successResultOf(defer.ensureDeferred(use())), 250)
        self.assertEqual(calls, [("enter", "populate_x", "main", True), ("exit",)])

    def test_batch_sizes(self) -> None:
        """default_batch_size and min_batch_size await the controller with (update, database)."""
        b = self.cat
        calls: List[Any] = []
        b.register_callbacks(
            "m",
            on_update=controller([]),
            default_batch_size=recording(50, calls),
            min_batch_size=returning(5),
        )
        self.assertEqual(
            self.successResultOf(defer.ensureDeferred(b.default_batch_size("u", "state"))), 50
        )
        self.assertEqual(
            self.successResultOf(defer.ensureDeferred(b.min_batch_size("u", "state"))), 5
        )
        self.assertEqual(calls, [("u", "state")])

    def test_exceptions_propagate(self) -> None:
        """Exceptions from on_update and the batch-size callbacks reach the caller."""
        b = self.cat

        def on_update(*args: Any) -> Any:
            raise ValueError("no")

        async def size(*args: Any) -> int:
            raise KeyError("k")

        b.register_callbacks("m", on_update=on_update, default_batch_size=size)
        self.assertRaises(ValueError, b.on_update, "u", "main", False)
        self.failureResultOf(defer.ensureDeferred(b.default_batch_size("u", "main")), KeyError)

    def test_sync_batch_size_fails(self) -> None:
        """A synchronous batch-size callback fails with TypeError (Synapse awaits it)."""
        b = self.cat
        b.register_callbacks("m", on_update=controller([]), min_batch_size=lambda u, d: 3)
        with self.assertLogs(ALL_LOGS, "WARNING"):
            self.failureResultOf(defer.ensureDeferred(b.min_batch_size("u", "main")), TypeError)
