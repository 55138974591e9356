"""Light stand-ins for Synapse's logging contexts (``synapse.logging.context``).

The host does not track per-request logging contexts or resource usage. These classes
keep the shapes modules touch — ``LoggingContext`` as a context manager with a ``name``,
``current_context()``, ``PreserveLoggingContext``, ``nested_logging_context`` and the
``LoggingContextFilter`` a log config may name — so code written for Synapse runs; they
only remember which context is current (per thread) and carry no statistics.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any, Callable, Literal, Optional, Type, Union

__all__ = [
    "SENTINEL_CONTEXT",
    "ContextRequest",
    "LoggingContext",
    "LoggingContextFilter",
    "LoggingContextOrSentinel",
    "PreserveLoggingContext",
    "current_context",
    "nested_logging_context",
    "preserve_fn",
    "run_coroutine_in_background",
    "set_current_context",
]


class ContextRequest:
    """Request details a context can carry (all optional here)."""

    def __init__(self, **fields: Any) -> None:
        self.request_id: Optional[str] = None
        self.ip_address: Optional[str] = None
        self.site_tag: Optional[str] = None
        self.requester: Optional[str] = None
        self.authenticated_entity: Optional[str] = None
        self.method: Optional[str] = None
        self.url: Optional[str] = None
        self.protocol: Optional[str] = None
        self.user_agent: Optional[str] = None
        for key, value in fields.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return str(self.request_id or "")


class _NoResourceUsage:
    """The resource-usage hooks Synapse's contexts have; here they record nothing."""

    __slots__ = ()

    def start(self, rusage: Any = None) -> None:
        pass

    def stop(self, rusage: Any = None) -> None:
        pass

    def add_database_transaction(self, duration_sec: float) -> None:
        pass

    def add_database_scheduled(self, sched_sec: float) -> None:
        pass

    def record_event_fetch(self, event_count: int) -> None:
        pass


class _Sentinel(_NoResourceUsage):
    """The "no context" context: falsy, named ``sentinel``."""

    __slots__ = ("previous_context", "finished", "server_name", "request", "scope", "tag")

    def __init__(self) -> None:
        self.previous_context = None
        self.finished = False
        self.server_name = "unknown_server_from_sentinel_context"
        self.request = None
        self.scope = None
        self.tag = None

    def __str__(self) -> str:
        return "sentinel"

    def __bool__(self) -> Literal[False]:
        return False


SENTINEL_CONTEXT = _Sentinel()


class LoggingContext(_NoResourceUsage):
    """A named context; entering it makes it current until exit."""

    def __init__(
        self,
        name: Optional[str] = None,
        *,
        server_name: str = "",
        parent_context: Optional["LoggingContext"] = None,
        request: Optional[ContextRequest] = None,
    ) -> None:
        self.name = name or ""
        self.server_name = server_name
        self.parent_context = parent_context
        self.request = request if request is not None else getattr(parent_context, "request", None)
        self.previous_context: LoggingContextOrSentinel = SENTINEL_CONTEXT
        self.finished = False
        self.tag = ""
        self.scope: Any = None

    def __str__(self) -> str:
        return self.name

    def __enter__(self) -> "LoggingContext":
        self.previous_context = set_current_context(self)
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        set_current_context(self.previous_context)
        self.finished = True

    def get_resource_usage(self) -> None:
        return None


LoggingContextOrSentinel = Union[LoggingContext, _Sentinel]

_local = threading.local()


def current_context() -> LoggingContextOrSentinel:
    """The context entered most recently on this thread, or ``SENTINEL_CONTEXT``."""
    return getattr(_local, "context", SENTINEL_CONTEXT)


def set_current_context(context: LoggingContextOrSentinel) -> LoggingContextOrSentinel:
    """Make ``context`` current; returns the previous one."""
    previous = current_context()
    _local.context = context
    return previous


class PreserveLoggingContext:
    """Switch to ``new_context`` (default: the sentinel) inside the ``with`` block."""

    __slots__ = ("_new_context", "_old_context")

    def __init__(self, new_context: LoggingContextOrSentinel = SENTINEL_CONTEXT) -> None:
        self._new_context = new_context
        self._old_context: LoggingContextOrSentinel = SENTINEL_CONTEXT

    def __enter__(self) -> None:
        self._old_context = set_current_context(self._new_context)

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        set_current_context(self._old_context)


def nested_logging_context(suffix: str) -> LoggingContext:
    """A child of the current context named ``"<parent>-<suffix>"``."""
    parent = current_context()
    if isinstance(parent, LoggingContext):
        return LoggingContext(
            "%s-%s" % (parent.name, suffix),
            server_name=parent.server_name,
            parent_context=parent,
        )
    return LoggingContext(str(suffix))


class LoggingContextFilter(logging.Filter):
    """Adds ``request`` (the current context's request id) to log records that lack it."""

    def __init__(self, request: str = "") -> None:
        super().__init__()
        self._default_request = request

    def filter(self, record: logging.LogRecord) -> Literal[True]:
        context = current_context()
        if not hasattr(record, "request"):
            request = getattr(context, "request", None)
            record.request = str(request) if request is not None else self._default_request
        if not hasattr(record, "server_name"):
            record.server_name = getattr(context, "server_name", "")
        return True


def run_coroutine_in_background(coroutine: Any) -> Any:
    """Start ``coroutine`` now; returns its Deferred."""
    from twisted.internet import defer

    return defer.ensureDeferred(coroutine)


def preserve_fn(f: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``f`` so each call runs it via ``run_in_background`` (returns a Deferred)."""
    from synapse_modhost.module_api import run_in_background

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return run_in_background(f, *args, **kwargs)

    return wrapped
