"""In-memory HTTP for the web tests: raw request bytes into a real ``SynapseSite``."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Iterable, List, Optional, Tuple

from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.web.http import HTTPChannel
from twisted.web.resource import IResource, Resource

from synapse_modhost.web import SynapseRequest, SynapseSite

PEER = IPv4Address("TCP", "10.1.2.3", 40000)
HOST = IPv4Address("TCP", "127.0.0.1", 8008)


class RecordingTransport(StringTransport):
    """A ``StringTransport`` that remembers an abort separately from a clean close."""

    aborted = False

    def abortConnection(self) -> None:
        self.aborted = True
        super().abortConnection()


class Response:
    """One parsed HTTP/1.1 response."""

    def __init__(self, raw: bytes):
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, code, *reason = lines[0].split(b" ", 2)
        self.raw = raw
        self.version = version
        self.code = int(code)
        self.reason = reason[0] if reason else b""
        self.header_list: List[Tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.header_list.append((name.strip().lower(), value.strip()))
        self.chunked = self.header(b"transfer-encoding") == b"chunked"
        if self.chunked:
            self.body = _dechunk(rest)
        elif self.header(b"content-length") is not None:
            self.body = rest[: int(self.header(b"content-length") or b"0")]
        else:
            self.body = rest

    def header(self, name: bytes) -> Optional[bytes]:
        """The single value of header ``name`` (case-insensitive), or ``None``."""
        values = self.headers(name)
        assert len(values) <= 1, values
        return values[0] if values else None

    def headers(self, name: bytes) -> List[bytes]:
        """Every value of header ``name``."""
        return [v for n, v in self.header_list if n == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out += data[:size]
        data = data[size + 2 :]


def make_site(
    root: IResource,
    *,
    x_forwarded: bool = False,
    max_request_body_size: int = 52_428_800,
    reactor: Optional[MemoryReactorClock] = None,
    **kwargs: Any,
) -> Tuple[SynapseSite, MemoryReactorClock]:
    """A site over ``root`` on an in-memory reactor."""
    reactor = reactor if reactor is not None else MemoryReactorClock()
    site = SynapseSite(
        "test",
        "example.com",
        root,
        reactor,
        x_forwarded=x_forwarded,
        max_request_body_size=max_request_body_size,
        **kwargs,
    )
    return site, reactor


class Connection:
    """One client connection to a site."""

    def __init__(self, site: SynapseSite, peer: Any = PEER):
        self.site = site
        self.transport = RecordingTransport(hostAddress=HOST, peerAddress=peer)
        self.channel: HTTPChannel = site.buildProtocol(peer)
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        self.channel.dataReceived(data)

    def response(self) -> Optional[Response]:
        raw = self.transport.value()
        return Response(raw) if raw else None


def raw_request(
    method: bytes,
    path: bytes,
    headers: Iterable[Tuple[bytes, bytes]] = (),
    body: bytes = b"",
) -> bytes:
    """Request bytes with ``Host`` and, for a body, ``Content-Length``."""
    lines = [b"%s %s HTTP/1.1" % (method, path), b"Host: example.com"]
    lines += [b"%s: %s" % (name, value) for name, value in headers]
    if body and not any(n.lower() == b"content-length" for n, _ in headers):
        lines.append(b"Content-Length: %d" % (len(body),))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def request(
    site: SynapseSite,
    method: bytes,
    path: bytes,
    headers: Iterable[Tuple[bytes, bytes]] = (),
    body: bytes = b"",
    peer: Any = PEER,
) -> Tuple[Optional[Response], Connection]:
    """Send one request; the response so far (``None`` if nothing was written)."""
    conn = Connection(site, peer)
    conn.send(raw_request(method, path, headers, body))
    return conn.response(), conn


def get(site: SynapseSite, path: bytes, **kw: Any) -> Response:
    """A request that must have been answered."""
    method = kw.pop("method", b"GET")
    response, _ = request(site, method, path, **kw)
    assert response is not None, "no response"
    return response


class CaptureResource(Resource):
    """A plain module-style resource that records the request and answers ``ok``."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.requests: List[SynapseRequest] = []
        self.bodies: List[bytes] = []

    def render_GET(self, request: SynapseRequest) -> bytes:
        self.requests.append(request)
        assert request.content is not None
        self.bodies.append(request.content.read())
        request.content.seek(0)
        return b"ok"

    render_POST = render_GET


class LogCapture(logging.Handler):
    """Collects the records of one logger while installed."""

    def __init__(self, name: str, level: int = logging.DEBUG):
        super().__init__(level)
        self.records: List[logging.LogRecord] = []
        self._logger = logging.getLogger(name)
        self._old_level = self._logger.level

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> "LogCapture":
        self._logger.addHandler(self)
        self._logger.setLevel(self.level)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._old_level)

    def messages(self, level: Optional[int] = None) -> List[str]:
        return [r.getMessage() for r in self.records if level is None or r.levelno == level]


CORS: Dict[bytes, bytes] = {
    b"access-control-allow-origin": b"*",
    b"access-control-allow-methods": b"GET, HEAD, POST, PUT, DELETE, OPTIONS",
    b"access-control-allow-headers": b"X-Requested-With, Content-Type, Authorization, Date",
    b"access-control-expose-headers": b"Synapse-Trace-Id, Server",
}
