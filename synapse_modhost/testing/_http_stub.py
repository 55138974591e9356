"""A stand-in for ``api.http_client``: canned answers, and a record of what was sent.

Built on ``treq.testing``: the module's real ``SimpleHttpClient`` code runs, only the
network is replaced by an in-memory resource.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Pattern, Tuple, Union

import attr
from twisted.web.resource import Resource
from twisted.web.server import Request

__all__ = ["HttpClientStub", "StubbedRequest"]

Responder = Callable[["StubbedRequest"], Tuple[int, Dict[str, str], bytes]]

_ANY = object()


@attr.s(frozen=True, slots=True, auto_attribs=True)
class StubbedRequest:
    """One request a module sent through ``api.http_client``."""

    method: str
    url: str
    headers: Dict[str, List[str]]
    body: bytes

    @property
    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)

    def header(self, name: str) -> Optional[str]:
        """The first value of header ``name`` (case-insensitive)."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


class _Router(Resource):
    isLeaf = True

    def __init__(self, stub: "HttpClientStub") -> None:
        super().__init__()
        self._stub = stub

    def render(self, request: Request) -> bytes:
        return self._stub._answer(request)


class HttpClientStub:
    """Answers a module's outbound requests from rules the test sets.

    ``respond(method, url, json=...)`` adds a rule (``url`` is a full URL, or a compiled
    regex matched against it); the first matching rule answers. A request no rule
    matches is answered ``599`` and listed in :attr:`unexpected`, which the test case
    checks when the test ends.
    """

    def __init__(self, reactor: Any) -> None:
        from synapse_modhost.module_api import SimpleHttpClient

        self.requests: List[StubbedRequest] = []
        self.unexpected: List[StubbedRequest] = []
        self._rules: List[Tuple[str, Union[str, Pattern[str]], Responder]] = []
        self._agent: Any = None
        self._treq: Any = None
        # treq (and twisted.web.client) load on the first request a module makes, so a
        # test file whose modules never call out does not pay ~0.1 s to import them.
        self.client = SimpleHttpClient(reactor, treq_client=self)

    @property
    def treq(self) -> Any:
        """The treq client the module's ``SimpleHttpClient`` sends through."""
        if self._treq is None:
            from treq.testing import RequestTraversalAgent

            from synapse_modhost.testing._treq import memory_treq

            self._agent = RequestTraversalAgent(_Router(self))
            self._treq = memory_treq(self._agent)
        return self._treq

    def request(self, method: Any, url: Any, **kwargs: Any) -> Any:
        """treq's ``request``: what ``SimpleHttpClient`` calls."""
        return self.treq.request(method, url, **kwargs)

    def respond(
        self,
        method: str,
        url: Union[str, Pattern[str]],
        *,
        code: int = 200,
        json: Any = _ANY,
        body: bytes = b"",
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        """Answer ``method url`` with ``code`` and a JSON (or raw) body."""
        out_headers = dict(headers or {})
        if json is not _ANY:
            import json as jsonlib

            body = jsonlib.dumps(json).encode("utf-8")
            out_headers.setdefault("Content-Type", "application/json")
        self.respond_with(method, url, lambda request: (code, out_headers, body))

    def respond_with(self, method: str, url: Union[str, Pattern[str]], responder: Responder) -> None:
        """Answer with ``responder(request) -> (code, headers, body)``."""
        self._rules.append((method.upper(), url, responder))

    def assert_requested(
        self, method: str, url: Union[str, Pattern[str]], *, json: Any = _ANY
    ) -> StubbedRequest:
        """The last request to ``method url`` (with that JSON body, if given); fails
        with a list of what was sent when there is none."""
        for request in reversed(self.requests):
            if request.method == method.upper() and _matches(url, request.url):
                if json is _ANY or request.json == json:
                    return request
        raise AssertionError(
            "no %s %s%s was sent; sent: %s"
            % (
                method.upper(),
                getattr(url, "pattern", url),
                "" if json is _ANY else " with body %r" % (json,),
                [(r.method, r.url, r.body[:200]) for r in self.requests] or "nothing",
            )
        )

    def flush(self) -> None:
        """Deliver any response still in flight."""
        if self._agent is not None:
            self._agent.flush()

    def _answer(self, request: Request) -> bytes:
        host = (request.getHeader(b"host") or b"").decode("latin-1")
        scheme = "https" if request.isSecure() else "http"
        recorded = StubbedRequest(
            method=request.method.decode("ascii"),
            url="%s://%s%s" % (scheme, host, request.uri.decode("latin-1")),
            headers={
                k.decode("latin-1").lower(): [v.decode("latin-1") for v in vs]
                for k, vs in request.requestHeaders.getAllRawHeaders()
            },
            body=request.content.read() if request.content is not None else b"",
        )
        self.requests.append(recorded)
        for method, url, responder in self._rules:
            if method == recorded.method and _matches(url, recorded.url):
                code, headers, body = responder(recorded)
                request.setResponseCode(code)
                for name, value in headers.items():
                    request.setHeader(name.encode("latin-1"), value.encode("latin-1"))
                return body
        self.unexpected.append(recorded)
        request.setResponseCode(599)
        return b"synapse_modhost.testing: no stubbed response for %s %s" % (
            recorded.method.encode(),
            recorded.url.encode(),
        )


def _matches(rule: Union[str, Pattern[str]], url: str) -> bool:
    if isinstance(rule, str):
        return rule == url
    return bool(rule.search(url))

