"""Importing the module API stays light."""

from __future__ import annotations

import os
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

import synapse_modhost.module_api as module_api


class ImportTests(SynchronousTestCase):
    def test_import_does_not_load_treq_or_global_reactor(self) -> None:
        """A fresh import of synapse_modhost.module_api loads neither treq nor the reactor."""
        code = (
            "import sys, synapse_modhost.module_api; "
            "print(sorted(m for m in ('treq', 'twisted.internet.reactor', "
            "'twisted.web.client') if m in sys.modules))"
        )
        root = os.path.dirname(os.path.dirname(os.path.abspath(module_api.__file__)))
        env = dict(os.environ, PYTHONPATH=os.path.dirname(root))
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        ).stdout
        self.assertEqual(out.strip(), "[]")

    def test_facade_exports(self) -> None:
        """__all__ lists the names modules import, and each is importable."""
        expected = {
            "ModuleApi",
            "SimpleHttpClient",
            "run_as_background_process",
            "wrap_as_background_process",
            "run_in_background",
            "make_deferred_yieldable",
            "cached",
            "CachedFunction",
            "AccountDataManager",
            "PublicRoomListManager",
        }
        self.assertEqual(set(module_api.__all__), expected)
        for name in expected:
            self.assertTrue(hasattr(module_api, name), name)
