"""Writing JSON and HTML responses and errors the way Synapse's ``synapse.http.server`` does.

Bodies are encoded on the reactor thread (Synapse encodes JSON on a thread pool); the
wire shape is the same: JSON bodies have no ``Content-Length`` and go out chunked,
HTML bodies carry ``Content-Length``.
"""

from __future__ import annotations

import html
import json
import logging
from typing import Any, Callable, Iterator, Mapping, Union

from canonicaljson import encode_canonical_json
from twisted.internet.defer import CancelledError
from twisted.internet.interfaces import IPushProducer
from twisted.python.failure import Failure
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from synapse_modhost.errors import CodeMessageException, RedirectException, SynapseError

__all__ = [
    "HTML_ERROR_TEMPLATE",
    "HTTP_STATUS_REQUEST_CANCELLED",
    "encode_json",
    "finish_request",
    "respond_with_html",
    "respond_with_html_bytes",
    "respond_with_json",
    "respond_with_json_bytes",
    "respond_with_redirect",
    "return_html_error",
    "return_json_error",
    "set_clickjacking_protection_headers",
    "set_cors_headers",
]

logger = logging.getLogger(__name__)

#: The status logged (never seen by a client) when a request was cancelled because its
#: client went away.
HTTP_STATUS_REQUEST_CANCELLED = 499

#: The page ``return_html_error`` fills with ``{code}`` and the HTML-escaped ``{msg}``.
HTML_ERROR_TEMPLATE = """<!DOCTYPE html>
<html lang=en>
  <head>
    <meta charset="utf-8">
    <title>Error {code}</title>
  </head>
  <body>
     <p>{msg}</p>
  </body>
</html>
"""

_NO_CACHE = b"no-cache, no-store, must-revalidate"
_CORS_METHODS = b"GET, HEAD, POST, PUT, DELETE, OPTIONS"
_CORS_HEADERS = b"X-Requested-With, Content-Type, Authorization, Date"
_CORS_EXPOSE = b"Synapse-Trace-Id, Server"
_RENDEZVOUS_CORS_HEADERS = b"Content-Type, If-Match, If-None-Match"
_RENDEZVOUS_CORS_EXPOSE = b"Synapse-Trace-Id, Server, ETag"
_MSC4108_RENDEZVOUS = b"/_matrix/client/unstable/org.matrix.msc4108/rendezvous"

# Bodies up to this size are written in one go; larger ones through a push producer, so
# Twisted's idle time-out only starts once the client has taken the whole body.
_SINGLE_WRITE_LIMIT = 64 * 1024
_CHUNK_SIZE = 4096


def _json_default(obj: Any) -> Any:
    # Read-only mappings (immutabledict, frozendict, ...) encode as objects, as in Synapse.
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_compact_encoder = json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=_json_default)


def encode_json(obj: Any) -> bytes:
    """Compact JSON in insertion order with ``\\uXXXX`` escapes (Synapse's non-canonical
    encoding); NaN and infinities are rejected."""
    return _compact_encoder.encode(obj).encode("utf-8")


def _disconnected(request: Request) -> bool:
    if request._disconnected:
        logger.warning("Not sending response to request %s, already disconnected.", request)
        return True
    return False


def _set_json_headers(request: Request, send_cors: bool) -> None:
    request.setHeader(b"Content-Type", b"application/json")
    if not request.responseHeaders.hasHeader(b"Cache-Control"):
        request.setHeader(b"Cache-Control", _NO_CACHE)
    if send_cors:
        set_cors_headers(request)


def respond_with_json(
    request: Request,
    code: int,
    json_object: Any,
    send_cors: bool = False,
    canonical_json: bool = True,
) -> int | None:
    """Send ``json_object`` as the response and finish the request.

    ``canonical_json`` selects canonical JSON (sorted keys, raw UTF-8) or the compact
    insertion-order encoding.  Sets ``Content-Type``, a no-cache ``Cache-Control`` unless
    one is already set, and CORS headers when ``send_cors``.  The body is sent chunked,
    without ``Content-Length``.  Returns ``NOT_DONE_YET``, or ``None`` if the client had
    already gone.
    """
    request.setResponseCode(code)
    if _disconnected(request):
        return None
    encoder: Callable[[Any], bytes] = encode_canonical_json if canonical_json else encode_json
    body = encoder(json_object)
    _set_json_headers(request, send_cors)
    _write_bytes_to_request(request, body)
    return NOT_DONE_YET


