"""What a test must not leave behind: the checks the trial case and the pytest fixture share.

A test fails, with a message naming each problem, when it leaves delayed calls pending on
the clock, outbound requests no stub rule answered, or errors nobody handled (a Deferred
that failed and was dropped, or a failure logged with ``log.failure``/``log.err``).
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any, Dict, List, Sequence

from twisted.logger import ILogObserver, LogLevel, globalLogPublisher
from twisted.python.failure import Failure
from zope.interface import implementer

if TYPE_CHECKING:
    from synapse_modhost.testing._harness import HostHarness

__all__ = ["FailureCatcher", "leftover_problems"]


@implementer(ILogObserver)
class FailureCatcher:
    """Collects the failures logged while it is started (the pytest fixture's stand-in for
    trial's own logged-error check)."""

    def __init__(self) -> None:
        self.failures: List[Failure] = []

    def __call__(self, event: Dict[str, Any]) -> None:
        failure = event.get("log_failure")
        if isinstance(failure, Failure) and event.get("log_level") in (
            LogLevel.error,
            LogLevel.critical,
        ):
            self.failures.append(failure)

    def start(self) -> None:
        globalLogPublisher.addObserver(self)

    def stop(self) -> None:
        globalLogPublisher.removeObserver(self)


def collect_dropped_deferreds() -> None:
    """Collect the young garbage now, so a dropped Deferred's unhandled error is logged
    while the test that dropped it is still running (a full collection would cost
    ~25 ms a test)."""
    gc.collect(1)


def leftover_problems(harness: "HostHarness", logged: Sequence[Failure]) -> List[str]:
    """One sentence per kind of thing the test left behind; empty when nothing was."""
    problems = []
    leftovers = harness.leftover_delayed_calls()
    if leftovers:
        problems.append(
            "the test left %d delayed call(s) pending on the clock: %s (cancel them, "
            "or let them run with pump(seconds))"
            % (len(leftovers), ", ".join(repr(c) for c in leftovers))
        )
    unexpected = harness.http_stub.unexpected
    if unexpected:
        problems.append(
            "modules sent requests no http_stub rule answered: %s"
            % ", ".join("%s %s" % (r.method, r.url) for r in unexpected)
        )
    if logged:
        problems.append(
            "the test left %d error(s) nobody handled: %s (a Deferred that failed and was "
            "dropped, or a failure logged with log.failure/log.err: add an errback or await "
            "it; under trial, flushLoggedErrors() the ones the test expects)"
            % (len(logged), "; ".join(_describe(f) for f in logged))
        )
    return problems


def _describe(failure: Failure) -> str:
    return "%s: %s" % (failure.type.__name__ if failure.type else "?", failure.getErrorMessage())
