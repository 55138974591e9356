"""SynapseSite and SynapseRequest over in-memory connections (HTTP.md §2, §4, §5, §6)."""

from __future__ import annotations

import logging

from twisted.internet.address import UNIXAddress
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from synapse_modhost.types import create_requester
from synapse_modhost.web import (
    DEFAULT_ACCESS_LOGGER,
    RequestInfo,
    SynapseRequest,
    XForwardedForRequest,
    build_listener_root,
    redact_uri,
)
from tests.web._http import (
    CaptureResource,
    Connection,
    LogCapture,
    get,
    make_site,
    raw_request,
    request,
)


class _Module(Resource):
    """A plain, non-leaf module resource."""

    def render_GET(self, request: SynapseRequest) -> bytes:
        return b"module"


class _Boom(Resource):
    isLeaf = True

    def render_GET(self, request: SynapseRequest) -> bytes:
        raise ValueError("boom")


class _Later(Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[SynapseRequest] = []

    def render_GET(self, request: SynapseRequest) -> int:
        self.pending.append(request)
        return NOT_DONE_YET


def _capture_site(**kw: object) -> tuple:
    capture = CaptureResource()
    root = build_listener_root({}, {}, {"/_lab/capture": capture})
    site, reactor = make_site(root, **kw)  # type: ignore[arg-type]
    return site, reactor, capture


class ServerHeaderTests(SynchronousTestCase):
    def test_module_resource_gets_synapse_server_header(self) -> None:
        """A plain module resource's response carries Server: Synapse/1.163.2 and Twisted's defaults."""
        site, _ = make_site(build_listener_root({}, {}, {"/_synapse/client/lab": _Module()}))
        response = get(site, b"/_synapse/client/lab")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.body, b"module")
        self.assertEqual(response.header(b"server"), b"Synapse/1.163.2")
        self.assertEqual(response.header(b"content-type"), b"text/html")
        self.assertEqual(response.header(b"content-length"), b"6")
        self.assertIsNone(response.header(b"access-control-allow-origin"))
        self.assertIsNone(response.header(b"cache-control"))

    def test_server_version_string_is_configurable(self) -> None:
        """The Server header value can carry an extra product token."""
        site, _ = make_site(
            build_listener_root({}, {}, {"/m": _Module()}),
            server_version_string="Synapse/1.163.2 synapse-modhost/0.1.0",
        )
        self.assertEqual(
            get(site, b"/m").header(b"server"), b"Synapse/1.163.2 synapse-modhost/0.1.0"
        )

    def test_render_exception_gives_processing_failed(self) -> None:
        """An exception in a plain resource's render_GET gives Twisted's 500 Processing Failed page."""
        site, _ = make_site(build_listener_root({}, {}, {"/_lab/boom": _Boom()}))
        response = get(site, b"/_lab/boom")
        self.assertEqual(response.code, 500)
        self.assertEqual(
            response.body,
            b"<html><head><title>Processing Failed</title></head><body>"
            b"<b>Processing Failed</b></body></html>",
        )
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_plain_resource_method_handling(self) -> None:
        """Missing HEAD is faked from GET, POST gives 405 with Allow, PUT gives 501."""
        site, _ = make_site(build_listener_root({}, {}, {"/_lab/m": _Module()}))
        head = get(site, b"/_lab/m", method=b"HEAD")
        self.assertEqual((head.code, head.body), (200, b""))
        post = get(site, b"/_lab/m", method=b"POST")
        self.assertEqual(post.code, 405)
        self.assertIn(b"GET", post.header(b"allow") or b"")
        put = get(site, b"/_lab/m", method=b"PUT")
        self.assertEqual(put.code, 501)
        self.assertIn(b"Huh?", put.body)

    def test_not_done_yet_then_finish(self) -> None:
        """A plain resource may return NOT_DONE_YET and finish the request later."""
        later = _Later()
        site, _ = make_site(build_listener_root({}, {}, {"/_lab/later": later}))
        response, conn = request(site, b"GET", b"/_lab/later")
        self.assertIsNone(response)
        later.pending[0].write(b"done")
        later.pending[0].finish()
        response = conn.response()
        assert response is not None
        self.assertEqual((response.code, response.body), (200, b"done"))


