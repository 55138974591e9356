"""The resources behind a listener's ``resources: [{names: [...]}]`` entries."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

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
            "/_matrix/client": _LazyRouter(lambda: rest.build_client_resource(hs)),
            "/_synapse/admin": _LazyRouter(lambda: rest.build_admin_resource(hs)),
            "/_matrix/static": _StaticPage(),
        }
        # Synapse also serves the media API when a listener names only ``client``.
        resources.update(named_resources(host, "media"))
    elif name == "media":
        media = _LazyRouter(lambda: rest.build_media_resources(hs)["/_matrix/media/v3"])
        resources = {
            "/_matrix/media/r0": media,
            "/_matrix/media/v3": media,
            "/_matrix/media/v1": media,
        }
    elif name == "federation":
        resources = {"/_matrix/federation": JsonResource(canonical_json=True)}
    elif name == "keys":
        resources = {"/_matrix/key": JsonResource(canonical_json=True)}
    else:
        logger.info("Resource name %r is not served by synapse-modhost; ignoring it", name)
        resources = {}
    cache[name] = resources
    return resources


class _LazyRouter(Resource):
    """A leaf standing in for one of the stand-in's routers, built on its first request.

    The Client-Server, admin and media routers import every handler; building them when a
    request first needs them keeps start-up (and a host that only serves module
    resources) light. Like the routers, it is a leaf: module paths below it are never
    reached, as on Synapse.
    """

    isLeaf = True

    def __init__(self, build: Callable[[], IResource]) -> None:
        super().__init__()
        self._build: Optional[Callable[[], IResource]] = build
        self._router: Optional[IResource] = None

    @property
    def router(self) -> IResource:
        if self._router is None:
            assert self._build is not None
            self._router, self._build = self._build(), None
        return self._router

    def render(self, request: Any) -> Any:
        return self.router.render(request)


class _StaticPage(Resource):
    """The page at ``/_matrix/static`` (twisted.web.static costs 40 ms of start-up)."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        return _STATIC_PAGE

    render_HEAD = render_GET
