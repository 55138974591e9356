"""The command line: --generate-config, the module entry point, signals and the twist plugin."""

from __future__ import annotations

import io
import os
import signal
import sys
from typing import Any, List

from twisted.internet import defer, protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from synapse_modhost.cli import run
from synapse_modhost.config import read_config
from tests.helpers.configs import write_say_hello_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class StartupCollectorTests(SynchronousTestCase):
    """The garbage collector the entry point pauses for start-up comes back once the host is up."""

    def test_collector_resumes_after_start(self) -> None:
        """With resume_gc, the collector is enabled again once the listeners are up."""
        import gc

        directory = os.path.abspath(self.mktemp())
        path = os.path.join(directory, "homeserver.yaml")
        self.assertEqual(run(["--generate-config", "-H", "gc.example", "-c", path], out=io.StringIO(),
                             err=io.StringIO()), 0)
        was_enabled = gc.isenabled()
        self.addCleanup(lambda: gc.enable() if was_enabled else gc.disable())
        self.addCleanup(gc.unfreeze)
        gc.disable()
        err = io.StringIO()
        reactor = MemoryReactorClock()
        self.assertEqual(run(["-c", path], reactor=reactor, err=err, setup_logs=False, resume_gc=True), 0,
                         err.getvalue())
        self.assertTrue(gc.isenabled())

    def test_collector_left_alone_without_resume(self) -> None:
        """Without resume_gc (a caller that did not pause it), run() does not switch it on."""
        import gc

        directory = os.path.abspath(self.mktemp())
        path = os.path.join(directory, "homeserver.yaml")
        run(["--generate-config", "-H", "gc.example", "-c", path], out=io.StringIO(), err=io.StringIO())
        was_enabled = gc.isenabled()
        self.addCleanup(lambda: gc.enable() if was_enabled else gc.disable())
        self.addCleanup(gc.unfreeze)
        gc.disable()
        self.assertEqual(run(["-c", path], reactor=MemoryReactorClock(), err=io.StringIO(), setup_logs=False), 0)
        self.assertFalse(gc.isenabled())


class GenerateConfigTests(SynchronousTestCase):
    """--generate-config writes a config that runs as is."""

    def test_generated_config_runs(self) -> None:
        """The generated config parses and the host starts on it."""
        directory = os.path.abspath(self.mktemp())
        path = os.path.join(directory, "homeserver.yaml")
        out = io.StringIO()
        code = run(["--generate-config", "-H", "example.org", "-c", path], out=out, err=io.StringIO())
        self.assertEqual(code, 0)
        self.assertIn("Wrote", out.getvalue())
        config = read_config([path])
        self.assertEqual(config.server.server_name, "example.org")
        reactor = MemoryReactorClock()
        err = io.StringIO()
        self.assertEqual(run(["-c", path], reactor=reactor, err=err, setup_logs=False), 0, err.getvalue())
        self.assertEqual([entry[0] for entry in reactor.tcpServers], [8008])

    def test_refuses_to_overwrite(self) -> None:
        """An existing config file is not overwritten."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "homeserver.yaml")
        with open(path, "w") as f:
            f.write("server_name: keep.me\n")
        err = io.StringIO()
        self.assertEqual(run(["--generate-config", "-H", "x.org", "-c", path], err=err), 1)
        self.assertIn("already exists", err.getvalue())
        with open(path) as f:
            self.assertEqual(f.read(), "server_name: keep.me\n")

    def test_needs_server_name(self) -> None:
        """--generate-config without -H says -H is needed."""
        err = io.StringIO()
        path = os.path.join(os.path.abspath(self.mktemp()), "hs.yaml")
        self.assertEqual(run(["--generate-config", "-c", path], err=err), 1)
        self.assertIn("-H SERVER_NAME", err.getvalue())
        self.assertFalse(os.path.exists(path))

    def test_example_config_starts(self) -> None:
        """homeserver.yaml.example loads every sample module and binds 127.0.0.1:8008."""
        reactor = MemoryReactorClock()
        err = io.StringIO()
        code = run(["-c", os.path.join(REPO, "homeserver.yaml.example")], reactor=reactor, err=err,
                   setup_logs=False)
        self.assertEqual(code, 0, err.getvalue())
        self.assertEqual([(e[0], e[3]) for e in reactor.tcpServers], [(8008, "127.0.0.1")])


class _Collect(protocol.ProcessProtocol):
    """Collects a child's stderr and tells when it has started and ended."""

    def __init__(self) -> None:
        self.err: List[bytes] = []
        self.ready: defer.Deferred[None] = defer.Deferred()
        self.ended: defer.Deferred[int] = defer.Deferred()

    def errReceived(self, data: bytes) -> None:
        self.err.append(data)
        if b"synapse-modhost ready" in b"".join(self.err) and not self.ready.called:
            self.ready.callback(None)

    def processEnded(self, reason: Any) -> None:
        if not self.ready.called:
            self.ready.errback(RuntimeError(b"".join(self.err).decode(errors="replace")))
        self.ended.callback(reason.value.exitCode)


