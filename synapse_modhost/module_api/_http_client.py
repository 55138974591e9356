"""``SimpleHttpClient``: the outbound HTTP client modules get as ``api.http_client``.

Reproduces the request shapes, results and errors of Synapse 1.163's ``BaseHttpClient``
methods that modules call (MODULEAPI.md §5):

* every request carries ``User-Agent`` (unless the caller set one);
* ``headers`` arguments are raw-header mappings ``{name: [values]}`` (bytes or str) that
  override the client's own headers of the same name;
* 60 s (on the injected reactor) until the response headers arrive, else
  ``RequestTimedOutError("Timeout waiting for response from remote server")``; a 15 s TCP
  connect timeout gives ``RequestTimedOutError("Timeout connecting to remote server")``;
  other transport errors propagate unchanged; there is no timeout on reading a body except
  in ``get_file`` (30 s);
* non-2xx → ``HttpResponseException(code, reason phrase, body)``; a body that is not JSON
  (NaN/Infinity included) → ``ValueError``;
* redirects are followed and gzip responses decoded (treq's defaults, as in Synapse).

treq (and ``twisted.web.client``) are imported on the first request, not at import time.
For tests, pass ``treq_client`` (e.g. ``treq.testing.StubTreq``) or ``agent`` (an
``IAgent``). No proxy support (Synapse honours ``http_proxy``/``https_proxy``).
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from http import HTTPStatus
from typing import (
    TYPE_CHECKING,
    Any,
    BinaryIO,
    Callable,
    Dict,
    List,
    Mapping,
    Sequence,
    Tuple,
    Union,
)

from canonicaljson import encode_canonical_json
from twisted.internet import defer, protocol
from twisted.internet.error import ConnectingCancelledError
from twisted.internet.error import TimeoutError as ConnectTimeoutError
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from zope.interface import implementer

from synapse_modhost._version import SYNAPSE_VERSION
from synapse_modhost.errors import (
    Codes,
    HttpResponseException,
    RequestTimedOutError,
    SynapseError,
)

if TYPE_CHECKING:
    from twisted.web.iweb import IAgent, IResponse

__all__ = ["BodyExceededMaxSize", "SimpleHttpClient", "read_body_with_max_size"]

logger = logging.getLogger("synapse_modhost.http_client")

#: ``hs.version_string`` of the Synapse this host reproduces
DEFAULT_USER_AGENT = f"Synapse/{SYNAPSE_VERSION}"

#: seconds until the response headers must have arrived
REQUEST_TIMEOUT = 60
#: seconds for the TCP connection to be established
CONNECT_TIMEOUT = 15
#: seconds ``get_file`` allows for reading the body
GET_FILE_BODY_TIMEOUT = 30

RawHeaders = Mapping[Union[str, bytes], Sequence[Union[str, bytes]]]
QueryParams = Mapping[str, Union[str, Sequence[str]]]

_ACCESS_TOKEN_RE = re.compile(r"(\?.*access(_|%5[Ff])token=)[^&]*(.*)$")
_CLIENT_SECRET_RE = re.compile(r"(\?.*client(_|%5[Ff])secret=)[^&]*(.*)$")


def redact_uri(uri: str) -> str:
    """``uri`` with ``access_token`` / ``client_secret`` query values redacted (for logs)."""
    uri = _ACCESS_TOKEN_RE.sub(r"\1<redacted>\3", uri)
    return _CLIENT_SECRET_RE.sub(r"\1<redacted>\3", uri)


def _reject_constant(value: str) -> None:
    raise ValueError(f"Invalid JSON value: '{value}'")


_json_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def decode_json(body: bytes) -> Any:
    """Decode a response body as Synapse does: UTF-8, strict JSON (no NaN/Infinity)."""
    return _json_decoder.decode(body.decode("utf-8"))


class BodyExceededMaxSize(Exception):
    """The body was larger than allowed."""


class SimpleHttpClient:
    """The module-facing HTTP client; one per host.

    ``reactor`` provides time (for the timeouts) and TCP (for the real agent). By default
    requests go through treq over ``twisted.web.client.Agent`` with a persistent
    connection pool; ``treq_client`` (anything with treq's ``request(method, url, **kw)``)
    or ``agent`` replace that. Call :meth:`close` on shutdown to drop pooled connections.
    """

    def __init__(
        self,
        reactor: Any,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        treq_client: Any = None,
        agent: IAgent | None = None,
    ) -> None:
        self.reactor = reactor
        self.user_agent = user_agent.encode("ascii")
        self._treq_client = treq_client
        self._agent = agent
        self._pool: Any = None

    # ------------------------------------------------------------------ plumbing

    def _client(self) -> Any:
        if self._treq_client is not None:
            return self._treq_client
        from treq.client import HTTPClient

        if self._agent is None:
            self._agent = self._make_agent()
        # A new HTTPClient (hence a new cookie jar) per request, like ``treq.request``.
        return HTTPClient(self._agent, data_to_body_producer=_BytesProducer)

    def _make_agent(self) -> IAgent:
        from twisted.web.client import Agent, HTTPConnectionPool

        pool = HTTPConnectionPool(self.reactor)
        pool.maxPersistentPerHost = 50
        pool.cachedConnectionTimeout = 2 * 60
        self._pool = pool
        return Agent(self.reactor, connectTimeout=CONNECT_TIMEOUT, pool=pool)

    def close(self) -> defer.Deferred[None]:
        """Close idle pooled connections (fires once they are closed); may be called more
        than once, and the client stays usable."""
        if self._pool is None:
            return defer.succeed(None)
        closed: defer.Deferred[None] = self._pool.closeCachedConnections()
        return closed

    # ------------------------------------------------------------------ request

    async def request(
        self,
        method: str,
        uri: str,
        data: bytes | None = None,
        headers: Headers | None = None,
    ) -> IResponse:
        """Send a request; returns the response once its headers are in.

        Raises ``RequestTimedOutError`` on the connect or response timeouts.
        """
        logger.debug("Sending request %s %s", method, redact_uri(uri))
        if headers is None:
            headers = Headers()
        elif not isinstance(headers, Headers):
            headers = Headers(dict(headers))
        if not headers.hasHeader(b"User-Agent"):
            headers.addRawHeader(b"User-Agent", self.user_agent)
        try:
            d = self._client().request(
                method,
                uri,
                headers=headers,
                data=data,
                unbuffered=True,
                reactor=self.reactor,
            )
            d = timeout_deferred(d, REQUEST_TIMEOUT, self.reactor)
            d.addErrback(_timeout_to_request_timed_out_error)
            response = await d
        except Exception as e:
            logger.info(
                "Error sending request to  %s %s: %s %s",
                method,
                redact_uri(uri),
                type(e).__name__,
                e.args[0] if e.args else "",
            )
            raise
        logger.info("Received response to %s %s: %s", method, redact_uri(uri), response.code)
        return response

    async def _request_body(
        self, method: str, uri: str, headers: Dict[Any, Any], data: bytes | None = None
    ) -> bytes:
        response = await self.request(method, uri, headers=Headers(headers), data=data)
        body = await read_body(response)
        if 200 <= response.code < 300:
            return body
        raise HttpResponseException(
            response.code, response.phrase.decode("ascii", errors="replace"), body
        )

    def _headers(self, own: Dict[Any, Any], headers: RawHeaders | None) -> Dict[Any, Any]:
        if headers:
            own.update(headers)
        return own

    # ------------------------------------------------------------------ JSON and raw

    async def get_raw(
        self, uri: str, args: QueryParams | None = None, headers: RawHeaders | None = None
    ) -> bytes:
        """GET ``uri`` (with ``args`` as the query string); the body on 2xx."""
        if args:
            uri = f"{uri}?{urllib.parse.urlencode(args, True)}"
        actual = self._headers({b"User-Agent": [self.user_agent]}, headers)
        return await self._request_body("GET", uri, actual)

    async def get_json(
        self, uri: str, args: QueryParams | None = None, headers: RawHeaders | None = None
    ) -> Any:
        """GET ``uri`` with ``Accept: application/json``; the decoded body on 2xx."""
        actual = self._headers({b"Accept": [b"application/json"]}, headers)
        body = await self.get_raw(uri, args, headers=actual)
        return decode_json(body)

    async def post_json_get_json(
        self, uri: str, post_json: Any, headers: RawHeaders | None = None
    ) -> Any:
        """POST ``post_json`` as canonical JSON; the decoded body on 2xx."""
        json_bytes = encode_canonical_json(post_json)
        logger.debug("HTTP POST %s -> %s", json_bytes, redact_uri(uri))
        actual = self._headers(self._json_headers(), headers)
        body = await self._request_body("POST", uri, actual, json_bytes)
        return decode_json(body)

    async def put_json(
        self,
        uri: str,
        json_body: Any,
        args: QueryParams | None = None,
        headers: RawHeaders | None = None,
    ) -> Any:
        """PUT ``json_body`` as canonical JSON; the decoded body on 2xx."""
        if args:
            uri = f"{uri}?{urllib.parse.urlencode(args, True)}"
        json_bytes = encode_canonical_json(json_body)
        actual = self._headers(self._json_headers(), headers)
        body = await self._request_body("PUT", uri, actual, json_bytes)
        return decode_json(body)

    async def post_urlencoded_get_json(
        self,
        uri: str,
        args: Mapping[str, Union[str, List[str]]] | None = None,
        headers: RawHeaders | None = None,
    ) -> Any:
        """POST ``args`` form-encoded; the decoded body on 2xx."""
        logger.debug("post_urlencoded_get_json args: %s", args)
        query = b"" if args is None else urllib.parse.urlencode(args, True).encode("utf8")
        own = {
            b"Content-Type": [b"application/x-www-form-urlencoded"],
            b"User-Agent": [self.user_agent],
            b"Accept": [b"application/json"],
        }
        actual = self._headers(own, headers)
        body = await self._request_body("POST", uri, actual, query)
        return decode_json(body)

    def _json_headers(self) -> Dict[Any, Any]:
        return {
            b"Content-Type": [b"application/json"],
            b"User-Agent": [self.user_agent],
            b"Accept": [b"application/json"],
        }

    # ------------------------------------------------------------------ files

    async def get_file(
        self,
        url: str,
        output_stream: BinaryIO,
        max_size: int | None = None,
        headers: RawHeaders | None = None,
        is_allowed_content_type: Callable[[str], bool] | None = None,
    ) -> Tuple[int, Dict[bytes, List[bytes]], str, int]:
        """GET ``url``, writing the body to ``output_stream``.

        Returns ``(length, response headers, final URI, code)``. Raises
        ``SynapseError(502, ...)`` for a status above 299, a disallowed content type, a body
        of ``max_size`` bytes or more (``M_TOO_LARGE``), a body not read within 30 s
        (``M_TOO_LARGE``) or any other failure while reading.
        """
        actual = self._headers({b"User-Agent": [self.user_agent]}, headers)
        response = await self.request("GET", url, headers=Headers(actual))
        resp_headers = dict(response.headers.getAllRawHeaders())

        if response.code > 299:
            logger.warning("Got %d when downloading %s", response.code, redact_uri(url))
            raise SynapseError(HTTPStatus.BAD_GATEWAY, f"Got error {response.code}", Codes.UNKNOWN)
        if is_allowed_content_type and b"Content-Type" in resp_headers:
            content_type = resp_headers[b"Content-Type"][0].decode("ascii")
            if not is_allowed_content_type(content_type):
                raise SynapseError(
                    HTTPStatus.BAD_GATEWAY,
                    "Requested file's content type not allowed for this operation: " + content_type,
                )

        try:
            d = read_body_with_max_size(response, output_stream, max_size)
            length = await timeout_deferred(d, GET_FILE_BODY_TIMEOUT, self.reactor)
        except BodyExceededMaxSize:
            raise SynapseError(
                HTTPStatus.BAD_GATEWAY,
                f"Requested file is too large > {max_size!r} bytes",
                Codes.TOO_LARGE,
            ) from None
        except defer.TimeoutError:
            raise SynapseError(
                HTTPStatus.BAD_GATEWAY,
                "Requested file took too long to download",
                Codes.TOO_LARGE,
            ) from None
        except Exception as e:
            raise SynapseError(
                HTTPStatus.BAD_GATEWAY, f"Failed to download remote body: {e}"
            ) from e

        return (
            length,
            resp_headers,
            response.request.absoluteURI.decode("ascii"),
            response.code,
        )


# ---------------------------------------------------------------------- helpers


def timeout_deferred(
    deferred: defer.Deferred[Any], timeout: float, clock: Any
) -> defer.Deferred[Any]:
    """A new Deferred with ``deferred``'s outcome, or ``defer.TimeoutError`` after
    ``timeout`` seconds on ``clock`` (``deferred`` is then cancelled). Cancelling the new
    Deferred cancels ``deferred``."""
    new_d: defer.Deferred[Any] = defer.Deferred(lambda _: deferred.cancel())
    timed_out = [False]

    def time_it_out() -> None:
        timed_out[0] = True
        try:
            deferred.cancel()
        except Exception:  # a broken canceller must not stop the timeout
            logger.exception("Canceller failed during timeout")
        if not new_d.called:
            new_d.errback(defer.TimeoutError(f"Timed out after {timeout:g}s"))

    delayed_call = clock.callLater(timeout, time_it_out)

    def settle(result: Any) -> None:
        if delayed_call.active():
            delayed_call.cancel()
        if new_d.called:
            return
        if isinstance(result, Failure):
            if timed_out[0] and result.check(defer.CancelledError):
                new_d.errback(defer.TimeoutError(f"Timed out after {timeout:g}s"))
            else:
                new_d.errback(result)
        else:
            new_d.callback(result)

    deferred.addBoth(settle)
    return new_d


def _timeout_to_request_timed_out_error(f: Failure) -> Failure:
    from twisted.web._newclient import ResponseNeverReceived

    if f.check(ConnectTimeoutError, ConnectingCancelledError):
        raise RequestTimedOutError("Timeout connecting to remote server")
    if f.check(defer.TimeoutError, ResponseNeverReceived):
        raise RequestTimedOutError("Timeout waiting for response from remote server")
    return f


@implementer(IBodyProducer)
class _BytesProducer:
    """Writes a body in one go (no cooperator, so no global reactor); takes bytes, str
    (UTF-8) or a file-like object (the test kit's in-memory treq clients use it too)."""

    def __init__(self, body: Any) -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = body.read()
        self.body: bytes = body
        self.length = len(self.body)

    def startProducing(self, consumer: Any) -> defer.Deferred[None]:
        consumer.write(self.body)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class _ReadBody(protocol.Protocol):
    def __init__(self, deferred: defer.Deferred[bytes], status: int, message: bytes) -> None:
        self.deferred = deferred
        self.status = status
        self.message = message
        self.chunks: List[bytes] = []

    def dataReceived(self, data: bytes) -> None:
        self.chunks.append(data)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        from twisted.web.client import PartialDownloadError, ResponseDone
        from twisted.web.http import PotentialDataLoss

        if self.deferred.called:
            return
        body = b"".join(self.chunks)
        if reason.check(ResponseDone):
            self.deferred.callback(body)
        elif reason.check(PotentialDataLoss):
            self.deferred.errback(PartialDownloadError(self.status, self.message, body))
        else:
            self.deferred.errback(reason)


def read_body(response: IResponse) -> defer.Deferred[bytes]:
    """The whole body of ``response`` (``twisted.web.client.readBody`` without its
    deprecation warning about the body transport); cancelling drops the connection."""
    proto: List[_ReadBody] = []
    d: defer.Deferred[bytes] = defer.Deferred(lambda _: _drop_connection(proto[0].transport))
    proto.append(_ReadBody(d, response.code, response.phrase))
    response.deliverBody(proto[0])
    return d


def _drop_connection(transport: Any) -> None:
    """Stop a body download: the response body's transport (a ``TransportProxyProducer``)
    has no ``abortConnection``, only ``loseConnection``."""
    if transport is None:
        return
    abort = getattr(transport, "abortConnection", None)
    if abort is not None:
        abort()
    else:
        transport.loseConnection()


class _ReadBodyWithMaxSize(protocol.Protocol):
    def __init__(self, stream: BinaryIO, deferred: defer.Deferred[int], max_size: int | None):
        self.stream = stream
        self.deferred = deferred
        self.length = 0
        self.max_size = max_size

    def dataReceived(self, data: bytes) -> None:
        if self.deferred.called:
            return
        try:
            self.stream.write(data)
        except Exception:
            self.deferred.errback()
            return
        self.length += len(data)
        # Synapse's limit is ">=": a body of exactly max_size bytes is refused.
        if self.max_size is not None and self.length >= self.max_size:
            self.deferred.errback(BodyExceededMaxSize())
            self._abort()

    def _abort(self) -> None:
        _drop_connection(self.transport)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        from twisted.web.client import ResponseDone
        from twisted.web.http import PotentialDataLoss

        if self.deferred.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self.deferred.callback(self.length)
        else:
            self.deferred.errback(reason)


class _DiscardBody(protocol.Protocol):
    """Fails with ``BodyExceededMaxSize`` on the first data or on close."""

    def __init__(self, deferred: defer.Deferred[int]):
        self.deferred = deferred

    def _fail(self) -> None:
        if not self.deferred.called:
            self.deferred.errback(BodyExceededMaxSize())
            _drop_connection(self.transport)

    def dataReceived(self, data: bytes) -> None:
        self._fail()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self._fail()


def read_body_with_max_size(
    response: IResponse, stream: BinaryIO, max_size: int | None
) -> defer.Deferred[int]:
    """Write ``response``'s body to ``stream``; fires with its length, or fails with
    ``BodyExceededMaxSize`` once ``max_size`` bytes are reached (immediately when the
    declared ``Content-Length`` is larger)."""
    d: defer.Deferred[int] = defer.Deferred()
    if max_size is not None and response.length is not UNKNOWN_LENGTH:
        if response.length > max_size:
            response.deliverBody(_DiscardBody(d))
            return d
    response.deliverBody(_ReadBodyWithMaxSize(stream, d, max_size))
    return d
