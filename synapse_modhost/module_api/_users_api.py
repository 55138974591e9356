"""ModuleApi members for users, devices, tokens, profiles and 3PIDs (mixed into ``ModuleApi``).

They call the stand-in's handlers (``self._host.hs``), the same ones the REST layer uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synapse_modhost.host import ModuleHost

__all__ = ["UsersApiMixin"]


class UsersApiMixin:
    """ModuleApi members for users, devices, tokens, profiles and 3PIDs."""

    _host: "ModuleHost"
    _module_name: str
