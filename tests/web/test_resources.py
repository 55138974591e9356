"""DirectServe*Resource, JsonResource, RestServlet and AdditionalResource (HTTP.md §3, LOADING.md §5)."""

from __future__ import annotations

import logging
import re
from typing import Any, List, Optional, Tuple

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource

from synapse_modhost.errors import LimitExceededError, RedirectException, SynapseError
from synapse_modhost.web import (
    AdditionalResource,
    DirectServeHtmlResource,
    DirectServeJsonResource,
    JsonResource,
    RestServlet,
    SynapseRequest,
    build_listener_root,
    respond_with_html,
    wrap_additional_resource,
)
from tests.web._http import CORS, LogCapture, Response, get, make_site, request

UNRECOGNIZED = {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}


class _Lab(DirectServeJsonResource):
    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.deferreds: List[Deferred] = []
        self.cancelled = False
        self.seen: List[SynapseRequest] = []

    async def _async_render_GET(self, request: SynapseRequest) -> Tuple[int, Any]:
        self.seen.append(request)
        return 200, {"b": 1, "a": "é"}

    def _async_render_POST(self, request: SynapseRequest) -> Tuple[int, Any]:
        return 201, {"sync": True}

    async def _async_render_DELETE(self, request: SynapseRequest) -> None:
        request.setResponseCode(202)
        request.write(b"raw")
        request.finish()

    async def _async_render_PATCH(self, request: SynapseRequest) -> Tuple[int, Any]:
        d: Deferred = Deferred()
        self.deferreds.append(d)
        try:
            return await d
        except CancelledError:
            self.cancelled = True
            raise

    # What Synapse's @cancellable decorator does.
    _async_render_PATCH.cancellable = True  # type: ignore[attr-defined]


class _Raising(DirectServeJsonResource):
    def __init__(self, exc: BaseException, **kw: Any):
        super().__init__(**kw)
        self.exc = exc

    async def _async_render_GET(self, request: SynapseRequest) -> None:
        raise self.exc


def _site(resources: dict, reactor: Optional[MemoryReactorClock] = None) -> Any:
    site, reactor = make_site(build_listener_root({}, {}, resources), reactor=reactor)
    return site


def _assert_cors(test: SynchronousTestCase, r: Response) -> None:
    for name, value in CORS.items():
        test.assertEqual(r.header(name), value)


class DirectServeJsonTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.lab = _Lab()
        self.site = _site({"/_lab/json": self.lab})

    def test_get_async_handler(self) -> None:
        """An async handler's (code, obj) becomes non-canonical JSON with CORS and no-cache."""
        r = get(self.site, b"/_lab/json")
        self.assertEqual(r.code, 200)
        self.assertEqual(r.body, b'{"b":1,"a":"\\u00e9"}')
        self.assertEqual(r.header(b"cache-control"), b"no-cache, no-store, must-revalidate")
        self.assertEqual(r.header(b"server"), b"Synapse/1.163.2")
        _assert_cors(self, r)

    def test_canonical_flag(self) -> None:
        """canonical_json=True sorts keys and keeps UTF-8."""
        site = _site({"/_lab/json": _Lab(canonical_json=True)})
        self.assertEqual(get(site, b"/_lab/json").body, '{"a":"é","b":1}'.encode())

    def test_sync_handler(self) -> None:
        """A synchronous handler's return value is used as it is."""
        r = get(self.site, b"/_lab/json", method=b"POST")
        self.assertEqual((r.code, r.json()), (201, {"sync": True}))

    def test_none_means_handler_responded(self) -> None:
        """A handler returning None has written the response itself."""
        r = get(self.site, b"/_lab/json", method=b"DELETE")
        self.assertEqual((r.code, r.body), (202, b"raw"))
        self.assertIsNone(r.header(b"access-control-allow-origin"))

    def test_missing_method_405(self) -> None:
        """A method without _async_render_<METHOD> gives 405 M_UNRECOGNIZED with CORS."""
        for method in (b"PUT", b"OPTIONS_X"):
            r = get(self.site, b"/_lab/json", method=method)
            self.assertEqual(r.code, 405)
            self.assertEqual(r.json(), UNRECOGNIZED)
            _assert_cors(self, r)

    def test_head_as_get(self) -> None:
        """HEAD runs the GET handler and sends headers only."""
        r = get(self.site, b"/_lab/json", method=b"HEAD")
        self.assertEqual((r.code, r.body), (200, b""))
        self.assertEqual(r.header(b"content-type"), b"application/json")
        self.assertEqual(len(self.lab.seen), 1)

    def test_not_a_leaf(self) -> None:
        """Sub-paths of a DirectServeJsonResource get Twisted's HTML 404."""
        r = get(self.site, b"/_lab/json/x")
        self.assertEqual(r.code, 404)
        self.assertIn(b"No Such Resource", r.body)

    def test_render_deferred_and_processing(self) -> None:
        """render stores render_deferred, and the handler runs inside request.processing()."""
        get(self.site, b"/_lab/json")
        req = self.lab.seen[0]
        self.assertIsInstance(req.render_deferred, Deferred)
        self.assertFalse(req._is_processing)
        self.assertEqual(req.request_metrics.name, "_Lab")

    def test_cancellable_handler_cancelled_on_disconnect(self) -> None:
        """A @cancellable handler's Deferred is cancelled when the client goes away."""
        _, conn = request(self.site, b"PATCH", b"/_lab/json")
        req = conn.channel.requests[0]
        self.assertTrue(req.is_render_cancellable)
        conn.channel.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(self.lab.cancelled)
        self.assertTrue(req.render_deferred.called)
        self.assertEqual(req.code, 499)

    def test_synapse_error_with_fields(self) -> None:
        """SynapseError(418, 'teapot', 'ORG_LAB_TEAPOT', {'x': 1}) → 418 with the extra field."""
        site = _site({"/_lab/e": _Raising(SynapseError(418, "teapot", "ORG_LAB_TEAPOT", {"x": 1}))})
        r = get(site, b"/_lab/e")
        self.assertEqual(r.code, 418)
        self.assertEqual(r.body, b'{"errcode":"ORG_LAB_TEAPOT","error":"teapot","x":1}')
        _assert_cors(self, r)

    def test_value_error_500(self) -> None:
        """A ValueError gives 500 M_UNKNOWN Internal server error."""
        site = _site({"/_lab/e": _Raising(ValueError("bad"))})
        with LogCapture("synapse_modhost.web._respond", logging.ERROR) as logs:
            r = get(site, b"/_lab/e")
        self.assertEqual(r.code, 500)
        self.assertEqual(r.json(), {"errcode": "M_UNKNOWN", "error": "Internal server error"})
        self.assertEqual(len(logs.records), 1)

    def test_assertion_error_500(self) -> None:
        """An AssertionError (e.g. authenticating twice) gives 500."""
        site = _site({"/_lab/e": _Raising(AssertionError())})
        with LogCapture("synapse_modhost.web._respond", logging.ERROR):
            self.assertEqual(get(site, b"/_lab/e").code, 500)

    def test_limit_exceeded_pause_uses_clock(self) -> None:
        """LimitExceededError.pause delays the 429 on the given clock."""
        clock = MemoryReactorClock()
        exc = LimitExceededError("test", retry_after_ms=2000, pause=0.5)
        site = _site({"/_lab/e": _Raising(exc, clock=clock)})
        response, conn = request(site, b"GET", b"/_lab/e")
        self.assertIsNone(response)
        clock.advance(0.4)
        self.assertIsNone(conn.response())
        clock.advance(0.1)
        r = conn.response()
        assert r is not None
        self.assertEqual(r.code, 429)
        self.assertEqual(r.header(b"retry-after"), b"2")

    def test_limit_exceeded_pause_defaults_to_site_reactor(self) -> None:
        """Without a clock the pause runs on the reactor serving the request."""
        reactor = MemoryReactorClock()
        exc = LimitExceededError("test", pause=1.0)
        site = _site({"/_lab/e": _Raising(exc)}, reactor=reactor)
        response, conn = request(site, b"GET", b"/_lab/e")
        self.assertIsNone(response)
        reactor.advance(1.0)
        r = conn.response()
        assert r is not None
        self.assertEqual(r.code, 429)

    def test_limit_exceeded_without_pause_is_immediate(self) -> None:
        """Without pause the 429 is sent at once."""
        site = _site({"/_lab/e": _Raising(LimitExceededError("test"))})
        self.assertEqual(get(site, b"/_lab/e").code, 429)

    def test_clock_with_sleep(self) -> None:
        """A clock object exposing sleep(seconds) is awaited for the pause."""
        sleeps: List[float] = []

        class Clock:
            def sleep(self, seconds: float) -> Deferred:
                sleeps.append(seconds)
                return succeed(None)

        site = _site({"/_lab/e": _Raising(LimitExceededError("t", pause=0.25), clock=Clock())})
        self.assertEqual(get(site, b"/_lab/e").code, 429)
        self.assertEqual(sleeps, [0.25])


