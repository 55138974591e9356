"""The ``sys.meta_path`` finder that serves ``synapse`` and ``synapse.*`` from the host.

Every ``synapse.*`` import is answered here, before any path-based finder runs, so an
installed matrix-synapse (or any other ``synapse`` package on ``sys.path``) is never
imported. Served modules are :class:`CompatModule` objects built from ``_table.SERVED``;
their names resolve on first access to the host's own objects, so
``synapse.module_api.ModuleApi is synapse_modhost.module_api.ModuleApi``.
"""

from __future__ import annotations

import dis
import importlib
import importlib.machinery
import logging
import sys
import threading
import types
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Set, Tuple

from synapse_modhost.compat._table import SERVED, Served

if TYPE_CHECKING:
    from importlib.abc import Loader as _LoaderBase
else:
    _LoaderBase = object  # see CompatLoader

__all__ = [
    "DOCS",
    "CompatFinder",
    "CompatLoader",
    "CompatModule",
    "importer_name",
    "not_provided_message",
]

logger = logging.getLogger("synapse_modhost.compat")

#: Where the served modules and names are listed.
DOCS = "docs/compatibility.md"

_SKIPPED_MODULE_PREFIXES = ("importlib", "_frozen_importlib", "synapse_modhost.compat")


def _is_machinery(module_name: str) -> bool:
    return any(
        module_name == p or module_name.startswith(p + ".") or module_name.startswith(p + "_")
        for p in _SKIPPED_MODULE_PREFIXES
    )


def importer_name(start: Optional[types.FrameType] = None) -> str:
    """``__name__`` of the innermost frame outside the import machinery and this hook."""
    frame: Optional[types.FrameType] = start if start is not None else sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if isinstance(name, str) and not _is_machinery(name):
            return name
        frame = frame.f_back
    return "<unknown>"


_IMPORT_FROM = dis.opmap["IMPORT_FROM"]


def _is_from_import(frame: types.FrameType) -> bool:
    """Whether ``frame`` is executing a ``from module import name`` right now."""
    code = frame.f_code.co_code
    return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] == _IMPORT_FROM


def _probing_find_spec() -> bool:
    """Whether we are inside ``importlib.util.find_spec`` (a probe, not an import)."""
    frame: Optional[types.FrameType] = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "find_spec" and frame.f_globals.get("__name__") == (
            "importlib.util"
        ):
            return True
        frame = frame.f_back
    return False


def _requested_name(fullname: str) -> str:
    """The full name being imported when ``fullname`` (a parent of it) was looked up."""
    requested = fullname
    frame: Optional[types.FrameType] = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in ("_find_and_load", "_gcd_import") and _is_machinery(
            str(frame.f_globals.get("__name__", ""))
        ):
            name = frame.f_locals.get("name")
            if isinstance(name, str) and name.startswith(requested + "."):
                requested = name
        frame = frame.f_back
    return requested


def not_provided_message(fullname: str, importer: str, requested: Optional[str] = None) -> str:
    wanted = "'%s'" % (requested or fullname,)
    if requested and requested != fullname:
        wanted += " (it has no '%s')" % (fullname,)
    return (
        "synapse-modhost does not provide %s, imported by module '%s'; only the "
        "synapse.* modules and names listed in %s are available to modules"
        % (wanted, importer, DOCS)
    )


_warned: Set[Tuple[str, str, str]] = set()
_warned_lock = threading.Lock()


def _warn_missing_name(module: str, name: str, importer: str) -> None:
    key = (module, name, importer)
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(
        "Module '%s' asked for '%s.%s', which synapse-modhost does not provide (see %s)",
        importer,
        module,
        name,
        DOCS,
    )


class CompatModule(types.ModuleType):
    """A served ``synapse.*`` module: names resolve lazily to host objects."""

    def __getattr__(self, name: str) -> Any:
        module_name = self.__dict__.get("__name__", "synapse")
        served: Optional[Served] = SERVED.get(module_name)
        target = served.names.get(name) if served is not None else None
        if target is not None:
            value = _resolve(module_name, name, target)
            setattr(self, name, value)
            return value
        child = "%s.%s" % (module_name, name)
        if child in SERVED:
            return importlib.import_module(child)
        if not (name.startswith("__") and name.endswith("__")):
            caller = sys._getframe(1)
            importer = importer_name(caller)
            _warn_missing_name(module_name, name, importer)
            if _is_from_import(caller):
                # ``from synapse.x import name``: say what is missing and who asked, rather
                # than Python's "cannot import name ... (unknown location)".
                raise ImportError(
                    not_provided_message(child, importer), name=module_name
                )
        # Any other lookup (getattr, hasattr, ``module.name``) keeps the AttributeError
        # that feature checks expect.
        raise AttributeError("module %r has no attribute %r" % (module_name, name))

    def __dir__(self) -> List[str]:
        module_name = self.__dict__.get("__name__", "synapse")
        served: Optional[Served] = SERVED.get(module_name)
        names = set(self.__dict__)
        if served is not None:
            names.update(served.names)
        prefix = module_name + "."
        names.update(
            child[len(prefix) :]
            for child in SERVED
            if child.startswith(prefix) and "." not in child[len(prefix) :]
        )
        return sorted(names)


def _resolve(module_name: str, name: str, target: str) -> Any:
    source, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(source), attr)
    except (ImportError, AttributeError) as e:
        raise ImportError(
            "synapse-modhost: '%s.%s' is provided by '%s', which could not be loaded: %s"
            % (module_name, name, target, e),
            name=module_name,
        ) from e


class CompatLoader(_LoaderBase):
    """Creates the :class:`CompatModule` for a served name.

    The import system takes any object with ``create_module`` and ``exec_module`` (and as
    a finder, any object with ``find_spec``). The ``importlib.abc`` base classes add
    nothing here and importing ``importlib.abc`` pulls in ``importlib.resources``, a few
    ms of every start, so they are bases only for the type checker.
    """

    #: Marks modules created by this hook (``install()`` keeps them, evicts others).
    synapse_modhost_compat = True

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return CompatModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        served = SERVED[module.__name__]
        module.__doc__ = served.doc or (
            "synapse-modhost's stand-in for %s (see %s)." % (module.__name__, DOCS)
        )
        module.__dict__["__all__"] = list(served.all)


class CompatFinder:
    """Answers every ``synapse`` / ``synapse.*`` import."""

    #: Identifies the finder across reloads of this module (``install()`` is idempotent).
    synapse_modhost_compat = True

    def __init__(self) -> None:
        self._loader = CompatLoader()

    def find_spec(
        self,
        fullname: str,
        path: Optional[Sequence[str]] = None,
        target: Optional[types.ModuleType] = None,
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != "synapse" and not fullname.startswith("synapse."):
            return None
        served = SERVED.get(fullname)
        if served is None:
            if _probing_find_spec():
                return None
            raise ModuleNotFoundError(
                not_provided_message(
                    fullname, importer_name(sys._getframe(1)), _requested_name(fullname)
                ),
                name=fullname,
            )
        spec = importlib.machinery.ModuleSpec(fullname, self._loader, is_package=served.package)
        if served.package:
            # Nothing on disk: submodules are found by this finder, never on a path.
            spec.submodule_search_locations = []
        return spec

    def invalidate_caches(self) -> None:
        pass