def respond_with_json_bytes(
    request: Request,
    code: int,
    json_bytes: bytes,
    send_cors: bool = False,
) -> int | None:
    """Send already-encoded JSON, with ``Content-Length``; otherwise as
    :func:`respond_with_json`."""
    request.setResponseCode(code)
    if _disconnected(request):
        return None
    request.setHeader(b"Content-Length", b"%d" % (len(json_bytes),))
    _set_json_headers(request, send_cors)
    _write_bytes_to_request(request, json_bytes)
    return NOT_DONE_YET


def set_cors_headers(request: Request) -> None:
    """Add the CORS headers Synapse sends on its JSON responses and ``OPTIONS`` answers."""
    request.setHeader(b"Access-Control-Allow-Origin", b"*")
    request.setHeader(b"Access-Control-Allow-Methods", _CORS_METHODS)
    path = request.path
    if path is not None and (
        path == _MSC4108_RENDEZVOUS or path.startswith(b"/_synapse/client/rendezvous")
    ):
        request.setHeader(b"Access-Control-Allow-Headers", _RENDEZVOUS_CORS_HEADERS)
        request.setHeader(b"Access-Control-Expose-Headers", _RENDEZVOUS_CORS_EXPOSE)
    else:
        request.setHeader(b"Access-Control-Allow-Headers", _CORS_HEADERS)
        request.setHeader(b"Access-Control-Expose-Headers", _CORS_EXPOSE)


def set_clickjacking_protection_headers(request: Request) -> None:
    """Forbid embedding the response in a frame."""
    request.setHeader(b"X-Frame-Options", b"DENY")
    request.setHeader(b"Content-Security-Policy", b"frame-ancestors 'none';")


def respond_with_html(request: Request, code: int, html: str) -> None:
    """Send ``html`` encoded as UTF-8; see :func:`respond_with_html_bytes`."""
    respond_with_html_bytes(request, code, html.encode("utf-8"))


def respond_with_html_bytes(request: Request, code: int, html_bytes: bytes) -> None:
    """Send an HTML body with ``Content-Length`` and anti-framing headers, and finish."""
    request.setResponseCode(code)
    if _disconnected(request):
        return None
    request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
    request.setHeader(b"Content-Length", b"%d" % (len(html_bytes),))
    set_clickjacking_protection_headers(request)
    request.write(html_bytes)
    finish_request(request)
    return None


def respond_with_redirect(
    request: Request, url: bytes, statusCode: int = 302, cors: bool = False
) -> None:
    """Answer with a redirect to ``url`` (302 unless told otherwise) and finish."""
    if cors:
        set_cors_headers(request)
    request.setResponseCode(statusCode)
    request.setHeader(b"Location", url)
    finish_request(request)


def finish_request(request: Request) -> None:
    """``request.finish()``, tolerating a connection that is already gone."""
    try:
        request.finish()
    except RuntimeError as e:
        logger.info("Connection disconnected before response was written: %r", e)


def _exc_info(failure: Failure) -> Any:
    return (failure.type, failure.value, failure.getTracebackObject())


def _servlet_name(request: Request) -> Any:
    metrics = getattr(request, "request_metrics", None)
    return getattr(metrics, "name", type(request).__name__)


