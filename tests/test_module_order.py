"""Start order through a real host: ``modules:`` in list order, then the legacy sections,
all before any port is bound; and a listener's ``additional_resources`` in both forms."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import Request

from synapse_modhost import build_host
from synapse_modhost.module_api import ModuleApi
from synapse_modhost.testing import HostHarness, default_config
from tests.helpers.configs import config_dict, modules_entry

HERE = __name__

#: (name, config, api, len(reactor.tcpServers)) for every constructor run, in order
CONSTRUCTED: List[Tuple[str, Any, Any, int]] = []
#: the reactor of the host under test, for the constructors to look at
REACTOR: List[MemoryReactorClock] = []


def _record(name: str, config: Any, api: Any) -> None:
    CONSTRUCTED.append((name, config, api, len(REACTOR[0].tcpServers)))


class First:
    """A modules: entry."""

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        _record("First", config, api)


class Second:
    """A modules: entry."""

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        _record("Second", config, api)


class Third:
    """A modules: entry."""

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        _record("Third", config, api)


class LegacySpamChecker:
    """A legacy spam_checker: entry (Synapse passes config= and, when named, api=)."""

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        _record("LegacySpamChecker", config, api)


class LegacyPasswordProvider:
    """A legacy password_providers: entry (Synapse passes config= and account_handler=)."""

    def __init__(self, config: Dict[str, Any], account_handler: ModuleApi) -> None:
        _record("LegacyPasswordProvider", config, account_handler)


class ExtraResource(Resource):
    """An additional_resources class that is a twisted.web Resource."""

    isLeaf = True

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        super().__init__()
        self.greeting = str(config["greeting"])

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"Content-Type", b"text/plain")
        return ("%s from %s" % (self.greeting, request.path.decode())).encode()


class ExtraHandler:
    """An additional_resources class with handle_request (wrapped as an AdditionalResource)."""

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        self.tag = config["tag"]
        self.server_name = api.server_name

    async def handle_request(self, request: Request) -> Optional[Tuple[int, Any]]:
        return 200, {"tag": self.tag, "method": request.method.decode(), "server": self.server_name}


class ModuleOrderTests(SynchronousTestCase):
    """Constructors run as Cls(config, api) in Synapse's order, before listening."""

    def setUp(self) -> None:
        del CONSTRUCTED[:]
        self.reactor = MemoryReactorClock()
        REACTOR[:] = [self.reactor]
        self.addCleanup(REACTOR.clear)
        self.addCleanup(CONSTRUCTED.clear)

    def _start(self, cfg: Dict[str, Any]) -> Any:
        host = build_host(cfg, self.reactor)
        self.assertEqual(CONSTRUCTED, [], "a module was constructed when the host was built")
        self.successResultOf(host.start())
        self.addCleanup(host.stop)
        return host

    def test_modules_then_legacy_before_listening(self) -> None:
        """Three modules: entries in list order, then legacy ones, each with no port bound yet."""
        cfg = config_dict(
            modules=[
                modules_entry(HERE + ".Second", {"n": 2}),
                modules_entry(HERE + ".First", {"n": 1}),
                modules_entry(HERE + ".Third", {"n": 3}),
            ],
            spam_checker=[{"module": HERE + ".LegacySpamChecker", "config": {"n": 4}}],
            password_providers=[{"module": HERE + ".LegacyPasswordProvider", "config": {"n": 5}}],
        )
        host = self._start(cfg)
        self.assertEqual(
            [c[0] for c in CONSTRUCTED],
            ["Second", "First", "Third", "LegacySpamChecker", "LegacyPasswordProvider"],
        )
        self.assertEqual([c[1] for c in CONSTRUCTED], [{"n": n} for n in (2, 1, 3, 4, 5)])
        self.assertEqual([c[3] for c in CONSTRUCTED], [0] * 5, "a port was bound before a constructor ran")
        for name, _, api, _ in CONSTRUCTED:
            self.assertIsInstance(api, ModuleApi, name)
        self.assertEqual(len({id(c[2]) for c in CONSTRUCTED}), 5, "modules share a ModuleApi")
        # the host did bind its listener afterwards
        self.assertEqual([(e[0], e[3]) for e in self.reactor.tcpServers], [(0, "127.0.0.1")])
        self.assertEqual([m.instance.__class__.__name__ for m in host.modules],
                         [c[0] for c in CONSTRUCTED])

    def test_legacy_sections_in_synapse_order(self) -> None:
        """password_providers written before spam_checker in the file is still constructed after it."""
        cfg: Dict[str, Any] = {
            "password_providers": [{"module": HERE + ".LegacyPasswordProvider", "config": {}}],
            "spam_checker": {"module": HERE + ".LegacySpamChecker", "config": {}},
        }
        cfg.update(config_dict(modules=[modules_entry(HERE + ".First")]))
        self._start(cfg)
        self.assertEqual([c[0] for c in CONSTRUCTED], ["First", "LegacySpamChecker", "LegacyPasswordProvider"])
        self.assertEqual([c[3] for c in CONSTRUCTED], [0, 0, 0])


class AdditionalResourcesTests(SynchronousTestCase):
    """A listener's additional_resources: a Resource class and a handle_request class."""

    def setUp(self) -> None:
        config = default_config()
        config["media_store_path"] = self.mktemp()
        config["listeners"][0]["additional_resources"] = {
            "/_custom/resource": {"module": HERE + ".ExtraResource", "config": {"greeting": "hello"}},
            "/_custom/handler": {"module": HERE + ".ExtraHandler", "config": {"tag": "h1"}},
        }
        self.harness = HostHarness(config)
        self.harness.start()
        self.addCleanup(self.harness.stop)

    def test_resource_class_served(self) -> None:
        """A Resource subclass is constructed with its config and served at its path."""
        channel = self.harness.make_request("GET", "/_custom/resource")
        self.assertEqual(channel.code, 200)
        self.assertEqual(channel.text_body, "hello from /_custom/resource")

    def test_handler_served_as_json(self) -> None:
        """A handle_request handler's (code, obj) is sent as JSON, for every method."""
        channel = self.harness.make_request("GET", "/_custom/handler")
        self.assertEqual(channel.code, 200)
        self.assertEqual(channel.json_body, {"tag": "h1", "method": "GET", "server": "test.local"})
        channel = self.harness.make_request("POST", "/_custom/handler", {})
        self.assertEqual((channel.code, json.loads(channel.text_body)["method"]), (200, "POST"))

    def test_other_paths_unaffected(self) -> None:
        """The client resources and /health still answer beside the additional resources."""
        self.assertEqual(self.harness.make_request("GET", "/health").text_body, "OK")
        self.assertEqual(self.harness.make_request("GET", "/_matrix/client/versions").code, 200)
