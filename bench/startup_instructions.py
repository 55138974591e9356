"""Instructions from process start until the listeners are bound, under cachegrind.

    python bench/startup_instructions.py [--runs 1]

Wall-clock start-up on a shared 2-core VM moves by 20 % or more between runs; the number
of instructions executed does not (runs agree to within 0.1 %). This runs synapse-modhost
(the config of bench/startup.py: SQLite, ListSpamChecker) and bare twisted.web serving the
same resource, with and without Twisted's HTTP/2 support (which the host leaves out),
under ``valgrind --tool=cachegrind``. Each process ends the moment its listener is bound;
the script prints the instruction counts and their ratios. Needs valgrind (Debian package
``valgrind``). It does not count Synapse: its start-up has no such stop point, and
bench/startup.py already measures it side by side.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, checkout_env, free_port, host_config, median, remove, temp_run_dir

#: run in the measured process: start the host from the config and end the process the
#: moment it listens (os._exit: shutdown and interpreter teardown are not start-up)
HOST_STOPPER = """
import os, sys
import synapse_modhost
from synapse_modhost import cli
build_host = synapse_modhost.build_host
def build_host_that_exits_when_listening(*args, **kwargs):
    host = build_host(*args, **kwargs)
    listen = host._listen
    async def listen_then_exit():
        await listen()
        os._exit(0)
    host._listen = listen_then_exit
    return host
synapse_modhost.build_host = build_host_that_exits_when_listening  # cli.run() looks it up here
cli.main(["-c", sys.argv[1]])
"""

#: bench/bare_twisted_web.py, ended once it listens (it binds before the reactor runs)
BARE_STOPPER = """
import os, sys
if sys.argv[3] == "no-h2":
    sys.modules["twisted.web._http2"] = None  # as the host runs: no HTTP/2 (see _http2.py)
from twisted.internet import reactor
reactor.callWhenRunning(os._exit, 0)
sys.path.insert(0, sys.argv[2])
import bare_twisted_web
sys.argv = [sys.argv[0], sys.argv[1]]
bare_twisted_web.main()
"""


def count_instructions(argv: List[str], env: Dict[str, str], cwd: Path) -> int:
    """Instructions cachegrind counts for ``argv`` run to completion."""
    with tempfile.NamedTemporaryFile(suffix=".cg") as out:
        r = subprocess.run(
            ["valgrind", "--tool=cachegrind", "--cache-sim=no",
             "--cachegrind-out-file=" + out.name, *argv],
            env=env, cwd=str(cwd), capture_output=True, text=True,
        )
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (argv, r.returncode, r.stderr[-3000:]))
    m = re.search(r"I\s+refs:\s+([\d,]+)", r.stderr)
    if m is None:
        raise RuntimeError("no instruction count in valgrind's output:\n" + r.stderr[-2000:])
    return int(m.group(1).replace(",", ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    try:
        subprocess.run(["valgrind", "--version"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        print("valgrind is not installed (Debian package 'valgrind')", file=sys.stderr)
        return 1
    env = checkout_env()
    bare_no_h2 = "bare twisted.web without HTTP/2"
    counts: Dict[str, List[int]] = {"synapse-modhost": [], "bare twisted.web": [], bare_no_h2: []}
    for i in range(a.runs):
        run_dir = temp_run_dir("instructions")
        try:
            cfg = host_config(run_dir, free_port())
            counts["synapse-modhost"].append(count_instructions(
                [sys.executable, "-c", HOST_STOPPER, str(cfg)], env, run_dir))
            for name, h2 in (("bare twisted.web", "h2"), (bare_no_h2, "no-h2")):
                counts[name].append(count_instructions(
                    [sys.executable, "-c", BARE_STOPPER, str(free_port()), str(REPO / "bench"), h2],
                    env, run_dir))
        finally:
            remove(run_dir)
        print("round %d/%d done" % (i + 1, a.runs), file=sys.stderr)
    print("| backend | instructions to listening (median) |")
    print("|---|---|")
    for name, values in counts.items():
        print("| %s | %s M |" % (name, format(round(median(values) / 1e6, 1), ",")))
    print()
    for other in ("bare twisted.web", bare_no_h2):
        ratio = median(counts["synapse-modhost"]) / median(counts[other])
        print("- synapse-modhost / %s: %.3f×" % (other, ratio))
    print("- runs: %d each; Python %s" % (a.runs, sys.version.split()[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
