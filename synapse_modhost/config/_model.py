"""The parsed configuration: immutable records, one class per section.

``synapse_modhost.config.read_config`` builds a :class:`HomeServerConfig` from
homeserver.yaml; every other part of the host reads these values, never the raw YAML.

The records are ``typing.NamedTuple`` classes rather than attrs classes because every
start reads the config: creating an attrs class generates and compiles its methods,
about 4 M instructions each (docs/benchmarks.md, start-up), against under 1 M for a
NamedTuple.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Tuple

if TYPE_CHECKING:
    from synapse_modhost.types import MediaUploadLimit

__all__ = [
    "AdditionalResourceConfig",
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
]


class HttpResourceConfig(NamedTuple):
    """One ``resources:`` item of a listener: the named resource groups to mount."""

    names: Tuple[str, ...]
    compress: bool = False


class AdditionalResourceConfig(NamedTuple):
    """One ``additional_resources`` entry: a path served by a module class."""

    path: str
    module: str
    config: Any
    #: YAML path of the entry, for errors, as Synapse writes it: ("listeners", <site tag:
    #: the listener's ``tag`` or its port>, "additional_resources", "<" + path + ">"),
    #: e.g. ("listeners", "8008", "additional_resources", "</_custom/path>")
    config_path: Tuple[str, ...]


class ListenerConfig(NamedTuple):
    """One ``listeners:`` item.

    ``type`` is one of Synapse's listener types: ``http``, ``metrics`` or ``manhole``.
    All three are accepted so that a Synapse config parses unchanged, but the host only
    serves ``http`` listeners (:attr:`ServerConfig.http_listeners`); it logs and skips
    the others. UNIX-socket listeners (``path:``) are rejected with a ConfigError.
    """

    port: int
    bind_addresses: Tuple[str, ...]
    type: str = "http"
    tls: bool = False
    x_forwarded: bool = False
    resources: Tuple[HttpResourceConfig, ...] = ()
    additional_resources: Tuple[AdditionalResourceConfig, ...] = ()
    #: ``tag`` from the config, else the port number as a string (Synapse's site tag)
    tag: str = ""
    #: YAML path of this listener, e.g. ("listeners", "<item 0>")
    config_path: Tuple[str, ...] = ()


class ServerConfig(NamedTuple):
    server_name: str
    #: always ends with "/"; defaults to ``https://<server_name>/``
    public_baseurl: str
    listeners: Tuple[ListenerConfig, ...]
    web_client_location: str | None = None
    pid_file: str | None = None
    custom_template_directory: str | None = None
    #: ``worker_name`` / ``worker_app``: ``None`` on the main process
    worker_name: str | None = None
    worker_app: str | None = None
    #: whether looping background calls run here (``run_background_tasks_on``)
    run_background_tasks: bool = True
    #: True when ``public_baseurl`` was given explicitly: Synapse then serves
    #: ``/.well-known/matrix/client`` on client listeners
    serve_client_wellknown: bool = False

    @property
    def http_listeners(self) -> Tuple[ListenerConfig, ...]:
        """The listeners the host serves: those of ``type: http``."""
        return tuple(lc for lc in self.listeners if lc.type == "http")


class DatabaseConfig(NamedTuple):
    #: ``sqlite3`` (the only engine today)
    name: str
    #: the ``args`` mapping as given
    args: Mapping[str, Any]
    #: ``args.database``: a file path, or ``:memory:``
    database: str


class MediaConfig(NamedTuple):
    media_store_path: str
    #: bytes; default 50M = 52428800
    max_upload_size: int
    #: sorted by ``time_period_ms`` descending, as Synapse sorts them
    media_upload_limits: Tuple[MediaUploadLimit, ...] = ()
    enable_media_repo: bool = True


class RegistrationConfig(NamedTuple):
    enable_registration: bool = False
    enable_registration_without_verification: bool = False
    registration_shared_secret: str | None = None


class LoggingConfig(NamedTuple):
    #: path of a Python logging YAML (Synapse's ``log_config``), or ``None``
    log_config: str | None = None
    #: ``no_redirect_stdio``: do not send stdout/stderr to the log
    no_redirect_stdio: bool = False


class EmailConfig(NamedTuple):
    email_app_name: str = "Matrix"


class ModuleEntry(NamedTuple):
    """One ``modules:`` item, checked for shape but not yet imported."""

    #: the dotted path, e.g. ``my_pkg.my_module.MyModule``
    module: str
    #: the raw ``config`` value (``{}`` when missing or falsy)
    config: Any
    #: position in ``modules:``
    position: int

    @property
    def config_path(self) -> Tuple[str, ...]:
        return ("modules", f"<item {self.position}>")


class LegacyModuleEntry(NamedTuple):
    """A module named by one of Synapse's legacy sections, checked for shape.

    ``kind`` is ``spam_checker``, ``third_party_event_rules``, ``presence_router`` or
    ``password_provider``; :attr:`HomeServerConfig.legacy_modules` lists them in the order
    Synapse constructs them (spam checkers, third-party rules, presence router, password
    providers).
    """

    kind: str
    #: the dotted path, e.g. ``ldap_auth_provider.LdapAuthProvider``
    module: str
    #: the raw ``config`` value (``{}`` when missing or falsy)
    config: Any
    #: YAML path of the entry, e.g. ("spam_checker", "<item 0>") or ("presence", "presence_router")
    config_path: Tuple[str, ...]


class HomeServerConfig(NamedTuple):
    """The whole configuration."""

    server: ServerConfig
    database: DatabaseConfig
    media: MediaConfig
    registration: RegistrationConfig
    logging: LoggingConfig
    email: EmailConfig
    modules: Tuple[ModuleEntry, ...]
    #: the merged YAML mapping, as read
    raw: Mapping[str, Any] = MappingProxyType({})
    #: top-level keys present in the YAML that the host does not use
    unused_keys: Tuple[str, ...] = ()
    #: the files it was read from, in order
    config_files: Tuple[str, ...] = ()
    #: entries of the legacy sections, in Synapse's construction order
    legacy_modules: Tuple[LegacyModuleEntry, ...] = ()
    #: INFO lines to log once logging is set up (defaults applied, files skipped)
    notes: Tuple[str, ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        """A raw top-level value (for things the host does not model)."""
        return self.raw.get(key, default)
