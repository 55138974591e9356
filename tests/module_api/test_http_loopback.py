"""SimpleHttpClient's real path: treq over Agent, TCP on 127.0.0.1."""

from __future__ import annotations

import io
from typing import Any, List

from twisted.internet import defer, task
from twisted.trial.unittest import TestCase
from twisted.web.server import Site

from synapse_modhost.errors import Codes, HttpResponseException, SynapseError
from synapse_modhost.module_api import SimpleHttpClient
from tests.module_api._http_fakes import RecordingResource


class _TrackingSite(Site):
    """A Site that can wait until every connection it accepted has closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closed: List[defer.Deferred[None]] = []

    def buildProtocol(self, addr: Any) -> Any:
        proto = super().buildProtocol(addr)
        done: defer.Deferred[None] = defer.Deferred()
        self.closed.append(done)
        original = proto.connectionLost

        def connectionLost(reason: Any) -> None:
            original(reason)
            done.callback(None)

        proto.connectionLost = connectionLost
        return proto


class LoopbackTests(TestCase):
    def serve(self, resource: RecordingResource) -> str:
        from twisted.internet import reactor

        self.site = _TrackingSite(resource)
        port = reactor.listenTCP(0, self.site, interface="127.0.0.1")
        self.client = SimpleHttpClient(reactor)

        async def cleanup() -> None:
            # let connections finish going back to the pool before closing it
            await task.deferLater(reactor, 0, lambda: None)
            await self.client.close()
            await defer.gatherResults(self.site.closed)
            await port.stopListening()

        self.addCleanup(lambda: defer.ensureDeferred(cleanup()))
        return "http://127.0.0.1:%d" % (port.getHost().port,)

    async def test_get_json_and_post_json(self) -> None:
        """Over real TCP: get_json decodes, post_json_get_json sends canonical JSON."""
        res = RecordingResource(body=b'{"hello": "world"}')
        base = self.serve(res)
        self.assertEqual(
            await self.client.get_json(base + "/a", args={"x": ["1", "2"]}), {"hello": "world"}
        )
        self.assertEqual(res.last.uri, b"/a?x=1&x=2")
        self.assertEqual(res.last.header(b"User-Agent"), [b"Synapse/1.163.2"])
        self.assertEqual(res.last.header(b"Accept"), [b"application/json"])
        await self.client.post_json_get_json(base + "/b", {"k": 2, "a": 1})
        self.assertEqual(res.last.method, b"POST")
        self.assertEqual(res.last.body, b'{"a":1,"k":2}')
        self.assertEqual(res.last.header(b"Content-Length"), [b"13"])

    async def test_error_status_and_get_file(self) -> None:
        """Over real TCP: 500 raises HttpResponseException; get_file enforces max_size."""
        res = RecordingResource(code=500, body=b'{"errcode": "M_UNKNOWN"}')
        base = self.serve(res)
        with self.assertRaises(HttpResponseException) as cm:
            await self.client.get_json(base + "/err")
        self.assertEqual(cm.exception.code, 500)
        self.assertEqual(cm.exception.msg, "Internal Server Error")
        self.assertEqual(cm.exception.response, b'{"errcode": "M_UNKNOWN"}')

        res.code = 200
        res.body = b"0123456789"
        out = io.BytesIO()
        length, headers, uri, code = await self.client.get_file(base + "/f", out, max_size=11)
        self.assertEqual((length, out.getvalue(), code), (10, b"0123456789", 200))
        self.assertEqual(uri, base + "/f")
        with self.assertRaises(SynapseError) as too_big:
            await self.client.get_file(base + "/f", io.BytesIO(), max_size=4)
        self.assertEqual(too_big.exception.errcode, Codes.TOO_LARGE)
