"""In-memory HTTP: a request's bytes go through the host's real Site, no socket."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

__all__ = ["FakeChannel", "make_request"]

PEER = IPv4Address("TCP", "127.0.0.1", 40000)
HOST = IPv4Address("TCP", "127.0.0.1", 8008)

Content = Union[None, bytes, str, Mapping[str, Any], List[Any]]


class FakeChannel:
    """The client side of one in-memory request: status, headers and body once answered."""

    def __init__(self, site: Any, reactor: Any, peer: Any = PEER) -> None:
        self.site = site
        self.reactor = reactor
        self.transport = StringTransport(hostAddress=HOST, peerAddress=peer)
        self.protocol = site.buildProtocol(peer)
        self.protocol.makeConnection(self.transport)
        self._parsed: Optional[Tuple[int, List[Tuple[bytes, bytes]], bytes]] = None
        #: the request method (a response to HEAD has no body)
        self.method = b"GET"

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def close(self) -> None:
        """Drop the connection (as a client going away would)."""
        if not self.transport.disconnected:
            from twisted.internet.error import ConnectionDone
            from twisted.python.failure import Failure

            self.transport.disconnected = True
            self.protocol.connectionLost(Failure(ConnectionDone()))

    @property
    def is_finished(self) -> bool:
        """Whether a complete response has been written."""
        return self._parse() is not None

    def _parse(self) -> Optional[Tuple[int, List[Tuple[bytes, bytes]], bytes]]:
        if self._parsed is not None:
            return self._parsed
        raw = self.transport.value()
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            return None
        lines = head.split(b"\r\n")
        code = int(lines[0].split(b" ", 2)[1])
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.append((name.strip(), value.strip()))
        lowered = {n.lower(): v for n, v in headers}
        if code in (204, 304) or 100 <= code < 200 or self.method == b"HEAD":
            body = b""
        elif lowered.get(b"transfer-encoding") == b"chunked":
            dechunked = _dechunk(rest)
            if dechunked is None:
                return None
            body = dechunked
        elif b"content-length" in lowered:
            length = int(lowered[b"content-length"])
            if len(rest) < length:
                return None
            body = rest[:length]
        else:
            if not self.transport.disconnecting:
                return None
            body = rest
        self._parsed = (code, headers, body)
        return self._parsed

    def _result(self) -> Tuple[int, List[Tuple[bytes, bytes]], bytes]:
        parsed = self._parse()
        if parsed is None:
            raise AssertionError(
                "the request has not been answered yet (pump the reactor, or the "
                "handler is waiting on something): %r" % (self.transport.value()[:200],)
            )
        return parsed

    @property
    def code(self) -> int:
        """The HTTP status code."""
        return self._result()[0]

    @property
    def headers(self) -> Dict[str, List[str]]:
        """Response headers: lower-case name -> values."""
        out: Dict[str, List[str]] = {}
        for name, value in self._result()[1]:
            out.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        return out

    @property
    def result_body(self) -> bytes:
        return self._result()[2]

    @property
    def text_body(self) -> str:
        return self.result_body.decode("utf-8")

    @property
    def json_body(self) -> Any:
        return json.loads(self.result_body)

    def __repr__(self) -> str:
        parsed = self._parse()
        if parsed is None:
            return "<FakeChannel (no response yet)>"
        return "<FakeChannel %d %r>" % (parsed[0], parsed[2][:200])


def _dechunk(data: bytes) -> Optional[bytes]:
    out = b""
    while True:
        size_line, sep, data = data.partition(b"\r\n")
        if not sep:
            return None
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        if len(data) < size + 2:
            return None
        out += data[:size]
        data = data[size + 2 :]


def encode_content(content: Content) -> bytes:
    if content is None:
        return b""
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    return json.dumps(content).encode("utf-8")


def make_request(
    site: Any,
    reactor: Any,
    method: Union[str, bytes],
    path: Union[str, bytes],
    content: Content = None,
    access_token: Optional[str] = None,
    headers: Optional[Iterable[Tuple[Union[str, bytes], Union[str, bytes]]]] = None,
) -> FakeChannel:
    """Send one request through ``site``; the channel holds the response once written."""
    m = method.encode("ascii") if isinstance(method, str) else method
    p = path.encode("utf-8") if isinstance(path, str) else path
    body = encode_content(content)
    lines = [b"%s %s HTTP/1.1" % (m, p), b"Host: localhost"]
    names = set()
    for name, value in headers or ():
        n = name.encode("latin-1") if isinstance(name, str) else name
        v = value.encode("latin-1") if isinstance(value, str) else value
        names.add(n.lower())
        lines.append(b"%s: %s" % (n, v))
    if access_token is not None:
        lines.append(b"Authorization: Bearer " + access_token.encode("ascii"))
    if b"content-length" not in names and (body or m in (b"POST", b"PUT")):
        lines.append(b"Content-Length: %d" % len(body))
    channel = FakeChannel(site, reactor)
    channel.method = m
    channel.send(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    return channel
