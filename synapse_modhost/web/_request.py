"""The request object every module resource receives: Twisted's ``Request`` plus Synapse's extras.

``SynapseRequest`` is what Synapse 1.163 hands to resources; ``XForwardedForRequest`` is
used instead on listeners with ``x_forwarded: true``.  The per-request work added on top of
Twisted is deliberately small: a few attribute assignments, the ``Server`` header, and one
access-log line that is skipped when the access logger is not enabled.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple, Tuple, Union

import attr
from twisted.internet.address import UNIXAddress
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress
from twisted.python.failure import Failure
from twisted.web.iweb import INonQueuedRequestFactory
from twisted.web.server import Request
from zope.interface import implementer, provider

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError

if TYPE_CHECKING:
    from twisted.web.http import HTTPChannel
    from twisted.web.resource import IResource

    from synapse_modhost.types import Requester
    from synapse_modhost.web._site import SynapseSite

__all__ = [
    "RequestInfo",
    "SynapseRequest",
    "XForwardedForRequest",
    "get_request_user_agent",
    "redact_uri",
]

logger = logging.getLogger(__name__)

_DEBUG = logging.DEBUG
_INFO = logging.INFO

#: Shared by every site in the process, as Synapse's module-level sequence is.
_request_seq = itertools.count()

# A query parameter whose name ends in access_token or client_secret (the underscore may
# be percent-encoded); its value, up to the next ``&``, is replaced.
_SECRET_PARAM = re.compile(
    r"((?:^|&)[^&=]*(?:access(?:_|%5[Ff])token|client(?:_|%5[Ff])secret)=)[^&]*"
)


def redact_uri(uri: str) -> str:
    """``uri`` with the values of ``access_token`` and ``client_secret`` query parameters
    replaced by ``<redacted>``."""
    path, sep, query = uri.partition("?")
    if not sep:
        return uri
    return path + "?" + _SECRET_PARAM.sub(r"\1<redacted>", query)


def get_request_user_agent(request: Any, default: str = "") -> str:
    """The request's last ``User-Agent`` header decoded as ASCII (bad bytes replaced), or
    ``default``."""
    h = request.getHeader(b"User-Agent")
    return h.decode("ascii", "replace") if h else default


@attr.s(auto_attribs=True, frozen=True, slots=True)
class RequestInfo:
    """Who sent a request: its ``User-Agent`` (``None`` if absent) and client IP."""

    user_agent: str | None
    ip: str


class _ContentLengthError(SynapseError):
    """The request's ``Content-Length`` header cannot be honoured."""


