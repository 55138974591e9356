"""The ``synapse.*`` import hook: what it serves, identity with host objects, failures."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import textwrap

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost import compat
from synapse_modhost.compat._table import SERVED
from tests.compat._util import FreshHook


def _temp_dir(case: SynchronousTestCase) -> str:
    """A fresh directory removed after the test (outside the working tree)."""
    directory = tempfile.mkdtemp(prefix="modhost_compat_")
    case.addCleanup(shutil.rmtree, directory, True)
    return directory


class ImportTests(FreshHook, SynchronousTestCase):
    """Importing served modules and names."""

    def test_import_module_api(self) -> None:
        """``import synapse.module_api`` gives a module whose ModuleApi is the host's class."""
        import synapse.module_api

        from synapse_modhost.module_api import ModuleApi

        self.assertIs(synapse.module_api.ModuleApi, ModuleApi)

    def test_from_import(self) -> None:
        """``from synapse.module_api import ...`` yields the host's objects."""
        from synapse.module_api import NOT_SPAM, EventBase, UserID

        from synapse_modhost import events, types

        self.assertIs(UserID, types.UserID)
        self.assertIs(EventBase, events.EventBase)
        self.assertEqual(NOT_SPAM, "NOT_SPAM")

    def test_import_as(self) -> None:
        """``import synapse.api.errors as e`` binds the served module."""
        import synapse.api.errors as errors

        from synapse_modhost.errors import SynapseError

        self.assertIs(errors.SynapseError, SynapseError)
        self.assertEqual(errors.__name__, "synapse.api.errors")

    def test_same_module_object(self) -> None:
        """Importing a served name twice returns the same module object."""
        first = importlib.import_module("synapse.types")
        import synapse.types

        self.assertIs(first, synapse.types)
        self.assertIs(sys.modules["synapse.types"], first)

    def test_submodule_attribute_access(self) -> None:
        """Served submodules are attributes of their parent, as in a running Synapse."""
        import synapse

        self.assertIs(
            synapse.module_api.errors.Codes, importlib.import_module("synapse_modhost._codes").Codes
        )
        self.assertIs(synapse.api.constants, sys.modules["synapse.api.constants"])

    def test_isinstance_across_names(self) -> None:
        """An error raised by host code is caught by a module's ``except`` on the Synapse name."""
        from synapse.module_api.errors import SynapseError as ModuleSynapseError

        from synapse_modhost.errors import NotFoundError

        try:
            raise NotFoundError()
        except ModuleSynapseError as e:
            self.assertEqual(e.code, 404)

    def test_version(self) -> None:
        """``synapse.__version__`` is the Synapse version the host reproduces."""
        import synapse

        self.assertEqual(synapse.__version__, "1.163.2")

    def test_module_api_all(self) -> None:
        """``synapse.module_api.__all__`` is Synapse's list and every name resolves."""
        import synapse.module_api as api

        self.assertEqual(len(api.__all__), 38)
        self.assertIn("MediaUploadLimit", api.__all__)
        for name in api.__all__:
            self.assertIsNotNone(getattr(api, name), name)

    def test_star_import(self) -> None:
        """``from synapse.module_api.errors import *`` binds exactly its ``__all__``."""
        namespace: dict = {}
        exec("from synapse.module_api.errors import *", namespace)
        names = {n for n in namespace if not n.startswith("__")}
        self.assertEqual(
            names,
            {
                "Codes",
                "InvalidClientCredentialsError",
                "RedirectException",
                "SynapseError",
                "ConfigError",
                "InvalidRuleException",
                "RuleNotFoundException",
            },
        )

    def test_not_exported_from_module_api(self) -> None:
        """``RegistrationBehaviour`` and ``Codes`` are not importable from synapse.module_api."""
        with self.assertRaises(ImportError):
            exec("from synapse.module_api import RegistrationBehaviour", {})
        with self.assertRaises(ImportError):
            exec("from synapse.module_api import Codes", {})

    def test_registration_behaviour(self) -> None:
        """``synapse.spam_checker_api.RegistrationBehaviour`` has Synapse's values."""
        from synapse.spam_checker_api import RegistrationBehaviour

        self.assertEqual([m.value for m in RegistrationBehaviour], ["allow", "shadow_ban", "deny"])

    def test_run_as_background_process_accepts_bg_start_span(self) -> None:
        """The module-level ``run_as_background_process`` accepts the old ``bg_start_span``."""
        from synapse.module_api import run_as_background_process

        results = []

        async def work(x: int) -> int:
            results.append(x)
            return x

        d = run_as_background_process("desc", work, 3, bg_start_span=False)
        self.assertEqual(self.successResultOf(d), 3)
        self.assertEqual(results, [3])

    def test_every_served_name_resolves(self) -> None:
        """Every name in the table resolves to an object (catches renamed host objects)."""
        failures = []
        for module_name, served in SERVED.items():
            module = importlib.import_module(module_name)
            for name in served.names:
                try:
                    getattr(module, name)
                except ImportError as e:
                    failures.append("%s.%s: %s" % (module_name, name, e))
        self.assertEqual(failures, [])

    def test_dir_lists_names_and_submodules(self) -> None:
        """``dir()`` of a served package lists its names and served submodules."""
        import synapse.module_api

        listing = dir(synapse.module_api)
        self.assertIn("ModuleApi", listing)
        self.assertIn("errors", listing)
        self.assertIn("callbacks", listing)

    def test_served_names_listing(self) -> None:
        """``served_names()`` maps each served module to its sources (for the docs)."""
        listing = compat.served_names()
        self.assertIn(("UserID", "synapse_modhost.types:UserID"), listing["synapse.types"])


