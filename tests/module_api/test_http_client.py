"""SimpleHttpClient over treq.testing (in memory) with a fake clock."""

from __future__ import annotations

import io
from typing import Any, Coroutine, List, Optional

from treq.testing import StubTreq
from twisted.internet import defer, error
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent
from zope.interface import implementer

from synapse_modhost.errors import (
    Codes,
    HttpResponseException,
    RequestTimedOutError,
    SynapseError,
)
from synapse_modhost.module_api import SimpleHttpClient
from tests.module_api._http_fakes import RecordingResource

UA = [b"Synapse/1.163.2"]
URL = "http://remote.test/path"


class _Base(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = MemoryReactorClock()

    def client(self, resource: RecordingResource, **kwargs: Any) -> SimpleHttpClient:
        self.stub = StubTreq(resource)
        return SimpleHttpClient(self.clock, treq_client=self.stub, **kwargs)

    def result(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.successResultOf(defer.ensureDeferred(coro))

    def failure(self, coro: Coroutine[Any, Any, Any], *types: type) -> Any:
        return self.failureResultOf(defer.ensureDeferred(coro), *types).value


class RequestShapeTests(_Base):
    def test_get_json_request(self) -> None:
        """get_json sends GET with Accept: application/json, User-Agent and doseq args."""
        res = RecordingResource(body=b'{"ok": true}')
        client = self.client(res)
        out = self.result(client.get_json(URL, args={"a": "1", "b": ["x", "y"]}))
        self.assertEqual(out, {"ok": True})
        self.assertEqual(res.last.method, b"GET")
        self.assertEqual(res.last.uri, b"/path?a=1&b=x&b=y")
        self.assertEqual(res.last.header(b"Accept"), [b"application/json"])
        self.assertEqual(res.last.header(b"User-Agent"), UA)
        self.assertEqual(res.last.body, b"")

    def test_caller_headers_override(self) -> None:
        """Caller headers (str or bytes names) replace the client's and add new ones."""
        res = RecordingResource(body=b"[]")
        client = self.client(res)
        self.result(
            client.get_json(
                URL, headers={"Accept": ["text/plain"], b"Authorization": [b"Bearer t"]}
            )
        )
        self.assertEqual(res.last.header(b"Accept"), [b"text/plain"])
        self.assertEqual(res.last.header(b"Authorization"), [b"Bearer t"])
        self.assertEqual(res.last.header(b"User-Agent"), UA)

    def test_custom_user_agent(self) -> None:
        """The constructor's user_agent is sent."""
        res = RecordingResource(body=b"{}")
        client = self.client(res, user_agent="Synapse/1.163.2 (suffix)")
        self.result(client.get_raw(URL))
        self.assertEqual(res.last.header(b"User-Agent"), [b"Synapse/1.163.2 (suffix)"])

    def test_post_json_get_json_request(self) -> None:
        """post_json_get_json POSTs canonical JSON with Content-Type and Accept."""
        res = RecordingResource(body=b'{"r": 1}')
        client = self.client(res)
        out = self.result(client.post_json_get_json(URL, {"b": 1, "a": "é", "c": [1.5]}))
        self.assertEqual(out, {"r": 1})
        self.assertEqual(res.last.method, b"POST")
        self.assertEqual(res.last.body, '{"a":"é","b":1,"c":[1.5]}'.encode())
        self.assertEqual(res.last.header(b"Content-Type"), [b"application/json"])
        self.assertEqual(res.last.header(b"Accept"), [b"application/json"])
        self.assertEqual(res.last.header(b"User-Agent"), UA)

    def test_put_json_request(self) -> None:
        """put_json PUTs canonical JSON to uri?args."""
        res = RecordingResource(body=b'{"done": true}')
        client = self.client(res)
        out = self.result(client.put_json(URL, {"z": None, "y": True}, args={"q": "a b"}))
        self.assertEqual(out, {"done": True})
        self.assertEqual(res.last.method, b"PUT")
        self.assertEqual(res.last.uri, b"/path?q=a+b")
        self.assertEqual(res.last.body, b'{"y":true,"z":null}')
        self.assertEqual(res.last.header(b"Content-Type"), [b"application/json"])

    def test_post_urlencoded_get_json_request(self) -> None:
        """post_urlencoded_get_json POSTs a form body (doseq) with its Content-Type."""
        res = RecordingResource(body=b'{"t": "x"}')
        client = self.client(res)
        out = self.result(client.post_urlencoded_get_json(URL, args={"a": "1", "l": ["2", "3"]}))
        self.assertEqual(out, {"t": "x"})
        self.assertEqual(res.last.method, b"POST")
        self.assertEqual(res.last.body, b"a=1&l=2&l=3")
        self.assertEqual(res.last.header(b"Content-Type"), [b"application/x-www-form-urlencoded"])
        self.assertEqual(res.last.header(b"Accept"), [b"application/json"])

    def test_post_urlencoded_without_args(self) -> None:
        """With no args the POST has an empty body."""
        res = RecordingResource(body=b"{}")
        client = self.client(res)
        self.result(client.post_urlencoded_get_json(URL))
        self.assertEqual(res.last.body, b"")
        self.assertEqual(res.last.uri, b"/path")

    def test_get_raw_returns_bytes(self) -> None:
        """get_raw returns the body bytes as they are, with no Accept header."""
        res = RecordingResource(body=b"\x00not json", headers=[])
        client = self.client(res)
        self.assertEqual(self.result(client.get_raw(URL)), b"\x00not json")
        self.assertIsNone(res.last.header(b"Accept"))

    def test_request_adds_user_agent_only_when_missing(self) -> None:
        """request() adds User-Agent unless the caller set one, and returns the response."""
        res = RecordingResource(code=201, body=b"x")
        client = self.client(res)
        resp = self.result(client.request("DELETE", URL))
        self.assertEqual(resp.code, 201)
        self.assertEqual(res.last.method, b"DELETE")
        self.assertEqual(res.last.header(b"User-Agent"), UA)
        self.result(client.request("POST", URL, b"data", Headers({b"User-Agent": [b"mine"]})))
        self.assertEqual(res.last.header(b"User-Agent"), [b"mine"])
        self.assertEqual(res.last.body, b"data")


class ResponseHandlingTests(_Base):
    def test_non_2xx_raises_http_response_exception(self) -> None:
        """A non-2xx answer raises HttpResponseException(code, reason phrase, body)."""
        res = RecordingResource(code=404, body=b'{"errcode": "M_NOT_FOUND"}')
        client = self.client(res)
        for call in (
            lambda: client.get_json(URL),
            lambda: client.get_raw(URL),
            lambda: client.post_json_get_json(URL, {}),
            lambda: client.put_json(URL, {}),
            lambda: client.post_urlencoded_get_json(URL, {}),
        ):
            e = self.failure(call(), HttpResponseException)
            self.assertEqual(e.code, 404)
            self.assertEqual(e.msg, "Not Found")
            self.assertEqual(e.response, b'{"errcode": "M_NOT_FOUND"}')
            self.assertEqual(str(e), "404: Not Found")

    def test_3xx_is_an_error_too(self) -> None:
        """A 304 (not followed) is not 2xx, so it raises."""
        res = RecordingResource(code=304, body=b"")
        e = self.failure(self.client(res).get_raw(URL), HttpResponseException)
        self.assertEqual(e.code, 304)

    def test_invalid_json_raises_value_error(self) -> None:
        """A 2xx body that is not JSON raises ValueError."""
        res = RecordingResource(body=b"<html>")
        self.failure(self.client(res).get_json(URL), ValueError)

    def test_nan_and_infinity_rejected(self) -> None:
        """NaN / Infinity in a response are refused as invalid JSON."""
        for body in (b'{"a": NaN}', b"[Infinity]", b"-Infinity"):
            res = RecordingResource(body=body)
            e = self.failure(self.client(res).post_json_get_json(URL, {}), ValueError)
            self.assertIn("Invalid JSON value", str(e))

    def test_non_utf8_raises_value_error(self) -> None:
        """A body that is not UTF-8 raises ValueError (UnicodeDecodeError)."""
        res = RecordingResource(body=b'"\xff"')
        self.failure(self.client(res).get_json(URL), ValueError)

    def test_canonical_json_refuses_nan_in_request(self) -> None:
        """post_json_get_json cannot send NaN (canonical JSON refuses it)."""
        res = RecordingResource()
        self.failure(self.client(res).post_json_get_json(URL, {"x": float("nan")}), ValueError)
        self.assertEqual(res.requests, [])


class TimeoutTests(_Base):
    def test_no_response_headers_within_60s(self) -> None:
        """No response headers within 60 s (fake clock) → RequestTimedOutError 504."""
        res = RecordingResource(hang=True)
        client = self.client(res)
        d = defer.ensureDeferred(client.get_json(URL))
        self.clock.advance(59.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        e = self.failureResultOf(d, RequestTimedOutError).value
        self.assertEqual(e.code, 504)
        self.assertEqual(e.msg, "Timeout waiting for response from remote server")
        self.assertEqual(e.errcode, Codes.UNKNOWN)

    def test_timeout_cancelled_once_answered(self) -> None:
        """A prompt answer leaves no pending timeout on the clock."""
        client = self.client(RecordingResource())
        self.result(client.get_json(URL))
        self.assertEqual(self.clock.getDelayedCalls(), [])


@implementer(IAgent)
class _FailingAgent:
    """An IAgent whose requests fail with ``exc`` (or never answer if ``exc`` is None)."""

    def __init__(self, exc: Optional[Exception]) -> None:
        self.exc = exc
        self.requests: List[Any] = []

    def request(
        self, method: bytes, uri: bytes, headers: Any = None, bodyProducer: Any = None
    ) -> defer.Deferred[Any]:
        self.requests.append((method, uri, headers))
        if self.exc is None:
            return defer.Deferred()
        return defer.fail(self.exc)


class AgentErrorTests(_Base):
    def test_connect_timeout_maps(self) -> None:
        """A TCP connect timeout becomes RequestTimedOutError("Timeout connecting ...")."""
        for exc in (error.TimeoutError(), error.ConnectingCancelledError(None)):
            client = SimpleHttpClient(self.clock, agent=_FailingAgent(exc))
            e = self.failure(client.get_json(URL), RequestTimedOutError)
            self.assertEqual(e.msg, "Timeout connecting to remote server")

    def test_other_transport_errors_propagate(self) -> None:
        """Connection refused propagates unchanged."""
        client = SimpleHttpClient(self.clock, agent=_FailingAgent(error.ConnectionRefusedError()))
        self.failure(client.get_raw(URL), error.ConnectionRefusedError)

    def test_agent_without_answer_times_out(self) -> None:
        """The 60 s timeout also applies to an injected agent, and cancels its request."""
        agent = _FailingAgent(None)
        client = SimpleHttpClient(self.clock, agent=agent)
        d = defer.ensureDeferred(client.get_raw(URL))
        self.clock.advance(60)
        e = self.failureResultOf(d, RequestTimedOutError).value
        self.assertEqual(e.msg, "Timeout waiting for response from remote server")
        self.assertEqual(agent.requests[0][0], b"GET")

    def test_default_agent_uses_15s_connect_timeout(self) -> None:
        """Without injection the real Agent connects with a 15 s timeout on the given reactor."""
        client = SimpleHttpClient(self.clock)
        d = defer.ensureDeferred(client.get_raw("http://127.0.0.1:8765/x"))
        self.assertNoResult(d)
        self.assertEqual(len(self.clock.tcpClients), 1)
        host, port, _factory, timeout, _bind = self.clock.tcpClients[0]
        self.assertEqual((host, port, timeout), ("127.0.0.1", 8765, 15))
        self.clock.advance(60)
        self.failureResultOf(d, RequestTimedOutError)


class GetFileTests(_Base):
    def test_get_file_writes_stream(self) -> None:
        """get_file writes the body and returns (length, headers, final URI, code)."""
        res = RecordingResource(body=b"file-bytes", headers=[(b"Content-Type", b"image/png")])
        client = self.client(res)
        out = io.BytesIO()
        length, headers, uri, code = self.result(
            client.get_file(URL, out, max_size=100, headers={b"X-Test": [b"1"]})
        )
        self.assertEqual(out.getvalue(), b"file-bytes")
        self.assertEqual(length, 10)
        self.assertEqual(code, 200)
        self.assertEqual(uri, URL)
        self.assertEqual(headers[b"Content-Type"], [b"image/png"])
        self.assertEqual(res.last.header(b"X-Test"), [b"1"])
        self.assertEqual(res.last.header(b"User-Agent"), UA)

    def test_get_file_error_code(self) -> None:
        """A status above 299 gives SynapseError(502, "Got error <code>")."""
        res = RecordingResource(code=403, body=b"no")
        with self.assertLogs("synapse_modhost.http_client", "WARNING") as logs:
            e = self.failure(self.client(res).get_file(URL, io.BytesIO()), SynapseError)
        self.assertEqual((e.code, e.msg, e.errcode), (502, "Got error 403", Codes.UNKNOWN))
        self.assertIn("Got 403 when downloading %s" % (URL,), logs.output[0])

    def test_get_file_content_type_refused(self) -> None:
        """A content type the predicate refuses gives SynapseError 502 naming it."""
        res = RecordingResource(body=b"x", headers=[(b"Content-Type", b"text/html")])
        e = self.failure(
            self.client(res).get_file(
                URL, io.BytesIO(), is_allowed_content_type=lambda t: t.startswith("image/")
            ),
            SynapseError,
        )
        self.assertEqual(e.code, 502)
        self.assertEqual(
            e.msg, "Requested file's content type not allowed for this operation: text/html"
        )

    def test_get_file_too_large(self) -> None:
        """A body of max_size bytes or more gives 502 M_TOO_LARGE."""
        for size in (5, 6):
            res = RecordingResource(body=b"x" * size)
            e = self.failure(self.client(res).get_file(URL, io.BytesIO(), max_size=5), SynapseError)
            self.assertEqual(e.code, 502)
            self.assertEqual(e.errcode, Codes.TOO_LARGE)
            self.assertEqual(e.msg, "Requested file is too large > 5 bytes")

    def test_get_file_body_timeout(self) -> None:
        """A body not complete within 30 s gives 502 "took too long" (M_TOO_LARGE)."""
        res = RecordingResource(body=b"part", partial=True)
        client = self.client(res)
        d = defer.ensureDeferred(client.get_file(URL, io.BytesIO()))
        self.stub.flush()
        self.clock.advance(29)
        self.assertNoResult(d)
        self.clock.advance(1)
        e = self.failureResultOf(d, SynapseError).value
        self.assertEqual(e.msg, "Requested file took too long to download")
        self.assertEqual(e.errcode, Codes.TOO_LARGE)

    def test_get_file_stream_error(self) -> None:
        """A failing output stream gives 502 "Failed to download remote body: ..."."""

        class Broken(io.BytesIO):
            def write(self, data: Any) -> int:
                raise OSError("disk full")

        res = RecordingResource(body=b"abc")
        e = self.failure(self.client(res).get_file(URL, Broken()), SynapseError)
        self.assertEqual(e.code, 502)
        self.assertEqual(e.msg, "Failed to download remote body: disk full")