class ProcessTests(TestCase):
    """``python -m synapse_modhost`` as a real process."""

    def _config(self) -> str:
        return write_say_hello_config(os.path.abspath(self.mktemp()))

    def _spawn(self, argv: List[str]) -> _Collect:
        from twisted.internet import reactor

        proto = _Collect()
        env = dict(os.environ, PYTHONPATH=REPO)
        self.transport = reactor.spawnProcess(proto, sys.executable, [sys.executable, *argv], env=env,
                                              path=REPO)
        return proto

    @defer.inlineCallbacks
    def test_sigterm_stops_cleanly(self) -> Any:
        """SIGTERM stops a running host with exit status 0 and closes its port."""
        proto = self._spawn(["-m", "synapse_modhost", "-c", self._config()])
        yield proto.ready
        self.transport.signalProcess("TERM")
        code = yield proto.ended
        self.assertEqual(code, 0)
        self.assertIn(b"Port", b"".join(proto.err))

    @defer.inlineCallbacks
    def test_sigint_stops_cleanly(self) -> Any:
        """SIGINT (Ctrl-C) stops a running host with exit status 0."""
        proto = self._spawn(["-m", "synapse_modhost", "-c", self._config()])
        yield proto.ready
        self.transport.signalProcess(signal.SIGINT)
        code = yield proto.ended
        self.assertEqual(code, 0)

    @defer.inlineCallbacks
    def test_startup_error_exit_status(self) -> Any:
        """A startup error in a real process exits with status 1 and one message."""
        path = self._config()
        with open(path, "a") as f:
            f.write("max_upload_size: lots\n")
        proto = self._spawn(["-m", "synapse_modhost", "-c", path])
        code = yield proto.ended
        self.assertEqual(code, 1)
        text = b"".join(proto.err).decode()
        self.assertIn("Error in configuration at 'max_upload_size':", text)
        self.assertNotIn("Traceback", text)
        yield self.assertFailure(proto.ready, RuntimeError)


class TwistPluginTests(SynchronousTestCase):
    """The ``twist synapse-modhost`` plugin is a thin dropin over synapse_modhost.tap."""

    def test_dropin_points_at_tap(self) -> None:
        """The dropin's ServiceMaker names the tap module and the command name."""
        import importlib.util

        path = os.path.join(REPO, "twisted", "plugins", "synapse_modhost_plugin.py")
        spec = importlib.util.spec_from_file_location("synapse_modhost_plugin", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        maker = module.synapse_modhost
        self.assertEqual(maker.tapname, "synapse-modhost")
        self.assertEqual(maker.module, "synapse_modhost.tap")

    def test_options_require_config(self) -> None:
        """twist synapse-modhost without -c is a usage error."""
        from twisted.python import usage

        from synapse_modhost.tap import Options

        self.assertRaises(usage.UsageError, Options().parseOptions, [])

    def test_options_collect_configs(self) -> None:
        """-c may be repeated; the paths are kept in order."""
        from synapse_modhost.tap import Options

        options = Options()
        options.parseOptions(["-c", "a.yaml", "--config-path", "b.yaml", "--strict"])
        self.assertEqual(options["config_paths"], ["a.yaml", "b.yaml"])
        self.assertTrue(options["strict"])

    def test_make_service_config_error_exits_1(self) -> None:
        """A bad config under twist prints the config error and exits with status 1."""
        from synapse_modhost.tap import Options, makeService

        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write("server_name: [\n")
        options = Options()
        options.parseOptions(["-c", path])
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit) as cm:
            makeService(options)
        self.assertEqual(cm.exception.code, 1)
        self.assertIn("Invalid YAML", err.getvalue())