class MissingTests(FreshHook, SynchronousTestCase):
    """What happens for modules and names the host does not serve."""

    def _write_module(self, source: str) -> str:
        """Put a module with ``source`` in a temporary directory on sys.path; its name."""
        directory = _temp_dir(self)
        name = "compat_probe_%s" % (os.path.basename(directory).replace("-", "_"),)
        with open(os.path.join(directory, name + ".py"), "w") as f:
            f.write(textwrap.dedent(source))
        sys.path.insert(0, directory)
        self.addCleanup(sys.modules.pop, name, None)
        return name

    def test_missing_module_names_importer(self) -> None:
        """Importing an unserved module fails naming it, the importer and the docs page."""
        name = self._write_module("import synapse.handlers.foo\n")
        with self.assertRaises(ModuleNotFoundError) as cm:
            importlib.import_module(name)
        message = str(cm.exception)
        self.assertIn("synapse-modhost does not provide 'synapse.handlers.foo'", message)
        self.assertIn("'%s'" % (name,), message)
        self.assertIn("docs/compatibility.md", message)
        self.assertEqual(cm.exception.name, "synapse.handlers")

    def test_missing_top_level_child(self) -> None:
        """``import synapse.foo`` is an ImportError saying synapse.foo is not provided."""
        with self.assertRaises(ImportError) as cm:
            import synapse.foo  # type: ignore[import-not-found]  # noqa: F401
        self.assertIn("'synapse.foo'", str(cm.exception))

    def test_find_spec_probe_returns_none(self) -> None:
        """``importlib.util.find_spec`` on an unserved name returns None instead of raising."""
        self.assertIsNone(importlib.util.find_spec("synapse.handlers"))

    def test_missing_name_warns_and_raises(self) -> None:
        """A missing name logs a warning naming importer and name, then ImportError."""
        name = self._write_module("from synapse.module_api import NoSuchThing\n")
        with self.assertLogs("synapse_modhost.compat", logging.WARNING) as logs:
            with self.assertRaises(ImportError) as cm:
                importlib.import_module(name)
        message = str(cm.exception)
        self.assertIn("synapse-modhost does not provide 'synapse.module_api.NoSuchThing'", message)
        self.assertIn("imported by module '%s'" % (name,), message)
        self.assertIn("docs/compatibility.md", message)
        joined = "\n".join(logs.output)
        self.assertIn("'%s'" % (name,), joined)
        self.assertIn("synapse.module_api.NoSuchThing", joined)

    def test_missing_attribute_access(self) -> None:
        """Attribute access to a missing name raises AttributeError (after a warning)."""
        import synapse.types

        with self.assertLogs("synapse_modhost.compat", logging.WARNING):
            with self.assertRaises(AttributeError):
                synapse.types.NotARealName  # noqa: B018

    def test_missing_name_feature_check(self) -> None:
        """hasattr/getattr with a default on a missing name answer False/the default, not ImportError."""
        import synapse.module_api

        with self.assertLogs("synapse_modhost.compat", logging.WARNING):
            self.assertFalse(hasattr(synapse.module_api, "NoSuchFeature"))
            self.assertEqual(getattr(synapse.module_api, "NoSuchFeature", "absent"), "absent")

    def test_dunder_probe_is_silent(self) -> None:
        """Probing a dunder attribute (``hasattr(m, "__wrapped__")``) raises without logging."""
        import synapse.types

        logger = logging.getLogger("synapse_modhost.compat")
        records = []
        handler = logging.Handler()
        handler.emit = records.append  # type: ignore[method-assign]
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        self.assertFalse(hasattr(synapse.types, "__wrapped__"))
        self.assertEqual(records, [])


