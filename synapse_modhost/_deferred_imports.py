"""Modules that Twisted and the standard library import eagerly, run on first use instead.

Start-up imports modules that nothing touches until much later, if ever. The largest:
``twisted.python.compat`` imports ``http.cookiejar`` for a deprecated alias, and with it
``urllib.request``; asyncio, which Twisted's Deferred imports, imports ``ssl``; the
reactor imports its UNIX socket and UDP support. Running the bodies of the modules of
:data:`UNUSED_AT_STARTUP` (and of what only they import) is about 90 M instructions, a
tenth of the host's start.

:func:`defer_unused_imports`, which only the command line calls, makes the first import of
each cheap: the import creates the module as usual (its name, spec, loader and file; in
``sys.modules`` and on its parent package) without running its body. The body runs, once,
the first time anything reads any other attribute of the module (``from http.cookiejar
import CookieJar``, ``cookiejar.CookieJar``, ``vars()``, ``dir()``, ``__doc__``), or sets
or deletes one. Code that only holds the module, or imports it again, runs nothing. A
thread that uses the module while another runs its body waits for it to finish. The
module is then a plain module; until then its type is :class:`DeferredModule`, a
``ModuleType`` subclass. Should the body raise, the module is put back as the import
left it and the error reaches the code that used it; the next use tries again.

This is what ``importlib.util.LazyLoader`` does, with one difference that matters here:
LazyLoader's module runs its body on *any* attribute read, and every ``import X``
statement reads ``X.__spec__``, so the second import anywhere would run it. Here the
attributes the import system reads do not run it.

Only plain Python modules are deferred (a package's submodules need its ``__init__``;
an extension module's cost is in loading it), and only those listed, each checked to do
nothing at import but define its own names: no registration or hook, nothing read from
another module's state, no replacing itself in ``sys.modules``, and no part in reporting
an error (``tokenize``, which tracebacks read source lines with, is left out: a body run
while a RecursionError or interpreter shutdown is being reported could fail). A top-level
name is deferred only when it is the standard library's module, not a file of the same
name beside a script; a module imported already is left alone.
"""

from __future__ import annotations

import os
import sys
import threading
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader, SourcelessFileLoader
from types import ModuleType
from typing import TYPE_CHECKING, Any, Dict, Iterable, Optional, Sequence, Set

if TYPE_CHECKING:
    # (not at run time: importing importlib.abc imports importlib.resources, ~5 ms)
    from importlib.abc import Loader

__all__ = [
    "DeferredModule",
    "DeferringFinder",
    "UNUSED_AT_STARTUP",
    "defer_imports",
    "defer_unused_imports",
    "run_deferred_body",
]

#: Imported while the host starts but used by nothing there (each imported as a module, not
#: for names from it). Each is a plain module whose body only defines names: no
#: registration, hook or environment read that must happen at import, and no import that
#: can fail where the host runs (see _NEEDS for the one exception).
UNUSED_AT_STARTUP: Sequence[str] = (
    # twisted.python.compat's deprecated ``cookielib`` alias, and urllib.request, which
    # it and xml.sax.saxutils (Twisted's templates) import
    "http.cookiejar",
    "urllib.request",
    # asyncio (which Twisted's Deferred imports) for SSL transports; Twisted's TLS is pyOpenSSL
    "ssl",
    "asyncio.sslproto",
    "asyncio.staggered",
    # Twisted's reactor: UNIX sockets and UDP, until a port of either kind is opened
    "twisted.internet.unix",
    "twisted.internet.udp",
    # twisted.web: ``Request.URLPath()`` and templates' URL helpers
    "twisted.python.urlpath",
    # Twisted's HTTP date parsing (and http.cookiejar)
    "calendar",
)

#: modules deferred only where an extension module their body needs is there: importing
#: them can fail without it, and code imports them in ``try: ... except ImportError``
_NEEDS: Dict[str, str] = {"ssl": "_ssl"}


#: what the import system and a module's repr read: these never run the body
_IMPORT_ATTRIBUTES = frozenset(
    {"__class__", "__name__", "__spec__", "__loader__", "__file__", "__cached__",
     "__package__", "__path__"}
)


class DeferredModule(ModuleType):
    """A module whose body has not run yet (see the module's docstring)."""

    def __getattribute__(self, name: str) -> Any:
        # Every name but the import system's waits for the whole body: a name the body
        # has already defined must not be read from another thread while it runs.
        if name not in _IMPORT_ATTRIBUTES:
            run_deferred_body(self)
        return ModuleType.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        run_deferred_body(self)  # or the body would overwrite what is set now
        ModuleType.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        run_deferred_body(self)
        ModuleType.__delattr__(self, name)


#: the descriptor of a module's namespace, as ModuleType has it
_MODULE_DICT: Any = vars(ModuleType)["__dict__"]


def _namespace(module: ModuleType) -> Dict[str, Any]:
    """A module's namespace, read without running a deferred body."""
    return _MODULE_DICT.__get__(module)


