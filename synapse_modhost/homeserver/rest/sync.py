"""Servlets for this area of the stand-in (filled in by the homeserver work)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    """Register this area's paths (none yet)."""
    del hs, http_server
