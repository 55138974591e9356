"""How the kit loads: nothing of the host until first use, then the heap frozen once loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest
from typing import Any, Dict

from twisted.trial.unittest import SynchronousTestCase

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _probe(code: str) -> Dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object, returned here."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0:
        raise AssertionError("probe failed:\n" + out.stderr[-3000:])
    result: Dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


class KitLoadingTests(SynchronousTestCase):
    """The kit's package and its pytest plugin stay cheap until a test uses them."""

    def test_plugin_import_loads_nothing_of_the_host(self) -> None:
        """Importing the package and the pytest plugin loads neither twisted.web nor the host."""
        found = _probe(
            "import json, sys\n"
            "import synapse_modhost.testing, synapse_modhost.testing.pytest_plugin\n"
            "print(json.dumps({m: m in sys.modules for m in "
            "('twisted.web.server', 'synapse_modhost.host', 'synapse_modhost.testing._case')}))\n"
        )
        self.assertEqual(
            found,
            {"twisted.web.server": False, "synapse_modhost.host": False, "synapse_modhost.testing._case": False},
        )

    def test_first_use_freezes_the_heap_and_keeps_the_collector_on(self) -> None:
        """The first kit name used loads the host, freezes what is loaded, and leaves the collector enabled."""
        found = _probe(
            "import gc, json, sys\n"
            "import synapse_modhost.testing as kit\n"
            "before = gc.get_freeze_count()\n"
            "kit.ModuleHostTestCase\n"
            "print(json.dumps({'host': 'synapse_modhost.host' in sys.modules,\n"
            "    'frozen_more': gc.get_freeze_count() > before, 'enabled': gc.isenabled()}))\n"
        )
        self.assertEqual(found, {"host": True, "frozen_more": True, "enabled": True})

    def test_a_disabled_collector_stays_disabled(self) -> None:
        """A process that turned the collector off finds it still off after the kit loads."""
        found = _probe(
            "import gc, json\n"
            "gc.disable()\n"
            "from synapse_modhost.testing import HostHarness\n"
            "print(json.dumps({'enabled': gc.isenabled()}))\n"
        )
        self.assertEqual(found, {"enabled": False})


PROBE_MODULE = """
from synapse.module_api import NOT_SPAM, ModuleApi


class ProbeModule:
    def __init__(self, config, api: ModuleApi):
        api.register_spam_checker_callbacks(user_may_invite=self.user_may_invite)

    async def user_may_invite(self, inviter, invitee, room_id):
        return NOT_SPAM
"""


class SynapseNamesBeforeAnyHostTests(SynchronousTestCase):
    """A test file may import its module (which imports synapse.*) before any host is built."""

    def _module_dir(self) -> str:
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "kit_probe_module.py"), "w") as f:
            f.write(PROBE_MODULE)
        return directory

    def test_import_after_kit_package(self) -> None:
        """After importing synapse_modhost.testing, a module importing synapse.module_api loads."""
        directory = self._module_dir()
        found = _probe(
            "import json, sys\n"
            "sys.path.insert(0, %r)\n"
            "import synapse_modhost.testing\n"
            "from synapse_modhost import compat\n"
            "before = compat.is_installed()\n"
            "import kit_probe_module\n"
            "print(json.dumps({'before': before, 'after': compat.is_installed(),\n"
            "    'not_spam': kit_probe_module.NOT_SPAM}))\n" % (directory,)
        )
        self.assertEqual(found, {"before": False, "after": True, "not_spam": "NOT_SPAM"})

    def test_pytest_collects_a_file_importing_the_module(self) -> None:
        """Under pytest, a test file importing the module at its top is collected and runs."""
        from importlib.metadata import entry_points

        if "synapse_modhost" not in {ep.name for ep in entry_points(group="pytest11")}:
            raise unittest.SkipTest("the synapse_modhost pytest plugin is not installed here")
        directory = self._module_dir()
        with open(os.path.join(directory, "test_uses_module.py"), "w") as f:
            f.write(
                "from kit_probe_module import ProbeModule\n\n\n"
                "def test_it(modhost):\n"
                "    \"\"\"The module's class was imported before the host existed.\"\"\"\n"
                "    assert ProbeModule.__name__ == 'ProbeModule'\n"
            )
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([directory, REPO, env.get("PYTHONPATH", "")])
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_uses_module.py"],
            cwd=directory, env=env, capture_output=True, text=True, timeout=120,
        )
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("1 passed", out.stdout)
