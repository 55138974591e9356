"""ModuleApi members served by this area, exercised through a fake host."""

from __future__ import annotations

from typing import Any, List

import attr
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.module_api import (
    AccountDataManager,
    ModuleApi,
    PublicRoomListManager,
    cached,
)
from synapse_modhost.module_api._background import BackgroundLoopingCall
from synapse_modhost.module_api._cache import cached_function_registry
from tests.module_api._fakes import FakeHost, SyncThreadPool, ThreadsMemoryReactor

LOGGER = "synapse_modhost.module_api"


@attr.s(frozen=True, auto_attribs=True)
class _Domained:
    localpart: str
    domain: str


class IdentifierTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.api = ModuleApi(FakeHost(server_name="example.org"), "my.Module")

    def test_get_qualified_user_id_localpart(self) -> None:
        """A bare localpart becomes @localpart:server_name, unvalidated and case kept."""
        self.assertEqual(self.api.get_qualified_user_id("Alice"), "@Alice:example.org")
        self.assertEqual(self.api.get_qualified_user_id("a:b"), "@a:b:example.org")

    def test_get_qualified_user_id_full(self) -> None:
        """A string starting with @ is returned unchanged."""
        self.assertEqual(self.api.get_qualified_user_id("@bob:other"), "@bob:other")

    def test_is_mine_strings(self) -> None:
        """Strings compare the text after the first colon with the server name."""
        self.assertTrue(self.api.is_mine("@a:example.org"))
        self.assertTrue(self.api.is_mine("#room:example.org"))
        self.assertFalse(self.api.is_mine("@a:other.org"))
        self.assertFalse(self.api.is_mine("@a:example.org:8448"))
        self.assertFalse(self.api.is_mine("no-colon"))

    def test_is_mine_objects(self) -> None:
        """Objects compare their domain attribute."""
        self.assertTrue(self.api.is_mine(_Domained("a", "example.org")))
        self.assertFalse(self.api.is_mine(_Domained("a", "elsewhere")))


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.host = FakeHost(
            server_name="hs.test", worker_name=None, custom_template_directory="/tpl"
        )
        self.api = ModuleApi(self.host, "my.Module")

    def test_config_properties(self) -> None:
        """The config-derived properties read the host's config."""
        self.assertEqual(self.api.server_name, "hs.test")
        self.assertEqual(self.api.public_baseurl, "https://hs.test/")
        self.assertEqual(self.api.email_app_name, "Example")
        self.assertIsNone(self.api.worker_name)
        self.assertIsNone(self.api.worker_app)
        self.assertEqual(self.api.custom_template_dir, "/tpl")

    def test_http_client_is_the_hosts(self) -> None:
        """http_client is the host's shared client."""
        self.assertIs(self.api.http_client, self.host.http_client)

    def test_current_time_follows_clock(self) -> None:
        """get_current_time_msec is the reactor time in integer milliseconds."""
        self.host.reactor.advance(12.3456)
        self.assertEqual(self.api.get_current_time_msec(), 12345)
        self.assertIsInstance(self.api.get_current_time_msec(), int)

    def test_managers(self) -> None:
        """The helper managers are Synapse's classes (their behaviour is tested with the
        stand-in, in tests/homeserver)."""
        self.assertIsInstance(self.api.public_room_list_manager, PublicRoomListManager)
        self.assertIsInstance(self.api.account_data_manager, AccountDataManager)

    def test_unknown_member(self) -> None:
        """An unserved member raises AttributeError naming it and the module."""
        with self.assertRaises(AttributeError) as cm:
            self.api.no_such_thing  # noqa: B018
        self.assertIn("no_such_thing", str(cm.exception))
        self.assertIn("my.Module", str(cm.exception))


