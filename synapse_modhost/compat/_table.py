"""Which ``synapse.*`` modules the host serves, and where each name comes from.

``SERVED`` maps a Synapse module name to a :class:`Served`: whether it is a package and,
for each exported name, the ``"host.module:attribute"`` it resolves to (on first use).
Submodules listed here are also reachable as attributes of their parent, as they are in a
running Synapse. Anything not listed fails to import with a message naming the importer.
"""

from __future__ import annotations

from typing import Dict, Iterable, Mapping, Optional, Tuple

from synapse_modhost.compat import constants
from synapse_modhost.compat.callback_types import CALLBACK_ALIASES

__all__ = ["SERVED", "Served"]


class Served:
    """One served module: ``names`` maps attribute -> ``"module:attribute"``."""

    __slots__ = ("all", "doc", "names", "package")

    def __init__(
        self,
        names: Mapping[str, str],
        *,
        package: bool = False,
        all: Optional[Iterable[str]] = None,
        doc: str = "",
    ) -> None:
        self.names: Dict[str, str] = dict(names)
        self.package = package
        self.all: Tuple[str, ...] = (
            tuple(all) if all is not None else tuple(n for n in names if not n.startswith("_"))
        )
        self.doc = doc


def _from(sources: Mapping[str, str]) -> Dict[str, str]:
    """``{"host.module": "A B C=D"}`` -> ``{"A": "host.module:A", ..., "C": "host.module:D"}``."""
    out: Dict[str, str] = {}
    for module, spec in sources.items():
        for item in spec.split():
            name, _, attr = item.partition("=")
            out[name] = "%s:%s" % (module, attr or name)
    return out


_VERSION = "synapse_modhost._version"
_TYPES = "synapse_modhost.types"
_ERRORS = "synapse_modhost.errors"
_CODES = "synapse_modhost._codes"
_EVENTS = "synapse_modhost.events"
_EVENT_UTILS = "synapse_modhost.events.utils"
_ROOM_VERSIONS = "synapse_modhost.events._room_versions"
_WEB = "synapse_modhost.web"
_MODAPI = "synapse_modhost.module_api"
_BACKGROUND = "synapse_modhost.module_api._background"
_CONFIG = "synapse_modhost.config"
_STORAGE = "synapse_modhost.storage"
_CONSTANTS = "synapse_modhost.compat.constants"
_LOGCONTEXT = "synapse_modhost.compat.logcontext"
_CALLBACK_TYPES = "synapse_modhost.compat.callback_types"
_TYPES_EXTRA = "synapse_modhost.compat.types_extra"

_ALL_ERRORS = (
    "AuthError CodeMessageException Codes HttpResponseException "
    "InvalidClientCredentialsError InvalidClientTokenError InvalidRuleException "
    "LimitExceededError MissingClientTokenError ModuleFailedException NotFoundError "
    "RedirectException RequestTimedOutError RuleNotFoundException ShadowBanError "
    "SynapseError UnrecognizedRequestError UserLimitExceededError"
)
_ALL_CALLBACK_ALIASES = " ".join(n for names in CALLBACK_ALIASES.values() for n in names)

#: ``synapse.module_api.__all__`` in Synapse 1.163.2 (MODULEAPI.md §3).
_MODULE_API_ALL = (
    "errors make_deferred_yieldable parse_json_object_from_request respond_with_html "
    "run_in_background run_as_background_process cached CachedFunction NOT_SPAM UserID "
    "DomainSpecificString DatabasePool LoggingTransaction DirectServeHtmlResource "
    "DirectServeJsonResource SimpleHttpClient SynapseRequest ModuleApi AccountDataManager "
    "PublicRoomListManager PRESENCE_ALL_USERS UserPresenceState LoginResponse JsonDict "
    "JsonMapping EventBase StateMap ProfileInfo RoomAlias RoomID Requester UserInfo "
    "UserIpAndAgent UserProfile Absent AbsentType RatelimitOverride MediaUploadLimit"
).split()

