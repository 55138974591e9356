"""A module's test file as a whole process: the kit against a plain trial test, side by side.

    python bench/test_kit.py [--runs 5] [--extra 50]

Writes throwaway test files into a temp dir: one with a single kit test (a module with a
web resource and a spam-checker callback, one request and one callback call), one with
1 + EXTRA such tests, and the same two shapes as plain ``SynchronousTestCase`` tests
(the baseline: trial with nothing of ours). Each is run as a whole process with
``python -m twisted.trial`` and with ``python -m pytest -q``, interleaved; medians.
Reports whole-process time for one test and the cost of each extra test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import checkout_env

MODULE = '''
import json
from twisted.web.resource import Resource
from synapse.module_api import NOT_SPAM


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps({"hello": "bench"}).encode()


class BenchModule:
    def __init__(self, config, api):
        api.register_web_resource("/_synapse/client/bench/hello", Hello())
        api.register_spam_checker_callbacks(user_may_invite=self.user_may_invite)

    async def user_may_invite(self, inviter, invitee, room_id):
        return NOT_SPAM
'''

KIT_HEAD = '''
from synapse_modhost.testing import ModuleHostTestCase
from synapse_modhost.types import NOT_SPAM


class BenchTests(ModuleHostTestCase):
    modules = [{"module": "bench_module.BenchModule", "config": {}}]
'''

KIT_TEST = '''
    def test_{n}(self):
        """The resource answers and the callback allows."""
        channel = self.make_request("GET", "/_synapse/client/bench/hello")
        self.assertEqual(channel.code, 200)
        self.assertIs(self.get_success(self.callbacks.spam_checker.user_may_invite("@a:t", "@b:t", "!r:t")), NOT_SPAM)
'''

PLAIN_HEAD = '''
from twisted.trial.unittest import SynchronousTestCase


class BenchTests(SynchronousTestCase):
'''

PLAIN_TEST = '''
    def test_{n}(self):
        """Arithmetic still works."""
        self.assertEqual(sum(range({n} + 2)), ({n} + 2) * ({n} + 1) // 2)
'''


def write(directory: Path, name: str, head: str, test: str, count: int) -> str:
    body = textwrap.dedent(head) + "".join(test.format(n=i) for i in range(count))
    (directory / (name + ".py")).write_text(body)
    return name


def run(argv: List[str], cwd: Path, env: Dict[str, str]) -> float:
    t0 = time.monotonic()
    r = subprocess.run(argv, cwd=str(cwd), env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (" ".join(argv), r.stdout[-3000:], r.stderr[-3000:]))
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--extra", type=int, default=50)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-kit-"))
    (work / "bench_module.py").write_text(MODULE)
    files = {
        ("kit", 1): write(work, "test_kit_one", KIT_HEAD, KIT_TEST, 1),
        ("kit", 1 + a.extra): write(work, "test_kit_many", KIT_HEAD, KIT_TEST, 1 + a.extra),
        ("plain", 1): write(work, "test_plain_one", PLAIN_HEAD, PLAIN_TEST, 1),
        ("plain", 1 + a.extra): write(work, "test_plain_many", PLAIN_HEAD, PLAIN_TEST, 1 + a.extra),
    }
    env = checkout_env(work)
    runners = {
        "trial": lambda mod: [sys.executable, "-m", "twisted.trial", mod],
        "pytest": lambda mod: [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", mod + ".py"],
    }
    times: Dict[tuple, List[float]] = {}
    for _ in range(a.runs):
        for runner, argv in runners.items():
            for key, mod in files.items():
                times.setdefault((runner,) + key, []).append(run(argv(mod), work, env))
    med = {k: statistics.median(v) for k, v in times.items()}
    print("| runner | test file | 1 test (s) | 1+%d tests (s) | per extra test (ms) |" % a.extra)
    print("|---|---|---|---|---|")
    for runner in runners:
        for kind in ("kit", "plain"):
            one, many = med[(runner, kind, 1)], med[(runner, kind, 1 + a.extra)]
            print("| %s | %s | %.2f | %.2f | %.1f |" % (runner, kind, one, many, (many - one) / a.extra * 1000))
    print("\n- medians of %d runs each, interleaved; whole processes (python start to exit)" % a.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
