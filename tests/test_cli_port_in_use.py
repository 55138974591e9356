"""The command line when a listener's port is taken: one line, exit status 1, no traceback
unless --verbose."""

from __future__ import annotations

import io
import socket
from typing import Any, List, Tuple

from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.cli import run
from tests.helpers.configs import TempModules, config_dict


class RealBindMemoryReactor(MemoryReactorClock):
    """A memory reactor whose listenTCP first tries a real bind of the address, failing as
    Twisted's does (CannotListenError carrying the OS error) when the port is taken."""

    def __init__(self) -> None:
        super().__init__()
        self.bind_attempts: List[Tuple[str, int]] = []

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        self.bind_attempts.append((interface, port))
        probe = socket.socket()
        try:
            probe.bind((interface, port))
        except OSError as e:
            raise CannotListenError(interface, port, e) from e
        finally:
            probe.close()
        return super().listenTCP(port, factory, backlog, interface)


class PortInUseTests(SynchronousTestCase):
    """A listener on a port another socket holds (as in test_host's port-in-use test)."""

    def setUp(self) -> None:
        self.mods = TempModules(self.mktemp())
        self.addCleanup(self.mods.cleanup)
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        self.busy_port = int(busy.getsockname()[1])
        self.path = self.mods.config_file(config_dict(listeners=[
            {"port": self.busy_port, "bind_addresses": ["127.0.0.1"], "type": "http", "resources": []},
        ]))

    def _run_cli(self, *extra: str) -> Tuple[int, str, RealBindMemoryReactor]:
        reactor = RealBindMemoryReactor()
        err = io.StringIO()
        code = run(["-c", self.path, *extra], reactor=reactor, err=err, out=io.StringIO(), setup_logs=False)
        return code, err.getvalue(), reactor

    def test_one_line_and_status_1(self) -> None:
        """run() returns 1 and prints one 'Error during startup: cannot listen on ...' line."""
        code, text, reactor = self._run_cli()
        self.assertEqual(code, 1, text)
        self.assertEqual(reactor.bind_attempts, [("127.0.0.1", self.busy_port)])
        self.assertEqual(
            text,
            "Error during startup: cannot listen on 127.0.0.1 port %d (listeners.<item 0>): "
            "Address already in use\n" % (self.busy_port,),
        )
        self.assertEqual(reactor.tcpServers, [], "a port was recorded as bound")

    def test_no_traceback_without_verbose(self) -> None:
        """Without --verbose the output holds no traceback and no exception class names."""
        _, text, _ = self._run_cli()
        self.assertNotIn("Traceback", text)
        self.assertNotIn("CannotListenError", text)
        self.assertEqual(len(text.splitlines()), 1)

    def test_verbose_adds_traceback(self) -> None:
        """With --verbose the same line comes first, followed by the traceback."""
        code, text, _ = self._run_cli("--verbose")
        self.assertEqual(code, 1)
        first, _, rest = text.partition("\n")
        self.assertTrue(first.startswith("Error during startup: cannot listen on 127.0.0.1"), first)
        self.assertIn("Traceback", rest)
        self.assertIn("CannotListenError", rest)

    def test_free_port_starts(self) -> None:
        """The same reactor binds a free port, so the failure above is the busy port's."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free = int(s.getsockname()[1])
        path = self.mods.config_file(config_dict(listeners=[
            {"port": free, "bind_addresses": ["127.0.0.1"], "type": "http", "resources": []},
        ]), name="free.yaml")
        reactor = RealBindMemoryReactor()
        err = io.StringIO()
        self.assertEqual(run(["-c", path], reactor=reactor, err=err, setup_logs=False), 0, err.getvalue())
        self.assertEqual([(e[0], e[3]) for e in reactor.tcpServers], [(free, "127.0.0.1")])