class InstallTests(FreshHook, SynchronousTestCase):
    """install() / uninstall() and shadowing of other ``synapse`` packages."""

    def test_install_idempotent(self) -> None:
        """Installing twice leaves exactly one finder, first on sys.meta_path."""
        compat.install()
        compat.install()
        ours = [f for f in sys.meta_path if isinstance(f, compat.CompatFinder)]
        self.assertEqual(len(ours), 1)
        self.assertIs(sys.meta_path[0], ours[0])
        self.assertTrue(compat.is_installed())

    def test_install_moves_finder_to_front(self) -> None:
        """If another finder was put in front, install() moves ours back to position 0."""

        class Other:
            def find_spec(self, *args: object) -> None:
                return None

        sys.meta_path.insert(0, Other())  # type: ignore[arg-type]
        self.assertFalse(compat.is_installed())
        compat.install()
        self.assertTrue(compat.is_installed())
        self.assertEqual(sum(isinstance(f, compat.CompatFinder) for f in sys.meta_path), 1)

    def test_uninstall(self) -> None:
        """After uninstall() the finder and served modules are gone."""
        import synapse.types  # noqa: F401

        compat.uninstall()
        self.assertFalse(any(isinstance(f, compat.CompatFinder) for f in sys.meta_path))
        self.assertNotIn("synapse.types", sys.modules)

    def test_fake_synapse_on_sys_path_is_never_imported(self) -> None:
        """A ``synapse`` package earlier on sys.path (raising on import) is never imported."""
        directory = _temp_dir(self)
        package = os.path.join(directory, "synapse")
        os.makedirs(os.path.join(package, "module_api"))
        with open(os.path.join(package, "__init__.py"), "w") as f:
            f.write("raise RuntimeError('the installed synapse was imported')\n")
        with open(os.path.join(package, "module_api", "__init__.py"), "w") as f:
            f.write("raise RuntimeError('the installed synapse.module_api was imported')\n")
        sys.path.insert(0, directory)

        import synapse
        from synapse.module_api import ModuleApi

        from synapse_modhost.module_api import ModuleApi as HostModuleApi

        self.assertIs(ModuleApi, HostModuleApi)
        self.assertNotIn(directory, str(getattr(synapse, "__file__", "")))
        self.assertEqual(list(synapse.__path__), [])

    def test_install_evicts_foreign_synapse(self) -> None:
        """A ``synapse`` module imported before install() is replaced by the host's."""
        compat.uninstall()
        foreign = type(sys)("synapse")
        foreign.__version__ = "0.0.0-foreign"  # type: ignore[attr-defined]
        sys.modules["synapse"] = foreign
        with self.assertLogs("synapse_modhost.compat", logging.WARNING):
            compat.install()
        import synapse

        self.assertIsNot(synapse, foreign)
        self.assertEqual(synapse.__version__, "1.163.2")


_SYNAPSE_PYTHON = os.environ.get("MODHOST_REAL_SYNAPSE_PYTHON", "/work/synapse-venv/bin/python")


class RealSynapseInstalledTests(SynchronousTestCase):
    """With a real matrix-synapse importable, modules still get the host's modules."""

    if not os.path.exists(_SYNAPSE_PYTHON):
        skip = "no interpreter with matrix-synapse installed (MODHOST_REAL_SYNAPSE_PYTHON)"

    def test_installed_synapse_never_imported(self) -> None:
        """In an env where ``import synapse`` finds matrix-synapse, none of its files load."""
        import subprocess

        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        script = textwrap.dedent(
            """
            import sys
            from synapse_modhost import compat
            compat.install()
            import synapse
            from synapse.module_api import ModuleApi
            from synapse.api.errors import SynapseError
            loaded = [m for m in list(sys.modules.values())
                      if "site-packages/synapse/" in str(getattr(m, "__file__", ""))]
            print(type(synapse).__name__, ModuleApi.__module__.split(".")[0], len(loaded))
            """
        )
        env = dict(os.environ, PYTHONPATH=root)
        out = subprocess.run(
            [_SYNAPSE_PYTHON, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        self.assertEqual(out, ["CompatModule", "synapse_modhost", "0"])


class ImportCostTests(SynchronousTestCase):
    """Importing ``synapse.module_api`` stays light."""

    def test_no_heavy_imports(self) -> None:
        """Importing every ``synapse.module_api`` name pulls in neither treq nor jsonschema."""
        import subprocess

        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        script = textwrap.dedent(
            """
            import sys
            from synapse_modhost import compat
            compat.install()
            from synapse.module_api import *
            import synapse.module_api.errors, synapse.api.errors, synapse.types, synapse.events
            print(sorted(m for m in ("treq", "jsonschema") if m in sys.modules))
            """
        )
        env = dict(os.environ, PYTHONPATH=root)
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        self.assertEqual(out, "[]")