def return_json_error(failure: Failure, request: Request, config: Any = None) -> None:
    """Answer with the JSON error for ``failure`` (canonical JSON, CORS).

    ``SynapseError`` → its code, ``error_dict()`` and headers; ``CancelledError`` → 499;
    anything else → 500 ``M_UNKNOWN`` "Internal server error" with the traceback logged.
    If the response had already started, the connection is aborted instead.
    """
    exc = failure.value
    error_dict: Any
    if isinstance(exc, SynapseError):
        error_code = exc.code
        error_dict = exc.error_dict(config)
        if exc.headers is not None:
            for header, value in exc.headers.items():
                request.setHeader(header, value)
        logger.info("%s SynapseError: %s - %s", request, error_code, exc.msg)
    elif isinstance(exc, CancelledError):
        error_code = HTTP_STATUS_REQUEST_CANCELLED
        error_dict = {"error": "Request cancelled", "errcode": "M_UNKNOWN"}
        if not request._disconnected:
            logger.error(
                "Got cancellation before client disconnection from %r: %r",
                _servlet_name(request),
                request,
                exc_info=_exc_info(failure),
            )
    else:
        error_code = 500
        error_dict = {"error": "Internal server error", "errcode": "M_UNKNOWN"}
        logger.error(
            "Failed handle request via %r: %r",
            _servlet_name(request),
            request,
            exc_info=_exc_info(failure),
        )
    if request.startedWriting:
        channel = request.channel
        if channel:
            try:
                channel.forceAbortClient()
            except Exception:
                pass
        return
    respond_with_json(request, error_code, error_dict, send_cors=True)


def return_html_error(failure: Failure, request: Request, error_template: Union[str, Any]) -> None:
    """Answer with an HTML error page for ``failure``.

    ``error_template`` is a ``str`` with ``{code}``/``{msg}`` placeholders (``msg`` is
    HTML-escaped) or any object with ``render(code=..., msg=...)`` such as a jinja2
    template.  A ``RedirectException`` also sets ``Location`` and its cookies.
    """
    exc = failure.value
    code: int
    if isinstance(exc, CodeMessageException):
        code = exc.code
        msg = exc.msg
        if exc.headers is not None:
            for header, value in exc.headers.items():
                request.setHeader(header, value)
        if isinstance(exc, RedirectException):
            logger.info("%s redirect to %s", request, exc.location)
            request.setHeader(b"Location", exc.location)
            request.cookies.extend(exc.cookies)
        elif isinstance(exc, SynapseError):
            logger.info("%s SynapseError: %s - %s", request, code, msg)
        else:
            logger.error(
                "Failed handle request %r",
                request,
                exc_info=_exc_info(failure),
            )
    elif isinstance(exc, CancelledError):
        code = HTTP_STATUS_REQUEST_CANCELLED
        msg = "Request cancelled"
        if not request._disconnected:
            logger.error(
                "Got cancellation before client disconnection when handling request %r",
                request,
                exc_info=_exc_info(failure),
            )
    else:
        code = 500
        msg = "Internal server error"
        logger.error(
            "Failed handle request %r",
            request,
            exc_info=_exc_info(failure),
        )
    if isinstance(error_template, str):
        body = error_template.format(code=code, msg=html.escape(msg))
    else:
        body = error_template.render(code=code, msg=msg)
    respond_with_html(request, code, body)


def _write_bytes_to_request(request: Request, body: bytes) -> None:
    if len(body) <= _SINGLE_WRITE_LIMIT:
        request.write(body)
        finish_request(request)
        return
    chunks = (body[i : i + _CHUNK_SIZE] for i in range(0, len(body), _CHUNK_SIZE))
    _ByteProducer(request, chunks)


@implementer(IPushProducer)
class _ByteProducer:
    """Writes an iterator of byte chunks to a request as the transport accepts them, then
    finishes the request."""

    def __init__(self, request: Request, chunks: Iterator[bytes]):
        self._request: Request | None = request
        self._chunks = chunks
        self._paused = False
        try:
            request.registerProducer(self, True)
        except AttributeError as e:
            # The channel is gone (connection lost): nothing to write to.
            logger.info("Connection disconnected before response was written: %r", e)
            self.stopProducing()
        else:
            self.resumeProducing()

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        while not self._paused:
            request = self._request
            if request is None:
                return
            chunk = next(self._chunks, None)
            if chunk is None:
                request.unregisterProducer()
                finish_request(request)
                self.stopProducing()
                return
            request.write(chunk)

    def stopProducing(self) -> None:
        self._chunks = iter(())
        self._request = None
