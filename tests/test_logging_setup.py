"""``setup_logging``: defaults, Synapse log configs, bad files, the Twisted bridge."""

from __future__ import annotations

import io
import json
import logging
import os
import types
from typing import Any, Dict, List

import yaml
from twisted.logger import LogBeginner, Logger, LogPublisher
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.config import (
    ConfigError,
    HomeServerConfig,
    generate_log_config,
    parse_config_dict,
)
from synapse_modhost.logging_setup import (
    DEFAULT_FORMAT,
    JsonFormatter,
    TerseJsonFormatter,
    setup_logging,
)

#: a log config as Synapse admins write them, naming Synapse's own classes
SYNAPSE_LOG_CONFIG = """\
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
  json:
    class: synapse.logging.TerseJsonFormatter
filters:
  context:
    (): synapse.logging.context.LoggingContextFilter
    request: ""
  fancy:
    (): synapse.logging.fancy.NoSuchFilter
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {log_file}
    filters: [context, fancy]
  buffer:
    class: synapse.logging.handlers.PeriodicallyFlushingMemoryHandler
    target: file
    capacity: 10
    flushLevel: 30
    period: 5
  remote:
    class: synapse.logging.RemoteHandler
    host: 10.1.2.3
    port: 9000
  remote_buffer:
    class: logging.handlers.MemoryHandler
    capacity: 5
    target: remote
loggers:
  synapse.storage.SQL:
    level: INFO
root:
  level: INFO
  handlers: [buffer, remote, remote_buffer]
disable_existing_loggers: false
"""


def _beginner() -> LogBeginner:
    """A private LogBeginner, so tests never touch Twisted's global one."""
    return LogBeginner(
        LogPublisher(),
        io.StringIO(),
        types.SimpleNamespace(stdout=io.StringIO(), stderr=io.StringIO()),
        types.SimpleNamespace(showwarning=None),
    )


