"""``GET /_matrix/client/versions``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, Tuple

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["SUPPORTED_VERSIONS", "register_servlets"]

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


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    async def on_GET(request: Any) -> Tuple[int, Dict[str, Any]]:
        return 200, {"versions": list(SUPPORTED_VERSIONS), "unstable_features": {}}

    http_server.register_paths(
        "GET", [re.compile("^/_matrix/client/versions$")], on_GET, "VersionsRestServlet"
    )