class _RequestMetrics:
    """The little of Synapse's per-request metrics object that resources touch: its name."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


@provider(INonQueuedRequestFactory)
class SynapseRequest(Request):
    """A Twisted request with the members Synapse's ``SynapseRequest`` offers modules.

    Construction accepts Synapse's signature ``(channel, site, our_server_name, *,
    max_request_body_size=1024, request_id_header=None)`` so code that builds requests
    by hand keeps working; a :class:`~synapse_modhost.web.SynapseSite`'s channels call
    the class with just the channel, and the rest comes from ``channel.site``.
    """

    # Class-level defaults keep the per-request constructor short.
    logcontext: Any = None
    render_deferred: Deferred[None] | None = None
    is_render_cancellable: bool = False
    start_time: float = 0.0
    finish_time: float | None = None
    _requester: Union[Requester, str, None] = None
    _is_processing: bool = False
    _processing_finished_time: float | None = None
    _opentracing_span: Any = None
    #: The type of the resource rendering this request; ``None`` until ``render``.
    _render_type: type | None = None
    _request_metrics: _RequestMetrics | None = None
    _body_too_large: bool = False

    def __init__(
        self,
        channel: HTTPChannel,
        site: SynapseSite | None = None,
        our_server_name: str | None = None,
        *args: Any,
        max_request_body_size: int | None = None,
        request_id_header: str | None = None,
        **kw: Any,
    ):
        Request.__init__(self, channel, *args, **kw)
        if site is None:
            # Built by a SynapseSite's channel: everything comes from the site.
            site = channel.site  # type: ignore[attr-defined]
            self.our_server_name = site.server_name
            self.request_id_header = site.request_id_header
            self._max_request_body_size = site.max_request_body_size
        else:
            self.our_server_name = (
                our_server_name if our_server_name is not None else site.server_name
            )
            self.request_id_header = request_id_header
            self._max_request_body_size = (
                max_request_body_size if max_request_body_size is not None else 1024
            )
        self.synapse_site = site
        self.reactor = site.reactor
        self.request_seq = next(_request_seq)

    def __repr__(self) -> str:
        name = type(self).__name__
        method = self.get_method()
        uri = self.get_redacted_uri()
        proto = _text(self.clientproto)
        tag = self.synapse_site.site_tag
        return f"<{name} at 0x{id(self):x} method={method!r} uri={uri!r} clientproto={proto!r} site={tag!r}>"

    @property
    def request_metrics(self) -> _RequestMetrics:
        """Per-request metrics; only ``name`` (the servlet or resource class) is kept."""
        metrics = self._request_metrics
        if metrics is None:
            name = self._render_type.__name__ if self._render_type else type(self).__name__
            metrics = self._request_metrics = _RequestMetrics(name)
        return metrics

    @request_metrics.setter
    def request_metrics(self, value: Any) -> None:
        self._request_metrics = value

    # -- identity -------------------------------------------------------------------

    @property
    def site_tag(self) -> str:
        """The tag of the listener this request arrived on."""
        return self.synapse_site.site_tag

    @property
    def requester(self) -> Union[Requester, str, None]:
        """Who made the request: a ``Requester`` once authenticated (a server name for
        federation requests); ``None`` before."""
        return self._requester

    @requester.setter
    def requester(self, value: Union[Requester, str]) -> None:
        # Setting it twice is a programming error, as in Synapse (observed: a 500).
        assert self._requester is None
        self._requester = value
        # Keep a log context that records the requester (if one is attached) in step.
        context_request = getattr(self.logcontext, "request", None)
        if context_request is not None:
            requester, entity = self.get_authenticated_entity()
            context_request.requester = requester
            context_request.authenticated_entity = entity or requester

    def get_authenticated_entity(self) -> Tuple[str | None, str | None]:
        """``(requester, authenticated_entity)`` as strings for logging; the second is
        ``None`` unless it differs from the first (an admin puppeting a user)."""
        requester = self._requester
        if requester is None:
            return None, None
        if isinstance(requester, str):
            return requester, None
        from synapse_modhost.types import Requester  # loaded by whoever authenticated

        if isinstance(requester, Requester):
            user = requester.user.to_string()
            entity = requester.authenticated_entity
            return user, (entity if entity != user else None)
        return repr(requester), None

    def get_request_id(self) -> str:
        """``"<METHOD>-<n>"``; ``n`` is the ``request_id_header`` value when configured
        and present, else a process-wide sequence number."""
        value: str | None = None
        if self.request_id_header:
            value = self.getHeader(self.request_id_header)
        if value is None:
            value = str(self.request_seq)
        return f"{self.get_method()}-{value}"

    def get_method(self) -> str:
        """The method as ``str`` (Twisted's placeholder before the request line arrives)."""
        return _text(self.method)

    def get_redacted_uri(self) -> str:
        """The URI as ``str`` with secret query values replaced by ``<redacted>``."""
        return redact_uri(_text(self.uri))

    def get_client_ip_if_available(self) -> str:
        """The client IP; for a UNIX-socket listener, the socket path."""
        addr = self.getClientAddress()
        if isinstance(addr, UNIXAddress):
            name = self.getHost().name
            return name.decode("utf-8") if isinstance(name, bytes) else str(name)
        return str(getattr(addr, "host", addr))

    def request_info(self) -> RequestInfo:
        """The ``User-Agent`` and client IP of this request."""
        h = self.getHeader(b"User-Agent")
        return RequestInfo(
            user_agent=h.decode("ascii", "replace") if h else None,
            ip=self.get_client_ip_if_available(),
        )

    def set_opentracing_span(self, span: Any) -> None:
        """Accepted for compatibility; the span is finished with the request."""
        self._opentracing_span = span

    # -- body limits and pre-dispatch rejections ------------------------------------

    def handleContentChunk(self, data: bytes) -> None:
        content = self.content
        assert content is not None, "handleContentChunk() called before gotLength()"
        if content.tell() + len(data) > self._max_request_body_size:
            logger.warning(
                "Aborting connection from %s because the request exceeds maximum size: %s %s",
                self.client,
                self.get_method(),
                self.get_redacted_uri(),
            )
            self._body_too_large = True
            if self.channel:
                self.channel.forceAbortClient()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._body_too_large:
            # The connection was aborted while the body streamed in; the rest of the
            # body may still have been parsed from the same read, but nothing is answered
            # and no resource sees the truncated body.
            return
        if command == b"POST" or self.requestHeaders.hasHeader(b"Content-Length"):
            if not self._pre_dispatch_checks(command, path, version):
                return
        Request.requestReceived(self, command, path, version)

    def _pre_dispatch_checks(self, command: bytes, path: bytes, version: bytes) -> bool:
        """Synapse's checks before dispatch; ``False`` once a rejection was sent."""
        self.method, self.uri = command, path
        self.clientproto = version
        if self.requestHeaders.hasHeader(b"Content-Length"):
            try:
                self._validate_content_length()
            except _ContentLengthError as e:
                self._respond_with_error(e)
                return False
        if command == b"POST":
            ctype = self.requestHeaders.getRawHeaders(b"Content-Type")
            if ctype and b"multipart/form-data" in ctype[0].lower():
                logger.warning(
                    "Aborting connection from %s because `content-type: multipart/form-data` is unsupported: %s %s",
                    self.client,
                    self.get_method(),
                    self.get_redacted_uri(),
                )
                self.setResponseCode(HTTPStatus.UNSUPPORTED_MEDIA_TYPE.value)
                self.responseHeaders.setRawHeaders(b"Content-Length", [b"0"])
                self.write(b"")
                self.loseConnection()
                return False
        return True

    def _validate_content_length(self) -> None:
        headers = self.requestHeaders.getRawHeaders(b"Content-Length") or []
        if len(headers) != 1:
            raise _ContentLengthError(
                HTTPStatus.BAD_REQUEST, "Multiple Content-Length headers received"
            )
        try:
            declared = int(headers[0])
        except (ValueError, TypeError):
            raise _ContentLengthError(
                HTTPStatus.BAD_REQUEST, "Content-Length header value is not a valid integer"
            ) from None
        if declared > self._max_request_body_size:
            logger.info(
                "Rejecting request from %s because Content-Length %d exceeds maximum size %d: %s %s",
                self.client,
                declared,
                self._max_request_body_size,
                self.get_method(),
                self.get_redacted_uri(),
            )
            raise _ContentLengthError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"Request content is too large (>{self._max_request_body_size})",
                Codes.TOO_LARGE,
            )
        content = self.content
        actual = content.tell() if content is not None else 0
        if declared != actual:
            comparison = "smaller" if declared < actual else "larger"
            raise _ContentLengthError(
                HTTPStatus.BAD_REQUEST,
                f"Rejecting request as the Content-Length header value {declared} is "
                f"{comparison} than the actual request content size {actual}",
            )

    def _respond_with_error(self, error: SynapseError) -> None:
        # Synapse answers these with plain ``json.dumps`` (", " / ": " separators) and
        # "error" before "errcode", then closes the connection.
        body = json.dumps({"error": error.msg, "errcode": _str(error.errcode)}).encode()
        self.setResponseCode(error.code)
        self.responseHeaders.setRawHeaders(b"Content-Type", [b"application/json"])
        self.responseHeaders.setRawHeaders(b"Content-Length", [b"%d" % (len(body),)])
        self.write(body)
        self.loseConnection()

    # -- rendering and the access log -----------------------------------------------

    def render(self, resrc: IResource) -> None:
        site = self.synapse_site
        self.responseHeaders.setRawHeaders(b"Server", site.server_version_header)
        self._render_type = type(resrc)
        self.start_time = self.reactor.seconds()
        access = site.access_logger
        if access.isEnabledFor(_DEBUG):
            access.debug(
                "%s - %s - Received request: %s %s",
                self.get_client_ip_if_available(),
                site.site_tag,
                self.get_method(),
                self.get_redacted_uri(),
            )
        Request.render(self, resrc)

    @contextlib.contextmanager
    def processing(self) -> Iterator[None]:
        """Mark asynchronous processing: the access-log line waits until both this block
        has exited and the response is finished.  Exceptions escaping the block are logged
        and swallowed (they should already have been turned into a response)."""
        if self._is_processing:
            raise RuntimeError("Request is already processing")
        self._is_processing = True
        try:
            yield
        except Exception:
            logger.exception("Asynchronous message handler raised an uncaught exception")
        finally:
            self._processing_finished_time = self.reactor.seconds()
            self._is_processing = False
            if self.finish_time is not None:
                self._finished_processing()

    def finish(self) -> None:
        self.finish_time = self.reactor.seconds()
        Request.finish(self)
        if not self._is_processing and self._render_type is not None:
            self._finished_processing()

    def connectionLost(self, reason: Union[Failure, BaseException]) -> None:
        if not isinstance(reason, Failure):
            reason = Failure(reason)
        self.finish_time = self.reactor.seconds()
        Request.connectionLost(self, reason)
        if self._render_type is None:
            # The request never reached a resource (headers incomplete, or rejected
            # before dispatch): there is nothing to account for.
            logger.info("Connection from %s lost before request headers were read", self.client)
            return
        logger.info("Connection from client lost before response was sent")
        if self._is_processing:
            if self.is_render_cancellable:
                if self.render_deferred is not None:
                    self.render_deferred.cancel()
                else:
                    logger.error(
                        "Connection from client lost, but have no Deferred to cancel even "
                        "though the request is marked as cancellable."
                    )
        else:
            self._finished_processing()

    def _finished_processing(self) -> None:
        if self._render_type is None:
            return
        access = self.synapse_site.access_logger
        level = _DEBUG if self.path == b"/health" or self.method == b"OPTIONS" else _INFO
        if not access.isEnabledFor(level):
            return
        finish_time = self.finish_time if self.finish_time is not None else self.start_time
        processed = self._processing_finished_time
        if processed is None:
            processed = finish_time
        code = str(int(self.code))
        if not self.finished:
            code += "!"
        requester, entity = self.get_authenticated_entity()
        if entity:
            requester = f"{entity}|{requester}"
        access.log(
            level,
            '%s - %s - {%s} Processed request: %.3fsec/%.3fsec %sB %s "%s %s %s" "%s"',
            self.get_client_ip_if_available(),
            self.synapse_site.site_tag,
            requester,
            processed - self.start_time,
            finish_time - processed,
            self.sentLength,
            code,
            self.get_method(),
            self.get_redacted_uri(),
            _text(self.clientproto),
            get_request_user_agent(self, "-"),
        )


