"""Test doubles for the module API tests: a fake host, a reactor with threads."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from synapse_modhost.config._model import (
    DatabaseConfig,
    EmailConfig,
    HomeServerConfig,
    LoggingConfig,
    MediaConfig,
    RegistrationConfig,
    ServerConfig,
)


class SyncThreadPool:
    """A thread pool that runs each function at once, on the calling thread."""

    def __init__(self) -> None:
        self.calls: List[Callable[..., Any]] = []

    def callInThreadWithCallback(
        self, onResult: Callable[[bool, Any], None], func: Callable[..., Any], *args: Any, **kw: Any
    ) -> None:
        self.calls.append(func)
        try:
            result = func(*args, **kw)
        except BaseException:
            onResult(False, Failure())
        else:
            onResult(True, result)


class ThreadsMemoryReactor(MemoryReactorClock):
    """``MemoryReactorClock`` plus ``callFromThread`` (deferred to the next ``advance``)
    and a synchronous ``getThreadPool``."""

    def __init__(self) -> None:
        super().__init__()
        self.threadpool = SyncThreadPool()

    def callFromThread(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.callLater(0, f, *args, **kwargs)

    def getThreadPool(self) -> SyncThreadPool:
        return self.threadpool


def make_config(
    *,
    server_name: str = "test.local",
    run_background_tasks: bool = True,
    worker_name: Optional[str] = None,
    custom_template_directory: Optional[str] = None,
) -> HomeServerConfig:
    """A minimal parsed config."""
    return HomeServerConfig(
        server=ServerConfig(
            server_name=server_name,
            public_baseurl="https://%s/" % (server_name,),
            listeners=(),
            custom_template_directory=custom_template_directory,
            worker_name=worker_name,
            run_background_tasks=run_background_tasks,
        ),
        database=DatabaseConfig(name="sqlite3", args={}, database=":memory:"),
        media=MediaConfig(media_store_path="media_store", max_upload_size=52428800),
        registration=RegistrationConfig(),
        logging=LoggingConfig(),
        email=EmailConfig(email_app_name="Example"),
        modules=(),
    )


class FakeHost:
    """Just what ``ModuleApi`` reads from the host."""

    def __init__(self, reactor: Any = None, **config_kwargs: Any) -> None:
        self.reactor = reactor if reactor is not None else ThreadsMemoryReactor()
        self.config = make_config(**config_kwargs)
        self.callbacks = object()
        self.web_resources = object()
        self.http_client = object()
        self.looping_calls: List[Any] = []

    def track_looping_call(self, handle: Any) -> None:
        self.looping_calls.append(handle)
