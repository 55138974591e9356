"""Process start to first 200 from a module resource, and RSS when ready, side by side.

    python bench/startup.py [--runs 7] [--synapse-python PATH] [--no-synapse]

Runs synapse-modhost (ListSpamChecker loaded from a Synapse-format config), bare
twisted.web serving the same resource, and, when a Python with matrix-synapse is found
($SYNAPSE_PYTHON or ../synapse-venv), real Synapse on the same config, interleaved round
by round. Prints medians and the ratios to bare twisted.web and Synapse as Markdown:
the ratio of the medians, and the median of the ratios within each round.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    backends,
    default_synapse_python,
    free_port,
    median,
    remove,
    rss_mib,
    temp_run_dir,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--synapse-python", default=None)
    ap.add_argument("--no-synapse", action="store_true")
    a = ap.parse_args()
    syn = None if a.no_synapse else (a.synapse_python or default_synapse_python())
    which = backends(syn)
    start: Dict[str, List[float]] = {n: [] for n in which}
    rss: Dict[str, List[float]] = {n: [] for n in which}
    names = list(which)
    for i in range(a.runs):
        # Rotate the order each round, so that no backend always runs right after the
        # same one (a fixed order would carry any such effect into one backend only).
        for name in names[i % len(names):] + names[: i % len(names)]:
            make = which[name]
            run_dir = temp_run_dir(name)
            server = make(run_dir, free_port())  # type: ignore[operator]
            try:
                start[name].append(server.wait_ready() * 1000)
                rss[name].append(rss_mib(server.proc.pid))
            finally:
                server.stop()
                remove(run_dir)
        print("round %d/%d done" % (i + 1, a.runs), file=sys.stderr)
    print("| backend | start to first 200 (median ms) | RSS when ready (median MiB) |")
    print("|---|---|---|")
    for name in which:
        print("| %s | %.0f | %.1f |" % (name, median(start[name]), median(rss[name])))
    mh = "synapse-modhost"
    print()
    for other in which:
        if other != mh:
            print("- synapse-modhost / %s: start %.3f×, RSS %.3f×" % (
                other, median(start[mh]) / median(start[other]), median(rss[mh]) / median(rss[other])))
    # The same ratios taken round by round: both starts of a round ran within a few
    # seconds of each other, so a slow spell of the machine weighs on both alike.
    for other in which:
        if other != mh:
            paired = sorted(h / o for h, o in zip(start[mh], start[other], strict=True))
            print("- synapse-modhost / %s, start, per round: median %.3f×, range %.3f–%.3f×" % (
                other, median(paired), paired[0], paired[-1]))
    print("- runs: %d each, interleaved, the order rotated each round; a connect attempt "
          "every 1 ms, the GET sent on the first accepted connection" % a.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
