"""Logging: stdlib ``logging`` configured from Synapse's ``log_config``, Twisted bridged in.

:func:`setup_logging` is safe to call more than once (tests do): its own stderr handler is
replaced, not duplicated, and Twisted's log is bridged into stdlib ``logging`` once per
:class:`~twisted.logger.LogBeginner`.

A Synapse ``log_config`` is a ``logging.config.dictConfig`` mapping. It may name Synapse
classes, which are not importable here; they are handled so that the file works as is:

- ``synapse.logging.context.LoggingContextFilter`` → :class:`ContextFilter`;
- ``synapse.logging.handlers.PeriodicallyFlushingMemoryHandler`` →
  :class:`PeriodicallyFlushingMemoryHandler`;
- ``synapse.logging.TerseJsonFormatter`` / ``JsonFormatter`` (or their ``_terse_json``
  names) → :class:`TerseJsonFormatter` / :class:`JsonFormatter`;
  ``synapse.logging.formatter.LogFormatter`` → ``logging.Formatter``;
- any other ``synapse.*`` filter, formatter or handler (``synapse.logging.RemoteHandler``,
  for instance) is dropped, with a warning logged once logging is up, and every reference
  to it removed.

Every record gets ``request`` (``"sentinel"`` outside a request, as Synapse writes it) and
``server_name`` attributes when it has none, so Synapse's ``%(request)s`` formats work.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from logging.handlers import MemoryHandler
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set

from synapse_modhost.config._errors import ConfigError

if TYPE_CHECKING:
    from twisted.logger import LogBeginner

    from synapse_modhost.config._model import HomeServerConfig

__all__ = [
    "DEFAULT_FORMAT",
    "ContextFilter",
    "JsonFormatter",
    "PeriodicallyFlushingMemoryHandler",
    "TerseJsonFormatter",
    "load_log_config",
    "setup_logging",
]

logger = logging.getLogger(__name__)

#: the format used without a ``log_config``
DEFAULT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: ``request`` on records logged outside any request (Synapse's sentinel context)
DEFAULT_REQUEST = "sentinel"

_STRUCTURED_ERROR = (
    "Support for the structured configuration option was removed in Synapse 1.54.0; "
    "use the standard logging configuration instead"
)

_HERE = __name__

_FILTERS: Dict[str, str] = {
    "synapse.logging.context.LoggingContextFilter": _HERE + ".ContextFilter",
}
_FORMATTERS: Dict[str, str] = {
    "synapse.logging.TerseJsonFormatter": _HERE + ".TerseJsonFormatter",
    "synapse.logging._terse_json.TerseJsonFormatter": _HERE + ".TerseJsonFormatter",
    "synapse.logging.JsonFormatter": _HERE + ".JsonFormatter",
    "synapse.logging._terse_json.JsonFormatter": _HERE + ".JsonFormatter",
    "synapse.logging.formatter.LogFormatter": "logging.Formatter",
}
_HANDLERS: Dict[str, str] = {
    "synapse.logging.handlers.PeriodicallyFlushingMemoryHandler": (
        _HERE + ".PeriodicallyFlushingMemoryHandler"
    ),
}


# --------------------------------------------------------------------- record attributes

_state: Dict[str, Any] = {"server_name": "unknown_server", "factory_installed": False}


def _install_record_factory() -> None:
    """Give every record ``request`` and ``server_name`` (once per process)."""
    if _state["factory_installed"]:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        d = record.__dict__
        if "request" not in d:
            d["request"] = DEFAULT_REQUEST
        if "server_name" not in d:
            d["server_name"] = _state["server_name"]
        return record

    logging.setLogRecordFactory(factory)
    _state["factory_installed"] = True


class ContextFilter(logging.Filter):
    """Stands in for Synapse's ``LoggingContextFilter``: fills ``request`` if missing.

    Extra keyword arguments from a Synapse config (``request: ""``) are accepted;
    ``request`` is the value used for records that carry none.
    """

    def __init__(self, name: str = "", request: str = DEFAULT_REQUEST, **kwargs: Any) -> None:
        super().__init__(name)
        self._default_request = request

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request"):
            record.request = self._default_request
        return True


class PeriodicallyFlushingMemoryHandler(MemoryHandler):
    """A ``MemoryHandler`` that also flushes every ``period`` seconds.

    Stands in for Synapse's class of the same name; its ``reactor`` argument is
    accepted and ignored. The flushing thread is a daemon, stopped by ``close()``.
    """

    def __init__(
        self,
        capacity: int,
        flushLevel: int = logging.ERROR,
        target: Optional[logging.Handler] = None,
        flushOnClose: bool = True,
        period: float = 5.0,
        reactor: Any = None,
    ) -> None:
        super().__init__(capacity, flushLevel, target, flushOnClose)
        self._period = float(period)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log flushing thread", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        super().close()


_IGNORED_RECORD_ATTRIBUTES = frozenset(
    (
        "args",
        "asctime",
        "created",
        "exc_info",
        "exc_text",
        "filename",
        "funcName",
        "levelname",
        "levelno",
        "lineno",
        "message",
        "module",
        "msecs",
        "msg",
        "name",
        "pathname",
        "process",
        "processName",
        "relativeCreated",
        "stack_info",
        "taskName",
        "thread",
        "threadName",
    )
)

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``log``, ``namespace``, ``level`` and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        return self._encode(
            record,
            {"log": record.getMessage(), "namespace": record.name, "level": record.levelname},
        )

    def _encode(self, record: logging.LogRecord, event: Dict[str, Any]) -> str:
        for key, value in record.__dict__.items():
            if key not in _IGNORED_RECORD_ATTRIBUTES:
                event[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            event["exc_type"] = record.exc_info[0].__name__
            event["exc_value"] = str(record.exc_info[1])
        return _encoder.encode(event)


class TerseJsonFormatter(JsonFormatter):
    """:class:`JsonFormatter` plus ``time`` (epoch seconds, two decimals)."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "log": record.getMessage(),
            "namespace": record.name,
            "level": record.levelname,
            "time": round(record.created, 2),
        }
        return self._encode(record, event)


