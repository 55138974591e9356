"""Path patterns for servlets, as Synapse writes them."""

from __future__ import annotations

import re
from typing import Iterable, List, Pattern

__all__ = ["admin_patterns", "client_patterns", "media_patterns"]

CLIENT_API_PREFIX = "/_matrix/client"


def client_patterns(
    path_regex: str,
    releases: Iterable[str] = ("r0", "v3"),
    unstable: bool = True,
    v1: bool = False,
) -> List[Pattern[str]]:
    """``^/_matrix/client/<version><path_regex>`` for each version the endpoint answers on."""
    versions: List[str] = []
    if unstable:
        versions.append("unstable")
    if v1:
        versions.append("api/v1")
    versions.extend(releases)
    return [
        re.compile("^" + CLIENT_API_PREFIX + "/" + re.escape(v) + path_regex) for v in versions
    ]


def admin_patterns(path_regex: str, version: str = "v1") -> List[Pattern[str]]:
    """``^/_synapse/admin/<version><path_regex>``."""
    return [re.compile("^/_synapse/admin/" + version + path_regex)]


def media_patterns(path_regex: str, versions: Iterable[str] = ("r0", "v3", "v1")) -> List[Pattern[str]]:
    """``^/_matrix/media/<version><path_regex>``."""
    return [re.compile("^/_matrix/media/" + v + path_regex) for v in versions]