class _Html(DirectServeHtmlResource):
    async def _async_render_GET(self, request: SynapseRequest) -> Tuple[int, bytes]:
        return 200, b"<p>hi</p>"

    async def _async_render_POST(self, request: SynapseRequest) -> Tuple[int, Any]:
        return 200, "not bytes"

    async def _async_render_PUT(self, request: SynapseRequest) -> None:
        raise SynapseError(403, "nope <b>")

    async def _async_render_DELETE(self, request: SynapseRequest) -> None:
        exc = RedirectException(b"/login")
        exc.cookies.append(b"sid=1")
        raise exc

    def _async_render_PATCH(self, request: SynapseRequest) -> None:
        respond_with_html(request, 200, "self")


class DirectServeHtmlTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.site = _site({"/_lab/html": _Html()})

    def test_bytes_response(self) -> None:
        """(code, bytes) is sent as HTML with anti-framing headers and no CORS."""
        r = get(self.site, b"/_lab/html")
        self.assertEqual((r.code, r.body), (200, b"<p>hi</p>"))
        self.assertEqual(r.header(b"content-type"), b"text/html; charset=utf-8")
        self.assertEqual(r.header(b"x-frame-options"), b"DENY")
        self.assertIsNone(r.header(b"access-control-allow-origin"))

    def test_non_bytes_is_500(self) -> None:
        """Returning a str body fails the bytes assertion: HTML 500."""
        with LogCapture("synapse_modhost.web._respond", logging.ERROR):
            r = get(self.site, b"/_lab/html", method=b"POST")
        self.assertEqual(r.code, 500)
        self.assertIn(b"<title>Error 500</title>", r.body)
        self.assertIn(b"Internal server error", r.body)

    def test_synapse_error_page(self) -> None:
        """A SynapseError renders the error page with the escaped message."""
        r = get(self.site, b"/_lab/html", method=b"PUT")
        self.assertEqual(r.code, 403)
        self.assertIn(b"<p>nope &lt;b&gt;</p>", r.body)

    def test_redirect(self) -> None:
        """A RedirectException gives 302, Location and Set-Cookie."""
        r = get(self.site, b"/_lab/html", method=b"DELETE")
        self.assertEqual(r.code, 302)
        self.assertEqual(r.header(b"location"), b"/login")
        self.assertEqual(r.headers(b"set-cookie"), [b"sid=1"])

    def test_missing_method_is_html_405(self) -> None:
        """A missing handler gives the 405 as an HTML error page."""
        r = get(self.site, b"/_lab/html", method=b"OPTIONS_X")
        self.assertEqual(r.code, 405)
        self.assertIn(b"Unrecognized request", r.body)

    def test_sync_handler_responding_itself(self) -> None:
        """A synchronous handler may respond itself and return None."""
        r = get(self.site, b"/_lab/html", method=b"PATCH")
        self.assertEqual((r.code, r.body), (200, b"self"))

    def test_custom_error_template(self) -> None:
        """Subclasses may override ERROR_TEMPLATE."""

        class Custom(_Html):
            ERROR_TEMPLATE = "E{code}:{msg}"

        site = _site({"/_lab/html": Custom()})
        self.assertEqual(get(site, b"/_lab/html", method=b"PUT").body, b"E403:nope &lt;b&gt;")


