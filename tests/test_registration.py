"""ModuleApi registration through a real host: keyword rules, attribution, web path rules."""

from __future__ import annotations

import logging
from typing import Any, List

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from synapse_modhost import build_host
from synapse_modhost.host import ModuleHost
from synapse_modhost.module_api import ModuleApi
from tests.helpers.configs import config_dict

REGISTER_METHODS = [
    name for name in dir(ModuleApi) if name.startswith("register_") and name.endswith("_callbacks")
]


async def _cb(*args: Any) -> None:
    return None


class RegistrationTests(SynchronousTestCase):
    """What ModuleApi's register_* methods accept and refuse."""

    def setUp(self) -> None:
        self.host: ModuleHost = build_host(config_dict(), MemoryReactorClock())
        self.api = self.host.module_api("mod_a.A")

    def test_every_category_has_a_method(self) -> None:
        """ModuleApi has Synapse 1.163's eleven register_*_callbacks methods."""
        self.assertEqual(
            sorted(REGISTER_METHODS),
            sorted([
                "register_account_data_callbacks",
                "register_account_validity_callbacks",
                "register_add_extra_fields_to_unsigned_client_event_callbacks",
                "register_background_update_controller_callbacks",
                "register_federation_callbacks",
                "register_media_repository_callbacks",
                "register_password_auth_provider_callbacks",
                "register_presence_router_callbacks",
                "register_ratelimit_callbacks",
                "register_spam_checker_callbacks",
                "register_third_party_rules_callbacks",
            ]),
        )

    def test_unknown_name_type_error(self) -> None:
        """Each register_* method refuses an unknown callback name with Synapse's TypeError text."""
        for name in REGISTER_METHODS:
            with self.assertRaises(TypeError) as cm:
                getattr(self.api, name)(not_a_callback=_cb)
            self.assertEqual(
                str(cm.exception),
                "ModuleApi.%s() got an unexpected keyword argument 'not_a_callback'" % name,
            )

    def test_positional_type_error(self) -> None:
        """Each register_* method refuses positional arguments."""
        for name in REGISTER_METHODS:
            with self.assertRaises(TypeError) as cm:
                getattr(self.api, name)(_cb)
            self.assertIn("takes 1 positional argument but 2 were given", str(cm.exception))

    def test_none_ignored_and_repeats_append(self) -> None:
        """None is ignored; registering the same function twice makes it run twice."""
        self.api.register_spam_checker_callbacks(user_may_invite=None)
        self.assertEqual(self.host.callbacks.spam_checker.callbacks("user_may_invite"), [])
        self.api.register_spam_checker_callbacks(user_may_invite=_cb)
        self.api.register_spam_checker_callbacks(user_may_invite=_cb)
        self.assertEqual(len(self.host.callbacks.spam_checker.callbacks("user_may_invite")), 2)

    def test_attributed_to_module(self) -> None:
        """Callbacks are attributed to the module whose ModuleApi registered them."""
        other = self.host.module_api("mod_b.B")
        self.api.register_account_data_callbacks(on_account_data_updated=_cb)
        other.register_account_data_callbacks(on_account_data_updated=_cb)
        refs = self.host.callbacks.account_data.callbacks("on_account_data_updated")
        self.assertEqual([r.module for r in refs], ["mod_a.A", "mod_b.B"])
        self.assertEqual(refs[0].qualname, "tests.test_registration._cb")

    def test_unknown_member_names_module(self) -> None:
        """A ModuleApi member the host does not serve names itself and the module."""
        with self.assertRaises(AttributeError) as cm:
            self.api.no_such_member  # noqa: B018
        self.assertIn("ModuleApi.no_such_member", str(cm.exception))
        self.assertIn("mod_a.A", str(cm.exception))

    def test_properties(self) -> None:
        """server_name, public_baseurl, email_app_name, worker_name and worker_app."""
        self.assertEqual(self.api.server_name, "test.local")
        self.assertEqual(self.api.public_baseurl, "https://test.local/")
        self.assertEqual(self.api.email_app_name, "Matrix")
        self.assertIsNone(self.api.worker_name)
        self.assertIsNone(self.api.worker_app)


class WebResourceRuleTests(SynchronousTestCase):
    """register_web_resource: first registration wins, late registration raises."""

    def setUp(self) -> None:
        self.host = build_host(config_dict(), MemoryReactorClock())

    def test_first_registration_wins(self) -> None:
        """A second registration of a path is ignored with a warning naming both modules."""
        first, second = Resource(), Resource()
        a, b = self.host.module_api("mod_a.A"), self.host.module_api("mod_b.B")
        records: List[logging.LogRecord] = []
        handler = _Keep(records)
        logger = logging.getLogger("synapse_modhost.web_resources")
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        a.register_web_resource("/_synapse/client/x", first)
        b.register_web_resource("/_synapse/client/x", second)
        self.assertIs(self.host.web_resources.consume()["/_synapse/client/x"], first)
        text = "\n".join(r.getMessage() for r in records)
        self.assertIn("Module tried to register a web resource for path /_synapse/client/x", text)
        self.assertIn("mod_a.A", text)
        self.assertIn("mod_b.B", text)

    def test_paths_compared_exactly(self) -> None:
        """'/x' and '/x/' are different registrations."""
        api = self.host.module_api("m.M")
        api.register_web_resource("/_synapse/client/x", Resource())
        api.register_web_resource("/_synapse/client/x/", Resource())
        self.assertEqual(len(self.host.web_resources.consume()), 2)

    def test_late_registration_raises(self) -> None:
        """Registering once the listeners are built raises Synapse's RuntimeError."""
        api = self.host.module_api("m.M")
        self.successResultOf(self.host.start())
        with self.assertRaises(RuntimeError) as cm:
            api.register_web_resource("/_synapse/client/late", Resource())
        self.assertEqual(str(cm.exception), "Tried to register a web resource from a module after startup")

    def test_late_registration_from_delayed_call_is_logged(self) -> None:
        """A registration from a delayed background call fails there and is logged, as on Synapse."""
        reactor = MemoryReactorClock()
        host = build_host(config_dict(), reactor)
        api = host.module_api("m.M")
        api.delayed_background_call(3000, api.register_web_resource, "/_synapse/client/late", Resource())
        self.successResultOf(host.start())
        records: List[logging.LogRecord] = []
        handler = _Keep(records)
        logger = logging.getLogger("synapse_modhost")
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        reactor.advance(3)
        failures = [r for r in records if r.exc_info and isinstance(r.exc_info[1], RuntimeError)]
        self.assertEqual(len(failures), 1)
        self.assertIn("Tried to register a web resource from a module after startup", str(failures[0].exc_info[1]))
        self.assertNotIn("/_synapse/client/late", host.web_resources.consume())

    def test_unreachable_prefix_warned(self) -> None:
        """A path below /_matrix/client is kept (as Synapse does) but reported as unreachable."""
        api = self.host.module_api("m.M")
        api.register_web_resource("/_matrix/client/mine", Resource())
        self.assertEqual(len(self.host.web_resources.problems), 1)
        self.assertIn("never reach the module", self.host.web_resources.problems[0])


class _Keep(logging.Handler):
    def __init__(self, records: List[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
