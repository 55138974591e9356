"""Bad inputs at startup: each gives one clear message and exit status 1, nothing bound."""

from __future__ import annotations

import io
import os
from typing import Any, List, Optional, Tuple

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.cli import run
from tests.helpers.configs import TempModules, config_dict, modules_entry

MODULES = """
from synapse.module_api import ModuleApi, NOT_SPAM
from twisted.web.resource import Resource


class Fine:
    def __init__(self, config, api):
        api.register_web_resource("/_synapse/client/fine", Resource())


class Raises:
    def __init__(self, config, api):
        raise ValueError("the module is unhappy")


class UnknownCallback:
    def __init__(self, config, api):
        api.register_spam_checker_callbacks(foo=self.foo)

    async def foo(self):
        return NOT_SPAM


class Positional:
    def __init__(self, config, api):
        api.register_spam_checker_callbacks(self.check)

    async def check(self, event):
        return NOT_SPAM


class HalfPresenceRouter:
    def __init__(self, config, api):
        api.register_presence_router_callbacks(get_users_for_states=self.f)

    async def f(self, states):
        return {}


class BadAuthFields:
    def __init__(self, config, api):
        api.register_password_auth_provider_callbacks(
            auth_checkers={("org.example.login", (1,)): self.check}
        )

    async def check(self, username, login_type, login_dict):
        return None


class ParseConfigError:
    @staticmethod
    def parse_config(config):
        from synapse.module_api.errors import ConfigError

        raise ConfigError("bad value for foo", ("foo", "bar"))

    def __init__(self, config, api):
        pass


class ParseOther:
    @staticmethod
    def parse_config(config):
        raise ValueError("not a ConfigError")

    def __init__(self, config, api):
        pass


class ParseSchema:
    @staticmethod
    def parse_config(config):
        import jsonschema

        jsonschema.validate(config, {"type": "object", "properties": {
            "limits": {"type": "array", "items": {"type": "integer"}}}})
        return config

    def __init__(self, config, api):
        pass


class Twice:
    def __init__(self, config, api):
        api.register_web_resource("/_synapse/client/fine", Resource())


class NotAResource:
    def __init__(self, config, api):
        pass
"""