# --------------------------------------------------------------------- the log_config file


def load_log_config(path: str) -> Dict[str, Any]:
    """The dictConfig mapping in ``path``; ConfigError at ``log_config`` if unusable."""
    from synapse_modhost.config._reader import load_yaml_file

    value = load_yaml_file(path, "log config file", ("log_config",))
    if not isinstance(value, dict):
        raise ConfigError(
            f"The log config file {path!r} does not contain a mapping", ("log_config",)
        )
    if value.get("structured"):
        raise ConfigError(_STRUCTURED_ERROR, ("log_config",))
    return value


def _factory_name(spec: Any) -> Optional[str]:
    """The class named by a dictConfig entry (``()`` first, then ``class``)."""
    if not isinstance(spec, dict):
        return None
    name = spec.get("()", spec.get("class"))
    return name if isinstance(name, str) else None


def _adapt(config: Dict[str, Any]) -> List[str]:
    """Replace or drop Synapse classes in ``config`` (in place); the warnings to log."""
    warnings: List[str] = []
    dropped: Dict[str, Set[str]] = {"filters": set(), "formatters": set(), "handlers": set()}
    tables = (("filters", _FILTERS), ("formatters", _FORMATTERS), ("handlers", _HANDLERS))
    for section, replacements in tables:
        entries = config.get(section)
        if not isinstance(entries, dict):
            continue
        for name, spec in list(entries.items()):
            cls = _factory_name(spec)
            if cls is None or not cls.startswith("synapse."):
                continue
            key = "()" if "()" in spec else "class"
            if section == "formatters":
                # dictConfig hands format/datefmt/style to a formatter "class" properly
                spec.pop("()", None)
                key = "class"
            if cls in replacements:
                spec[key] = replacements[cls]
                if cls.endswith("PeriodicallyFlushingMemoryHandler"):
                    spec.pop("reactor", None)
            else:
                del entries[name]
                dropped[section].add(name)
                warnings.append(
                    f"log_config: {section[:-1]} {name!r} uses {cls}, which synapse-modhost "
                    "cannot provide; it is left out"
                )

    handlers = config.get("handlers")
    if isinstance(handlers, dict):
        # a memory handler whose target was dropped goes too, until nothing changes
        changed = True
        while changed:
            changed = False
            for name, spec in list(handlers.items()):
                if isinstance(spec, dict) and spec.get("target") in dropped["handlers"]:
                    del handlers[name]
                    dropped["handlers"].add(name)
                    warnings.append(
                        f"log_config: handler {name!r} wrote to a handler that was left "
                        "out; it is left out too"
                    )
                    changed = True
        for spec in handlers.values():
            if not isinstance(spec, dict):
                continue
            if spec.get("formatter") in dropped["formatters"]:
                del spec["formatter"]
            _prune(spec, "filters", dropped["filters"])

    loggers = [config.get("root")]
    if isinstance(config.get("loggers"), dict):
        loggers.extend(config["loggers"].values())
    for spec in loggers:
        if isinstance(spec, dict):
            _prune(spec, "handlers", dropped["handlers"])
            _prune(spec, "filters", dropped["filters"])
    return warnings


