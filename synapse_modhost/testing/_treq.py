"""A treq client that talks to a host's Site in memory (``treq.testing`` underneath)."""

from __future__ import annotations

from typing import Any

__all__ = ["site_treq"]


def site_treq(site: Any) -> Any:
    """A ``treq.client.HTTPClient`` whose requests are served by ``site`` (the host's own
    ``SynapseSite``, so resources see a ``SynapseRequest`` as they do for real)."""
    from treq.client import HTTPClient
    from treq.testing import RequestTraversalAgent

    agent = RequestTraversalAgent(site.resource)
    # RequestTraversalAgent serves through a plain twisted.web Site; use the host's.
    agent._serverFactory = site
    return HTTPClient(agent=agent)