class RequestMemberTests(SynchronousTestCase):
    def test_request_class_and_extras(self) -> None:
        """Modules receive a SynapseRequest with server name, site tag and request id."""
        site, _, capture = _capture_site()
        get(site, b"/_lab/capture")
        req = capture.requests[0]
        self.assertIs(type(req), SynapseRequest)
        self.assertEqual(req.our_server_name, "example.com")
        self.assertEqual(req.synapse_site.site_tag, "test")
        self.assertEqual(req.site_tag, "test")
        self.assertRegex(req.get_request_id(), r"^GET-\d+$")
        self.assertEqual(req.get_method(), "GET")
        self.assertIsNone(req.requester)
        self.assertIsNone(req.logcontext)
        self.assertFalse(req.is_render_cancellable)
        self.assertEqual(req.request_metrics.name, "CaptureResource")

    def test_request_ids_increase(self) -> None:
        """Each request gets the next sequence number in its id."""
        site, _, capture = _capture_site()
        get(site, b"/_lab/capture")
        get(site, b"/_lab/capture", method=b"POST")
        first, second = (r.get_request_id() for r in capture.requests)
        self.assertTrue(second.startswith("POST-"))
        self.assertEqual(int(second.split("-")[1]), int(first.split("-")[1]) + 1)

    def test_request_id_header(self) -> None:
        """With request_id_header configured, its value replaces the sequence number."""
        site, _, capture = _capture_site(request_id_header="X-Request-ID")
        get(site, b"/_lab/capture", headers=[(b"X-Request-ID", b"abc")])
        self.assertEqual(capture.requests[0].get_request_id(), "GET-abc")

    def test_requester_set_once(self) -> None:
        """requester is None until set; setting it a second time raises AssertionError."""
        site, _, capture = _capture_site()
        get(site, b"/_lab/capture")
        req = capture.requests[0]
        requester = create_requester("@alice:example.com")
        req.requester = requester
        self.assertIs(req.requester, requester)
        self.assertEqual(req.get_authenticated_entity(), ("@alice:example.com", None))
        with self.assertRaises(AssertionError):
            req.requester = "other.example.com"

    def test_redacted_uri(self) -> None:
        """access_token and client_secret query values are redacted; other values are kept."""
        site, _, capture = _capture_site()
        get(site, b"/_lab/capture?access_token=secret&x=1&client_secret=s2")
        req = capture.requests[0]
        self.assertEqual(
            req.get_redacted_uri(),
            "/_lab/capture?access_token=<redacted>&x=1&client_secret=<redacted>",
        )
        self.assertNotIn("secret&", repr(req))
        self.assertEqual(redact_uri("/p?access%5Ftoken=t"), "/p?access%5Ftoken=<redacted>")
        self.assertEqual(redact_uri("/p?x=access_token"), "/p?x=access_token")

    def test_client_address_and_request_info(self) -> None:
        """Without x_forwarded the peer is the client and X-Forwarded-For is ignored."""
        site, _, capture = _capture_site()
        get(
            site,
            b"/_lab/capture",
            headers=[(b"User-Agent", b"probe/1"), (b"X-Forwarded-For", b"1.1.1.1")],
        )
        req = capture.requests[0]
        self.assertIs(type(req), SynapseRequest)
        self.assertEqual(req.getClientAddress().host, "10.1.2.3")
        self.assertEqual(req.getClientIP(), "10.1.2.3")
        self.assertFalse(req.isSecure())
        self.assertEqual(req.request_info(), RequestInfo(user_agent="probe/1", ip="10.1.2.3"))

    def test_request_info_without_user_agent(self) -> None:
        """request_info() reports user_agent None when the header is absent."""
        site, _, capture = _capture_site()
        get(site, b"/_lab/capture")
        self.assertIsNone(capture.requests[0].request_info().user_agent)

    def test_unix_socket_client_ip(self) -> None:
        """On a UNIX socket the client IP used for logging is the socket path."""
        site, _, capture = _capture_site()
        conn = Connection(site, peer=UNIXAddress(None))
        conn.transport.hostAddr = UNIXAddress(b"/run/synapse.sock")
        conn.channel.transport = conn.transport
        conn.send(raw_request(b"GET", b"/_lab/capture"))
        capture.requests[0].host = UNIXAddress(b"/run/synapse.sock")
        self.assertEqual(capture.requests[0].request_info().ip, "/run/synapse.sock")


