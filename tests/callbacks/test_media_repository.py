"""Media-repository callbacks: registration and combination rules."""

from __future__ import annotations

from typing import Any, List

from twisted.internet import defer

from synapse_modhost.callbacks.media_repository import MediaRepositoryCallbacks
from synapse_modhost.errors import SynapseError
from synapse_modhost.types import MediaUploadLimit
from tests.callbacks._support import CategoryTestCase, raising, returning

LOGGER = "synapse_modhost.callbacks"
ALL_NAMES = [
    "get_media_config_for_user",
    "is_user_allowed_to_upload_media_of_size",
    "get_media_upload_limits_for_user",
    "on_media_upload_limit_exceeded",
]


class MediaTestBase(CategoryTestCase[MediaRepositoryCallbacks]):
    category_class = MediaRepositoryCallbacks


class RegistrationTests(MediaTestBase):
    def test_every_name_registers_and_appends(self) -> None:
        """All four names register; None is ignored; every call appends."""
        self.reg(**{name: None for name in ALL_NAMES})
        self.assertEqual(self.cat.registered(), [])
        for _ in range(2):
            self.reg(**{name: returning(None) for name in ALL_NAMES})
        for name in ALL_NAMES:
            self.assertEqual(len(self.cat.callbacks(name)), 2, name)

    def test_unknown_name_raises(self) -> None:
        """An unknown keyword is a TypeError."""
        self.assertRaises(TypeError, self.cat.register_callbacks, "m", get_foo=returning(1))


class MediaConfigTests(MediaTestBase):
    def test_none_registered(self) -> None:
        """No callbacks → None (the caller uses its default config)."""
        self.assertIsNone(self.run_ok(self.cat.get_media_config_for_user("@a:t")))

    def test_first_truthy_dict_wins(self) -> None:
        """None and {} fall through; the first truthy dict is returned as is."""
        log: List[Any] = []
        config = {"m.upload.size": 1234, "org.lab": True}
        self.reg(get_media_config_for_user=returning(None, log, "a"))
        self.reg(get_media_config_for_user=returning({}, log, "b"))
        self.reg(get_media_config_for_user=returning(config, log, "c"))
        self.reg(get_media_config_for_user=returning({"other": 1}, log, "d"))
        self.assertIs(self.run_ok(self.cat.get_media_config_for_user("@a:t")), config)
        self.assertEqual([label for label, _ in log], ["a", "b", "c"])
        self.assertEqual(log[0][1], ("@a:t",))

    def test_all_empty_returns_none(self) -> None:
        """When every callback returns None or {}, the result is None."""
        self.reg(get_media_config_for_user=returning({}))
        self.assertIsNone(self.run_ok(self.cat.get_media_config_for_user("@a:t")))

    def test_exception_and_sync_propagate(self) -> None:
        """Exceptions propagate; a non-async callback fails with TypeError."""
        self.reg(get_media_config_for_user=raising(ValueError("x")))
        self.run_fail(self.cat.get_media_config_for_user("@a:t"), ValueError)
        self.setUp()
        self.reg(get_media_config_for_user=lambda u: {"a": 1})
        with self.assertLogs(LOGGER, "WARNING"):
            self.run_fail(self.cat.get_media_config_for_user("@a:t"), TypeError)

    def test_shielded_from_cancellation(self) -> None:
        """Media callbacks run under delay_cancellation."""
        pending: defer.Deferred[Any] = defer.Deferred()
        self.reg(get_media_config_for_user=lambda u: pending)
        d = defer.ensureDeferred(self.cat.get_media_config_for_user("@a:t"))
        d.cancel()
        self.assertNoResult(d)
        pending.callback(None)
        self.failureResultOf(d, defer.CancelledError)


