"""The kit fails a test that leaves an error nobody handled, under trial and under pytest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

from twisted.internet import defer
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.testing import ModuleHostTestCase

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run_case(case: ModuleHostTestCase) -> TestResult:
    result = TestResult()
    case.run(result)
    return result


class TrialGuardTests(SynchronousTestCase):
    """ModuleHostTestCase reports unhandled errors itself, with the other leftovers."""

    def test_dropped_failed_deferred_fails_the_test(self) -> None:
        """A failed Deferred the test dropped fails it, naming the error."""

        class DropsFailure(ModuleHostTestCase):
            def test_drops(self) -> None:
                d: defer.Deferred[None] = defer.Deferred()
                d.errback(ValueError("lost on the floor"))
                del d

        result = _run_case(DropsFailure("test_drops"))
        problems = result.errors + result.failures
        self.assertEqual(len(problems), 1, problems)
        text = str(problems[0][1])
        self.assertIn("error(s) nobody handled", text)
        self.assertIn("ValueError: lost on the floor", text)

    def test_expected_logged_error_flushed_passes(self) -> None:
        """A test that flushes the logged error it expects passes."""

        class FlushesFailure(ModuleHostTestCase):
            def test_flushes(self) -> None:
                d: defer.Deferred[None] = defer.Deferred()
                d.errback(KeyError("expected"))
                del d
                import gc

                gc.collect(1)
                self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

        result = _run_case(FlushesFailure("test_flushes"))
        self.assertEqual(result.errors + result.failures, [])
        self.assertTrue(result.wasSuccessful())


PYTEST_FILE = '''
"""Probe tests run by the guard tests."""
from twisted.internet import defer
from synapse_modhost.testing import ModuleHostTestCase


def test_fixture_drops(modhost):
    """drops a failed Deferred"""
    d = defer.Deferred()
    d.errback(ValueError("fixture lost it"))
    del d


def test_fixture_clean(modhost):
    """leaves nothing"""
    assert modhost.make_request("GET", "/health").code == 200


def test_fixture_flushes(modhost):
    """takes the error it expects"""
    import gc
    d = defer.Deferred()
    d.errback(KeyError("expected"))
    del d
    gc.collect(1)
    assert [f.type for f in modhost.flush_logged_errors(KeyError)] == [KeyError]


class CaseTests(ModuleHostTestCase):
    def test_case_drops(self):
        """drops a failed Deferred"""
        d = defer.Deferred()
        d.errback(ValueError("case lost it"))
        del d
'''


class PytestGuardTests(SynchronousTestCase):
    """Under pytest, the modhost fixture and ModuleHostTestCase fail with the kit's message."""

    def setUp(self) -> None:
        names = {ep.name for ep in entry_points(group="pytest11")}
        if "synapse_modhost" not in names:
            self.skipTest("the synapse_modhost pytest plugin is not installed in this environment")

    def test_pytest_reports_dropped_failures(self) -> None:
        """The fixture test and the case test fail naming the error; the clean one does not."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "test_probe_guards.py"), "w") as f:
            f.write(textwrap.dedent(PYTEST_FILE))
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_probe_guards.py"],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        text = out.stdout + out.stderr
        self.assertEqual(out.returncode, 1, text)
        # pytest reports a fixture's teardown failure as an error of the test
        self.assertIn("ERROR test_probe_guards.py::test_fixture_drops", text)
        self.assertIn("FAILED test_probe_guards.py::CaseTests::test_case_drops", text)
        self.assertNotIn("test_fixture_clean -", text)
        self.assertNotIn("test_fixture_flushes -", text)
        # test_fixture_drops passes its call phase, then errors at teardown
        self.assertIn("1 failed, 3 passed, 1 error", text)
        self.assertIn("ValueError: fixture lost it", text)
        self.assertIn("ValueError: case lost it", text)
        self.assertIn("error(s) nobody handled", text)
        self.assertNotIn("Incompatible Exception Representation", text)
