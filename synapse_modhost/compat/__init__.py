"""Serve ``synapse`` and ``synapse.*`` to modules, without any Synapse installed.

:func:`install` puts a finder first on ``sys.meta_path``; from then on every
``import synapse…`` is answered by the host (``_table.SERVED`` lists what is served) and
an installed matrix-synapse is never imported, even if it is on ``sys.path``. Served
names are the host's own objects, so ``isinstance`` checks and identity hold between what
modules import and what the host uses.

A ``synapse.*`` module the host does not serve raises ``ModuleNotFoundError`` naming the
module and its importer; a missing name on a served module logs a warning (importer and
name) and raises the usual ``AttributeError`` / ``ImportError``.
"""

from __future__ import annotations

import logging
import sys
from typing import Dict, List, Tuple

from synapse_modhost.compat._hook import DOCS, CompatFinder, CompatModule
from synapse_modhost.compat._table import SERVED

__all__ = [
    "DOCS",
    "CompatFinder",
    "CompatModule",
    "install",
    "is_installed",
    "served_names",
    "uninstall",
]

logger = logging.getLogger("synapse_modhost.compat")


def _is_ours(obj: object) -> bool:
    return bool(getattr(type(obj), "synapse_modhost_compat", False))


def _is_synapse_name(name: str) -> bool:
    return name == "synapse" or name.startswith("synapse.")


def is_installed() -> bool:
    """Whether the finder is first on ``sys.meta_path``."""
    return bool(sys.meta_path) and _is_ours(sys.meta_path[0])


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent).

    A ``synapse`` package imported earlier from elsewhere (a real matrix-synapse) is
    dropped from ``sys.modules`` so that later imports get the host's modules.
    """
    finders = [f for f in sys.meta_path if _is_ours(f)]
    if finders and sys.meta_path[0] is finders[0] and len(finders) == 1:
        return
    for finder in finders:
        sys.meta_path.remove(finder)
    sys.meta_path.insert(0, finders[0] if finders else CompatFinder())

    foreign = [
        name
        for name, module in list(sys.modules.items())
        if _is_synapse_name(name)
        and module is not None
        and not _is_ours(getattr(getattr(module, "__spec__", None), "loader", None))
    ]
    if foreign:
        logger.warning(
            "A 'synapse' package was already imported (%s); synapse-modhost replaces it "
            "with its own modules for the modules it loads",
            getattr(sys.modules.get("synapse"), "__file__", None),
        )
        for name in foreign:
            del sys.modules[name]


def uninstall(purge: bool = True) -> None:
    """Remove the finder; with ``purge``, also forget the served modules (for tests)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not _is_ours(f)]
    if purge:
        for name, module in list(sys.modules.items()):
            if _is_synapse_name(name) and isinstance(module, CompatModule):
                del sys.modules[name]


def served_names() -> Dict[str, List[Tuple[str, str]]]:
    """Each served ``synapse.*`` module with its ``(name, "host.module:attribute")`` pairs
    (what ``docs/compatibility.md`` documents)."""
    return {module: sorted(served.names.items()) for module, served in SERVED.items()}
