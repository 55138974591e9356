"""ModuleApi members for rooms, events, state and aliases (mixed into ``ModuleApi``).

They call the stand-in's handlers (``self._host.hs``), the same ones the REST layer uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synapse_modhost.host import ModuleHost

__all__ = ["RoomsApiMixin"]


class RoomsApiMixin:
    """ModuleApi members for rooms, events, state and aliases."""

    _host: "ModuleHost"
    _module_name: str
