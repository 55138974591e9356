"""treq clients over in-memory resources (``treq.testing`` underneath)."""

from __future__ import annotations

from typing import Any

from synapse_modhost.module_api._http_client import _BytesProducer

__all__ = ["memory_treq", "site_treq"]


def memory_treq(agent: Any) -> Any:
    """A ``treq.client.HTTPClient`` over an in-memory agent."""
    from treq.client import HTTPClient

    return HTTPClient(agent=agent, data_to_body_producer=_BytesProducer)


def site_treq(site: Any) -> Any:
    """A treq client whose requests are served by ``site`` (the host's own
    ``SynapseSite``, so resources see a ``SynapseRequest`` as they do for real)."""
    from treq.testing import RequestTraversalAgent

    agent = RequestTraversalAgent(site.resource)
    # RequestTraversalAgent serves through a plain twisted.web Site; use the host's.
    agent._serverFactory = site
    return memory_treq(agent)
