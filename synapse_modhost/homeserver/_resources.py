"""The resources behind a listener's ``resources: [{names: [...]}]`` entries."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict

from twisted.web.resource import IResource, Resource

if TYPE_CHECKING:
    from synapse_modhost.host import ModuleHost

__all__ = ["named_resources"]

logger = logging.getLogger("synapse_modhost.homeserver")

_STATIC_PAGE = (
    b"<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
    b"<title>synapse-modhost</title></head><body>"
    b"<p>synapse-modhost is running.</p></body></html>"
)


def named_resources(host: "ModuleHost", name: str) -> Dict[str, IResource]:
    """The path -> resource mapping Synapse mounts for resource name ``name``.

    The client, admin and media routers are built once per host and shared by every
    listener that names them.
    """
    from synapse_modhost.web import JsonResource

    cache: Dict[str, Dict[str, IResource]] = host.__dict__.setdefault("_named_resources", {})
    if name in cache:
        return cache[name]
    from synapse_modhost.homeserver import rest

    hs = host.hs
    resources: Dict[str, IResource]
    if name == "client":
        resources = {
            "/_matrix/client": rest.build_client_resource(hs),
            "/_synapse/admin": rest.build_admin_resource(hs),
            "/_matrix/static": _StaticPage(),
        }
        # Synapse also serves the media API when a listener names only ``client``.
        resources.update(named_resources(host, "media"))
    elif name == "media":
        resources = rest.build_media_resources(hs)
    elif name == "federation":
        resources = {"/_matrix/federation": JsonResource(canonical_json=True)}
    elif name == "keys":
        resources = {"/_matrix/key": JsonResource(canonical_json=True)}
    else:
        logger.info("Resource name %r is not served by synapse-modhost; ignoring it", name)
        resources = {}
    cache[name] = resources
    return resources


class _StaticPage(Resource):
    """The page at ``/_matrix/static`` (twisted.web.static costs 40 ms of start-up)."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        return _STATIC_PAGE

    render_HEAD = render_GET