def _prune(spec: Dict[str, Any], key: str, names: Set[str]) -> None:
    value = spec.get(key)
    if names and isinstance(value, list):
        spec[key] = [v for v in value if not (isinstance(v, str) and v in names)]


# --------------------------------------------------------------------- Twisted


_begun: List[Any] = []
_QUIET_PREFIXES = ("DNSDatagramProtocol starting on ", "(UDP Port ", "Timing out client")


def _make_bridge() -> Any:
    """An ``ILogObserver`` passing Twisted events to stdlib ``logging`` (logger ``twisted``).

    Three noisy messages are dropped, as Synapse drops them; an event raised while a
    previous one is being logged goes to the real stderr instead of looping.
    """
    from twisted.logger import ILogObserver, STDLibLogObserver, eventAsText
    from zope.interface import implementer

    @implementer(ILogObserver)
    class _Bridge:
        def __init__(self) -> None:
            self._observer = STDLibLogObserver()
            self._local = threading.local()

        def __call__(self, event: Dict[str, Any]) -> None:
            text = event.get("log_text") or event.get("log_format")
            if isinstance(text, str) and text.startswith(_QUIET_PREFIXES):
                return
            if getattr(self._local, "active", False):
                try:
                    print(f"logging during logging: {eventAsText(event)}", file=sys.__stderr__)
                except Exception:
                    pass
                return
            self._local.active = True
            try:
                self._observer(event)
            finally:
                self._local.active = False

    return _Bridge()


def _bridge_twisted(beginner: "LogBeginner") -> None:
    """Send Twisted's log events to stdlib ``logging`` (once per beginner).

    If something else already began logging with ``beginner`` (``twist``, ``trial``),
    the bridge is added to its publisher instead, so Twisted does not warn that logging
    was begun twice.
    """
    if any(b is beginner for b in _begun):
        return
    bridge = _make_bridge()
    publisher = getattr(beginner, "_publisher", None)
    already_begun = getattr(beginner, "_temporaryObserver", True) is None
    if already_begun and publisher is not None:
        publisher.addObserver(bridge)
    else:
        beginner.beginLoggingTo([bridge], redirectStandardIO=False)
    _begun.append(beginner)


# --------------------------------------------------------------------- entry point


def _remove_default_handler(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if getattr(handler, "_synapse_modhost_default", False):
            root.removeHandler(handler)
            handler.close()


def setup_logging(
    config: "HomeServerConfig",
    *,
    verbose: bool = False,
    log_to_stderr_default: bool = True,
    log_beginner: Optional["LogBeginner"] = None,
    stream: Any = None,
) -> None:
    """Configure stdlib logging for ``config`` and bridge Twisted's log into it.

    With ``log_config`` the file is applied with ``logging.config.dictConfig`` (Synapse
    classes adapted, see the module docstring); an unreadable, non-YAML or unusable file
    is a ``ConfigError`` at ``log_config``. Without it, INFO (DEBUG when ``verbose``)
    goes to ``stream`` (stderr) in :data:`DEFAULT_FORMAT`, unless
    ``log_to_stderr_default`` is false. ``verbose`` also lowers the root level to DEBUG
    when a file is used. ``log_beginner`` defaults to Twisted's global one.
    Afterwards ``config.notes`` are logged at INFO.
    """
    _state["server_name"] = config.server.server_name
    _install_record_factory()
    root = logging.getLogger()
    _remove_default_handler(root)

    warnings: List[str] = []
    path = config.logging.log_config
    if path is None:
        root.setLevel(logging.DEBUG if verbose else logging.INFO)
        if log_to_stderr_default:
            handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
            handler.setFormatter(logging.Formatter(DEFAULT_FORMAT))
            handler._synapse_modhost_default = True  # type: ignore[attr-defined]
            root.addHandler(handler)
    else:
        import logging.config as logging_config  # only needed with a file

        dict_config = load_log_config(path)
        warnings = _adapt(dict_config)
        try:
            logging_config.dictConfig(dict_config)
        except Exception as e:
            raise ConfigError(
                f"Could not apply the log config file {path!r}", ("log_config",)
            ) from e
        if verbose:
            root.setLevel(logging.DEBUG)

    if log_beginner is None:
        from twisted.logger import globalLogBeginner

        log_beginner = globalLogBeginner
    _bridge_twisted(log_beginner)

    for warning in warnings:
        logger.warning("%s", warning)
    for note in config.notes:
        logger.info("%s", note)
