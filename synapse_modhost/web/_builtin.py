"""The small resources every listener has: the root, ``/health`` and the 404 JSON nodes."""

from __future__ import annotations

from typing import Any, Final

from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET
from twisted.web.util import redirectTo

from synapse_modhost.errors import UnrecognizedRequestError
from synapse_modhost.web._respond import return_json_error, set_cors_headers

__all__ = [
    "HealthResource",
    "OptionsResource",
    "RootOptionsRedirectResource",
    "RootRedirect",
    "UnrecognizedRequestResource",
]

_UNRECOGNIZED_BODY = b'{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}'


class UnrecognizedRequestResource(Resource):
    """Answers every request (and every request below it) with
    ``404 {"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}`` plus CORS.

    ``create_resource_tree`` uses it for the intermediate path segments it invents.
    """

    def render(self, request: IRequest) -> int:
        return_json_error(Failure(UnrecognizedRequestError(code=404)), request, None)  # type: ignore[arg-type]
        return NOT_DONE_YET

    def getChild(self, path: bytes, request: IRequest) -> Resource:
        return _LEAF_UNRECOGNIZED


class _LeafUnrecognizedRequestResource(UnrecognizedRequestResource):
    """The childless node returned for any unknown child; safe to share."""

    def putChild(self, path: bytes, child: IResource) -> None:
        raise RuntimeError("_LeafUnrecognizedRequestResource does not accept children")


_LEAF_UNRECOGNIZED: Final = _LeafUnrecognizedRequestResource()


class RootRedirect(Resource):
    """``GET /`` answers with a 302 to ``path``."""

    def __init__(self, path: str):
        super().__init__()
        self.url = path

    def render_GET(self, request: IRequest) -> bytes:
        body: bytes = redirectTo(self.url.encode("ascii"), request)
        return body

    def getChild(self, path: bytes, request: IRequest) -> Any:
        if len(path) == 0:
            return self
        return super().getChild(path, request)


class OptionsResource(Resource):
    """A root that answers ``OPTIONS`` for any path itself: 204, ``Content-Length: 0`` and
    CORS headers; traversal never leaves the root for ``OPTIONS``."""

    def render_OPTIONS(self, request: IRequest) -> bytes:
        request.setResponseCode(204)
        request.setHeader(b"Content-Length", b"0")
        set_cors_headers(request)  # type: ignore[arg-type]
        return b""

    def getChildWithDefault(self, path: bytes, request: IRequest) -> Any:
        if request.method == b"OPTIONS":
            return self
        # Resource.getChildWithDefault, inlined: this runs for every request.
        child = self.children.get(path)
        if child is not None:
            return child
        return self.getChild(path, request)


class RootOptionsRedirectResource(OptionsResource, RootRedirect):
    """An ``OptionsResource`` root whose ``GET /`` redirects to ``path``."""


class HealthResource(Resource):
    """``GET /health`` → ``200 OK`` (``text/plain``); anything below it → 404."""

    isLeaf = True

    def render_GET(self, request: IRequest) -> bytes:
        if request.path != b"/health":
            # Synapse answers with this JSON text but leaves Twisted's default
            # ``text/html`` content type in place.
            request.setResponseCode(404)
            return _UNRECOGNIZED_BODY
        request.setHeader(b"Content-Type", b"text/plain")
        return b"OK"
