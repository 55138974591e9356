"""Loopback HTTP for the tests that bind a real port."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple

from twisted.internet import defer
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers


async def get(reactor: Any, url: str, method: bytes = b"GET",
              body: Optional[bytes] = None) -> Tuple[int, Dict[bytes, Any], bytes]:
    """(status, headers, body) of one request."""
    import io

    from twisted.web.client import FileBodyProducer

    agent = Agent(reactor)
    producer = FileBodyProducer(io.BytesIO(body)) if body is not None else None
    response = await agent.request(method, url.encode(), Headers(), producer)
    content = await readBody(response)
    headers = {k: v for k, v in response.headers.getAllRawHeaders()}
    return response.code, headers, content


def get_json(reactor: Any, url: str) -> "defer.Deferred[Tuple[int, Any]]":
    async def go() -> Tuple[int, Any]:
        code, _, body = await get(reactor, url)
        return code, json.loads(body)

    return defer.ensureDeferred(go())
