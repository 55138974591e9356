"""Shared set-up for the compat tests: a fresh hook, with the previous state restored."""

from __future__ import annotations

import sys
from typing import Any, Dict, List

from synapse_modhost import compat
from synapse_modhost.compat import _hook


def _synapse_modules() -> Dict[str, Any]:
    return {k: v for k, v in sys.modules.items() if k == "synapse" or k.startswith("synapse.")}


class FreshHook:
    """Mixin for ``SynchronousTestCase``: each test starts with the hook freshly installed
    and no ``synapse`` modules imported; ``sys.meta_path``, ``sys.path`` and the ``synapse``
    entries of ``sys.modules`` are put back afterwards."""

    def setUp(self) -> None:
        saved_meta: List[Any] = list(sys.meta_path)
        saved_path: List[str] = list(sys.path)
        saved_modules = _synapse_modules()

        def restore() -> None:
            for name in _synapse_modules():
                del sys.modules[name]
            sys.modules.update(saved_modules)
            sys.meta_path[:] = saved_meta
            sys.path[:] = saved_path

        self.addCleanup(restore)  # type: ignore[attr-defined]
        _hook._warned.clear()
        compat.uninstall()
        for name in _synapse_modules():
            del sys.modules[name]
        compat.install()
