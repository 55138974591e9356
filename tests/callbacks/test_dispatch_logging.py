"""The dispatcher's DEBUG line for each callback run, for callbacks a module registered
through its real ModuleApi on a host."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost import build_host
from synapse_modhost.host import ModuleHost
from synapse_modhost.module_api import ModuleApi
from synapse_modhost.types import NOT_SPAM
from tests.callbacks._support import ALL_LOGS
from tests.helpers.configs import config_dict, modules_entry

#: the logger of Dispatcher._report (the parent of the categories' loggers)
DISPATCH_LOGGER = ALL_LOGS
GATE = __name__ + ".Gate"
ARGS = ("@alice:test.local", "@bob:test.local", "!room:test.local")
ARGS_SUMMARY = "'@alice:test.local', '@bob:test.local', '!room:test.local'"


class Gate:
    """A module whose user_may_invite allows, or raises when configured to."""

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        self.fail = bool(config.get("fail"))
        api.register_spam_checker_callbacks(user_may_invite=self.user_may_invite)

    async def user_may_invite(self, inviter: str, invitee: str, room_id: str) -> str:
        if self.fail:
            raise ValueError("gate is shut for %s" % (invitee,))
        return NOT_SPAM


class _Keep(logging.Handler):
    """Keeps the records of the dispatch logger itself (not its children's)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == DISPATCH_LOGGER:
            self.records.append(record)


class DispatchLoggingTests(SynchronousTestCase):
    """Dispatcher._report logs `category.name module.qualname(args) -> result in N ms`."""

    def setUp(self) -> None:
        self.handler = _Keep()
        log = logging.getLogger(DISPATCH_LOGGER)
        old_level = log.level
        log.addHandler(self.handler)
        self.addCleanup(log.removeHandler, self.handler)
        self.addCleanup(log.setLevel, old_level)

    def _host(self, module_config: Dict[str, Any]) -> ModuleHost:
        host = build_host(config_dict(modules=[modules_entry(GATE, module_config)]), MemoryReactorClock())
        self.successResultOf(host.start(listen=False))
        self.addCleanup(host.stop)
        return host

    def _invite(self, host: ModuleHost) -> "defer.Deferred[Any]":
        return defer.ensureDeferred(host.callbacks.spam_checker.user_may_invite(*ARGS))

    def _set_level(self, level: int) -> None:
        logging.getLogger(DISPATCH_LOGGER).setLevel(level)

    def test_successful_dispatch_logged(self) -> None:
        """One dispatch of a registered async callback logs one DEBUG line with qualname, args, result and ms."""
        host = self._host({})
        self._set_level(logging.DEBUG)
        self.assertIs(self.successResultOf(self._invite(host)), NOT_SPAM)
        self.assertEqual(len(self.handler.records), 1)
        record = self.handler.records[0]
        self.assertEqual(record.levelno, logging.DEBUG)
        message = record.getMessage()
        prefix = "spam_checker.user_may_invite %s.Gate.user_may_invite(%s) -> %r in " % (
            __name__, ARGS_SUMMARY, NOT_SPAM)
        self.assertTrue(message.startswith(prefix), message)
        self.assertRegex(message[len(prefix):], r"^\d+\.\d{3} ms$")

    def test_raising_dispatch_logged(self) -> None:
        """A callback that raises is logged with `raised <repr of the exception>` instead of a result."""
        host = self._host({"fail": True})
        self._set_level(logging.DEBUG)
        failure = self.failureResultOf(self._invite(host), ValueError)
        self.assertEqual(str(failure.value), "gate is shut for @bob:test.local")
        self.assertEqual(len(self.handler.records), 1)
        message = self.handler.records[0].getMessage()
        self.assertRegex(
            message,
            "^" + re.escape(
                "spam_checker.user_may_invite %s.Gate.user_may_invite(%s) -> raised %r in "
                % (__name__, ARGS_SUMMARY, ValueError("gate is shut for @bob:test.local"))
            ) + r"\d+\.\d{3} ms$",
        )

    def test_each_dispatch_logged(self) -> None:
        """Two dispatches give two lines, one per call."""
        host = self._host({})
        self._set_level(logging.DEBUG)
        self.successResultOf(self._invite(host))
        self.successResultOf(self._invite(host))
        self.assertEqual(len(self.handler.records), 2)

    def test_nothing_logged_at_info(self) -> None:
        """With the dispatch logger at INFO, neither a successful nor a raising dispatch logs anything."""
        ok = self._host({})
        failing = self._host({"fail": True})
        self._set_level(logging.INFO)
        self.assertIs(self.successResultOf(self._invite(ok)), NOT_SPAM)
        self.failureResultOf(self._invite(failing), ValueError)
        self.assertEqual(self.handler.records, [])
