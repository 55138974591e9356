"""treq clients over in-memory resources (``treq.testing`` underneath)."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from zope.interface import implementer

__all__ = ["SynchronousBodyProducer", "memory_treq", "site_treq"]


@implementer(IBodyProducer)
class SynchronousBodyProducer:
    """Writes a request body at once (treq's default producer needs a running reactor)."""

    def __init__(self, body: Any) -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, bytes):
            body = body.read()
        self.body: bytes = body
        self.length = len(self.body) if self.body is not None else UNKNOWN_LENGTH

    def startProducing(self, consumer: Any) -> "defer.Deferred[None]":
        consumer.write(self.body)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


def memory_treq(agent: Any) -> Any:
    """A ``treq.client.HTTPClient`` over an in-memory agent."""
    from treq.client import HTTPClient

    return HTTPClient(agent=agent, data_to_body_producer=SynchronousBodyProducer)


def site_treq(site: Any) -> Any:
    """A treq client whose requests are served by ``site`` (the host's own
    ``SynapseSite``, so resources see a ``SynapseRequest`` as they do for real)."""
    from treq.testing import RequestTraversalAgent

    agent = RequestTraversalAgent(site.resource)
    # RequestTraversalAgent serves through a plain twisted.web Site; use the host's.
    agent._serverFactory = site
    return memory_treq(agent)
