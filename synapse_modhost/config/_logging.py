"""The logging keys: ``log_config`` (a Python logging YAML) and ``no_redirect_stdio``.

The file itself is read by :mod:`synapse_modhost.logging_setup` when logging is set up.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from synapse_modhost.config._errors import ConfigError
from synapse_modhost.config._model import LoggingConfig
from synapse_modhost.config._util import EXPECTED_STRING, expect_bool

__all__ = ["LOG_FILE_ERROR", "read_logging_config"]

KEYS = frozenset(("log_config", "log_file", "no_redirect_stdio"))

#: ``log_file`` was removed from Synapse in 1.3.0; Synapse refuses it with this text
LOG_FILE_ERROR = (
    "Support for the log_file configuration option and --log-file command-line option was\n"
    "removed in Synapse 1.3.0. You should instead set up a separate log configuration file.\n"
)


def read_logging_config(config: Mapping[str, Any]) -> LoggingConfig:
    """Build :class:`LoggingConfig`; ``log_config`` is made absolute."""
    if config.get("log_file"):
        raise ConfigError(LOG_FILE_ERROR, ("log_file",))
    log_config = config.get("log_config")
    if log_config is not None and not isinstance(log_config, str):
        raise ConfigError(EXPECTED_STRING, ("log_config",))
    return LoggingConfig(
        log_config=os.path.abspath(log_config) if log_config else None,
        no_redirect_stdio=expect_bool(config.get("no_redirect_stdio"), ("no_redirect_stdio",)),
    )