class LoggingSetupTests(SynchronousTestCase):
    """setup_logging configures stdlib logging and bridges Twisted into it."""

    def setUp(self) -> None:
        root = logging.getLogger()
        saved_handlers = list(root.handlers)
        saved_level = root.level
        saved: Dict[str, Any] = {
            name: (lg.disabled, lg.level, list(lg.handlers))
            for name, lg in logging.Logger.manager.loggerDict.items()
            if isinstance(lg, logging.Logger)
        }

        def restore() -> None:
            for handler in list(root.handlers):
                if handler not in saved_handlers:
                    root.removeHandler(handler)
                    handler.close()
            for handler in saved_handlers:
                if handler not in root.handlers:
                    root.addHandler(handler)
            root.setLevel(saved_level)
            for name, lg in logging.Logger.manager.loggerDict.items():
                if isinstance(lg, logging.Logger) and name in saved:
                    lg.disabled, lg.level, lg.handlers = (
                        saved[name][0],
                        saved[name][1],
                        saved[name][2],
                    )

        self.addCleanup(restore)

    def config(self, **overrides: Any) -> HomeServerConfig:
        raw: Dict[str, Any] = {"server_name": "test.local", "public_baseurl": "https://x/"}
        raw.update(overrides)
        return parse_config_dict(raw)

    def write_log_config(self, text: str) -> str:
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(text)
        return path

    def our_handlers(self) -> List[logging.Handler]:
        return [
            h for h in logging.getLogger().handlers if getattr(h, "_synapse_modhost_default", False)
        ]

    # -- without log_config

    def test_default_stderr_handler(self) -> None:
        """Without log_config, INFO goes to the stream in the compact format."""
        stream = io.StringIO()
        setup_logging(self.config(), stream=stream, log_beginner=_beginner())
        logging.getLogger("tests.logsetup.a").info("hello %s", "there")
        logging.getLogger("tests.logsetup.a").debug("not shown")
        self.assertEqual(logging.getLogger().level, logging.INFO)
        (handler,) = self.our_handlers()
        self.assertEqual(handler.formatter._fmt, DEFAULT_FORMAT)  # type: ignore[union-attr]
        self.assertIn("INFO tests.logsetup.a: hello there\n", stream.getvalue())
        self.assertNotIn("not shown", stream.getvalue())

    def test_idempotent(self) -> None:
        """Calling it twice leaves one default handler, writing to the latest stream."""
        first, second = io.StringIO(), io.StringIO()
        beginner = _beginner()
        setup_logging(self.config(), stream=first, log_beginner=beginner)
        setup_logging(self.config(), stream=second, log_beginner=beginner)
        self.assertEqual(len(self.our_handlers()), 1)
        logging.getLogger("tests.logsetup.b").warning("once")
        self.assertEqual((first.getvalue().count("once"), second.getvalue().count("once")), (0, 1))

    def test_verbose(self) -> None:
        """verbose lowers the root level to DEBUG."""
        setup_logging(self.config(), verbose=True, stream=io.StringIO(), log_beginner=_beginner())
        self.assertEqual(logging.getLogger().level, logging.DEBUG)

    def test_no_default_handler(self) -> None:
        """log_to_stderr_default=False adds no handler."""
        setup_logging(self.config(), log_to_stderr_default=False, log_beginner=_beginner())
        self.assertEqual(self.our_handlers(), [])

    def test_notes_logged(self) -> None:
        """The config's notes are logged at INFO once logging is up."""
        stream = io.StringIO()
        config = parse_config_dict({"server_name": "test.local"})
        setup_logging(config, stream=stream, log_beginner=_beginner())
        self.assertIn("Using default public_baseurl https://test.local/", stream.getvalue())

    # -- the Twisted bridge

    def test_twisted_events_reach_stdlib(self) -> None:
        """Twisted log events (buffered before setup too) reach stdlib logging as 'twisted'."""
        beginner = _beginner()
        log = Logger(namespace="tests.tw", observer=beginner._publisher)
        log.info("before setup {x}", x=1)
        stream = io.StringIO()
        setup_logging(self.config(), stream=stream, log_beginner=beginner)
        log.warn("after setup {x}", x=2)
        log.info("Timing out client: {peer}", peer="1.2.3.4")
        text = stream.getvalue()
        self.assertIn("INFO twisted: before setup 1", text)
        self.assertIn("WARNING twisted: after setup 2", text)
        self.assertNotIn("Timing out client", text)

    def test_bridge_added_once(self) -> None:
        """A second call does not add a second bridge (no duplicated lines)."""
        beginner = _beginner()
        stream = io.StringIO()
        setup_logging(self.config(), stream=stream, log_beginner=beginner)
        setup_logging(self.config(), stream=stream, log_beginner=beginner)
        Logger(namespace="x", observer=beginner._publisher).info("just once")
        self.assertEqual(stream.getvalue().count("just once"), 1)

    # -- with log_config

    def test_log_config_file(self) -> None:
        """A generated log config writes records, with %(request)s filled in."""
        log_file = os.path.abspath(self.mktemp())
        path = self.write_log_config(generate_log_config(log_file))
        setup_logging(self.config(log_config=path), log_beginner=_beginner())
        logging.getLogger("tests.logsetup.c").info("to the file")
        for handler in logging.getLogger().handlers:
            handler.flush()
        with open(log_file) as f:
            line = f.read()
        self.assertIn(" - tests.logsetup.c - ", line)
        self.assertIn(" - INFO - sentinel - to the file", line)

    def test_synapse_log_config(self) -> None:
        """Synapse's classes are replaced or left out, with a warning, and logging works."""
        log_file = os.path.abspath(self.mktemp())
        path = self.write_log_config(SYNAPSE_LOG_CONFIG.format(log_file=log_file))
        setup_logging(self.config(log_config=path), log_beginner=_beginner())
        root = logging.getLogger()
        self.assertEqual(
            [type(h).__name__ for h in root.handlers], ["PeriodicallyFlushingMemoryHandler"]
        )
        logging.getLogger("tests.logsetup.d").error("an error is flushed at once")
        with open(log_file) as f:
            text = f.read()
        self.assertIn("an error is flushed at once", text)
        self.assertIn("handler 'remote' uses synapse.logging.RemoteHandler", text)
        self.assertIn("filter 'fancy' uses synapse.logging.fancy.NoSuchFilter", text)
        self.assertIn("handler 'remote_buffer' wrote to a handler that was left out", text)

    def test_missing_file(self) -> None:
        """An unreadable log config is a ConfigError at log_config naming the file."""
        path = os.path.abspath(self.mktemp())
        e = self.assertRaises(
            ConfigError, setup_logging, self.config(log_config=path), log_beginner=_beginner()
        )
        self.assertEqual(
            (e.path, e.msg),
            (
                ("log_config",),
                "Unable to read log config file %r: No such file or directory" % (path,),
            ),
        )

    def test_invalid_yaml(self) -> None:
        """Invalid YAML in the log config is a ConfigError at log_config with the line."""
        path = self.write_log_config("version: 1\nroot: {level: INFO\n")
        e = self.assertRaises(
            ConfigError, setup_logging, self.config(log_config=path), log_beginner=_beginner()
        )
        self.assertEqual(e.path, ("log_config",))
        self.assertTrue(
            e.msg.startswith("Invalid YAML in log config file %r, line " % (path,)), e.msg
        )

    def test_not_a_mapping(self) -> None:
        """A log config that is not a mapping is refused."""
        path = self.write_log_config("- version\n")
        e = self.assertRaises(
            ConfigError, setup_logging, self.config(log_config=path), log_beginner=_beginner()
        )
        self.assertEqual(
            (e.path, e.msg),
            (("log_config",), "The log config file %r does not contain a mapping" % (path,)),
        )

    def test_unusable_config(self) -> None:
        """A mapping dictConfig rejects is a ConfigError caused by dictConfig's error."""
        path = self.write_log_config(yaml.safe_dump({"handlers": {}}))
        e = self.assertRaises(
            ConfigError, setup_logging, self.config(log_config=path), log_beginner=_beginner()
        )
        self.assertEqual(
            (e.path, e.msg), (("log_config",), "Could not apply the log config file %r" % (path,))
        )
        self.assertIsInstance(e.__cause__, ValueError)

    def test_unknown_handler_class(self) -> None:
        """A handler class that does not import is a ConfigError, not a crash."""
        path = self.write_log_config(
            yaml.safe_dump({"version": 1, "handlers": {"h": {"class": "nowhere.Handler"}}})
        )
        e = self.assertRaises(
            ConfigError, setup_logging, self.config(log_config=path), log_beginner=_beginner()
        )
        self.assertEqual(e.path, ("log_config",))

    def test_structured_refused(self) -> None:
        """The removed 'structured' option is refused."""
        path = self.write_log_config("structured: true\nversion: 1\n")
        e = self.assertRaises(
            ConfigError, setup_logging, self.config(log_config=path), log_beginner=_beginner()
        )
        self.assertIn("structured", e.msg)

    def test_factory_formatter(self) -> None:
        """A '()' Synapse LogFormatter with a format string becomes a plain Formatter."""
        log_file = os.path.abspath(self.mktemp())
        config = {
            "version": 1,
            "formatters": {
                "f": {"()": "synapse.logging.formatter.LogFormatter", "format": "X %(message)s"}
            },
            "handlers": {
                "h": {"class": "logging.FileHandler", "filename": log_file, "formatter": "f"}
            },
            "root": {"level": "INFO", "handlers": ["h"]},
            "disable_existing_loggers": False,
        }
        path = self.write_log_config(yaml.safe_dump(config))
        setup_logging(self.config(log_config=path), log_beginner=_beginner())
        logging.getLogger("tests.logsetup.e").warning("formatted")
        logging.getLogger().handlers[0].flush()
        with open(log_file) as f:
            self.assertEqual(f.read(), "X formatted\n")


class JsonFormatterTests(SynchronousTestCase):
    """The JSON formatters standing in for Synapse's."""

    def record(self) -> logging.LogRecord:
        record = logging.LogRecord("ns", logging.INFO, __file__, 1, "hi %s", ("there",), None)
        record.request = "GET-1"
        return record

    def test_json(self) -> None:
        """JsonFormatter writes log, namespace, level and extra attributes."""
        event = json.loads(JsonFormatter().format(self.record()))
        self.assertEqual(
            (event["log"], event["namespace"], event["level"], event["request"]),
            ("hi there", "ns", "INFO", "GET-1"),
        )
        self.assertNotIn("time", event)

    def test_terse_json(self) -> None:
        """TerseJsonFormatter adds the time in seconds."""
        record = self.record()
        event = json.loads(TerseJsonFormatter().format(record))
        self.assertEqual(event["time"], round(record.created, 2))
