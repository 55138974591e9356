"""``ModuleHostTestCase``: the real host in memory, for trial and pytest."""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional, TypeVar

from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.testing._channel import Content, FakeChannel
from synapse_modhost.testing._factories import make_event, make_requester, make_state_map
from synapse_modhost.testing._guards import collect_dropped_deferreds, leftover_problems
from synapse_modhost.testing._harness import HeaderList, HostHarness

__all__ = [
    "DEFAULT_CONFIG",
    "ModuleHostTestCase",
    "default_config",
    "deep_merge",
    "override_config",
]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_CONFIG: Dict[str, Any] = {
    "server_name": "test.local",
    "public_baseurl": "http://test.local/",
    "listeners": [
        {
            "port": 8008,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "resources": [{"names": ["client"]}],
        }
    ],
    "database": {"name": "sqlite3", "args": {"database": ":memory:"}},
    "media_store_path": "media_store",
    "registration_shared_secret": "test-shared-secret",
    "enable_registration": True,
    "enable_registration_without_verification": True,
    # bcrypt at Synapse's default cost makes every test user cost a quarter second
    "bcrypt_rounds": 4,
    "modules": [],
}


def default_config() -> Dict[str, Any]:
    """A fresh copy of the config a test host starts from."""
    return copy.deepcopy(DEFAULT_CONFIG)


def deep_merge(base: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    """``base`` with ``extra`` merged in (mappings recursively, everything else replaced)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def override_config(extra: Dict[str, Any]) -> Callable[[F], F]:
    """Decorate a test method to start its host with ``extra`` merged into the config."""

    def decorate(func: F) -> F:
        func._modhost_config = extra  # type: ignore[attr-defined]
        return func

    return decorate


class ModuleHostTestCase(SynchronousTestCase):
    """A trial test case (it runs under pytest too) with a started host in memory.

    Set ``modules`` (``modules:`` entries) on the class, or override :meth:`make_config`;
    decorate a test with :func:`override_config` to change the config for that test.
    In each test: ``self.host``, ``self.reactor``/``self.clock``, ``self.site``,
    :meth:`make_request`, the Matrix helpers, ``self.callbacks``, ``self.http_stub``
    (what modules' ``api.http_client`` talks to) and the factories.

    A test fails if it leaves delayed calls pending on the clock, or a request a module
    sent that no ``http_stub`` rule answered.
    """

    #: ``modules:`` entries to load, e.g. ``[{"module": "pkg.Mod", "config": {}}]``
    modules: List[Dict[str, Any]] = []

    make_event = staticmethod(make_event)
    make_requester = staticmethod(make_requester)
    make_state_map = staticmethod(make_state_map)

    def make_config(self) -> Dict[str, Any]:
        """The config dict for this test's host (before :func:`override_config`)."""
        config = default_config()
        config["modules"] = copy.deepcopy(self.modules)
        return config

    def setUp(self) -> None:
        config = self.make_config()
        method = getattr(self, self._testMethodName, None)
        extra = getattr(method, "_modhost_config", None)
        if extra:
            config = deep_merge(config, extra)
        if config.get("media_store_path") in (None, "media_store"):
            config["media_store_path"] = self.mktemp()
        self.harness = HostHarness(config)
        self.addCleanup(self._check_leftovers)
        self.harness.start()
        self.addCleanup(self.harness.stop)
        self.reactor = self.harness.reactor
        self.clock = self.reactor
        self.host = self.harness.host
        self.site = self.harness.site
        self.http_stub = self.harness.http_stub
        self.callbacks = self.harness.callbacks

    def _check_leftovers(self) -> None:
        collect_dropped_deferreds()
        # trial would also report logged errors, after the test, as a bare traceback (one
        # that pytest cannot show); the kit reports them with the other leftovers.
        problems = leftover_problems(self.harness, self.flushLoggedErrors())
        if problems:
            self.fail("; ".join(problems))

    # ------------------------------------------------------------------ delegation

    def pump(self, seconds: float = 0.0) -> None:
        """Advance the clock by ``seconds``, running what is due."""
        self.harness.pump(seconds)

    def get_success(self, d: Any, by: float = 0.0) -> Any:
        """The result of a Deferred or coroutine that must succeed (after pumping ``by``)."""
        return self.harness.get_success(d, by)

    def get_failure(self, d: Any, exc: type) -> Failure:
        """The failure of a Deferred or coroutine that must fail with ``exc``."""
        return self.harness.get_failure(d, exc)

    def make_request(
        self,
        method: Any,
        path: Any,
        content: Content = None,
        access_token: Optional[str] = None,
        headers: Optional[HeaderList] = None,
        await_result: bool = True,
    ) -> FakeChannel:
        """Send a request through the host's Site in memory; pump until it is answered."""
        return self.harness.make_request(method, path, content, access_token, headers, await_result)

    @property
    def treq(self) -> Any:
        """A treq client served by the host's Site in memory."""
        return self.harness.treq

    def register_user(self, localpart: str, password: str = "password", admin: bool = False,
                      displayname: Optional[str] = None) -> str:
        """Register a user through the shared-secret admin API; the user id."""
        return self.harness.register_user(localpart, password, admin, displayname)

    def login(self, user: str, password: str = "password", device_id: Optional[str] = None) -> str:
        """Log in with a password; the access token."""
        return self.harness.login(user, password, device_id)

    def create_room(self, access_token: str, **body: Any) -> str:
        """``POST /createRoom``; the room id."""
        return self.harness.create_room(access_token, **body)

    def send_event(self, room_id: str, access_token: str, content: Optional[Dict[str, Any]] = None,
                   event_type: str = "m.room.message", txn_id: Optional[str] = None) -> str:
        """Send an event; its event id."""
        return self.harness.send_event(room_id, access_token, content, event_type, txn_id)

    def invite(self, room_id: str, access_token: str, user_id: str) -> None:
        """Invite ``user_id``."""
        self.harness.invite(room_id, access_token, user_id)

    def join(self, room: str, access_token: str) -> str:
        """Join by room id or alias; the room id."""
        return self.harness.join(room, access_token)

    def upload_media(self, access_token: str, data: bytes,
                     content_type: str = "application/octet-stream", filename: Optional[str] = None) -> str:
        """Upload media; its ``mxc://`` URI."""
        return self.harness.upload_media(access_token, data, content_type, filename)
