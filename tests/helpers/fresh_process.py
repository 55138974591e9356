"""Running code, or the host's command line, in a new interpreter on this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import List

from twisted.trial.unittest import SynchronousTestCase

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: starts ``cli.main(["-c", path])`` and, the moment the host listens, calls ``report()``
#: and ends the process (status 1 if ``report`` raised)
_CLI_UNTIL_LISTENING = """
import os, sys  # (not traceback here: it imports modules the command line defers)
import synapse_modhost
from synapse_modhost import cli

def report():
%s

build_host = synapse_modhost.build_host

def build_host_reporting_when_listening(*args, **kwargs):
    host = build_host(*args, **kwargs)
    listen = host._listen
    async def listen_then_report():
        await listen()
        status = 0
        try:
            report()
        except BaseException:
            import traceback
            traceback.print_exc()
            status = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    host._listen = listen_then_report
    return host

synapse_modhost.build_host = build_host_reporting_when_listening  # cli.run() looks it up here
cli.main(["-c", %r])
"""


def run_python(test: SynchronousTestCase, code: str) -> List[str]:
    """Run ``code`` in a new interpreter on this checkout; its standard output's lines
    (the test fails if it exits with another status than 0)."""
    env = dict(os.environ, PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, env=env, cwd=REPO)
    test.assertEqual(result.returncode, 0, result.stderr)
    return result.stdout.splitlines()


def run_cli_until_listening(test: SynchronousTestCase, config_path: str, report: str) -> List[str]:
    """Start ``synapse-modhost -c config_path`` in a new interpreter, run the statements
    ``report`` the moment it listens, and end it there; what ``report`` printed."""
    body = textwrap.indent(textwrap.dedent(report).strip() or "pass", "    ")
    return run_python(test, _CLI_UNTIL_LISTENING % (body, config_path))