SERVED: Dict[str, Served] = {
    "synapse": Served(_from({_VERSION: "__version__=SYNAPSE_VERSION"}), package=True, all=()),
    # ------------------------------------------------------------------ module API
    "synapse.module_api": Served(
        _from(
            {
                _MODAPI: "ModuleApi AccountDataManager PublicRoomListManager SimpleHttpClient "
                "run_as_background_process run_in_background make_deferred_yieldable "
                "cached CachedFunction",
                _BACKGROUND: "defer_to_thread defer_to_threadpool",
                _TYPES: "NOT_SPAM PRESENCE_ALL_USERS UserID DomainSpecificString RoomAlias "
                "RoomID JsonDict JsonMapping StateMap Requester UserInfo UserIpAndAgent "
                "UserProfile ProfileInfo LoginResponse MediaUploadLimit RatelimitOverride "
                "UserPresenceState Absent AbsentType create_requester",
                _EVENTS: "EventBase",
                _WEB: "DirectServeJsonResource DirectServeHtmlResource respond_with_html "
                "parse_json_object_from_request SynapseRequest",
                _STORAGE: "DatabasePool LoggingTransaction",
                _ERRORS: "SynapseError",
                _CONFIG: "ConfigError",
                _CONSTANTS: "ProfileFields",
                _CALLBACK_TYPES: _ALL_CALLBACK_ALIASES,
            }
        ),
        package=True,
        all=_MODULE_API_ALL,
    ),
    "synapse.module_api.errors": Served(
        _from(
            {
                _CODES: "Codes",
                _ERRORS: "InvalidClientCredentialsError RedirectException SynapseError "
                "InvalidRuleException RuleNotFoundException",
                _CONFIG: "ConfigError",
            }
        ),
        all=(
            "Codes",
            "InvalidClientCredentialsError",
            "RedirectException",
            "SynapseError",
            "ConfigError",
            "InvalidRuleException",
            "RuleNotFoundException",
        ),
    ),
    "synapse.module_api.callbacks": Served(
        _from({"synapse_modhost.callbacks": "ModuleApiCallbacks=ModuleCallbacks"}),
        package=True,
    ),
    **{
        "synapse.module_api.callbacks." + submodule: Served(
            _from({_CALLBACK_TYPES: " ".join(aliases)})
        )
        for submodule, aliases in CALLBACK_ALIASES.items()
    },
    # ------------------------------------------------------------------ api
    "synapse.api": Served({}, package=True),
    "synapse.api.errors": Served(_from({_ERRORS: _ALL_ERRORS})),
    "synapse.api.constants": Served(_from({_CONSTANTS: " ".join(constants.__all__)})),
    "synapse.api.room_versions": Served(
        _from(
            {
                _ROOM_VERSIONS: "EventFormatVersions KNOWN_EVENT_FORMAT_VERSIONS "
                "KNOWN_ROOM_VERSIONS RoomDisposition RoomVersion RoomVersions "
                "StateResolutionVersions"
            }
        )
    ),
    # ------------------------------------------------------------------ types, events
    "synapse.types": Served(
        _from(
            {
                _TYPES: "JsonDict JsonMapping JsonSerializable StateKey StateMap UserID "
                "RoomAlias RoomID DomainSpecificString Requester create_requester UserInfo "
                "UserProfile Absent AbsentType contains_invalid_mxid_characters",
                _TYPES_EXTRA: "EventID MutableStateMap JsonValue SimpleJsonValue "
                "StrCollection StrSequence MXID_LOCALPART_ALLOWED_CHARACTERS "
                "get_domain_from_id get_localpart_from_id is_compliant_user_id_localpart "
                "map_username_to_mxid_localpart",
            }
        ),
        package=True,
    ),
    "synapse.events": Served(
        _from({_EVENTS: "EventBase Event make_event_from_dict make_event_from_json"}),
        package=True,
    ),
    "synapse.events.utils": Served(
        _from(
            {
                _EVENT_UTILS: "format_event_for_client_v1 format_event_for_client_v2 "
                "format_event_for_client_v2_without_room_id format_event_raw prune_event"
            }
        ),
        all=(
            "format_event_for_client_v1",
            "format_event_for_client_v2",
            "format_event_for_client_v2_without_room_id",
            "format_event_raw",
        ),
    ),
    "synapse.spam_checker_api": Served(_from({_TYPES: "RegistrationBehaviour"}), package=True),
    # ------------------------------------------------------------------ media
    "synapse.media": Served({}, package=True),
    "synapse.media._base": Served(_from({_TYPES: "FileInfo"})),
    "synapse.media.media_storage": Served(
        _from({"synapse_modhost.homeserver.handlers._media_files": "ReadableFileWrapper"})
    ),
    # ------------------------------------------------------------------ config
    "synapse.config": Served(_from({_CONFIG: "ConfigError"}), package=True),
    "synapse.config._base": Served(_from({_CONFIG: "Config ConfigError"})),
    # ------------------------------------------------------------------ http
    "synapse.http": Served(
        _from(
            {
                _ERRORS: "RequestTimedOutError",
                _WEB: "redact_uri get_request_user_agent",
            }
        ),
        package=True,
    ),
    "synapse.http.server": Served(
        _from(
            {
                _WEB: "DirectServeJsonResource DirectServeHtmlResource JsonResource "
                "respond_with_json respond_with_json_bytes respond_with_html "
                "respond_with_html_bytes set_cors_headers finish_request return_json_error "
                "return_html_error"
            }
        )
    ),
    "synapse.http.servlet": Served(
        _from(
            {
                _WEB: "parse_integer parse_integer_from_args parse_boolean "
                "parse_boolean_from_args parse_bytes_from_args parse_string "
                "parse_string_from_args parse_strings_from_args parse_json_value_from_request "
                "parse_json_object_from_request assert_params_in_dict RestServlet"
            }
        )
    ),
    "synapse.http.site": Served(_from({_WEB: "SynapseRequest SynapseSite"})),
    "synapse.http.client": Served(_from({_MODAPI: "SimpleHttpClient"})),
    # ------------------------------------------------------------------ logging, metrics
    "synapse.logging": Served({}, package=True, all=()),
    "synapse.logging.context": Served(
        _from(
            {
                _LOGCONTEXT: "LoggingContext PreserveLoggingContext current_context "
                "set_current_context nested_logging_context LoggingContextFilter "
                "SENTINEL_CONTEXT ContextRequest LoggingContextOrSentinel preserve_fn "
                "run_coroutine_in_background",
                _MODAPI: "make_deferred_yieldable run_in_background",
                _BACKGROUND: "defer_to_thread defer_to_threadpool",
            }
        )
    ),
    "synapse.metrics": Served({}, package=True, all=()),
    "synapse.metrics.background_process_metrics": Served(
        _from(
            {
                _BACKGROUND: "run_as_background_process=metrics_run_as_background_process",
                _MODAPI: "wrap_as_background_process",
            }
        )
    ),
    # ------------------------------------------------------------------ util, storage
    "synapse.util": Served(_from({_VERSION: "SYNAPSE_VERSION"}), package=True, all=()),
    "synapse.util.caches": Served({}, package=True, all=()),
    "synapse.util.caches.descriptors": Served(_from({_MODAPI: "cached CachedFunction"})),
    "synapse.storage": Served({}, package=True, all=()),
    "synapse.storage.database": Served(_from({_STORAGE: "DatabasePool LoggingTransaction"})),
}
