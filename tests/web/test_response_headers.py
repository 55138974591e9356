"""Response headers as sent: order and values, Date, a cleaned Server value, setHeader overrides."""

from __future__ import annotations

import time
from typing import Any, List, Tuple

from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import HTTPChannel, datetimeToString
from twisted.web.http_headers import Headers
from twisted.web.iweb import INonQueuedRequestFactory
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.server import version as twisted_version
from zope.interface import provider

from synapse_modhost.web import DirectServeJsonResource, SynapseRequest
from synapse_modhost.web._respond import respond_with_json, set_cors_headers
from tests.web._http import get, make_site


class _Json(DirectServeJsonResource):
    isLeaf = True

    async def _async_render_GET(self, request: SynapseRequest) -> Tuple[int, Any]:
        return 200, {"ok": True}


@provider(INonQueuedRequestFactory)
class _Recording(SynapseRequest):
    """A request class that overrides ``setHeader``: it must still be called."""

    calls: List[Tuple[bytes, bytes]]

    def setHeader(self, name: Any, value: Any) -> None:
        self.__dict__.setdefault("calls", []).append((name, value))
        super().setHeader(name, value)


class HeaderFastPathTests(SynchronousTestCase):
    def test_json_response_headers_in_order(self) -> None:
        """A JSON response carries Twisted's and Synapse's headers, in Twisted's order."""
        site, _ = make_site(_Json())
        before = int(time.time())
        response = get(site, b"/x")
        after = int(time.time())
        names = [name for name, _ in response.header_list]
        self.assertEqual(
            names,
            [
                b"server",
                b"date",
                b"content-type",
                b"cache-control",
                b"access-control-allow-origin",
                b"access-control-allow-methods",
                b"access-control-allow-headers",
                b"access-control-expose-headers",
                b"transfer-encoding",
            ],
        )
        self.assertEqual(response.header(b"server"), b"Synapse/1.163.2")
        self.assertIn(
            response.header(b"date"),
            {datetimeToString(s) for s in range(before, after + 1)},
        )
        self.assertEqual(response.header(b"content-type"), b"application/json")
        self.assertEqual(response.body, b'{"ok":true}')
        # the header block is written as Twisted writes it
        head = response.raw.partition(b"\r\n\r\n")[0]
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\nServer: Synapse/1.163.2\r\n"))

    def test_server_version_is_sanitised(self) -> None:
        """A configured Server value with a line break is sanitised as setRawHeaders would."""
        site, _ = make_site(_Json(), server_version_string="Synapse/1\nextra")
        self.assertEqual(get(site, b"/x").header(b"server"), b"Synapse/1 extra")

    def test_overridden_set_header_is_called(self) -> None:
        """A request class overriding setHeader sees every header set through it."""
        site, _ = make_site(_Json())
        site.requestFactory = _Recording
        response = get(site, b"/x")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.header(b"access-control-allow-origin"), b"*")

    def test_overridden_set_header_records_json_headers(self) -> None:
        channel = HTTPChannel()
        channel.makeConnection(StringTransport())
        site, _ = make_site(_Json())
        channel.site = site  # type: ignore[attr-defined]
        request = _Recording(channel)
        channel.requests.append(request)
        request.method = b"GET"
        request.clientproto = b"HTTP/1.1"
        request.path = b"/x"
        self.assertEqual(respond_with_json(request, 200, {}, send_cors=True), NOT_DONE_YET)
        names = [name for name, _ in request.calls]
        self.assertEqual(
            names,
            [
                b"Content-Type",
                b"Cache-Control",
                b"Access-Control-Allow-Origin",
                b"Access-Control-Allow-Methods",
                b"Access-Control-Allow-Headers",
                b"Access-Control-Expose-Headers",
            ],
        )

    def test_cors_on_plain_twisted_request(self) -> None:
        """set_cors_headers on a plain Twisted request stores the same values."""
        channel = HTTPChannel()
        channel.makeConnection(StringTransport())
        channel.site = make_site(_Json())[0]  # type: ignore[attr-defined]
        request = Request(channel)
        request.path = b"/_synapse/client/rendezvous/abc"
        set_cors_headers(request)
        expected = Headers()
        expected.setRawHeaders(b"Access-Control-Allow-Origin", [b"*"])
        expected.setRawHeaders(
            b"Access-Control-Allow-Methods", [b"GET, HEAD, POST, PUT, DELETE, OPTIONS"]
        )
        expected.setRawHeaders(
            b"Access-Control-Allow-Headers", [b"Content-Type, If-Match, If-None-Match"]
        )
        expected.setRawHeaders(
            b"Access-Control-Expose-Headers", [b"Synapse-Trace-Id, Server, ETag"]
        )
        self.assertEqual(
            list(request.responseHeaders.getAllRawHeaders()),
            list(expected.getAllRawHeaders()),
        )

    def test_processing_failed_keeps_twisted_server_header(self) -> None:
        """Before a resource renders, the Server header is Twisted's default, as before."""
        channel = HTTPChannel()
        channel.makeConnection(StringTransport())
        site, _ = make_site(_Json())
        channel.site = site  # type: ignore[attr-defined]
        request = SynapseRequest(channel)
        channel.requests.append(request)
        request.path = b"*"
        request.method = b"OPTIONS"
        request.clientproto = b"HTTP/1.1"
        request.process()
        self.assertEqual(request.responseHeaders.getRawHeaders(b"Server"), [twisted_version])