class UploadSizeTests(MediaTestBase):
    def test_none_registered_allows(self) -> None:
        """No callbacks → allowed."""
        self.assertIs(
            self.run_ok(self.cat.is_user_allowed_to_upload_media_of_size("@a:t", 10)), True
        )

    def test_first_falsy_denies(self) -> None:
        """The first falsy result (None included) denies; later callbacks do not run."""
        log: List[Any] = []
        self.reg(is_user_allowed_to_upload_media_of_size=returning(True, log, "a"))
        self.reg(is_user_allowed_to_upload_media_of_size=returning(None, log, "b"))
        self.reg(is_user_allowed_to_upload_media_of_size=returning(True, log, "c"))
        self.assertIs(
            self.run_ok(self.cat.is_user_allowed_to_upload_media_of_size("@a:t", 300)), False
        )
        self.assertEqual(log, [("a", ("@a:t", 300)), ("b", ("@a:t", 300))])

    def test_all_truthy_allow(self) -> None:
        """Truthy results all allow."""
        self.reg(is_user_allowed_to_upload_media_of_size=returning(1))
        self.reg(is_user_allowed_to_upload_media_of_size=returning(True))
        self.assertIs(
            self.run_ok(self.cat.is_user_allowed_to_upload_media_of_size("@a:t", 1)), True
        )

    def test_exception_propagates(self) -> None:
        """An exception propagates."""
        self.reg(is_user_allowed_to_upload_media_of_size=raising(RuntimeError("x")))
        self.run_fail(self.cat.is_user_allowed_to_upload_media_of_size("@a:t", 1), RuntimeError)

    def test_too_large_error(self) -> None:
        """The denial error is 413 M_TOO_LARGE "Upload request body is too large"."""
        err = MediaRepositoryCallbacks.upload_too_large_error()
        self.assertIsInstance(err, SynapseError)
        self.assertEqual(err.code, 413)
        self.assertEqual(
            err.error_dict(None),
            {"errcode": "M_TOO_LARGE", "error": "Upload request body is too large"},
        )


class UploadLimitsTests(MediaTestBase):
    def test_none_when_all_none(self) -> None:
        """No callbacks, or all None → None (config limits apply)."""
        self.assertIsNone(self.run_ok(self.cat.get_media_upload_limits_for_user("@a:t")))
        self.reg(get_media_upload_limits_for_user=returning(None))
        self.assertIsNone(self.run_ok(self.cat.get_media_upload_limits_for_user("@a:t")))

    def test_empty_list_wins(self) -> None:
        """[] (no limits) is a non-None answer and stops the search."""
        log: List[Any] = []
        empty: List[MediaUploadLimit] = []
        self.reg(get_media_upload_limits_for_user=returning(empty))
        self.reg(get_media_upload_limits_for_user=returning([MediaUploadLimit(1, 1)], log))
        self.assertIs(self.run_ok(self.cat.get_media_upload_limits_for_user("@a:t")), empty)
        self.assertEqual(log, [])

    def test_sorted_in_place_descending(self) -> None:
        """The returned list is the module's own list, sorted by time_period_ms desc."""
        short = MediaUploadLimit(max_bytes=10, time_period_ms=1000)
        long = MediaUploadLimit(max_bytes=100, time_period_ms=86_400_000)
        mid = MediaUploadLimit(max_bytes=50, time_period_ms=3_600_000)
        limits = [short, long, mid]
        self.reg(get_media_upload_limits_for_user=returning(None))
        self.reg(get_media_upload_limits_for_user=returning(limits))
        res = self.run_ok(self.cat.get_media_upload_limits_for_user("@a:t"))
        self.assertIs(res, limits)
        self.assertEqual(limits, [long, mid, short])

    def test_exception_propagates(self) -> None:
        """An exception propagates."""
        self.reg(get_media_upload_limits_for_user=raising(ValueError("x")))
        self.run_fail(self.cat.get_media_upload_limits_for_user("@a:t"), ValueError)


class LimitExceededTests(MediaTestBase):
    def test_all_run_with_copies(self) -> None:
        """Every callback runs, each with its own equal copy of the limit."""
        log: List[Any] = []
        limit = MediaUploadLimit(2048, 3_600_000, "https://x/", True)
        self.reg(on_media_upload_limit_exceeded=returning(None, log, "a"))
        self.reg(on_media_upload_limit_exceeded=returning(None, log, "b"))
        self.assertIsNone(
            self.run_ok(self.cat.on_media_upload_limit_exceeded("@a:t", limit, 110, 3000))
        )
        self.assertEqual([label for label, _ in log], ["a", "b"])
        for _, args in log:
            self.assertEqual(args, ("@a:t", limit, 110, 3000))
            self.assertIsNot(args[1], limit)
        self.assertIsNot(log[0][1][1], log[1][1][1])

    def test_exception_propagates_and_stops(self) -> None:
        """An exception propagates; later callbacks do not run."""
        log: List[Any] = []
        self.reg(on_media_upload_limit_exceeded=raising(SynapseError(418, "tea")))
        self.reg(on_media_upload_limit_exceeded=returning(None, log))
        f = self.run_fail(
            self.cat.on_media_upload_limit_exceeded("@a:t", MediaUploadLimit(1, 1), 0, 2),
            SynapseError,
        )
        self.assertEqual(f.value.code, 418)
        self.assertEqual(log, [])