class XForwardedForTests(SynchronousTestCase):
    def test_forwarded_for_and_proto(self) -> None:
        """With x_forwarded the first X-Forwarded-For entry is the client; proto https is secure."""
        site, _, capture = _capture_site(x_forwarded=True)
        get(
            site,
            b"/_lab/capture",
            headers=[
                (b"X-Forwarded-For", b"203.0.113.7, 10.0.0.1"),
                (b"X-Forwarded-Proto", b"https"),
            ],
        )
        req = capture.requests[0]
        self.assertIsInstance(req, XForwardedForRequest)
        self.assertEqual(type(req).__name__, "XForwardedForRequest")
        self.assertEqual(req.getClientAddress().host, "203.0.113.7")
        self.assertEqual(req.getClientIP(), "203.0.113.7")
        self.assertTrue(req.isSecure())
        self.assertEqual(req.request_info().ip, "203.0.113.7")

    def test_forwarded_http_is_not_secure(self) -> None:
        """X-Forwarded-Proto: http leaves isSecure() false."""
        site, _, capture = _capture_site(x_forwarded=True)
        get(
            site,
            b"/_lab/capture",
            headers=[(b"X-Forwarded-For", b"203.0.113.7"), (b"X-Forwarded-Proto", b"http")],
        )
        self.assertFalse(capture.requests[0].isSecure())

    def test_missing_proto_assumed_https(self) -> None:
        """X-Forwarded-For without X-Forwarded-Proto is treated as https, with a warning."""
        site, _, capture = _capture_site(x_forwarded=True)
        with LogCapture("synapse_modhost.web._request", logging.WARNING) as logs:
            get(site, b"/_lab/capture", headers=[(b"X-Forwarded-For", b"203.0.113.7")])
        self.assertTrue(capture.requests[0].isSecure())
        self.assertIn("assuming https", " ".join(logs.messages()))

    def test_no_forwarded_headers(self) -> None:
        """Without X-Forwarded-For the peer address and transport security are used."""
        site, _, capture = _capture_site(x_forwarded=True)
        get(site, b"/_lab/capture")
        req = capture.requests[0]
        self.assertEqual(req.getClientAddress().host, "10.1.2.3")
        self.assertFalse(req.isSecure())


class BodyLimitTests(SynchronousTestCase):
    def test_streamed_body_over_limit_aborts_without_response(self) -> None:
        """A body larger than max_request_body_size aborts the connection and is never rendered."""
        site, _, capture = _capture_site(max_request_body_size=10)
        response, conn = request(site, b"POST", b"/_lab/capture", body=b"x" * 11)
        self.assertIsNone(response)
        self.assertTrue(conn.transport.aborted)
        self.assertEqual(capture.requests, [])

    def test_body_at_limit_is_accepted(self) -> None:
        """A body of exactly max_request_body_size bytes is buffered and rendered."""
        site, _, capture = _capture_site(max_request_body_size=10)
        response, conn = request(site, b"POST", b"/_lab/capture", body=b"x" * 10)
        assert response is not None
        self.assertEqual(response.code, 200)
        self.assertEqual(capture.bodies, [b"x" * 10])
        self.assertFalse(conn.transport.aborted)

    def _direct(self, content_length: list, content: bytes, limit: int = 100) -> Connection:
        # Twisted's channel already refuses bad or duplicate Content-Length headers and
        # always reads exactly Content-Length bytes, so Synapse's own checks are driven
        # by handing a request its headers and body directly.
        site, _, _ = _capture_site(max_request_body_size=limit)
        conn = Connection(site)
        req = site.requestFactory(conn.channel)
        req.requestHeaders.setRawHeaders(b"Content-Length", content_length)
        req.gotLength(len(content))
        req.content.write(content)
        req.requestReceived(b"POST", b"/_lab/capture", b"HTTP/1.1")
        return conn

    def test_content_length_over_limit_413(self) -> None:
        """A complete request whose Content-Length exceeds the limit gets 413 M_TOO_LARGE and the connection closes."""
        conn = self._direct([b"500"], b"", limit=100)
        response = conn.response()
        assert response is not None
        self.assertEqual(response.code, 413)
        self.assertEqual(
            response.body,
            b'{"error": "Request content is too large (>100)", "errcode": "M_TOO_LARGE"}',
        )
        self.assertEqual(response.header(b"content-type"), b"application/json")
        self.assertEqual(response.header(b"content-length"), b"%d" % len(response.body))
        self.assertIsNone(response.header(b"server"))
        self.assertTrue(conn.transport.disconnecting)

    def test_content_length_mismatch_400(self) -> None:
        """Content-Length smaller/larger than the body gives 400 with Synapse's message."""
        smaller = self._direct([b"2"], b"abcd").response()
        assert smaller is not None
        self.assertEqual(smaller.code, 400)
        self.assertEqual(
            smaller.json(),
            {
                "error": "Rejecting request as the Content-Length header value 2 is smaller "
                "than the actual request content size 4",
                "errcode": "M_UNKNOWN",
            },
        )
        larger = self._direct([b"9"], b"abcd").response()
        assert larger is not None
        self.assertIn("is larger than the actual request content size 4", larger.json()["error"])

    def test_bad_content_length_headers_400(self) -> None:
        """Several or non-integer Content-Length headers give 400 with Synapse's messages."""
        several = self._direct([b"1", b"1"], b"a").response()
        assert several is not None
        self.assertEqual(
            (several.code, several.json()["error"]),
            (400, "Multiple Content-Length headers received"),
        )
        bad = self._direct([b"x"], b"a").response()
        assert bad is not None
        self.assertEqual(bad.json()["error"], "Content-Length header value is not a valid integer")

    def test_multipart_post_415(self) -> None:
        """POST multipart/form-data gets an empty 415 without Server header and the connection closes."""
        site, _, capture = _capture_site()
        response, conn = request(
            site,
            b"POST",
            b"/_lab/capture",
            headers=[(b"Content-Type", b"multipart/form-data; boundary=x")],
            body=b"--x--",
        )
        assert response is not None
        self.assertEqual(response.code, 415)
        self.assertEqual(response.reason, b"Unsupported Media Type")
        self.assertEqual(response.header(b"content-length"), b"0")
        self.assertEqual(response.body, b"")
        self.assertIsNone(response.header(b"server"))
        self.assertIsNone(response.header(b"content-type"))
        self.assertTrue(conn.transport.disconnecting)
        self.assertEqual(capture.requests, [])

    def test_multipart_put_is_not_rejected(self) -> None:
        """Only POST is checked for multipart/form-data."""
        site, _, _ = _capture_site()
        response = get(
            site,
            b"/_lab/capture",
            method=b"PUT",
            headers=[(b"Content-Type", b"multipart/form-data; boundary=x")],
            body=b"--x--",
        )
        self.assertNotEqual(response.code, 415)


