"""Assembling a listener's resource tree the way Synapse 1.163 does.

``build_listener_resources`` orders the path → resource mapping; ``make_root_resource``
picks the root; ``create_resource_tree`` mounts the mapping under the root, inventing
``UnrecognizedRequestResource`` nodes for intermediate path segments.
"""

from __future__ import annotations

import logging
from typing import Dict, List, Mapping, Tuple

from twisted.web.resource import IResource, Resource

from synapse_modhost.web._builtin import (
    HealthResource,
    OptionsResource,
    RootOptionsRedirectResource,
    UnrecognizedRequestResource,
)

__all__ = [
    "STATIC_PREFIX",
    "ResourceTreeConflictError",
    "build_listener_resources",
    "build_listener_root",
    "create_resource_tree",
    "make_root_resource",
]

logger = logging.getLogger(__name__)

#: Where Synapse serves its static "Synapse is running" page; ``GET /`` redirects there
#: when it is mounted and no ``web_client_location`` is configured.
STATIC_PREFIX = "/_matrix/static"


class ResourceTreeConflictError(KeyError):
    """A path needs to pass through (or steal from) a node this tree did not create.

    Synapse fails here with a bare ``KeyError``; this subclass keeps ``except KeyError``
    working and names the path and segment in its message.
    """

    def __init__(self, path: str, segment: bytes, reason: str):
        super().__init__(path)
        self.path = path
        self.segment = segment
        self.reason = reason

    def __str__(self) -> str:
        return f"Cannot mount a resource at {self.path!r}: {self.reason} (path segment {self.segment!r})"


def build_listener_resources(
    named_resources: Mapping[str, IResource],
    additional_resources: Mapping[str, IResource],
    module_resources: Mapping[str, IResource],
    *,
    health_resource: IResource | None = None,
) -> Dict[str, IResource]:
    """The ordered path → resource mapping for one HTTP listener.

    ``/health`` comes first, then the named resources, then ``additional_resources``,
    then every module resource; a later entry for an existing path replaces the
    resource but keeps the path's original position (``dict.update`` semantics).
    """
    resources: Dict[str, IResource] = {
        "/health": health_resource if health_resource is not None else HealthResource()
    }
    resources.update(named_resources)
    resources.update(additional_resources)
    resources.update(module_resources)
    return resources


def make_root_resource(
    resources: Mapping[str, IResource], web_client_location: str | None = None
) -> Resource:
    """The root for a listener: redirect ``GET /`` to ``web_client_location`` if set,
    else to ``/_matrix/static`` if that is mounted, else no redirect; ``OPTIONS`` on
    any path is answered by the root in every case."""
    if web_client_location:
        return RootOptionsRedirectResource(web_client_location)
    if STATIC_PREFIX in resources:
        return RootOptionsRedirectResource(STATIC_PREFIX)
    return OptionsResource()


def build_listener_root(
    named_resources: Mapping[str, IResource],
    additional_resources: Mapping[str, IResource],
    module_resources: Mapping[str, IResource],
    *,
    web_client_location: str | None = None,
    health_resource: IResource | None = None,
) -> Resource:
    """``build_listener_resources`` + ``make_root_resource`` + ``create_resource_tree``:
    the root resource to give a :class:`~synapse_modhost.web.SynapseSite`."""
    resources = build_listener_resources(
        named_resources,
        additional_resources,
        module_resources,
        health_resource=health_resource,
    )
    root = make_root_resource(resources, web_client_location)
    return create_resource_tree(resources, root)


# Nodes mounted by one create_resource_tree call, keyed by (parent identity, segment).
# The parent object is kept in the value so its id cannot be reused while we run.
_Mounted = Dict[Tuple[int, bytes], Tuple[IResource, IResource]]


def create_resource_tree(desired_tree: Mapping[str, IResource], root: Resource) -> Resource:
    """Mount each ``path → resource`` of ``desired_tree`` (in order) under ``root``.

    Semantics are Synapse's: the path is UTF-8 encoded and split on ``/``; the first
    element is dropped (so ``"foo/bar"`` mounts at ``/bar``); each middle element is an
    intermediate node, created as an ``UnrecognizedRequestResource`` if missing; the
    last element is the child name (``"/a/b/"`` mounts as child ``b""`` of ``b``).  A
    resource mounted where an earlier one was mounted by this call takes over that
    node's children.  Passing through, or replacing, a child that this call did not
    create (e.g. one a resource made for itself) raises
    :class:`ResourceTreeConflictError` (Synapse: a bare ``KeyError``).

    Returns ``root``.
    """
    mounted: _Mounted = {}

    def lookup(parent: IResource, segment: bytes, path: str, reason: str) -> IResource:
        entry = mounted.get((id(parent), segment))
        if entry is None or entry[0] is not parent:
            raise ResourceTreeConflictError(path, segment, reason)
        return entry[1]

    def remember(parent: IResource, segment: bytes, child: IResource) -> None:
        mounted[(id(parent), segment)] = (parent, child)

    for path, resource in desired_tree.items():
        segments = path.encode("utf-8").split(b"/")
        logger.info("Attaching %s to path %s", resource, path.encode("utf-8"))
        node: IResource = root
        for segment in segments[1:-1]:
            if segment not in _names(node):
                dummy = UnrecognizedRequestResource()
                node.putChild(segment, dummy)
                remember(node, segment, dummy)
                node = dummy
            else:
                node = lookup(
                    node,
                    segment,
                    path,
                    "an intermediate node exists that was not created by the resource tree",
                )
        last = segments[-1]
        previous = mounted.get((id(node), last))
        if previous is not None and previous[0] is node:
            # Take over the children of what was mounted here before (usually a dummy).
            old = previous[1]
            for child_name in _names(old):
                child = lookup(
                    old,
                    child_name,
                    path,
                    "the resource being replaced has a child not created by the resource tree",
                )
                resource.putChild(child_name, child)
        node.putChild(last, resource)
        remember(node, last, resource)
    return root


def _names(resource: IResource) -> List[bytes]:
    """The static child names of ``resource`` (``Resource.listNames``; none otherwise)."""
    list_names = getattr(resource, "listNames", None)
    return list(list_names()) if list_names is not None else []
