"""The ``email`` section: only ``app_name`` is used by the host."""

from __future__ import annotations

from typing import Any, Mapping

from synapse_modhost.config._errors import ConfigError
from synapse_modhost.config._model import EmailConfig
from synapse_modhost.config._util import EXPECTED_MAPPING, EXPECTED_STRING

__all__ = ["read_email_config"]

KEYS = frozenset(("email",))


def read_email_config(config: Mapping[str, Any]) -> EmailConfig:
    """Build :class:`EmailConfig`; ``app_name`` defaults to ``Matrix``."""
    section = config.get("email") or {}
    if not isinstance(section, Mapping):
        raise ConfigError(EXPECTED_MAPPING, ("email",))
    if "app_name" not in section:
        return EmailConfig()
    app_name = section["app_name"]
    if not isinstance(app_name, str):
        raise ConfigError(EXPECTED_STRING, ("email", "app_name"))
    return EmailConfig(email_app_name=app_name)
