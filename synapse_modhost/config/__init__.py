"""Configuration: Synapse-format homeserver.yaml into immutable records (NamedTuples).

:func:`read_config` reads one or more files (later files win per top-level key) and
returns a :class:`HomeServerConfig`; :func:`parse_config_dict` does the same for an
in-memory mapping. Every problem is a :class:`ConfigError` with the YAML path of the bad
value; :func:`format_config_error` prints it as Synapse does. :class:`Config` carries the
helpers modules call on ``synapse.config._base.Config`` (``parse_size``,
``parse_duration``, ``read_file``, ``abspath``).
"""

from synapse_modhost.config._base import Config, parse_duration, parse_size, read_file
from synapse_modhost.config._errors import (
    ConfigError,
    config_error_text,
    format_config_error,
    item_path,
)
from synapse_modhost.config._generate import (
    generate_config,
    generate_log_config,
    log_config_path,
)
from synapse_modhost.config._model import (
    AdditionalResourceConfig,
    DatabaseConfig,
    EmailConfig,
    HomeServerConfig,
    HttpResourceConfig,
    LegacyModuleEntry,
    ListenerConfig,
    LoggingConfig,
    MediaConfig,
    ModuleEntry,
    RegistrationConfig,
    ServerConfig,
)
from synapse_modhost.config._reader import USED_KEYS, parse_config_dict, read_config

__all__ = [
    "USED_KEYS",
    "AdditionalResourceConfig",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "EmailConfig",
    "HomeServerConfig",
    "HttpResourceConfig",
    "LegacyModuleEntry",
    "ListenerConfig",
    "LoggingConfig",
    "MediaConfig",
    "ModuleEntry",
    "RegistrationConfig",
    "ServerConfig",
    "config_error_text",
    "format_config_error",
    "generate_config",
    "generate_log_config",
    "item_path",
    "log_config_path",
    "parse_config_dict",
    "parse_duration",
    "parse_size",
    "read_config",
    "read_file",
]
