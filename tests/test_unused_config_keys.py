"""Building a host logs, once and at INFO, the top-level config keys it does not use."""

from __future__ import annotations

import logging
from typing import Any, List

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost import build_host
from tests.helpers.configs import config_dict, modules_entry

#: the logger of ModuleHost.__init__
HOST_LOGGER = "synapse_modhost.host"
PREFIX = "Configuration keys synapse-modhost does not use (accepted and ignored): "
UNUSED = ("report_stats", "signing_key_path", "trusted_key_servers", "macaroon_secret_key")


class _Keep(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class UnusedKeysLogTests(SynchronousTestCase):
    """The "does not use" line of ModuleHost.__init__."""

    def setUp(self) -> None:
        self.handler = _Keep()
        log = logging.getLogger(HOST_LOGGER)
        old_level = log.level
        log.setLevel(logging.INFO)
        log.addHandler(self.handler)
        self.addCleanup(log.removeHandler, self.handler)
        self.addCleanup(log.setLevel, old_level)

    def _build(self, **overrides: Any) -> None:
        build_host(config_dict(**overrides), MemoryReactorClock())

    def _unused_lines(self) -> List[logging.LogRecord]:
        return [r for r in self.handler.records if r.getMessage().startswith(PREFIX)]

    def test_unused_keys_logged_once_in_one_line(self) -> None:
        """Every unused key is named in a single INFO record from synapse_modhost.host."""
        self._build(
            report_stats=False,
            signing_key_path="/data/test.local.signing.key",
            trusted_key_servers=[{"server_name": "matrix.org"}],
            macaroon_secret_key="not-so-secret",
        )
        lines = self._unused_lines()
        self.assertEqual(len(lines), 1, [r.getMessage() for r in self.handler.records])
        record = lines[0]
        self.assertEqual((record.name, record.levelno), (HOST_LOGGER, logging.INFO))
        message = record.getMessage()
        self.assertNotIn("\n", message)
        listed = message[len(PREFIX):].split(", ")
        self.assertEqual(sorted(listed), sorted(UNUSED))

    def test_used_keys_not_listed(self) -> None:
        """Keys the host reads (server_name, listeners, database, modules) are not in the line."""
        self._build(report_stats=True, modules=[modules_entry("sample_modules.say_hello.SayHello")])
        lines = self._unused_lines()
        self.assertEqual(len(lines), 1)
        listed = lines[0].getMessage()[len(PREFIX):].split(", ")
        self.assertEqual(listed, ["report_stats"])
        for used in ("server_name", "listeners", "database", "modules"):
            self.assertNotIn(used, listed)

    def test_no_unused_keys_no_line(self) -> None:
        """A config using only keys the host reads logs no "does not use" line."""
        self._build()
        self.assertEqual(self._unused_lines(), [])

    def test_not_logged_at_warning(self) -> None:
        """The line is INFO: with the host logger at WARNING it is not emitted."""
        logging.getLogger(HOST_LOGGER).setLevel(logging.WARNING)
        self._build(report_stats=False, macaroon_secret_key="x")
        self.assertEqual(self._unused_lines(), [])
