"""``modules:`` and the legacy module sections, checked for shape (nothing is imported).

The legacy sections (``spam_checker``, ``third_party_event_rules``,
``presence.presence_router``, ``password_providers``) stay available in
``HomeServerConfig.raw`` and are also listed, checked, in
``HomeServerConfig.legacy_modules``.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Tuple

from synapse_modhost.config._errors import ConfigError, item_path
from synapse_modhost.config._model import LegacyModuleEntry, ModuleEntry
from synapse_modhost.config._util import EXPECTED_MAPPING, EXPECTED_STRING, Path

__all__ = ["check_module_path", "read_legacy_modules", "read_modules"]

KEYS = frozenset(
    ("modules", "spam_checker", "third_party_event_rules", "password_providers", "presence")
)


def check_module_path(value: Any, path: Path) -> str:
    """``value`` as a ``package.module.ClassName`` string, else ConfigError at ``path``.

    Synapse splits at the last dot and fails with a raw ``ValueError`` when there is none;
    here that is ``module path 'labmod' must be of the form package.module.ClassName``.
    """
    if not isinstance(value, str):
        raise ConfigError(EXPECTED_STRING, path)
    module_name, _, class_name = value.rpartition(".")
    if not module_name or not class_name:
        raise ConfigError(
            f"module path {value!r} must be of the form package.module.ClassName", path
        )
    return value


def _entry(provider: Any, path: Path) -> Tuple[str, Any]:
    """(module, config) of one ``{module, config}`` mapping."""
    if not isinstance(provider, Mapping):
        raise ConfigError(EXPECTED_MAPPING, path)
    module = check_module_path(provider.get("module"), path + ("module",))
    return module, provider.get("config") or {}


def read_modules(config: Mapping[str, Any]) -> Tuple[ModuleEntry, ...]:
    """The ``modules:`` list, in order (missing, ``null`` or empty: none)."""
    items = config.get("modules") or []
    if not isinstance(items, list):
        raise ConfigError("expected a list", ("modules",))
    out: List[ModuleEntry] = []
    for i, provider in enumerate(items):
        module, module_config = _entry(provider, ("modules", item_path(i)))
        out.append(ModuleEntry(module=module, config=module_config, position=i))
    return tuple(out)


def read_legacy_modules(config: Mapping[str, Any]) -> Tuple[LegacyModuleEntry, ...]:
    """The legacy sections' entries, in the order Synapse constructs them."""
    out: List[LegacyModuleEntry] = []

    def add(kind: str, provider: Any, path: Path) -> None:
        module, module_config = _entry(provider, path)
        out.append(LegacyModuleEntry(kind, module, module_config, path))

    spam_checkers = config.get("spam_checker") or []
    if isinstance(spam_checkers, Mapping):
        # the single-checker form of old configs
        add("spam_checker", spam_checkers, ("spam_checker",))
    elif isinstance(spam_checkers, list):
        for i, provider in enumerate(spam_checkers):
            add("spam_checker", provider, ("spam_checker", item_path(i)))
    else:
        raise ConfigError("spam_checker syntax is incorrect", ("spam_checker",))

    rules = config.get("third_party_event_rules")
    if rules is not None:
        add("third_party_event_rules", rules, ("third_party_event_rules",))

    presence = config.get("presence")
    if presence is not None and not isinstance(presence, Mapping):
        raise ConfigError(EXPECTED_MAPPING, ("presence",))
    router = (presence or {}).get("presence_router")
    if router:
        add("presence_router", router, ("presence", "presence_router"))

    providers = config.get("password_providers") or []
    if not isinstance(providers, list):
        raise ConfigError("expected a list", ("password_providers",))
    for i, provider in enumerate(providers):
        path: Path = ("password_providers", item_path(i))
        if isinstance(provider, Mapping) and "config" not in provider:
            # Synapse indexes provider["config"] and fails without it
            raise ConfigError("missing the 'config' key", path + ("config",))
        add("password_provider", provider, path)
    return tuple(out)
