"""``ModuleHostTestCase``: the real host in memory, for trial and pytest."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar, Union

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.testing._channel import Content, FakeChannel, make_request

__all__ = ["DEFAULT_CONFIG", "ModuleHostTestCase", "default_config"]

T = TypeVar("T")

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
    "modules": [],
}


def default_config() -> Dict[str, Any]:
    """A fresh copy of the config a test host starts from."""
    return copy.deepcopy(DEFAULT_CONFIG)


class ModuleHostTestCase(SynchronousTestCase):
    """A trial test case with a started host on a ``MemoryReactorClock``.

    Override :meth:`make_config` (or set ``modules``) to load modules. ``self.host``,
    ``self.reactor``/``self.clock``, ``self.site`` and :meth:`make_request` are ready in
    each test.
    """

    #: ``modules:`` entries to load, e.g. ``[{"module": "pkg.Mod", "config": {}}]``
    modules: List[Dict[str, Any]] = []

    def make_config(self) -> Dict[str, Any]:
        """The config dict for this test's host."""
        config = default_config()
        config["modules"] = copy.deepcopy(self.modules)
        return config

    def setUp(self) -> None:
        from synapse_modhost import build_host

        self.reactor = MemoryReactorClock()
        self.clock = self.reactor
        config = self.make_config()
        if not config.get("media_store_path") or config["media_store_path"] == "media_store":
            config["media_store_path"] = self.mktemp()
        self.host = build_host(config, self.reactor, database_threaded=False)
        self.get_success(self.host.start(listen=False))
        self.addCleanup(lambda: self.get_success(self.host.stop()))
        self.site = next(iter(self.host.sites.values()))

    # ------------------------------------------------------------------ running things

    def pump(self, seconds: float = 0.0) -> None:
        """Advance the clock by ``seconds`` (running what is due)."""
        self.reactor.advance(seconds)

    def get_success(self, d: Any, by: float = 0.0) -> Any:
        """The result of a Deferred or coroutine that must succeed (after pumping ``by``)."""
        deferred = defer.ensureDeferred(d) if not isinstance(d, defer.Deferred) else d
        if by:
            self.pump(by)
        return self.successResultOf(deferred)

    def get_failure(self, d: Any, exc: Type[BaseException]) -> Failure:
        """The failure of a Deferred or coroutine that must fail with ``exc``."""
        deferred = defer.ensureDeferred(d) if not isinstance(d, defer.Deferred) else d
        failure = self.failureResultOf(deferred)
        failure.trap(exc)
        return failure

    # ------------------------------------------------------------------ users

    def register_user(
        self,
        localpart: str,
        password: Optional[str] = "password",
        admin: bool = False,
        displayname: Optional[str] = None,
    ) -> str:
        """Create a user directly in the store (no callbacks); its user id."""
        user_id = "@%s:%s" % (localpart, self.host.config.server.server_name)
        hs = self.host.hs
        password_hash = None
        if password is not None:
            from synapse_modhost.homeserver.passwords import hash_password

            password_hash = hash_password(password, rounds=4)
        self.get_success(
            hs.user_store.create_user(
                user_id, password_hash=password_hash, admin=admin, displayname=displayname or localpart
            )
        )
        return user_id

    def login(self, user_id: str, device_id: Optional[str] = None) -> str:
        """A new access token (and device) for ``user_id``, straight from the store."""
        import secrets

        device_id = device_id or secrets.token_hex(5).upper()
        token = "syt_" + secrets.token_urlsafe(24)
        store = self.host.hs.user_store
        self.get_success(store.create_device(user_id, device_id))
        self.get_success(store.add_access_token(user_id, token, device_id))
        return token

    # ------------------------------------------------------------------ HTTP

    def make_request(
        self,
        method: Union[str, bytes],
        path: Union[str, bytes],
        content: Content = None,
        access_token: Optional[str] = None,
        headers: Optional[List[Tuple[Union[str, bytes], Union[str, bytes]]]] = None,
        await_result: bool = True,
    ) -> FakeChannel:
        """Send a request through the host's site; by default pump until it is answered."""
        channel = make_request(self.site, self.reactor, method, path, content, access_token, headers)
        if await_result:
            for _ in range(100):
                if channel.is_finished:
                    break
                self.pump(0.01)
        return channel

