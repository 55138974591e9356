"""The host run as a separate process on a loopback port, for the end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from typing import List, Optional

from twisted.trial.unittest import SynchronousTestCase

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_text(port: int, directory: str, *, extra: str = "", extra_modules: str = "") -> str:
    """A homeserver.yaml serving the client API on ``port`` with its data in ``directory``,
    open registration, cheap password hashing and ListSpamChecker (mallory is evil);
    ``extra`` adds top-level lines, ``extra_modules`` more ``modules:`` items (both may
    name the port as ``%(port)d``)."""
    return (
        "server_name: test.local\n"
        "listeners: [{port: %(port)d, bind_addresses: ['127.0.0.1'], type: http,"
        " resources: [{names: [client]}]}]\n"
        "database: {name: sqlite3, args: {database: '%(dir)s/homeserver.db'}}\n"
        "media_store_path: %(dir)s/media\n"
        "enable_registration: true\n"
        "enable_registration_without_verification: true\n"
        "bcrypt_rounds: 4\n"
        "%(extra)s"
        "modules:\n"
        "  - module: sample_modules.list_spam_checker.ListSpamChecker\n"
        "    config: {evil_users: ['@mallory:test.local']}\n"
        "%(modules)s"
    ) % {
        "port": port,
        "dir": directory,
        "extra": extra % {"port": port},
        "modules": extra_modules % {"port": port},
    }


class HostProcess:
    """``python -m synapse_modhost`` on :func:`config_text` (a free port, a fresh directory),
    started and stopped by a test; ``extra`` and ``extra_modules`` as for ``config_text``."""

    def __init__(
        self, case: SynchronousTestCase, prefix: str, *, extra: str = "", extra_modules: str = ""
    ) -> None:
        self._case = case
        self.port = free_port()
        self._directory = tempfile.mkdtemp(prefix=prefix)
        self._config = os.path.join(self._directory, "homeserver.yaml")
        with open(self._config, "w") as f:
            f.write(config_text(self.port, self._directory, extra=extra, extra_modules=extra_modules))
        self.proc: Optional["subprocess.Popen[bytes]"] = None
        self._drain: Optional[threading.Thread] = None
        case.addCleanup(self.stop)

    def start(self) -> None:
        """Start the host and return once it logs that it is ready (the test fails if it exits first)."""
        self.stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synapse_modhost", "-c", self._config],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONPATH=REPO),
            cwd=self._directory,
        )
        assert self.proc.stderr is not None
        lines: List[bytes] = []
        for line in self.proc.stderr:  # blocks until the host logs that it is ready
            lines.append(line)
            if b"synapse-modhost ready" in line:
                break
        else:
            self._case.fail("the host did not start: %s" % b"".join(lines).decode(errors="replace"))
        # keep reading its log so that it never blocks on a full pipe
        self._drain = threading.Thread(target=self.proc.stderr.read, daemon=True)
        self._drain.start()

    def kill(self) -> None:
        """SIGKILL: no shutdown at all."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self._reap()

    def stop(self) -> None:
        """SIGTERM if it still runs, then wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
        self._reap()

    def _reap(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.wait(30)
        if self._drain is not None:
            self._drain.join(30)
            self._drain = None
        if proc.stderr is not None:
            proc.stderr.close()
