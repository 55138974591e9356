"""The resources behind a listener's ``resources: [{names: [...]}]`` entries."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Dict, Tuple

from twisted.web.resource import IResource, Resource

if TYPE_CHECKING:
    from synapse_modhost.host import ModuleHost

__all__ = ["named_resources"]

logger = logging.getLogger("synapse_modhost.homeserver")

CLIENT_PREFIX = "/_matrix/client"

#: Client-Server API versions the stand-in answers ``/versions`` with.
SUPPORTED_VERSIONS = (
    "r0.0.1",
    "r0.1.0",
    "r0.2.0",
    "r0.3.0",
    "r0.4.0",
    "r0.5.0",
    "r0.6.0",
    "r0.6.1",
    "v1.1",
    "v1.2",
    "v1.3",
    "v1.4",
    "v1.5",
    "v1.6",
    "v1.7",
    "v1.8",
    "v1.9",
    "v1.10",
    "v1.11",
    "v1.12",
)

_STATIC_PAGE = (
    b"<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
    b"<title>synapse-modhost</title></head><body>"
    b"<p>synapse-modhost is running.</p></body></html>"
)


def named_resources(host: "ModuleHost", name: str) -> Dict[str, IResource]:
    """The path -> resource mapping Synapse mounts for resource name ``name``."""
    from synapse_modhost.web import JsonResource

    if name == "client":
        client = JsonResource(canonical_json=False)
        client.register_paths(
            "GET",
            [re.compile("^/_matrix/client/versions$")],
            _versions,
            "VersionsRestServlet",
        )
        return {
            CLIENT_PREFIX: client,
            "/_synapse/admin": JsonResource(canonical_json=False),
            "/_matrix/static": _static_resource(),
        }
    if name == "media":
        return {
            "/_matrix/media/r0": JsonResource(canonical_json=True),
            "/_matrix/media/v3": JsonResource(canonical_json=True),
            "/_matrix/media/v1": JsonResource(canonical_json=True),
        }
    if name == "federation":
        return {"/_matrix/federation": JsonResource(canonical_json=True)}
    if name == "keys":
        return {"/_matrix/key": JsonResource(canonical_json=True)}
    logger.info("Resource name %r is not served by synapse-modhost; ignoring it", name)
    return {}


def _versions(request: Any) -> Tuple[int, Dict[str, Any]]:
    return 200, {"versions": list(SUPPORTED_VERSIONS), "unstable_features": {}}


class _StaticPage(Resource):
    """The page at ``/_matrix/static`` (twisted.web.static costs 40 ms of start-up)."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        return _STATIC_PAGE

    render_HEAD = render_GET


def _static_resource() -> IResource:
    return _StaticPage()