class AccessLogTests(SynchronousTestCase):
    def test_access_line(self) -> None:
        """A finished request logs one INFO line with ip, tag, status, size, method, redacted uri and agent."""
        site, reactor, _ = _capture_site()
        with LogCapture(DEFAULT_ACCESS_LOGGER, logging.INFO) as logs:
            get(
                site,
                b"/_lab/capture?access_token=abc",
                headers=[(b"User-Agent", b"probe/1")],
            )
        (line,) = logs.messages(logging.INFO)
        self.assertEqual(
            line,
            "10.1.2.3 - test - {None} Processed request: 0.000sec/0.000sec 2B 200 "
            '"GET /_lab/capture?access_token=<redacted> HTTP/1.1" "probe/1"',
        )

    def test_access_line_waits_for_late_finish(self) -> None:
        """The access line is written when the response finishes and reports the elapsed time."""
        later = _Later()
        site, reactor = make_site(build_listener_root({}, {}, {"/_lab/later": later}))
        with LogCapture(DEFAULT_ACCESS_LOGGER, logging.INFO) as logs:
            request(site, b"GET", b"/_lab/later")
            self.assertEqual(logs.messages(), [])
            reactor.advance(1.5)
            later.pending[0].finish()
        (line,) = logs.messages(logging.INFO)
        self.assertIn("Processed request: 1.500sec/0.000sec 0B 200", line)

    def test_health_and_options_log_at_debug(self) -> None:
        """Requests to /health and OPTIONS requests are logged at DEBUG only."""
        site, _ = make_site(build_listener_root({}, {}, {}))
        with LogCapture(DEFAULT_ACCESS_LOGGER, logging.DEBUG) as logs:
            get(site, b"/health")
            get(site, b"/anything", method=b"OPTIONS")
        self.assertEqual(logs.messages(logging.INFO), [])
        self.assertEqual(sum("Processed request" in m for m in logs.messages(logging.DEBUG)), 2)

    def test_disabled_logger_logs_nothing(self) -> None:
        """Nothing reaches the access logger's handlers when it is above INFO."""
        site, _, _ = _capture_site()
        with LogCapture(DEFAULT_ACCESS_LOGGER, logging.WARNING) as logs:
            get(site, b"/_lab/capture")
        self.assertEqual(logs.records, [])

    def test_custom_access_logger_name(self) -> None:
        """access_logger_name routes the access line to another logger."""
        site, _, _ = _capture_site(access_logger_name="synapse.access.http.8008")
        with LogCapture("synapse.access.http.8008", logging.INFO) as logs:
            get(site, b"/_lab/capture")
        self.assertEqual(len(logs.messages(logging.INFO)), 1)

    def test_lost_connection_marks_code(self) -> None:
        """A client that disconnects before the response is logged with a trailing '!'."""
        later = _Later()
        site, _ = make_site(build_listener_root({}, {}, {"/_lab/later": later}))
        with LogCapture(DEFAULT_ACCESS_LOGGER, logging.INFO) as logs:
            _, conn = request(site, b"GET", b"/_lab/later")
            from twisted.internet.error import ConnectionDone
            from twisted.python.failure import Failure

            conn.channel.connectionLost(Failure(ConnectionDone()))
        (line,) = logs.messages(logging.INFO)
        self.assertIn(" 200! ", line)