class BackgroundTaskTests(SynchronousTestCase):
    def test_should_run_background_tasks(self) -> None:
        """should_run_background_tasks mirrors the config."""
        self.assertTrue(ModuleApi(FakeHost(), "m").should_run_background_tasks())
        api = ModuleApi(FakeHost(run_background_tasks=False), "m")
        self.assertFalse(api.should_run_background_tasks())

    def test_looping_call_scheduled_and_tracked(self) -> None:
        """A looping call runs every msec and its handle is given to the host."""
        host = FakeHost()
        api = ModuleApi(host, "m")
        calls: List[int] = []
        self.assertIsNone(api.looping_background_call(lambda: calls.append(1), 1000))
        self.assertEqual(len(host.looping_calls), 1)
        self.assertIsInstance(host.looping_calls[0], BackgroundLoopingCall)
        host.reactor.advance(1)
        host.reactor.advance(1)
        self.assertEqual(calls, [1, 1])
        host.looping_calls[0].stop()
        host.reactor.advance(5)
        self.assertEqual(calls, [1, 1])

    def test_looping_call_not_run_when_forbidden(self) -> None:
        """With background tasks off, nothing is scheduled and Synapse's warning is logged."""
        host = FakeHost(run_background_tasks=False)
        api = ModuleApi(host, "m")
        calls: List[int] = []

        def tick() -> None:
            calls.append(1)

        with self.assertLogs(LOGGER, "WARNING") as logs:
            api.looping_background_call(tick, 10)
        self.assertIn("Not running looping call", logs.output[0])
        self.assertIn("as the configuration forbids it", logs.output[0])
        self.assertIn("tick", logs.output[0])
        self.assertEqual(host.looping_calls, [])
        self.assertEqual(host.reactor.getDelayedCalls(), [])
        host.reactor.advance(1)
        self.assertEqual(calls, [])

    def test_looping_call_run_on_all_instances(self) -> None:
        """run_on_all_instances=True schedules it even with background tasks off."""
        host = FakeHost(run_background_tasks=False)
        api = ModuleApi(host, "m")
        calls: List[int] = []
        api.looping_background_call(lambda: calls.append(1), 10, run_on_all_instances=True)
        host.reactor.advance(0.01)
        self.assertEqual(calls, [1])

    def test_looping_call_desc_defaults_to_name(self) -> None:
        """Failures of a looping call are logged under the function's name and the module."""
        host = FakeHost()
        api = ModuleApi(host, "some.Module")

        async def prune_things() -> None:
            raise RuntimeError("x")

        api.looping_background_call(prune_things, 100)
        with self.assertLogs(LOGGER, "ERROR") as logs:
            host.reactor.advance(0.1)
        self.assertIn("'prune_things'", logs.output[0])
        self.assertIn("some.Module", logs.output[0])

    def test_delayed_background_call(self) -> None:
        """delayed_background_call runs once after msec, even with background tasks off."""
        host = FakeHost(run_background_tasks=False)
        api = ModuleApi(host, "m")
        calls: List[Any] = []
        handle = api.delayed_background_call(500, lambda x: calls.append(x), "arg")
        host.reactor.advance(0.5)
        host.reactor.advance(5)
        self.assertEqual(calls, ["arg"])
        self.assertFalse(handle.active())

    def test_delayed_background_call_cancel(self) -> None:
        """The returned handle cancels the call."""
        host = FakeHost()
        api = ModuleApi(host, "m")
        calls: List[int] = []
        handle = api.delayed_background_call(500, lambda: calls.append(1))
        handle.cancel()
        host.reactor.advance(1)
        self.assertEqual(calls, [])

    def test_sleep(self) -> None:
        """api.sleep waits on the host's clock."""
        host = FakeHost()
        d = defer.ensureDeferred(ModuleApi(host, "m").sleep(3))
        host.reactor.advance(2.9)
        self.assertNoResult(d)
        host.reactor.advance(0.1)
        self.assertIsNone(self.successResultOf(d))

    def test_run_as_background_process(self) -> None:
        """api.run_as_background_process logs failures with the module and returns None."""
        api = ModuleApi(FakeHost(), "the.Module")

        async def fail() -> None:
            raise ValueError("oops")

        async def ok(x: int) -> int:
            return x

        self.assertEqual(self.successResultOf(api.run_as_background_process("ok", ok, 3)), 3)
        with self.assertLogs(LOGGER, "ERROR") as logs:
            d = api.run_as_background_process("failing", fail, bg_start_span=False)
        self.assertIsNone(self.successResultOf(d))
        self.assertIn("'failing'", logs.output[0])
        self.assertIn("the.Module", logs.output[0])

    def test_defer_to_thread(self) -> None:
        """api.defer_to_thread runs on the reactor's pool and returns the result."""
        reactor = ThreadsMemoryReactor()
        api = ModuleApi(FakeHost(reactor), "m")
        d = defer.ensureDeferred(api.defer_to_thread(lambda a: a + 1, 1))
        reactor.advance(0)
        self.assertEqual(self.successResultOf(d), 2)
        self.assertEqual(len(reactor.threadpool.calls), 1)

    def test_defer_to_threadpool(self) -> None:
        """api.defer_to_threadpool runs on the given pool, not the reactor's."""
        reactor = ThreadsMemoryReactor()
        api = ModuleApi(FakeHost(reactor), "m")
        pool = SyncThreadPool()
        d = defer.ensureDeferred(api.defer_to_threadpool(pool, lambda: "done"))
        reactor.advance(0)
        self.assertEqual(self.successResultOf(d), "done")
        self.assertEqual(len(pool.calls), 1)
        self.assertEqual(reactor.threadpool.calls, [])


class _Store:
    def __init__(self) -> None:
        self.calls = 0

    @cached()
    async def get_value(self, key: str) -> str:
        self.calls += 1
        return key.upper()


class CacheRegistrationTests(SynchronousTestCase):
    def test_register_cached_function_records_name(self) -> None:
        """register_cached_function records "<module>.<name>" in the host's registry."""
        host = FakeHost()
        api = ModuleApi(host, "m")
        store = _Store()
        api.register_cached_function(store.get_value)
        registry = cached_function_registry(host)
        self.assertEqual(registry.names(), ["%s.get_value" % (__name__,)])
        self.assertIs(registry.get("%s.get_value" % (__name__,)), store.get_value)

    def test_invalidate_cache(self) -> None:
        """invalidate_cache drops the entry so the next call recomputes."""
        host = FakeHost()
        api = ModuleApi(host, "m")
        store = _Store()
        self.assertEqual(self.successResultOf(store.get_value("a")), "A")
        self.successResultOf(store.get_value("a"))
        self.assertEqual(store.calls, 1)
        self.successResultOf(defer.ensureDeferred(api.invalidate_cache(store.get_value, ("a",))))
        self.successResultOf(store.get_value("a"))
        self.assertEqual(store.calls, 2)

    def test_registry_is_per_host(self) -> None:
        """Two hosts keep separate registries; a host attribute registry is used if present."""
        h1, h2 = FakeHost(), FakeHost()
        self.assertIsNot(cached_function_registry(h1), cached_function_registry(h2))
        self.assertIs(cached_function_registry(h1), cached_function_registry(h1))
