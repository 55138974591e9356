"""Modules that Twisted and the standard library import eagerly, run on first use instead.

Start-up imports modules that nothing touches until much later, if ever. The largest:
``twisted.python.compat`` imports ``http.cookiejar`` for a deprecated alias, and with it
``urllib.request``; asyncio, which Twisted's Deferred imports, imports ``ssl``; the
reactor imports its UNIX socket and UDP support. Running the bodies of the sixteen
modules of :data:`UNUSED_AT_STARTUP` (and what only they import) is about 100 M
instructions, a ninth of the host's start.

:func:`defer_unused_imports`, which only the command line calls, makes the first import of
each cheap: the import creates the module as usual (its name, spec, loader and file; in
``sys.modules`` and on its parent package) without running its body. The body runs, once,
the first time anything asks the module for an attribute it does not have yet
(``from http.cookiejar import CookieJar``, ``cookiejar.CookieJar``), sets or deletes one,
or reads its ``__dict__``, ``dir()`` or ``__doc__``. Code that only holds the module, or
imports it again, runs nothing. The module is then a plain module; until then its type is
:class:`DeferredModule`, a ``ModuleType`` subclass.

This is what ``importlib.util.LazyLoader`` does, with one difference that matters here:
LazyLoader's module runs its body on *any* attribute read, and every ``import X``
statement reads ``X.__spec__``, so the second import anywhere would run it. Here the
attributes the import system sets up are read without running the body.

Only plain Python modules are deferred (a package's submodules need its ``__init__``;
an extension module's cost is in loading it), only those listed, each checked to have no
side effect at import that anything relies on (registering a codec, a handler, an
``atexit`` hook ...), and a top-level name only when it is the standard library's module
(not a file of the same name beside a script). A module imported already is left alone.
Should a deferred body raise, the module leaves ``sys.modules``, as after any failed
import, and the error reaches the code that asked.
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
    # the email package's header encoding and errors, used when a message is built
    "email.header",
    "email.errors",
    "email.quoprimime",
    "calendar",
    "decimal",
    # logging's traceback formatting reads source lines through these; textwrap for
    # argparse's help and traceback's notes
    "tokenize",
    "token",
    "textwrap",
)

#: modules deferred only where an extension module their body needs is there: importing
#: them can fail without it, and code imports them in ``try: ... except ImportError``
_NEEDS: Dict[str, str] = {"ssl": "_ssl"}


class DeferredModule(ModuleType):
    # No docstring: ``__doc__`` is a property giving the module's own.

    def __getattr__(self, name: str) -> Any:
        # Called only for what the module's namespace does not hold (yet).
        if name == "__path__":
            # Asked by every ``from module import x``: not a package, so it has none.
            raise AttributeError(name)
        run_deferred_body(self)
        return ModuleType.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        run_deferred_body(self)  # or the body would overwrite what is set now
        ModuleType.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        run_deferred_body(self)
        ModuleType.__delattr__(self, name)

    @property
    def __dict__(self) -> Dict[str, Any]:  # type: ignore[override]
        run_deferred_body(self)
        return _namespace(self)

    @property
    def __doc__(self) -> Optional[str]:  # type: ignore[override]
        run_deferred_body(self)
        return _namespace(self).get("__doc__")


#: the descriptor of a module's namespace, as ModuleType has it
_MODULE_DICT: Any = vars(ModuleType)["__dict__"]


def _namespace(module: ModuleType) -> Dict[str, Any]:
    """A module's namespace, read without running a deferred body."""
    return _MODULE_DICT.__get__(module)


class _BodyState:
    """A deferred body: the real loader that runs it, and a lock it runs under."""

    def __init__(self, loader: "Loader") -> None:
        self.loader = loader
        self.lock = threading.RLock()
        self.running = False


#: the deferred modules whose body has not run, by name
_states: Dict[str, _BodyState] = {}
_states_lock = threading.Lock()


def run_deferred_body(module: ModuleType) -> None:
    """Run a deferred module's body now, once; a thread that asks meanwhile waits for it.

    The module then is a plain module. If the body raises, the module leaves
    ``sys.modules`` (as after any failed import) and the error is raised here.
    """
    if type(module) is not DeferredModule:
        return
    name = _namespace(module)["__name__"]
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
            if sys.modules.get(name) is module:
                del sys.modules[name]
            raise
        finally:
            with _states_lock:
                _states.pop(name, None)
            ModuleType.__setattr__(module, "__class__", ModuleType)


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
        namespace.pop("__doc__", None)  # read through DeferredModule.__doc__
        with _states_lock:
            _states[spec.name] = _BodyState(self.real)
        module.__class__ = DeferredModule


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
    """Defer :data:`UNUSED_AT_STARTUP`; call before ``logging`` or Twisted is imported."""
    return defer_imports(
        (name for name in UNUSED_AT_STARTUP if name not in _NEEDS or _findable(_NEEDS[name])),
        # the top-level names are the standard library's, not a module of the same name
        top_level_directory=os.path.dirname(os.__file__),
    )


def _findable(name: str) -> bool:
    """Whether the top-level module ``name`` can be imported (without importing it)."""
    if name in sys.modules or name in sys.builtin_module_names:
        return True
    return PathFinder.find_spec(name) is not None