class SiteLifecycleTests(SynchronousTestCase):
    def test_connections_tracked_and_closed_on_stop(self) -> None:
        """stopFactory closes every open connection."""
        site, _ = make_site(build_listener_root({}, {}, {}))
        conn = Connection(site)
        self.assertIn(conn.channel, site.connections)
        site.stopFactory()
        self.assertTrue(conn.transport.disconnecting)
        self.assertEqual(site.connections, set())

    def test_synapse_signature_construction(self) -> None:
        """SynapseRequest accepts Synapse's (channel, site, our_server_name, max_request_body_size=...) form."""
        site, _ = make_site(build_listener_root({}, {}, {}))
        conn = Connection(site)
        req = SynapseRequest(conn.channel, site, "other.example", max_request_body_size=5)
        self.assertEqual(req.our_server_name, "other.example")
        self.assertEqual(req._max_request_body_size, 5)
        self.assertIs(req.synapse_site, site)


class ChannelAddressTests(SynchronousTestCase):
    """A connection's addresses are read from its transport once, whatever the number of requests."""

    def test_addresses_read_once_per_connection(self) -> None:
        """Three requests on one keep-alive connection ask the transport for each address once."""
        root = CaptureResource()
        site, _ = make_site(root)
        conn = Connection(site)
        calls = {"host": 0, "peer": 0}
        get_host, get_peer = conn.transport.getHost, conn.transport.getPeer

        def counted_host() -> object:
            calls["host"] += 1
            return get_host()

        def counted_peer() -> object:
            calls["peer"] += 1
            return get_peer()

        conn.transport.getHost = counted_host  # type: ignore[method-assign]
        conn.transport.getPeer = counted_peer  # type: ignore[method-assign]
        for _ in range(3):
            conn.send(raw_request(b"GET", b"/"))
        self.assertEqual(len(root.requests), 3)
        self.assertEqual(calls, {"host": 1, "peer": 1})
        self.assertEqual(root.requests[-1].getHost(), get_host())
        self.assertEqual(root.requests[-1].getClientAddress(), get_peer())


class WriteHeadersTests(SynchronousTestCase):
    """The channel writes a response head in one piece, byte for byte as Twisted's does."""

    def _heads(self, headers: object) -> "tuple[bytes, bytes, int]":
        from twisted.internet.testing import StringTransport
        from twisted.web.http import HTTPChannel

        from synapse_modhost.web._site import _SynapseChannel

        ours, twisted_ = StringTransport(), StringTransport()
        writes = []
        real_write = ours.write
        ours.write = lambda data: (writes.append(data), real_write(data))  # type: ignore[method-assign]
        ours_channel, twisted_channel = _SynapseChannel(), HTTPChannel()
        ours_channel.transport, twisted_channel.transport = ours, twisted_
        ours_channel.writeHeaders(b"HTTP/1.1", b"200", b"OK", headers)
        twisted_channel.writeHeaders(b"HTTP/1.1", b"200", b"OK", headers)
        return ours.value(), twisted_.value(), len(writes)

    def test_same_bytes_in_one_write(self) -> None:
        """Several headers, one with two values: the same head as Twisted's, in a single write."""
        from twisted.web.http_headers import Headers

        headers = Headers()
        headers.setRawHeaders(b"Content-Type", [b"application/json"])
        headers.setRawHeaders(b"Set-Cookie", [b"a=1", b"b=2"])
        headers.setRawHeaders(b"Server", [b"Synapse/1.163.2"])
        ours, theirs, writes = self._heads(headers)
        self.assertEqual(ours, theirs)
        self.assertIn(b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n", ours)
        self.assertTrue(ours.endswith(b"\r\n\r\n"))
        self.assertEqual(writes, 1)

    def test_pairs_still_sanitised(self) -> None:
        """Headers given as (name, value) pairs go through Twisted's sanitising path unchanged."""
        ours, theirs, _ = self._heads([(b"X-Test", b"a\r\nb")])
        self.assertEqual(ours, theirs)
        self.assertNotIn(b"a\r\nb", ours)
