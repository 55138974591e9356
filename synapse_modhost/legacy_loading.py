"""Legacy module entries: ``spam_checker:``, ``third_party_event_rules:``,
``presence.presence_router`` and ``password_providers:`` (LOADING.md §2).

They are imported (and ``parse_config`` run) with the ``modules:`` list, and constructed
after it, in the order Synapse constructs them; their callbacks therefore come after
every new-style module's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Tuple

from synapse_modhost.callbacks.legacy import load_legacy
from synapse_modhost.config import HomeServerConfig
from synapse_modhost.loading import ModuleStartupError, PreparedModule, prepare_module

if TYPE_CHECKING:
    from synapse_modhost.host import LoadedModule, ModuleHost

__all__ = ["load_legacy_modules", "prepare_legacy_modules"]

PreparedLegacy = Tuple[str, PreparedModule]


def prepare_legacy_modules(config: HomeServerConfig) -> List[PreparedLegacy]:
    """(kind, prepared module) for every legacy entry, in construction order."""
    return [
        (entry.kind, prepare_module(entry.module, entry.config, entry.config_path))
        for entry in config.legacy_modules
    ]


def load_legacy_modules(host: "ModuleHost", prepared: List[PreparedLegacy]) -> List["LoadedModule"]:
    """Construct each legacy module and register its methods."""
    from synapse_modhost.host import LoadedModule

    loaded = []
    for kind, module in prepared:
        api = host.module_api(module.name)
        try:
            instance = load_legacy(host.callbacks, module.name, module.cls, module.config, api, kind)
        except Exception as e:
            raise ModuleStartupError(module.name, module.config_path, "in its constructor", e) from e
        loaded.append(LoadedModule(module, api, instance))
    return loaded