class StartupErrorTests(SynchronousTestCase):
    """Every startup failure prints one message and exits 1 without leaving a port bound."""

    def setUp(self) -> None:
        self.mods = TempModules(self.mktemp())
        self.mods.write("startmods", MODULES)
        self.addCleanup(self.mods.cleanup)

    def start(self, config: Any, *extra: str, name: str = "homeserver.yaml") -> Tuple[int, str, MemoryReactorClock]:
        path = config if isinstance(config, str) and config.endswith(".yaml") else self.mods.config_file(config, name)
        reactor = MemoryReactorClock()
        err = io.StringIO()
        code = run(["-c", path, *extra], reactor=reactor, err=err, out=io.StringIO(), setup_logs=False)
        return code, err.getvalue(), reactor

    def assertFails(self, config: Any, lines: List[str], *extra: str) -> str:
        code, text, reactor = self.start(config, *extra)
        self.assertEqual(code, 1, text)
        for line in lines:
            self.assertIn(line, text)
        self.assertNotIn("Traceback", text)
        self.assertEqual(_bound_ports(reactor), [], "a port was left bound")
        return text

    def modules(self, *entries: Any, **overrides: Any) -> Any:
        return config_dict(modules=list(entries), **overrides)

    # -- config file

    def test_unreadable_file(self) -> None:
        """A config path that cannot be read names the file and the OS error."""
        text = self.assertFails(os.path.join(self.mods.directory, "missing.yaml"), ["missing.yaml"])
        self.assertIn("No such file", text)

    def test_invalid_yaml(self) -> None:
        """Invalid YAML names the file and where the YAML breaks."""
        self.assertFails("server_name: [unclosed\n", ["homeserver.yaml", "line"])

    def test_top_level_not_mapping(self) -> None:
        """A YAML list at top level is refused."""
        self.assertFails("- just\n- a list\n", ["Error in configuration", "mapping"])

    def test_missing_server_name(self) -> None:
        """A config without server_name says so."""
        cfg = config_dict()
        del cfg["server_name"]
        self.assertFails(cfg, ["Error in configuration", "server_name"])

    def test_port_wrong_type(self) -> None:
        """A listener port that is not an integer is reported at its YAML path."""
        cfg = config_dict(listeners=[{"port": "eighty", "type": "http", "resources": []}])
        self.assertFails(cfg, ["Error in configuration at 'listeners.<item 0>.port':"])

    def test_listeners_not_a_list(self) -> None:
        """listeners must be a list."""
        self.assertFails(config_dict(listeners={"port": 8008}), ["Error in configuration at 'listeners'"])

    def test_modules_not_a_list(self) -> None:
        """modules must be a list."""
        self.assertFails(config_dict(modules={"module": "x.Y"}), ["Error in configuration at 'modules'"])

    def test_module_entry_not_mapping(self) -> None:
        """A modules item that is not a mapping gives Synapse's message and path."""
        self.assertFails(
            self.modules("startmods.Fine"),
            ["Error in configuration at 'modules.<item 0>':\n  expected a mapping"],
        )

    def test_module_key_missing(self) -> None:
        """A modules item without 'module' gives Synapse's message and path."""
        self.assertFails(
            self.modules({"config": {}}),
            ["Error in configuration at 'modules.<item 0>.module':\n  expected a string"],
        )

    def test_module_path_without_dot(self) -> None:
        """A dotted path without a dot is a clear error (Synapse crashes with a ValueError)."""
        self.assertFails(
            self.modules(modules_entry("startmods")),
            ["Error in configuration at 'modules.<item 0>.module':", "package.module.ClassName"],
        )

    def test_module_not_importable(self) -> None:
        """An unimportable module names the entry and the import error."""
        self.assertFails(
            self.modules(modules_entry("startmods.Fine"), modules_entry("no_such_pkg.Mod")),
            [
                "Error in configuration at 'modules.<item 1>.module':",
                "Failed to import module 'no_such_pkg.Mod'",
                "ModuleNotFoundError: No module named 'no_such_pkg'",
            ],
        )

    def test_module_class_missing(self) -> None:
        """A missing class names the Python module and the attribute."""
        self.assertFails(
            self.modules(modules_entry("startmods.NoSuchClass")),
            ["Error in configuration at 'modules.<item 0>.module':", "'startmods' has no attribute 'NoSuchClass'"],
        )

    def test_parse_config_config_error(self) -> None:
        """A ConfigError from parse_config is printed at the nested path, as Synapse does."""
        self.assertFails(
            self.modules(modules_entry("startmods.Fine"), modules_entry("startmods.ParseConfigError", {"foo": 1})),
            [
                "Error in configuration at 'modules.<item 1>.config.foo.bar':\n"
                "  Failed to parse config for module 'startmods.ParseConfigError':\n"
                "    bad value for foo"
            ],
        )

    def test_parse_config_other_error(self) -> None:
        """Any other exception from parse_config is wrapped with its text as the cause."""
        self.assertFails(
            self.modules(modules_entry("startmods.ParseOther")),
            [
                "Error in configuration at 'modules.<item 0>.config':\n"
                "  Failed to parse config for module 'startmods.ParseOther':\n"
                "    not a ConfigError"
            ],
        )

    def test_parse_config_jsonschema_error(self) -> None:
        """A jsonschema ValidationError points at the offending config element."""
        self.assertFails(
            self.modules(modules_entry("startmods.ParseSchema", {"limits": [1, "two"]})),
            ["Error in configuration at 'modules.<item 0>.config.limits.<item 1>':", "'two' is not of type 'integer'"],
        )

    def test_constructor_raises(self) -> None:
        """A constructor that raises names the module, the entry and the cause."""
        self.assertFails(
            self.modules(modules_entry("startmods.Fine"), modules_entry("startmods.Raises")),
            [
                "Error during startup: module 'startmods.Raises' (modules.<item 1>) failed in its constructor:",
                "ValueError: the module is unhappy",
            ],
        )

    def test_unknown_callback_name(self) -> None:
        """An unknown callback name fails with Synapse's TypeError text."""
        self.assertFails(
            self.modules(modules_entry("startmods.UnknownCallback")),
            [
                "module 'startmods.UnknownCallback'",
                "TypeError: ModuleApi.register_spam_checker_callbacks() got an unexpected keyword argument 'foo'",
            ],
        )

    def test_positional_registration(self) -> None:
        """Registering callbacks positionally fails with Synapse's TypeError text."""
        self.assertFails(
            self.modules(modules_entry("startmods.Positional")),
            ["TypeError: ModuleApi.register_spam_checker_callbacks() takes 1 positional argument but 2 were given"],
        )

    def test_presence_router_half_pair(self) -> None:
        """Registering one of the paired presence-router callbacks fails at startup."""
        self.assertFails(
            self.modules(modules_entry("startmods.HalfPresenceRouter")),
            ["RuntimeError: PresenceRouter modules must register neither or both of the paired callbacks"],
        )

    def test_auth_checker_field_not_string(self) -> None:
        """A login type whose field names are not strings fails at startup."""
        self.assertFails(
            self.modules(modules_entry("startmods.BadAuthFields")),
            ["RuntimeError: A module tried to register support for login type: org.example.login"],
        )

    def test_duplicate_path_strict(self) -> None:
        """With --strict, a web path registered twice stops startup, naming both modules."""
        self.assertFails(
            self.modules(modules_entry("startmods.Fine"), modules_entry("startmods.Twice")),
            ["--strict", "/_synapse/client/fine", "startmods.Fine", "startmods.Twice"],
            "--strict",
        )

    def test_additional_resource_unknown_interface(self) -> None:
        """An additional_resources class that is neither a Resource nor a handler is refused."""
        cfg = config_dict()
        cfg["listeners"][0] = dict(cfg["listeners"][0], additional_resources={
            "/_custom": {"module": "startmods.NotAResource", "config": {}}})
        self.assertFails(cfg, ["additional_resource startmods.NotAResource does not implement a known interface"])

    def test_additional_resource_not_importable(self) -> None:
        """An unimportable additional_resources module names its listener path."""
        cfg = config_dict()
        cfg["listeners"][0] = dict(cfg["listeners"][0], additional_resources={
            "/_custom": {"module": "nowhere_pkg.Handler"}})
        self.assertFails(cfg, ["additional_resources", "Failed to import module 'nowhere_pkg.Handler'"])

    def test_media_upload_limits_invalid(self) -> None:
        """An invalid media_upload_limits entry gives Synapse's message and path."""
        self.assertFails(
            config_dict(media_upload_limits=[{"time_period": "1h", "max_size": "lots"}]),
            ["Error in configuration at 'media_upload_limits':", "Could not validate media_upload_limits entry"],
        )

    def test_unsupported_database(self) -> None:
        """A PostgreSQL database section says it is not supported yet."""
        self.assertFails(
            config_dict(database={"name": "psycopg2", "args": {}}),
            ["Error in configuration at 'database.name':"],
        )

    def test_log_config_unreadable(self) -> None:
        """A log_config path that cannot be read is reported at 'log_config'."""
        cfg = self.mods.config_file(config_dict(log_config=self.mods.directory + "/nope.yaml"))
        reactor = MemoryReactorClock()
        err = io.StringIO()
        code = run(["-c", cfg], reactor=reactor, err=err, out=io.StringIO(), setup_logs=True)
        self.assertEqual(code, 1)
        self.assertIn("Error in configuration at 'log_config':", err.getvalue())

    def test_verbose_adds_traceback(self) -> None:
        """--verbose prints the traceback after the message."""
        code, text, _ = self.start(self.modules(modules_entry("startmods.Raises")), "--verbose")
        self.assertEqual(code, 1)
        self.assertIn("Traceback", text)
        self.assertIn("the module is unhappy", text)

    def test_verbose_import_error_shows_the_modules_own_line(self) -> None:
        """--verbose on a module that fails to import shows the module's file and failing line."""
        self.mods.write("brokenimport", "import no_such_dependency_for_modhost_tests\n\nclass M:\n    pass\n")
        code, text, _ = self.start(self.modules(modules_entry("brokenimport.M")), "--verbose")
        self.assertEqual(code, 1)
        self.assertIn("Failed to import module 'brokenimport.M'", text)
        self.assertIn("brokenimport.py\", line 1, in <module>", text)
        self.assertIn("import no_such_dependency_for_modhost_tests", text)

    def test_traceback_logged_at_debug(self) -> None:
        """Without --verbose the message stays one line and the traceback is logged at DEBUG."""
        with self.assertLogs("synapse_modhost.cli", "DEBUG") as logs:
            code, text, _ = self.start(self.modules(modules_entry("startmods.Raises")))
        self.assertEqual(code, 1)
        self.assertNotIn("Traceback", text)
        (record,) = [r for r in logs.records if r.getMessage() == "Start-up failed"]
        self.assertIsNotNone(record.exc_info)
        assert record.exc_info is not None
        cause = record.exc_info[1].__cause__ if record.exc_info[1] is not None else None
        self.assertIsInstance(cause, ValueError)
        self.assertEqual(str(cause), "the module is unhappy")

    def test_no_config_path(self) -> None:
        """Running without -c says -c is required."""
        err = io.StringIO()
        self.assertEqual(run([], reactor=MemoryReactorClock(), err=err, setup_logs=False), 1)
        self.assertIn("-c CONFIG_FILE is required", err.getvalue())



def _bound_ports(reactor: MemoryReactorClock) -> List[Optional[int]]:
    """Ports the host asked the memory reactor to listen on (startup fails before binding)."""
    return [entry[0] for entry in reactor.tcpServers]
