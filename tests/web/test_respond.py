"""JSON/HTML response and error helpers (HTTP.md §1–§3)."""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from synapse_modhost.errors import (
    CodeMessageException,
    LimitExceededError,
    RedirectException,
    SynapseError,
)
from synapse_modhost.web import (
    HTML_ERROR_TEMPLATE,
    SynapseRequest,
    build_listener_root,
    encode_json,
    finish_request,
    respond_with_html,
    respond_with_html_bytes,
    respond_with_json,
    respond_with_json_bytes,
    respond_with_redirect,
    return_html_error,
    return_json_error,
    set_cors_headers,
)
from tests.web._http import CORS, LogCapture, Response, get, make_site

NO_CACHE = b"no-cache, no-store, must-revalidate"


class _Call(Resource):
    isLeaf = True

    def __init__(self, fn: Callable[[SynapseRequest], None]):
        super().__init__()
        self.fn = fn

    def render(self, request: SynapseRequest) -> int:
        self.fn(request)
        return NOT_DONE_YET


def _serve(
    fn: Callable[[SynapseRequest], None], method: bytes = b"GET", path: bytes = b"/_lab/x"
) -> Response:
    site, _ = make_site(
        build_listener_root(
            {}, {}, {"/_lab/x": _Call(fn), "/_synapse/client/rendezvous": _Call(fn)}
        )
    )
    return get(site, path, method=method)


def _fail(exc: BaseException) -> Failure:
    try:
        raise exc
    except BaseException:
        return Failure()


class JsonTests(SynchronousTestCase):
    def test_canonical(self) -> None:
        """Canonical JSON sorts keys, has no spaces and keeps non-ASCII as UTF-8; chunked, no Content-Length."""
        r = _serve(lambda req: respond_with_json(req, 200, {"b": 1, "a": "é"}))
        self.assertEqual(r.code, 200)
        self.assertEqual(r.body, '{"a":"é","b":1}'.encode())
        self.assertEqual(r.header(b"content-type"), b"application/json")
        self.assertEqual(r.header(b"cache-control"), NO_CACHE)
        self.assertTrue(r.chunked)
        self.assertIsNone(r.header(b"content-length"))
        self.assertIsNone(r.header(b"access-control-allow-origin"))

    def test_non_canonical(self) -> None:
        """Non-canonical JSON keeps insertion order, is compact and escapes non-ASCII."""
        r = _serve(
            lambda req: respond_with_json(req, 201, {"b": 1, "a": "é"}, canonical_json=False)
        )
        self.assertEqual(r.code, 201)
        self.assertEqual(r.body, b'{"b":1,"a":"\\u00e9"}')

    def test_cors_and_existing_cache_control(self) -> None:
        """send_cors adds the CORS set; a Cache-Control set by the handler is kept."""

        def fn(req: SynapseRequest) -> None:
            req.setHeader(b"Cache-Control", b"max-age=60")
            respond_with_json(req, 200, {}, send_cors=True)

        r = _serve(fn)
        self.assertEqual(r.header(b"cache-control"), b"max-age=60")
        for name, value in CORS.items():
            self.assertEqual(r.header(name), value)

    def test_rendezvous_cors(self) -> None:
        """Rendezvous paths get their own Allow-Headers and also expose ETag."""
        r = _serve(
            lambda req: respond_with_json(req, 200, {}, send_cors=True),
            path=b"/_synapse/client/rendezvous",
        )
        self.assertEqual(
            r.header(b"access-control-allow-headers"), b"Content-Type, If-Match, If-None-Match"
        )
        self.assertEqual(
            r.header(b"access-control-expose-headers"), b"Synapse-Trace-Id, Server, ETag"
        )

    def test_large_body_complete(self) -> None:
        """A body larger than one write is streamed completely and the request finishes."""
        big = {"k": "x" * 200_000}
        r = _serve(lambda req: respond_with_json(req, 200, big))
        self.assertEqual(r.json(), big)

    def test_head_has_no_body(self) -> None:
        """For HEAD the headers are sent without a body."""
        r = _serve(lambda req: respond_with_json(req, 200, {"a": 1}), method=b"HEAD")
        self.assertEqual((r.code, r.body), (200, b""))
        self.assertEqual(r.header(b"content-type"), b"application/json")

    def test_json_bytes(self) -> None:
        """respond_with_json_bytes sends the bytes as they are, with Content-Length."""
        r = _serve(lambda req: respond_with_json_bytes(req, 200, b'{"z":1, "a":2}', send_cors=True))
        self.assertEqual(r.body, b'{"z":1, "a":2}')
        self.assertEqual(r.header(b"content-length"), b"14")
        self.assertEqual(r.header(b"access-control-allow-origin"), b"*")
        self.assertEqual(r.header(b"cache-control"), NO_CACHE)

    def test_encode_json_rejects_nan(self) -> None:
        """The non-canonical encoder refuses NaN and encodes read-only mappings as objects."""
        with self.assertRaises(ValueError):
            encode_json({"x": float("nan")})
        from types import MappingProxyType

        self.assertEqual(encode_json({"m": MappingProxyType({"a": 1})}), b'{"m":{"a":1}}')

    def test_set_cors_headers(self) -> None:
        """set_cors_headers sets exactly the four CORS headers."""
        r = _serve(lambda req: (set_cors_headers(req), finish_request(req)))  # type: ignore[func-returns-value]
        for name, value in CORS.items():
            self.assertEqual(r.header(name), value)