class _Servlet(RestServlet):
    PATTERNS = [re.compile(r"^/_matrix/client/v3/rooms/(?P<room_id>[^/]*)/thing$")]

    def __init__(self) -> None:
        self.calls: List[Tuple[str, Any]] = []

    async def on_GET(self, request: SynapseRequest, room_id: str) -> Tuple[int, Any]:
        self.calls.append(("GET", room_id))
        return 200, {"room_id": room_id, "z": 1, "a": 2}

    def on_PUT(self, request: SynapseRequest, room_id: str) -> Tuple[int, Any]:
        return 200, {"sync": room_id}

    def on_POST(self, request: SynapseRequest, room_id: str) -> "Deferred[Tuple[int, Any]]":
        return succeed((200, {"deferred": True}))


class JsonResourceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.router = JsonResource(canonical_json=False)
        self.servlet = _Servlet()
        self.servlet.register(self.router)
        self.site = _site({"/_matrix/client": self.router})

    def test_named_groups_unquoted(self) -> None:
        """Named groups are URL-unquoted into keyword arguments."""
        r = get(self.site, b"/_matrix/client/v3/rooms/%21abc%3Aexample.com/thing")
        self.assertEqual(r.code, 200)
        self.assertEqual(self.servlet.calls, [("GET", "!abc:example.com")])
        self.assertEqual(r.body, b'{"room_id":"!abc:example.com","z":1,"a":2}')
        _assert_cors(self, r)

    def test_sync_and_deferred_callbacks(self) -> None:
        """Synchronous and Deferred-returning callbacks both work."""
        self.assertEqual(
            get(self.site, b"/_matrix/client/v3/rooms/r/thing", method=b"PUT").json(), {"sync": "r"}
        )
        self.assertEqual(
            get(self.site, b"/_matrix/client/v3/rooms/r/thing", method=b"POST").json(),
            {"deferred": True},
        )

    def test_wrong_method_405(self) -> None:
        """A matching path without a handler for the method gives 405 M_UNRECOGNIZED."""
        r = get(self.site, b"/_matrix/client/v3/rooms/r/thing", method=b"DELETE")
        self.assertEqual((r.code, r.json()), (405, UNRECOGNIZED))
        _assert_cors(self, r)

    def test_no_match_404(self) -> None:
        """An unmatched path under the router gives 404 M_UNRECOGNIZED (children never consulted)."""
        self.router.putChild(b"labundercs", Resource())
        for path in (b"/_matrix/client/v3/nothing", b"/_matrix/client/labundercs"):
            r = get(self.site, path)
            self.assertEqual((r.code, r.json()), (404, UNRECOGNIZED))

    def test_head_uses_get(self) -> None:
        """HEAD is routed to the GET handler."""
        r = get(self.site, b"/_matrix/client/v3/rooms/r/thing", method=b"HEAD")
        self.assertEqual((r.code, r.body), (200, b""))
        self.assertEqual(self.servlet.calls, [("GET", "r")])

    def test_first_matching_pattern_decides(self) -> None:
        """The first pattern that matches decides, even if a later one has the method."""
        router = JsonResource()
        router.register_paths("GET", [re.compile("^/r/a")], lambda req: (200, {"first": 1}), "A")
        router.register_paths("PUT", [re.compile("^/r/a.*")], lambda req: (200, {"second": 1}), "B")
        site = _site({"/r": router})
        self.assertEqual(get(site, b"/r/a").json(), {"first": 1})
        self.assertEqual(get(site, b"/r/a", method=b"PUT").code, 405)
        self.assertEqual(get(site, b"/r/ab", method=b"PUT").code, 405)

    def test_same_pattern_methods_merge(self) -> None:
        """Registering another method for the same pattern adds to it; canonical by default."""
        router = JsonResource()
        pattern = re.compile("^/r/x$")
        router.register_paths("GET", [pattern], lambda req: (200, {"b": 1, "a": 2}), "G")
        router.register_paths("POST", [pattern], lambda req: (200, {"m": "post"}), "P")
        site = _site({"/r": router})
        self.assertEqual(get(site, b"/r/x").body, b'{"a":2,"b":1}')
        self.assertEqual(get(site, b"/r/x", method=b"POST").json(), {"m": "post"})

    def test_servlet_errors(self) -> None:
        """Callback exceptions become JSON errors."""
        router = JsonResource()

        def boom(req: SynapseRequest) -> None:
            raise SynapseError(400, "bad", "M_INVALID_PARAM")

        router.register_paths("GET", [re.compile("^/r/x$")], boom, "Boom")
        site = _site({"/r": router})
        r = get(site, b"/r/x")
        self.assertEqual((r.code, r.json()), (400, {"errcode": "M_INVALID_PARAM", "error": "bad"}))

    def test_servlet_name_recorded(self) -> None:
        """The servlet class name becomes the request's metrics name."""
        router = JsonResource()
        seen: List[SynapseRequest] = []

        def cb(req: SynapseRequest) -> Tuple[int, Any]:
            seen.append(req)
            return 200, {}

        router.register_paths("GET", [re.compile("^/r")], cb, "MyServlet")
        get(_site({"/r": router}), b"/r")
        self.assertEqual(seen[0].request_metrics.name, "MyServlet")

    def test_rest_servlet_without_patterns(self) -> None:
        """RestServlet.register without PATTERNS raises NotImplementedError."""
        with self.assertRaises(NotImplementedError):
            RestServlet().register(JsonResource())

    def test_rest_servlet_registers_only_known_methods(self) -> None:
        """RestServlet registers on_GET/PUT/POST/DELETE only."""

        class Patchy(RestServlet):
            PATTERNS = [re.compile("^/p$")]

            def on_PATCH(self, request: SynapseRequest) -> Tuple[int, Any]:
                return 200, {}

            def on_DELETE(self, request: SynapseRequest) -> Tuple[int, Any]:
                return 200, {"deleted": True}

        calls: List[Tuple[str, str]] = []

        class Recorder:
            def register_paths(self, method: str, patterns: Any, callback: Any, name: str) -> None:
                calls.append((method, name))

        Patchy().register(Recorder())
        self.assertEqual(calls, [("DELETE", "Patchy")])


