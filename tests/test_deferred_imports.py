"""A deferred import creates the module at once and runs its body on first use, once."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import os
import sys
import threading
from importlib.machinery import SourceFileLoader
from types import ModuleType
from typing import Any, Dict, List

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from synapse_modhost import _deferred_imports
from synapse_modhost._deferred_imports import (
    UNUSED_AT_STARTUP,
    DeferredModule,
    DeferringFinder,
    defer_imports,
)
from tests.helpers.configs import write_say_hello_config
from tests.helpers.fresh_process import run_cli_until_listening

_serial = itertools.count()

#: a module body that records each run of it in ``deferred_runs.runs``
BODY = '''"""The module's own docstring."""
import sys
import deferred_runs
deferred_runs.runs.append(__name__)
VALUE = 42
SEEN_WHILE_RUNNING = getattr(sys.modules[__name__], "VALUE", None)
try:
    sys.modules[__name__].LATER
except AttributeError:
    LATER_WHILE_RUNNING = "missing"
LATER = "defined"
'''


class _Modules(SynchronousTestCase):
    """Writes uniquely named modules to a directory on ``sys.path`` and forgets them after."""

    def setUp(self) -> None:
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        sys.path.insert(0, self.directory)
        self.addCleanup(sys.path.remove, self.directory)
        self.runs: List[str] = []
        runs_module = ModuleType("deferred_runs")
        runs_module.runs = self.runs  # type: ignore[attr-defined]
        runs_module.events = {}  # type: ignore[attr-defined]
        self.patch(sys, "modules", dict(sys.modules, deferred_runs=runs_module))
        self.events: Dict[str, threading.Event] = runs_module.events  # type: ignore[attr-defined]
        importlib.invalidate_caches()

    def write(self, text: str = BODY, package: bool = False) -> str:
        """A new module (or package) holding ``text``; its name."""
        name = "deferred_mod_%d" % next(_serial)
        if package:
            os.makedirs(os.path.join(self.directory, name))
            path = os.path.join(self.directory, name, "__init__.py")
        else:
            path = os.path.join(self.directory, name + ".py")
        with open(path, "w") as f:
            f.write(text)
        importlib.invalidate_caches()
        return name

    def defer(self, *names: str) -> DeferringFinder:
        finder = defer_imports(names)
        assert finder is not None
        self.addCleanup(finder.remove)
        return finder


class DeferredImportTests(_Modules):
    """What an import of a deferred module does, and what runs its body."""

    def test_import_creates_the_module_without_running_it(self) -> None:
        """The import puts a module with the real name, file, spec and loader in sys.modules
        and runs none of its body."""
        name = self.write()
        self.defer(name)
        module = importlib.import_module(name)
        self.assertEqual(self.runs, [])
        self.assertIs(type(module), DeferredModule)
        self.assertIs(sys.modules[name], module)
        self.assertEqual(module.__name__, name)
        self.assertEqual(module.__file__, os.path.join(self.directory, name + ".py"))
        self.assertEqual(module.__spec__.name, name)
        self.assertIsInstance(module.__loader__, SourceFileLoader)
        self.assertIs(module.__spec__.loader, module.__loader__)
        self.assertEqual(repr(module), "<module %r from %r>" % (name, module.__file__))

    def test_first_attribute_runs_the_body_once(self) -> None:
        """Reading a name the module defines runs the body, once, and the module becomes
        a plain module."""
        name = self.write()
        self.defer(name)
        module = importlib.import_module(name)
        self.assertEqual(module.VALUE, 42)
        self.assertEqual(module.LATER, "defined")
        self.assertEqual(self.runs, [name])
        self.assertIs(type(module), ModuleType)

    def test_importing_again_runs_nothing(self) -> None:
        """A second import statement (which reads __spec__) leaves the body unrun."""
        name = self.write()
        self.defer(name)
        first = importlib.import_module(name)
        exec("import %s" % name, {})
        self.assertIs(__import__(name), first)
        self.assertEqual(self.runs, [])

    def test_from_import_of_a_name_runs_the_body(self) -> None:
        """``from module import NAME`` runs the body and gets the name."""
        name = self.write()
        self.defer(name)
        namespace: Dict[str, Any] = {}
        exec("from %s import VALUE" % name, namespace)
        self.assertEqual(namespace["VALUE"], 42)
        self.assertEqual(self.runs, [name])

    def test_submodule_from_its_package_runs_nothing(self) -> None:
        """``from package import module`` binds the deferred module and runs nothing; the
        package gets it as its attribute."""
        package = self.write("", package=True)
        with open(os.path.join(self.directory, package, "sub.py"), "w") as f:
            f.write(BODY)
        importlib.invalidate_caches()
        self.defer(package + ".sub")
        namespace: Dict[str, Any] = {}
        exec("from %s import sub" % package, namespace)
        self.assertIs(type(namespace["sub"]), DeferredModule)
        self.assertIs(sys.modules[package].sub, namespace["sub"])  # type: ignore[attr-defined]
        self.assertEqual(self.runs, [])
        self.assertEqual(namespace["sub"].VALUE, 42)
        self.assertEqual(self.runs, [package + ".sub"])

    def test_doc_dir_and_vars_run_the_body(self) -> None:
        """``__doc__``, ``dir()`` and ``vars()`` each see the module as run."""
        doc, listed, namespace = self.write(), self.write(), self.write()
        self.defer(doc, listed, namespace)
        self.assertEqual(importlib.import_module(doc).__doc__, "The module's own docstring.")
        self.assertIn("VALUE", dir(importlib.import_module(listed)))
        self.assertEqual(vars(importlib.import_module(namespace))["VALUE"], 42)
        self.assertEqual(self.runs, [doc, listed, namespace])

    def test_setting_a_name_runs_the_body_first(self) -> None:
        """A name set on the module before its first read is not overwritten by the body."""
        name = self.write()
        self.defer(name)
        module = importlib.import_module(name)
        module.VALUE = 7
        self.assertEqual(self.runs, [name])
        self.assertEqual(module.VALUE, 7)
        del module.LATER
        self.assertFalse(hasattr(module, "LATER"))

    def test_body_reading_its_own_module_sees_what_is_defined_so_far(self) -> None:
        """While the body runs, its own module shows the names defined so far and raises
        AttributeError for the rest, as any module being imported does."""
        name = self.write()
        self.defer(name)
        module = importlib.import_module(name)
        self.assertEqual(module.SEEN_WHILE_RUNNING, 42)
        self.assertEqual(module.LATER_WHILE_RUNNING, "missing")
        self.assertEqual(self.runs, [name])

    def test_unknown_name_raises_the_usual_attribute_error(self) -> None:
        """A name the module does not define raises AttributeError with the usual text."""
        name = self.write()
        self.defer(name)
        module = importlib.import_module(name)
        with self.assertRaises(AttributeError) as caught:
            module.nothing_here  # noqa: B018
        self.assertEqual(str(caught.exception), "module %r has no attribute 'nothing_here'" % name)
        self.assertEqual(self.runs, [name])

    def test_from_import_never_mistakes_it_for_a_package(self) -> None:
        """The ``__path__`` lookup of every from-import raises AttributeError and runs nothing."""
        name = self.write()
        self.defer(name)
        module = importlib.import_module(name)
        self.assertFalse(hasattr(module, "__path__"))
        self.assertEqual(self.runs, [])

    def test_failing_body_raises_where_used_and_runs_again_next_time(self) -> None:
        """A body that raises raises at the first use; the module stays as the import left
        it (in sys.modules, deferred), and the next use runs the (fixed) body."""
        name = self.write("import deferred_runs\ndeferred_runs.runs.append(1)\nPARTIAL = 1\n1 / 0\n")
        self.defer(name)
        module = importlib.import_module(name)
        with self.assertRaises(ZeroDivisionError):
            module.anything  # noqa: B018
        self.assertIs(sys.modules[name], module)
        self.assertIs(type(module), DeferredModule)
        self.assertNotIn("PARTIAL", _deferred_imports._namespace(module))
        with open(os.path.join(self.directory, name + ".py"), "w") as f:
            f.write("import deferred_runs\ndeferred_runs.runs.append(2)\nVALUE = 'fixed'\n")
        self.assertEqual(module.VALUE, "fixed")
        self.assertIs(importlib.import_module(name), module)
        self.assertEqual(self.runs, [1, 2])

    def test_loader_of_a_spec_found_without_importing_answers_as_the_real_one(self) -> None:
        """``importlib.util.find_spec`` of a listed module gives a loader that answers
        ``get_source`` and ``get_filename`` as the module's own loader does."""
        name = self.write()
        self.defer(name)
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.loader is not None
        self.assertEqual(spec.loader.get_source(name), BODY)  # type: ignore[attr-defined]
        self.assertEqual(spec.loader.get_filename(name), spec.origin)  # type: ignore[attr-defined]

    def test_concurrent_first_use_runs_the_body_once(self) -> None:
        """A thread reading the module while another runs its body waits for the whole
        body (even for a name already defined); the body runs once."""
        name = self.write(
            "import deferred_runs\n"
            "EARLY = 'defined before the pause'\n"
            "deferred_runs.events['entered'].set()\n"
            "deferred_runs.events['release'].wait(30)\n"
            "deferred_runs.runs.append(__name__)\n"
            "VALUE = 42\n"
        )
        self.events["entered"] = threading.Event()
        self.events["release"] = threading.Event()
        self.defer(name)
        module = importlib.import_module(name)
        seen: List[Any] = []

        def read() -> None:
            try:
                # a name the body defines before the pause, then one it defines after
                seen.append((module.EARLY, module.VALUE))
            except BaseException as e:  # pragma: no cover - the failure being tested for
                seen.append(e)

        first = threading.Thread(target=read)
        first.start()
        self.assertTrue(self.events["entered"].wait(30))
        second = threading.Thread(target=read)
        second.start()
        self.events["release"].set()
        first.join(30)
        second.join(30)
        self.assertEqual(seen, [("defined before the pause", 42)] * 2)
        self.assertEqual(self.runs, [name])


class FinderTests(_Modules):
    """Which modules the finder defers, and when it goes."""

    def test_package_is_imported_as_usual(self) -> None:
        """A package runs its ``__init__`` at import: its submodules may need it."""
        name = self.write(BODY, package=True)
        self.defer(name)
        module = importlib.import_module(name)
        self.assertIs(type(module), ModuleType)
        self.assertEqual(self.runs, [name])

    def test_imported_module_is_left_alone(self) -> None:
        """A name imported already is not deferred: no finder is installed for it."""
        name = self.write()
        module = importlib.import_module(name)
        self.assertIsNone(defer_imports([name]))
        self.assertIs(importlib.import_module(name), module)
        self.assertEqual(self.runs, [name])

    def test_unlisted_module_is_imported_as_usual(self) -> None:
        """A module not listed runs at import, with the finder installed."""
        listed, other = self.write(), self.write()
        self.defer(listed)
        self.assertIs(type(importlib.import_module(other)), ModuleType)
        self.assertEqual(self.runs, [other])

    def test_finder_leaves_once_every_name_is_imported(self) -> None:
        """The finder removes itself from sys.meta_path after its last name's import."""
        first, second = self.write(), self.write()
        finder = self.defer(first, second)
        importlib.import_module(first)
        self.assertIn(finder, sys.meta_path)
        importlib.import_module(second)
        self.assertNotIn(finder, sys.meta_path)

    def test_top_level_module_from_elsewhere_is_imported_as_usual(self) -> None:
        """With a top-level directory given, a module without a dot found elsewhere (one
        shadowing a standard module, say) runs at import; one found there is deferred."""
        elsewhere, here = self.write(), self.write()
        finder = defer_imports([elsewhere], top_level_directory=os.path.join(self.directory, "x"))
        assert finder is not None
        self.addCleanup(finder.remove)
        self.assertIs(type(importlib.import_module(elsewhere)), ModuleType)
        finder = defer_imports([here], top_level_directory=self.directory)
        assert finder is not None
        self.addCleanup(finder.remove)
        self.assertIs(type(importlib.import_module(here)), DeferredModule)
        self.assertEqual(self.runs, [elsewhere])

    def test_module_needing_a_missing_extension_is_not_deferred(self) -> None:
        """A listed module whose needed extension cannot be found is left to import as
        usual (so that ``try: import ssl`` still fails where ``_ssl`` is missing)."""
        listed, needs_missing = self.write(), self.write()
        self.patch(_deferred_imports, "UNUSED_AT_STARTUP", (listed, needs_missing))
        self.patch(_deferred_imports, "_NEEDS", {needs_missing: "_no_such_extension_module"})
        finder = _deferred_imports.defer_unused_imports()
        assert finder is not None
        self.addCleanup(finder.remove)
        self.assertEqual(finder.names, {listed})
        self.assertTrue(_deferred_imports._findable("sys"))
        self.assertFalse(_deferred_imports._findable("_no_such_extension_module"))

    def test_missing_module_raises_module_not_found(self) -> None:
        """A listed name that does not exist fails to import as usual."""
        self.defer("deferred_mod_that_does_not_exist")
        with self.assertRaises(ModuleNotFoundError):
            importlib.import_module("deferred_mod_that_does_not_exist")


class UnusedAtStartupTests(SynchronousTestCase):
    """The modules the command line defers, and the host's start with them deferred."""

    def test_each_listed_module_is_a_plain_python_module(self) -> None:
        """Every listed module exists here as a plain Python module (not a package or an
        extension), so deferring it applies."""
        for name in UNUSED_AT_STARTUP:
            spec = importlib.util.find_spec(name)
            self.assertIsNotNone(spec, name)
            assert spec is not None
            self.assertIsNone(spec.submodule_search_locations, name)
            self.assertIsInstance(spec.loader, SourceFileLoader, name)

    def test_host_start_leaves_the_listed_modules_unrun_and_they_work_after(self) -> None:
        """In a new process, ``synapse-modhost -c`` listens with the listed modules'
        bodies unrun; afterwards the standard library's cookie jar, URL requests, HTTP
        client, email parser and TLS work as usual."""
        path = write_say_hello_config(os.path.abspath(self.mktemp()))
        lines = run_cli_until_listening(self, path, """
            from synapse_modhost._deferred_imports import DeferredModule, UNUSED_AT_STARTUP
            print(" ".join(n for n in UNUSED_AT_STARTUP
                           if type(sys.modules.get(n)) is DeferredModule))
            print(" ".join(n for n in UNUSED_AT_STARTUP
                           if n in sys.modules and type(sys.modules[n]) is not DeferredModule))
            import http.cookiejar, urllib.request, http.client, email.parser, ssl
            from twisted.python.compat import cookielib
            print(type(http.cookiejar.CookieJar()).__name__, cookielib is http.cookiejar,
                  urllib.request.Request("http://example.invalid/a?b=1").full_url,
                  http.client.responses[404],
                  email.parser.Parser().parsestr("Subject: hi\\n\\nbody")["Subject"],
                  ssl.create_default_context().verify_mode == ssl.CERT_REQUIRED)
        """)
        self.assertEqual(len(lines), 3, lines)
        deferred, run = lines[0].split(), lines[1].split()
        self.assertEqual(
            lines[2], "CookieJar True http://example.invalid/a?b=1 Not Found hi True"
        )
        self.assertIn("http.cookiejar", deferred)
        self.assertIn("ssl", deferred)
        if run:
            raise SkipTest(
                "start-up now uses %s: remove it from UNUSED_AT_STARTUP "
                "(synapse_modhost/_deferred_imports.py)" % (", ".join(run),)
            )