class JsonErrorTests(SynchronousTestCase):
    def test_synapse_error(self) -> None:
        """A SynapseError gives its code and canonical error_dict with CORS and no-cache headers."""
        err = SynapseError(418, "teapot", "ORG_LAB_TEAPOT", {"x": 1})
        with LogCapture("synapse_modhost.web._respond", logging.INFO) as logs:
            r = _serve(lambda req: return_json_error(_fail(err), req))
        self.assertEqual(r.code, 418)
        self.assertEqual(r.body, b'{"errcode":"ORG_LAB_TEAPOT","error":"teapot","x":1}')
        self.assertEqual(r.header(b"cache-control"), NO_CACHE)
        for name, value in CORS.items():
            self.assertEqual(r.header(name), value)
        self.assertTrue(any("SynapseError: 418 - teapot" in m for m in logs.messages(logging.INFO)))

    def test_error_headers(self) -> None:
        """The error's headers are sent (LimitExceededError: Retry-After) with retry_after_ms."""
        err = LimitExceededError("test", retry_after_ms=1500)
        r = _serve(lambda req: return_json_error(_fail(err), req))
        self.assertEqual(r.code, 429)
        self.assertEqual(r.header(b"retry-after"), b"2")
        self.assertEqual(
            r.json(),
            {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": 1500},
        )

    def test_cancelled(self) -> None:
        """A CancelledError gives 499 Request cancelled."""
        r = _serve(lambda req: return_json_error(_fail(CancelledError()), req))
        self.assertEqual(r.code, 499)
        self.assertEqual(r.json(), {"errcode": "M_UNKNOWN", "error": "Request cancelled"})

    def test_other_exception(self) -> None:
        """Any other exception gives 500 Internal server error and logs the traceback at ERROR."""
        with LogCapture("synapse_modhost.web._respond", logging.ERROR) as logs:
            r = _serve(lambda req: return_json_error(_fail(ValueError("nope")), req))
        self.assertEqual(r.code, 500)
        self.assertEqual(r.body, b'{"errcode":"M_UNKNOWN","error":"Internal server error"}')
        (record,) = logs.records
        self.assertIsNotNone(record.exc_info)
        self.assertIs(record.exc_info[0], ValueError)  # type: ignore[index]

    def test_redirect_is_500_for_json(self) -> None:
        """A RedirectException is not honoured by JSON error handling: 500."""
        r = _serve(lambda req: return_json_error(_fail(RedirectException(b"/x")), req))
        self.assertEqual(r.code, 500)

    def test_started_response_aborts(self) -> None:
        """If the response already started, the connection is aborted instead of answering."""
        site, _ = make_site(build_listener_root({}, {}, {}))
        from tests.web._http import Connection, raw_request

        holder: list = []

        def fn(req: SynapseRequest) -> None:
            req.write(b"partial")
            holder.append(req)
            return_json_error(_fail(ValueError("late")), req)

        site.resource.putChild(b"late", _Call(fn))
        conn = Connection(site)
        with LogCapture("synapse_modhost.web._respond", logging.ERROR):
            conn.send(raw_request(b"GET", b"/late"))
        self.assertTrue(conn.transport.aborted)
        self.assertNotIn(b"Internal server error", conn.transport.value())


class HtmlTests(SynchronousTestCase):
    def test_respond_with_html(self) -> None:
        """HTML responses are UTF-8 with Content-Length and anti-framing headers, no CORS."""
        r = _serve(lambda req: respond_with_html(req, 200, "<p>é</p>"))
        self.assertEqual(r.body, "<p>é</p>".encode())
        self.assertEqual(r.header(b"content-type"), b"text/html; charset=utf-8")
        self.assertEqual(r.header(b"content-length"), b"%d" % len("<p>é</p>".encode()))
        self.assertEqual(r.header(b"x-frame-options"), b"DENY")
        self.assertEqual(r.header(b"content-security-policy"), b"frame-ancestors 'none';")
        self.assertIsNone(r.header(b"access-control-allow-origin"))

    def test_respond_with_html_bytes_code(self) -> None:
        """respond_with_html_bytes uses the given status."""
        r = _serve(lambda req: respond_with_html_bytes(req, 403, b"no"))
        self.assertEqual((r.code, r.body), (403, b"no"))

    def test_html_error_synapse_error(self) -> None:
        """A SynapseError renders the error page with its code and the escaped message."""
        r = _serve(
            lambda req: return_html_error(
                _fail(SynapseError(403, "nope <b>")), req, HTML_ERROR_TEMPLATE
            )
        )
        self.assertEqual(r.code, 403)
        self.assertEqual(
            r.body.decode(),
            '<!DOCTYPE html>\n<html lang=en>\n  <head>\n    <meta charset="utf-8">\n'
            "    <title>Error 403</title>\n  </head>\n  <body>\n     <p>nope &lt;b&gt;</p>\n"
            "  </body>\n</html>\n",
        )

    def test_html_error_redirect(self) -> None:
        """A RedirectException gives 302 with Location and its cookies."""
        exc = RedirectException(b"https://elsewhere.example/")
        exc.cookies.append(b"a=b; Path=/")
        r = _serve(lambda req: return_html_error(_fail(exc), req, HTML_ERROR_TEMPLATE))
        self.assertEqual(r.code, 302)
        self.assertEqual(r.header(b"location"), b"https://elsewhere.example/")
        self.assertEqual(r.headers(b"set-cookie"), [b"a=b; Path=/"])

    def test_html_error_other(self) -> None:
        """A CodeMessageException keeps its code; other exceptions give 500 Internal server error."""
        cme = _serve(
            lambda req: return_html_error(
                _fail(CodeMessageException(409, "c")), req, "{code}:{msg}"
            )
        )
        self.assertEqual((cme.code, cme.body), (409, b"409:c"))
        with LogCapture("synapse_modhost.web._respond", logging.ERROR) as logs:
            other = _serve(lambda req: return_html_error(_fail(KeyError("k")), req, "{code}:{msg}"))
        self.assertEqual((other.code, other.body), (500, b"500:Internal server error"))
        self.assertEqual(len(logs.records), 1)

    def test_html_error_template_object(self) -> None:
        """A template object is rendered with the raw code and message."""

        class Template:
            def render(self, code: int, msg: str) -> str:
                return f"[{code}|{msg}]"

        r = _serve(lambda req: return_html_error(_fail(SynapseError(400, "<x>")), req, Template()))
        self.assertEqual(r.body, b"[400|<x>]")


class RedirectAndFinishTests(SynchronousTestCase):
    def test_respond_with_redirect(self) -> None:
        """respond_with_redirect answers 302 with Location (and CORS when asked)."""
        r = _serve(lambda req: respond_with_redirect(req, b"/there", cors=True))
        self.assertEqual(r.code, 302)
        self.assertEqual(r.header(b"location"), b"/there")
        self.assertEqual(r.header(b"access-control-allow-origin"), b"*")

    def test_finish_request_tolerates_lost_connection(self) -> None:
        """finish_request on a disconnected request logs instead of raising."""
        from twisted.internet.error import ConnectionDone

        from tests.web._http import Connection, raw_request

        site, _ = make_site(build_listener_root({}, {}, {}))
        held: list = []
        site.resource.putChild(b"hold", _Call(held.append))
        conn = Connection(site)
        conn.send(raw_request(b"GET", b"/hold"))
        conn.channel.connectionLost(Failure(ConnectionDone()))
        with LogCapture("synapse_modhost.web._respond", logging.INFO) as logs:
            finish_request(held[0])
            result: Optional[Any] = respond_with_json(held[0], 200, {})
        self.assertIsNone(result)
        self.assertTrue(any("disconnected" in m for m in logs.messages()))
