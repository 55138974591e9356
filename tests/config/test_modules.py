"""``modules:`` and the legacy module sections."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.config import LegacyModuleEntry
from tests.config._support import ConfigAssertions, minimal, parse


class ModulesTests(SynchronousTestCase, ConfigAssertions):
    """The ``modules:`` list (LOADING.md §1)."""

    def test_entries_in_order(self) -> None:
        """Entries keep their order, index and path; falsy config becomes {}."""
        modules = parse(
            modules=[
                {"module": "a.b.C", "config": {"x": 1}},
                {"module": "d.E"},
                {"module": "f.G", "config": None},
                {"module": "h.I", "config": []},
            ]
        ).modules
        self.assertEqual([m.module for m in modules], ["a.b.C", "d.E", "f.G", "h.I"])
        self.assertEqual([m.config for m in modules], [{"x": 1}, {}, {}, {}])
        self.assertEqual(modules[1].config_path, ("modules", "<item 1>"))

    def test_missing_or_null(self) -> None:
        """modules: null means no modules."""
        self.assertEqual(parse(modules=None).modules, ())

    def test_not_a_list(self) -> None:
        """modules must be a list."""
        self.assertConfigError(minimal(modules={"module": "a.B"}), ("modules",), "expected a list")

    def test_item_not_mapping(self) -> None:
        """A non-mapping item gives Synapse's message at the item."""
        self.assertConfigError(
            minimal(modules=[{"module": "a.B"}, "c.D"]),
            ("modules", "<item 1>"),
            "expected a mapping",
        )

    def test_module_missing(self) -> None:
        """An item without module gives Synapse's message at module."""
        self.assertConfigError(
            minimal(modules=[{"config": {}}]),
            ("modules", "<item 0>", "module"),
            "expected a string",
        )

    def test_module_not_string(self) -> None:
        """A non-string module is refused the same way."""
        self.assertConfigError(
            minimal(modules=[{"module": ["a.B"]}]),
            ("modules", "<item 0>", "module"),
            "expected a string",
        )

    def test_module_without_dot(self) -> None:
        """A path with no dot is a clear ConfigError (Synapse crashes with a ValueError)."""
        self.assertConfigError(
            minimal(modules=[{"module": "labmod"}]),
            ("modules", "<item 0>", "module"),
            "module path 'labmod' must be of the form package.module.ClassName",
        )

    def test_module_trailing_dot(self) -> None:
        """A path ending in a dot names no class and is refused."""
        self.assertConfigError(
            minimal(modules=[{"module": "labmod."}]),
            ("modules", "<item 0>", "module"),
            "module path 'labmod.' must be of the form package.module.ClassName",
        )


class LegacyModulesTests(SynchronousTestCase, ConfigAssertions):
    """Legacy sections are checked and listed in Synapse's construction order."""

    def test_order_and_paths(self) -> None:
        """Spam checkers, third-party rules, presence router, then password providers."""
        config = parse(
            password_providers=[{"module": "p.P", "config": {"enabled": True}}],
            presence={"presence_router": {"module": "r.R"}},
            third_party_event_rules={"module": "t.T", "config": {"a": 1}},
            spam_checker=[{"module": "s.S"}, {"module": "s.S2", "config": {"b": 2}}],
        )
        self.assertEqual(
            config.legacy_modules,
            (
                LegacyModuleEntry("spam_checker", "s.S", {}, ("spam_checker", "<item 0>")),
                LegacyModuleEntry("spam_checker", "s.S2", {"b": 2}, ("spam_checker", "<item 1>")),
                LegacyModuleEntry(
                    "third_party_event_rules", "t.T", {"a": 1}, ("third_party_event_rules",)
                ),
                LegacyModuleEntry("presence_router", "r.R", {}, ("presence", "presence_router")),
                LegacyModuleEntry(
                    "password_provider",
                    "p.P",
                    {"enabled": True},
                    ("password_providers", "<item 0>"),
                ),
            ),
        )
        self.assertEqual(config.unused_keys, ())

    def test_single_spam_checker_mapping(self) -> None:
        """The old single-mapping spam_checker form is accepted."""
        (entry,) = parse(spam_checker={"module": "s.S"}).legacy_modules
        self.assertEqual(entry.config_path, ("spam_checker",))

    def test_spam_checker_bad_syntax(self) -> None:
        """A spam_checker that is neither list nor mapping gives Synapse's message."""
        self.assertConfigError(
            minimal(spam_checker="s.S"), ("spam_checker",), "spam_checker syntax is incorrect"
        )

    def test_spam_checker_item_not_mapping(self) -> None:
        """A spam_checker item must be a mapping."""
        self.assertConfigError(
            minimal(spam_checker=["s.S"]), ("spam_checker", "<item 0>"), "expected a mapping"
        )

    def test_third_party_rules_not_mapping(self) -> None:
        """third_party_event_rules must be a mapping."""
        self.assertConfigError(
            minimal(third_party_event_rules="t.T"),
            ("third_party_event_rules",),
            "expected a mapping",
        )

    def test_presence_router_module(self) -> None:
        """presence.presence_router needs a dotted module string."""
        self.assertConfigError(
            minimal(presence={"presence_router": {"module": 3}}),
            ("presence", "presence_router", "module"),
            "expected a string",
        )

    def test_password_provider_needs_config(self) -> None:
        """password_providers items need a config key, as Synapse indexes it."""
        self.assertConfigError(
            minimal(password_providers=[{"module": "p.P"}]),
            ("password_providers", "<item 0>", "config"),
            "missing the 'config' key",
        )

    def test_password_providers_not_list(self) -> None:
        """password_providers must be a list."""
        self.assertConfigError(
            minimal(password_providers={"module": "p.P"}),
            ("password_providers",),
            "expected a list",
        )