class _BodyState:
    """A deferred body: the real loader that runs it, the lock it runs under, and the
    namespace as the import left it."""

    def __init__(self, loader: "Loader", namespace: Dict[str, Any]) -> None:
        self.loader = loader
        self.namespace = dict(namespace)
        self.lock = threading.RLock()
        self.running = False


#: the deferred modules whose body has not run, by name
_states: Dict[str, _BodyState] = {}
_states_lock = threading.Lock()


def run_deferred_body(module: ModuleType) -> None:
    """Run a deferred module's body now; a thread that asks meanwhile waits for it.

    Once it has run, the module is a plain module. If it raises, the module is put back
    as the import left it, still deferred, and the error is raised here: the next use
    runs the body again (a RecursionError, say, need not break the module for good).
    """
    if type(module) is not DeferredModule:
        return
    namespace = _namespace(module)
    name = namespace["__name__"]
    with _states_lock:
        state = _states.get(name)
    if state is None:  # pragma: no cover - a DeferredModule not made by _DeferringLoader
        return
    with state.lock:
        if type(module) is not DeferredModule or state.running:
            # Run by another thread meanwhile; or the body, while it runs, reads its own
            # module: it sees what is defined so far, as with any import.
            return
        state.running = True
        try:
            state.loader.exec_module(module)
        except BaseException:
            namespace.clear()
            namespace.update(state.namespace)
            raise
        finally:
            state.running = False
        ModuleType.__setattr__(module, "__class__", ModuleType)
        with _states_lock:
            _states.pop(name, None)


class _DeferringLoader:
    """Creates the module as the real loader would, and leaves its body for later."""

    def __init__(self, real: "Loader") -> None:
        self.real = real

    def create_module(self, spec: ModuleSpec) -> Optional[ModuleType]:
        return None  # a plain module object, as for any source module

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        assert spec is not None
        spec.loader = self.real  # what the module shows is the real loader
        namespace = _namespace(module)
        namespace["__loader__"] = self.real
        with _states_lock:
            _states[spec.name] = _BodyState(self.real, namespace)
        module.__class__ = DeferredModule

    def __getattr__(self, name: str) -> Any:
        # get_code, get_source, get_filename ...: for whoever found the spec without
        # importing it (importlib.util.find_spec) and asks the loader
        return getattr(self.real, name)


class DeferringFinder:
    """Finds the listed modules as the other finders do, and gives them a deferring loader."""

    def __init__(self, names: Iterable[str], top_level_directory: Optional[str] = None) -> None:
        self.names: Set[str] = set(names)
        self.top_level_directory = top_level_directory

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
    ) -> Optional[ModuleSpec]:
        if fullname not in self.names:
            return None
        self.names.discard(fullname)  # deferred once; a later import (after a failure) is plain
        if not self.names:
            self.remove()
        spec = self._find_elsewhere(fullname, path, target)
        if (
            spec is None
            or spec.submodule_search_locations is not None
            or not isinstance(spec.loader, (SourceFileLoader, SourcelessFileLoader))
            or (
                self.top_level_directory is not None
                and "." not in fullname
                and os.path.dirname(spec.origin or "") != self.top_level_directory
            )
        ):
            # a package, an extension, not found, or a module of that name from
            # somewhere else (one beside a script, say): imported as usual
            return spec
        spec.loader = _DeferringLoader(spec.loader)  # type: ignore[assignment]
        return spec

    def _find_elsewhere(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType]
    ) -> Optional[ModuleSpec]:
        """The spec the import system would find without this finder."""
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is not None:
                spec: Optional[ModuleSpec] = find_spec(fullname, path, target)
                if spec is not None:
                    return spec
        return None

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)


def defer_imports(
    names: Iterable[str], top_level_directory: Optional[str] = None
) -> Optional[DeferringFinder]:
    """Defer the body of each of ``names`` not imported yet to its first use (see above);
    with ``top_level_directory``, a name without a dot only when its file is found there.

    The finder doing it (None if every name is imported already) leaves ``sys.meta_path``
    by itself once each name has been imported, or at its ``remove()``.
    """
    waiting = [name for name in names if name not in sys.modules]
    if not waiting:
        return None
    finder = DeferringFinder(waiting, top_level_directory)
    sys.meta_path.insert(0, finder)
    return finder


def defer_unused_imports() -> Optional[DeferringFinder]:
    """Defer :data:`UNUSED_AT_STARTUP`; call before Twisted is imported."""
    # The top-level names are the standard library's, not a module of the same name. (Where
    # that directory is not known, they are not deferred.)
    stdlib = os.path.dirname(getattr(os, "__file__", None) or "")
    return defer_imports(
        [
            name for name in UNUSED_AT_STARTUP
            if (stdlib or "." in name) and (name not in _NEEDS or _findable(_NEEDS[name]))
        ],
        top_level_directory=stdlib or None,
    )


def _findable(name: str) -> bool:
    """Whether the top-level module ``name`` can be imported (without importing it)."""
    if name in sys.modules or name in sys.builtin_module_names:
        return True
    return PathFinder.find_spec(name) is not None