class _Handler:
    def __init__(self, result: Any):
        self.result = result
        self.requests: List[SynapseRequest] = []

    async def handle_request(self, request: SynapseRequest) -> Any:
        self.requests.append(request)
        if self.result is None:
            request.setResponseCode(200)
            request.write(b"self")
            request.finish()
        return self.result


class AdditionalResourceTests(SynchronousTestCase):
    def test_handle_request_result_as_json(self) -> None:
        """An additional resource's (code, obj) is JSON with CORS for any method."""
        handler = _Handler((200, {"ok": True}))
        site = _site({"/_lab/additional": AdditionalResource(handler.handle_request)})
        for method in (b"GET", b"PUT", b"DELETE"):
            r = get(site, b"/_lab/additional", method=method)
            self.assertEqual((r.code, r.json()), (200, {"ok": True}))
            _assert_cors(self, r)

    def test_handler_writes_response(self) -> None:
        """A None result means the handler responded itself."""
        site = _site({"/_lab/additional": AdditionalResource(_Handler(None).handle_request)})
        self.assertEqual(get(site, b"/_lab/additional").body, b"self")

    def test_synapse_signature(self) -> None:
        """AdditionalResource(hs, handler) is accepted as in Synapse."""
        handler = _Handler((200, {}))
        resource = AdditionalResource(object(), handler.handle_request)
        self.assertEqual(get(_site({"/a": resource}), b"/a").code, 200)

    def test_sync_handler_is_500(self) -> None:
        """handle_request must return an awaitable; a plain tuple gives 500."""
        resource = AdditionalResource(lambda request: (200, {}))
        with LogCapture("synapse_modhost.web._respond", logging.ERROR):
            self.assertEqual(get(_site({"/a": resource}), b"/a").code, 500)

    def test_not_a_leaf(self) -> None:
        """Sub-paths of an additional resource give Twisted's HTML 404."""
        site = _site({"/_lab/additional": AdditionalResource(_Handler((200, {})).handle_request)})
        r = get(site, b"/_lab/additional/x")
        self.assertEqual(r.code, 404)
        self.assertIn(b"No Such Resource", r.body)

    def test_wrap_additional_resource(self) -> None:
        """Resources are mounted as they are, handle_request objects wrapped, others rejected."""
        plain = Resource()
        self.assertIs(wrap_additional_resource(plain), plain)
        self.assertIsInstance(wrap_additional_resource(_Handler((200, {}))), AdditionalResource)
        self.assertIsNone(wrap_additional_resource(object()))
