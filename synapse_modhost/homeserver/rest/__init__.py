"""The stand-in's REST resources: parse requests, call handlers, shape responses.

Each ``rest/<area>.py`` module has ``register_servlets(hs, http_server)`` registering its
paths on the ``JsonResource`` it is given; the lists below say which resource each area
is mounted on. REST modules never touch SQL.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, Sequence

from twisted.web.resource import IResource

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = [
    "ADMIN_AREAS",
    "CLIENT_AREAS",
    "MEDIA_AREAS",
    "build_admin_resource",
    "build_client_resource",
    "build_media_resources",
]

#: ``rest/<name>.py`` modules whose servlets live under ``/_matrix/client``
CLIENT_AREAS = (
    "versions",
    "auth",
    "profile",
    "account",
    "rooms",
    "room_reads",
    "sync",
    "account_data",
    "directory",
    "user_directory",
    "media_client",
    "account_validity",
)
#: modules whose servlets live under ``/_synapse/admin``
ADMIN_AREAS = ("admin_users", "admin_rooms", "admin_account_validity")
#: modules whose servlets live under ``/_matrix/media/{r0,v3,v1}``
MEDIA_AREAS = ("media",)


def _register(hs: "HomeServer", resource: Any, areas: Sequence[str]) -> None:
    for area in areas:
        module = importlib.import_module("synapse_modhost.homeserver.rest." + area)
        module.register_servlets(hs, resource)


def build_client_resource(hs: "HomeServer") -> IResource:
    """The Client-Server API (non-canonical JSON, as Synapse's ``ClientRestResource``)."""
    from synapse_modhost.web import JsonResource

    resource = JsonResource(canonical_json=False, clock=hs.reactor)
    _register(hs, resource, CLIENT_AREAS)
    return resource


def build_admin_resource(hs: "HomeServer") -> IResource:
    """The admin API under ``/_synapse/admin``."""
    from synapse_modhost.web import JsonResource

    resource = JsonResource(canonical_json=False, clock=hs.reactor)
    _register(hs, resource, ADMIN_AREAS)
    return resource


def build_media_resources(hs: "HomeServer") -> Dict[str, IResource]:
    """The media API; one router serves r0, v3 and v1 (canonical JSON, as Synapse)."""
    from synapse_modhost.web import JsonResource

    resource = JsonResource(canonical_json=True, clock=hs.reactor)
    _register(hs, resource, MEDIA_AREAS)
    return {
        "/_matrix/media/r0": resource,
        "/_matrix/media/v3": resource,
        "/_matrix/media/v1": resource,
    }
