"""setup.cfg: the distribution installs no top-level ``synapse`` package (the compat shim
is an import hook, and a real Synapse must stay importable beside it), registers the
pytest plugin, and does not require pytest."""

from __future__ import annotations

import configparser
import os
import re
from typing import Dict, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP_CFG = os.path.join(REPO, "setup.cfg")


def _read_setup_cfg() -> configparser.ConfigParser:
    # interpolation off: setup.cfg values may hold '%' (setuptools reads it the same way)
    parser = configparser.ConfigParser(interpolation=None)
    with open(SETUP_CFG, encoding="utf-8") as f:
        parser.read_file(f)
    return parser


def _list_option(value: str) -> List[str]:
    """A setup.cfg list: one item a line (or comma-separated), '#' comments dropped."""
    items: List[str] = []
    for line in value.splitlines():
        line = line.split("#", 1)[0].strip()
        items.extend(part.strip() for part in line.split(",") if part.strip())
    return items


def _dict_option(value: str) -> Dict[str, str]:
    """A setup.cfg ``name = value`` list (as entry points are written)."""
    out: Dict[str, str] = {}
    for item in _list_option(value):
        name, sep, target = item.partition("=")
        if sep:
            out[name.strip()] = target.strip()
    return out


def _find_options(parser: configparser.ConfigParser) -> Tuple[str, Tuple[str, ...], Tuple[str, ...]]:
    """(where, include, exclude) of [options.packages.find], with setuptools' defaults."""
    section = "options.packages.find"
    where = "."
    include: Tuple[str, ...] = ("*",)
    exclude: Tuple[str, ...] = ()
    if parser.has_section(section):
        if parser.has_option(section, "where"):
            where = _list_option(parser.get(section, "where"))[0]
        if parser.has_option(section, "include"):
            include = tuple(_list_option(parser.get(section, "include")))
        if parser.has_option(section, "exclude"):
            exclude = tuple(_list_option(parser.get(section, "exclude")))
    return where, include, exclude


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


class PackagesTests(SynchronousTestCase):
    """What [options.packages.find] selects."""

    def setUp(self) -> None:
        self.parser = _read_setup_cfg()
        self.where, self.include, self.exclude = _find_options(self.parser)

    def _find(self, root: str) -> List[str]:
        import importlib

        # imported by name: setuptools ships no type stubs here; a venv of Python 3.12+
        # may not have it at all (pip builds the project in an isolated environment)
        try:
            setuptools = importlib.import_module("setuptools")
        except ImportError:
            self.skipTest("setuptools is not installed in this environment")
        find_namespace_packages = setuptools.find_namespace_packages
        return list(find_namespace_packages(where=root, include=self.include, exclude=self.exclude))

    def test_uses_find_namespace(self) -> None:
        """[options] packages is find_namespace:, so find_namespace_packages is what setuptools runs."""
        self.assertEqual(self.parser.get("options", "packages").strip(), "find_namespace:")

    def test_no_synapse_package(self) -> None:
        """No selected package is 'synapse' or under 'synapse.'; synapse_modhost itself is selected."""
        packages = self._find(os.path.join(REPO, self.where))
        self.assertIn("synapse_modhost", packages)
        self.assertIn("synapse_modhost.testing", packages)
        offending = [p for p in packages if p == "synapse" or p.startswith("synapse.")]
        self.assertEqual(offending, [])

    def test_a_synapse_directory_would_not_be_selected(self) -> None:
        """A 'synapse' package beside synapse_modhost (e.g. a checkout of Synapse) is not picked up."""
        root = os.path.abspath(self.mktemp())
        for package in ("synapse", "synapse/module_api", "synapse_modhost", "synapse_modhost/testing"):
            os.makedirs(os.path.join(root, package))
            with open(os.path.join(root, package, "__init__.py"), "w") as f:
                f.write("")
        packages = self._find(root)
        self.assertIn("synapse_modhost.testing", packages)
        self.assertEqual([p for p in packages if p == "synapse" or p.startswith("synapse.")], [])


class EntryPointAndRequirementTests(SynchronousTestCase):
    """[options.entry_points] and install_requires."""

    def setUp(self) -> None:
        self.parser = _read_setup_cfg()

    def test_pytest11_entry_point(self) -> None:
        """The pytest11 entry point registers synapse_modhost.testing.pytest_plugin."""
        entry_points = _dict_option(self.parser.get("options.entry_points", "pytest11"))
        self.assertEqual(list(entry_points.values()), ["synapse_modhost.testing.pytest_plugin"])
        self.assertEqual(list(entry_points), ["synapse_modhost"])

    def test_pytest_plugin_module_exists(self) -> None:
        """The entry point's target is an importable module defining the modhost fixture."""
        import importlib

        target = _dict_option(self.parser.get("options.entry_points", "pytest11"))["synapse_modhost"]
        plugin = importlib.import_module(target)
        self.assertTrue(callable(getattr(plugin, "modhost", None)))

    def test_pytest_not_installed_by_default(self) -> None:
        """pytest is not in install_requires (it is only in the test/dev extras)."""
        requires = [_requirement_name(r) for r in _list_option(self.parser.get("options", "install_requires"))]
        self.assertIn("twisted", requires)
        self.assertNotIn("pytest", requires)
        test_extra = [_requirement_name(r) for r in _list_option(
            self.parser.get("options.extras_require", "test"))]
        self.assertIn("pytest", test_extra)