@provider(INonQueuedRequestFactory)
class XForwardedForRequest(SynapseRequest):
    """A ``SynapseRequest`` that believes the proxy headers: the first ``X-Forwarded-For``
    entry is the client, and ``X-Forwarded-Proto: https`` (or no ``X-Forwarded-Proto`` at
    all next to an ``X-Forwarded-For``) makes ``isSecure()`` true."""

    _forwarded_for: _XForwardedForAddress | None = None
    _forwarded_https: bool = False

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        self._process_forwarded_headers()
        super().requestReceived(command, path, version)

    def _process_forwarded_headers(self) -> None:
        headers = self.requestHeaders.getRawHeaders(b"X-Forwarded-For")
        if not headers:
            return
        first = headers[0].split(b",")[0].strip()
        self._forwarded_for = _XForwardedForAddress(first.decode("ascii", "replace"))
        proto = self.getHeader(b"X-Forwarded-Proto")
        if proto is not None:
            self._forwarded_https = proto.lower() == b"https"
        else:
            logger.warning("forwarded request lacks an x-forwarded-proto header: assuming https")
            self._forwarded_https = True

    def isSecure(self) -> bool:
        return self._forwarded_https or bool(super().isSecure())

    def getClientIP(self) -> str | None:
        if self._forwarded_for is not None:
            return self._forwarded_for.host
        ip: str | None = super().getClientIP()
        return ip

    def getClientAddress(self) -> IAddress:
        if self._forwarded_for is not None:
            return self._forwarded_for
        addr: IAddress = super().getClientAddress()
        return addr


@implementer(IAddress)
class _XForwardedForAddress(NamedTuple):
    """The client address taken from ``X-Forwarded-For``; only ``host`` is known."""

    host: str


def _text(value: Union[bytes, str]) -> str:
    """Twisted keeps ``str`` placeholders in ``method``/``uri``/``clientproto`` until the
    request line arrives, ``bytes`` after."""
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _str(errcode: Any) -> str:
    return str(getattr(errcode, "value", errcode))
