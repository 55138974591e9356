"""``HostHarness``: a started host in memory, shared by the trial case and pytest fixtures."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

# before twisted.web loads: the in-memory site never speaks HTTP/2
import synapse_modhost.testing._no_http2  # noqa: F401
from synapse_modhost import build_host

# the host's modules load with the kit, so the freeze on loading it covers them
from synapse_modhost.host import ModuleHost  # noqa: F401
from synapse_modhost.testing._channel import Content, FakeChannel, make_request
from synapse_modhost.testing._http_stub import HttpClientStub

if TYPE_CHECKING:
    from synapse_modhost.testing._guards import FailureCatcher

__all__ = ["HostHarness", "RequestFailed"]

HeaderList = List[Tuple[Union[str, bytes], Union[str, bytes]]]


class RequestFailed(AssertionError):
    """A kit helper's request did not answer 200; carries the channel."""

    def __init__(self, what: str, channel: FakeChannel) -> None:
        super().__init__("%s failed: %r" % (what, channel))
        self.channel = channel


class HostHarness:
    """Builds a host from a config dict on a ``MemoryReactorClock`` with SQLite run inline,
    replaces ``api.http_client`` with :class:`HttpClientStub`, and starts it without
    binding ports. :meth:`make_request` drives its real Site in memory."""

    def __init__(self, config: Dict[str, Any], reactor: Optional[MemoryReactorClock] = None) -> None:
        self.reactor = reactor if reactor is not None else MemoryReactorClock()
        self.clock = self.reactor
        self.config = config
        self.http_stub = HttpClientStub(self.reactor)
        self.host = build_host(config, self.reactor, database_threaded=False)
        self.host.http_client = self.http_stub.client
        self.site: Any = None
        #: collects failures logged during a pytest test (set by the ``modhost`` fixture)
        self.failure_catcher: Optional["FailureCatcher"] = None
        self._channels: List[FakeChannel] = []
        self._treq: Any = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.get_success(self.host.start(listen=False))
        self.site = next(iter(self.host.sites.values()))

    def stop(self) -> None:
        for channel in self._channels:
            channel.close()
        self._channels.clear()
        self.get_success(self.host.stop())

    def flush_logged_errors(self, *types: type) -> List[Failure]:
        """Take the failures logged so far (of these exception types; all without any),
        so the test does not fail on them: the ``modhost`` fixture's counterpart of
        trial's ``flushLoggedErrors`` (under trial, use the test case's own)."""
        catcher = self.failure_catcher
        if catcher is None:
            return []
        taken = [f for f in catcher.failures if not types or f.check(*types)]
        catcher.failures = [f for f in catcher.failures if f not in taken]
        return taken

    def leftover_delayed_calls(self) -> List[Any]:
        """Delayed calls still pending on the clock."""
        return [c for c in self.reactor.getDelayedCalls() if c.active()]

    # ------------------------------------------------------------------ running things

    def pump(self, seconds: float = 0.0) -> None:
        """Advance the clock by ``seconds``, running what is due (and delivering what the
        stubbed outbound HTTP has in flight)."""
        self.http_stub.flush()
        self.reactor.advance(seconds)
        self.http_stub.flush()

    def get_success(self, d: Any, by: float = 0.0) -> Any:
        """The result of a Deferred or coroutine that must succeed (after pumping ``by``)."""
        deferred = d if isinstance(d, defer.Deferred) else defer.ensureDeferred(d)
        if by:
            self.pump(by)
        results = self._settle(deferred)
        if not results:
            raise AssertionError("%r has not fired (pump the clock?)" % (deferred,))
        result = results[0]
        if isinstance(result, Failure):
            result.raiseException()
        return result

    def _settle(self, deferred: "defer.Deferred[Any]") -> List[Any]:
        """Let in-memory I/O (stubbed HTTP) finish without moving the clock."""
        results: List[Any] = []
        deferred.addBoth(results.append)
        for _ in range(100):
            if results:
                break
            self.pump(0)
        return results

    def get_failure(self, d: Any, exc: type) -> Failure:
        """The failure of a Deferred or coroutine that must fail with ``exc``."""
        deferred = d if isinstance(d, defer.Deferred) else defer.ensureDeferred(d)
        results = self._settle(deferred)
        if not results:
            raise AssertionError("%r has not fired (pump the clock?)" % (deferred,))
        result = results[0]
        if not isinstance(result, Failure):
            raise AssertionError("expected %s, got the result %r" % (exc.__name__, result))
        if not result.check(exc):
            result.raiseException()
        return result

    @property
    def callbacks(self) -> Any:
        """The host's callback registries: ``callbacks.spam_checker.user_may_invite(...)``
        runs every registered callback with Synapse's rules (a coroutine: pass it to
        :meth:`get_success`)."""
        return self.host.callbacks

    # ------------------------------------------------------------------ HTTP

    def make_request(
        self,
        method: Union[str, bytes],
        path: Union[str, bytes],
        content: Content = None,
        access_token: Optional[str] = None,
        headers: Optional[HeaderList] = None,
        await_result: bool = True,
    ) -> FakeChannel:
        """Send a request through the host's Site; by default pump until it is answered."""
        channel = make_request(self.site, self.reactor, method, path, content, access_token, headers)
        if await_result:
            for _ in range(1000):
                if channel.is_finished:
                    break
                self.pump(0.001)
        if channel.is_finished:
            channel.close()  # the response is read: hang up, so no idle timer stays behind
        else:
            self._channels.append(channel)
        return channel

    @property
    def treq(self) -> Any:
        """A treq client whose requests go to the host's Site in memory."""
        if self._treq is None:
            from synapse_modhost.testing._treq import site_treq

            self._treq = site_treq(self.site)
        return self._treq

    def _ok(self, what: str, channel: FakeChannel) -> Any:
        if channel.code != 200:
            raise RequestFailed(what, channel)
        return channel.json_body

    # ------------------------------------------------------------------ Matrix helpers

    def register_user(
        self,
        localpart: str,
        password: str = "password",
        admin: bool = False,
        displayname: Optional[str] = None,
    ) -> str:
        """Register through the shared-secret admin API (registration callbacks fire, as on
        Synapse); the user id."""
        secret = self.host.config.registration.registration_shared_secret
        if not secret:
            raise AssertionError("register_user needs registration_shared_secret in the config")
        nonce_channel = self.make_request("GET", "/_synapse/admin/v1/register")
        nonce = self._ok("GET /_synapse/admin/v1/register", nonce_channel)["nonce"]
        mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode("utf-8"))
            mac.update(b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        body: Dict[str, Any] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        if displayname is not None:
            body["displayname"] = displayname
        result = self._ok(
            "register %s" % localpart, self.make_request("POST", "/_synapse/admin/v1/register", body)
        )
        return str(result["user_id"])

    def login(self, user: str, password: str = "password", device_id: Optional[str] = None) -> str:
        """Log in with a password (``m.login.password``); the access token."""
        body: Dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
        }
        if device_id is not None:
            body["device_id"] = device_id
        channel = self.make_request("POST", "/_matrix/client/v3/login", body)
        return str(self._ok("login %s" % user, channel)["access_token"])

    def create_room(self, access_token: str, **body: Any) -> str:
        """``POST /createRoom`` with ``body``; the room id."""
        result = self._ok(
            "createRoom", self.make_request("POST", "/_matrix/client/v3/createRoom", body, access_token)
        )
        return str(result["room_id"])

    def send_event(
        self,
        room_id: str,
        access_token: str,
        content: Optional[Dict[str, Any]] = None,
        event_type: str = "m.room.message",
        txn_id: Optional[str] = None,
    ) -> str:
        """Send a message (or ``event_type``) event; its event id."""
        content = content if content is not None else {"msgtype": "m.text", "body": "hello"}
        path = "/_matrix/client/v3/rooms/%s/send/%s/%s" % (room_id, event_type, txn_id or secrets.token_hex(8))
        return str(self._ok("send", self.make_request("PUT", path, content, access_token))["event_id"])

    def invite(self, room_id: str, access_token: str, user_id: str) -> None:
        """Invite ``user_id`` to ``room_id``."""
        self._ok(
            "invite",
            self.make_request("POST", "/_matrix/client/v3/rooms/%s/invite" % room_id, {"user_id": user_id}, access_token),
        )

    def join(self, room: str, access_token: str) -> str:
        """Join a room by id or alias; the room id."""
        result = self._ok("join", self.make_request("POST", "/_matrix/client/v3/join/%s" % room, {}, access_token))
        return str(result["room_id"])

    def upload_media(
        self,
        access_token: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        filename: Optional[str] = None,
    ) -> str:
        """Upload ``data``; the ``mxc://`` URI."""
        path = "/_matrix/media/v3/upload" + ("?filename=%s" % filename if filename else "")
        channel = self.make_request(
            "POST", path, data, access_token, headers=[("Content-Type", content_type)]
        )
        return str(self._ok("upload", channel)["content_uri"])
