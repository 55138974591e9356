"""A twisted.web resource that records requests and answers as told."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import attr
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request


@attr.s(auto_attribs=True)
class Recorded:
    method: bytes
    uri: bytes
    headers: Dict[bytes, List[bytes]]
    body: bytes

    def header(self, name: bytes) -> Optional[List[bytes]]:
        return self.headers.get(name.lower())


class RecordingResource(Resource):
    """Records each request; answers with ``code``/``headers``/``body``.

    ``hang``: write nothing (no response headers ever). ``partial``: write the headers
    and ``body`` but never finish.
    """

    isLeaf = True

    def __init__(
        self,
        code: int = 200,
        body: bytes = b"{}",
        headers: Optional[List[Tuple[bytes, bytes]]] = None,
        hang: bool = False,
        partial: bool = False,
    ) -> None:
        super().__init__()
        self.code = code
        self.body = body
        self.headers = headers if headers is not None else [(b"Content-Type", b"application/json")]
        self.hang = hang
        self.partial = partial
        self.requests: List[Recorded] = []
        self.pending: List[Request] = []

    def render(self, request: Request) -> Any:
        assert request.content is not None
        self.requests.append(
            Recorded(
                method=request.method,
                uri=request.uri,
                headers={k.lower(): list(v) for k, v in request.requestHeaders.getAllRawHeaders()},
                body=request.content.read(),
            )
        )
        if self.hang:
            self.pending.append(request)
            return NOT_DONE_YET
        request.setResponseCode(self.code)
        for name, value in self.headers:
            request.setHeader(name, value)
        if self.partial:
            request.setHeader(b"Content-Length", b"%d" % (len(self.body) + 100,))
            request.write(self.body)
            self.pending.append(request)
            return NOT_DONE_YET
        return self.body

    @property
    def last(self) -> Recorded:
        return self.requests[-1]
