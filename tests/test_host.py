"""The host on a real reactor: serving module resources, failing to bind, logging startup."""

from __future__ import annotations

import os
import socket
from typing import Any, List

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from synapse_modhost import build_host
from synapse_modhost.host import ListenError, ModuleHost
from tests.helpers.configs import TempModules, config_dict, modules_entry
from tests.helpers.http import get, get_json

DOC_MODULES = os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "real-modules", "harness", "doc_modules"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RealReactorHostTests(TestCase):
    """Start the host on the global reactor bound to 127.0.0.1."""

    def setUp(self) -> None:
        from twisted.internet import reactor

        self.reactor: Any = reactor
        self.mods = TempModules(self.mktemp())
        self.addCleanup(self.mods.cleanup)

    async def _start(self, cfg: Any) -> ModuleHost:
        host = build_host(cfg, self.reactor)
        self.addCleanup(host.stop)
        await host.start()
        return host

    def _url(self, host: ModuleHost, path: str) -> str:
        port = host.listening_ports[0].getHost().port
        return "http://127.0.0.1:%d%s" % (port, path)

    @defer.inlineCallbacks
    def test_serves_sample_module_resource(self) -> Any:
        """A sample module's resource answers over real HTTP on the bound port."""
        cfg = config_dict(modules=[modules_entry("sample_modules.say_hello.SayHello")])
        host = yield defer.ensureDeferred(self._start(cfg))
        code, body = yield get_json(self.reactor, self._url(host, "/_synapse/client/my_super_module/say_hello?name=Ada"))
        self.assertEqual((code, body), (200, {"hello": "Ada"}))

    @defer.inlineCallbacks
    def test_doc_list_spam_checker_unchanged(self) -> Any:
        """The ListSpamChecker as printed in Synapse's docs loads and says a listed user is evil."""
        if not os.path.exists(os.path.join(DOC_MODULES, "list_spam_checker_doc.py")):
            self.skipTest("../shared/real-modules/harness/doc_modules is not beside this checkout")
        import sys

        sys.path.insert(0, DOC_MODULES)
        self.addCleanup(sys.path.remove, DOC_MODULES)
        self.addCleanup(sys.modules.pop, "list_spam_checker_doc", None)
        cfg = config_dict(modules=[modules_entry(
            "list_spam_checker_doc.ListSpamChecker", {"evil_users": ["@mallory:test.local"]})])
        host = yield defer.ensureDeferred(self._start(cfg))
        code, body = yield get_json(
            self.reactor, self._url(host, "/_synapse/client/list_spam_checker/is_evil?user=@mallory:test.local"))
        self.assertEqual((code, body), (200, {"evil": True}))
        code, body = yield get_json(
            self.reactor, self._url(host, "/_synapse/client/list_spam_checker/is_evil?user=@bob:test.local"))
        self.assertEqual((code, body), (200, {"evil": False}))

    @defer.inlineCallbacks
    def test_health(self) -> Any:
        """/health answers 200 OK on every listener."""
        host = yield defer.ensureDeferred(self._start(config_dict()))
        code, _, body = yield defer.ensureDeferred(get(self.reactor, self._url(host, "/health")))
        self.assertEqual((code, body), (200, b"OK"))

    @defer.inlineCallbacks
    def test_port_in_use_frees_other_ports(self) -> Any:
        """A listener whose port is taken fails startup and leaves no other port bound."""
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        first = _free_port()
        cfg = config_dict(listeners=[
            {"port": first, "bind_addresses": ["127.0.0.1"], "type": "http", "resources": []},
            {"port": busy.getsockname()[1], "bind_addresses": ["127.0.0.1"], "type": "http",
             "resources": []},
        ])
        host = build_host(cfg, self.reactor)
        failure = yield self.assertFailure(host.start(), ListenError)
        self.assertIn("port %d" % busy.getsockname()[1], str(failure))
        self.assertIn("listeners.<item 1>", str(failure))
        self.assertIn("Address already in use", str(failure))
        self.assertEqual(host.listening_ports, [])
        probe = socket.socket()
        self.addCleanup(probe.close)
        probe.bind(("127.0.0.1", first))  # raises if the first listener were still bound

    @defer.inlineCallbacks
    def test_startup_is_logged(self) -> Any:
        """Startup logs each module, each callback, each mounted path and each listening address."""
        import logging

        records: List[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        handler = Keep(level=logging.INFO)
        root = logging.getLogger("synapse_modhost")
        old_level = root.level
        root.setLevel(logging.INFO)
        root.addHandler(handler)
        self.addCleanup(root.removeHandler, handler)
        self.addCleanup(root.setLevel, old_level)
        cfg = config_dict(modules=[modules_entry("sample_modules.list_spam_checker.ListSpamChecker")])
        yield defer.ensureDeferred(self._start(cfg))
        text = "\n".join(r.getMessage() for r in records)
        self.assertIn("Loaded module <sample_modules.list_spam_checker.ListSpamChecker", text)
        self.assertIn("sample_modules.list_spam_checker.ListSpamChecker -> spam_checker.check_event_for_spam", text)
        self.assertRegex(text, r"Attaching .*IsEvilResource.* to path b?'?/_synapse/client/list_spam_checker/is_evil")
        self.assertIn("now listening on TCP port", text)


class DatabaseStartupTests(TestCase):
    """The database opens while modules load; a module's early query waits for the schema."""

    def setUp(self) -> None:
        from twisted.internet import reactor

        self.reactor: Any = reactor
        self.mods = TempModules(self.mktemp())
        self.addCleanup(self.mods.cleanup)
        self.mods.write("dbmods", """
            class CountsUsers:
                result = []

                def __init__(self, config, api):
                    d = api.run_db_interaction("count", self.count)
                    d.addCallback(CountsUsers.result.append)

                @staticmethod
                def count(txn):
                    txn.execute("SELECT COUNT(*) FROM users")
                    return txn.fetchone()[0]
        """)

    @defer.inlineCallbacks
    def test_constructor_query_runs_after_migrations(self) -> Any:
        """A run_db_interaction from a constructor, on the threaded database, sees the schema."""
        path = os.path.join(os.path.abspath(self.mktemp()), "hs.db")
        cfg = config_dict(
            database={"name": "sqlite3", "args": {"database": path}},
            modules=[modules_entry("dbmods.CountsUsers")],
        )
        host = build_host(cfg, self.reactor)
        self.addCleanup(host.stop)
        yield host.start()
        import dbmods  # type: ignore[import-not-found]

        yield host.hs.db_pool.runInteraction("sync", lambda txn: None)
        self.assertEqual(dbmods.CountsUsers.result, [0])

    @defer.inlineCallbacks
    def test_unopenable_database(self) -> Any:
        """A database path that cannot be created fails start-up naming the path."""
        blocker = os.path.abspath(self.mktemp())
        with open(blocker, "w") as f:
            f.write("a file, not a directory")
        cfg = config_dict(database={"name": "sqlite3", "args": {"database": os.path.join(blocker, "hs.db")}})
        host = build_host(cfg, self.reactor)
        from synapse_modhost.host import StartupError

        failure = yield self.assertFailure(host.start(), StartupError)
        self.assertIn("cannot open the database", str(failure))
        self.assertIn(blocker, str(failure))
        self.assertEqual(host.listening_ports, [])
