"""The HTTP side of the host: Synapse's request, site, resources and response helpers.

Everything a module can reach through ``synapse.http.server``, ``synapse.http.servlet``,
``synapse.http.site`` and ``synapse.module_api`` is here under the same names, together
with what the host uses to assemble a listener:

- :class:`SynapseSite` (one per listener) building :class:`SynapseRequest` /
  :class:`XForwardedForRequest`;
- :func:`build_listener_root` (or :func:`build_listener_resources`,
  :func:`make_root_resource` and :func:`create_resource_tree` separately) for the tree;
- :func:`wrap_additional_resource` for ``additional_resources`` handlers.

Known differences from Synapse 1.163 (none changes a response a client sees):

- JSON bodies are encoded on the reactor thread, not a thread pool; bodies up to 64 KiB
  are written in one chunk, larger ones through a push producer in 4 KiB chunks (Synapse
  always uses the producer).  Both send ``Transfer-Encoding: chunked`` without
  ``Content-Length``.  An object that cannot be encoded becomes a 500 (Synapse leaves
  the request hanging).
- ``create_resource_tree`` raises :class:`ResourceTreeConflictError` (a ``KeyError``
  subclass naming the path) where Synapse raises a bare ``KeyError``.
- A request whose body exceeded the size limit is aborted as in Synapse, and in addition
  it is never dispatched (Synapse may still render the truncated body; the client never
  sees a response either way).
- There are no log contexts, metrics or tracing: ``logcontext`` is ``None``,
  ``request_metrics`` only keeps ``name``, ``extract_context`` is ignored.  The access
  line omits Synapse's CPU/DB usage fields.
- ``get_redacted_uri`` redacts every ``access_token``/``client_secret`` value (Synapse
  redacts the last one of each).
- The multipart check, like Synapse's, only looks at the first ``Content-Type`` header of a
  ``POST``.  Twisted's own channel rejects duplicate or non-numeric ``Content-Length``
  headers before Synapse's checks could run, so those two 400 texts are only reachable
  when a request is driven directly.
"""

from synapse_modhost.web._builtin import (
    HealthResource,
    OptionsResource,
    RootOptionsRedirectResource,
    RootRedirect,
    UnrecognizedRequestResource,
)
from synapse_modhost.web._request import (
    RequestInfo,
    SynapseRequest,
    XForwardedForRequest,
    get_request_user_agent,
    redact_uri,
)
from synapse_modhost.web._resources import (
    AdditionalResource,
    DirectServeHtmlResource,
    DirectServeJsonResource,
    HttpServer,
    JsonResource,
    ServletCallback,
    wrap_additional_resource,
)
from synapse_modhost.web._respond import (
    HTML_ERROR_TEMPLATE,
    HTTP_STATUS_REQUEST_CANCELLED,
    encode_json,
    finish_request,
    respond_with_html,
    respond_with_html_bytes,
    respond_with_json,
    respond_with_json_bytes,
    respond_with_redirect,
    return_html_error,
    return_json_error,
    set_clickjacking_protection_headers,
    set_cors_headers,
)
from synapse_modhost.web._servlet import (
    RestServlet,
    assert_params_in_dict,
    parse_boolean,
    parse_boolean_from_args,
    parse_bytes_from_args,
    parse_enum,
    parse_integer,
    parse_integer_from_args,
    parse_json,
    parse_json_from_args,
    parse_json_object_from_request,
    parse_json_value_from_request,
    parse_string,
    parse_string_from_args,
    parse_strings_from_args,
)
from synapse_modhost.web._site import DEFAULT_ACCESS_LOGGER, SynapseSite
from synapse_modhost.web._tree import (
    STATIC_PREFIX,
    ResourceTreeConflictError,
    build_listener_resources,
    build_listener_root,
    create_resource_tree,
    make_root_resource,
)

__all__ = [
    "DEFAULT_ACCESS_LOGGER",
    "HTML_ERROR_TEMPLATE",
    "HTTP_STATUS_REQUEST_CANCELLED",
    "STATIC_PREFIX",
    "AdditionalResource",
    "DirectServeHtmlResource",
    "DirectServeJsonResource",
    "HealthResource",
    "HttpServer",
    "JsonResource",
    "OptionsResource",
    "RequestInfo",
    "ResourceTreeConflictError",
    "RestServlet",
    "RootOptionsRedirectResource",
    "RootRedirect",
    "ServletCallback",
    "SynapseRequest",
    "SynapseSite",
    "UnrecognizedRequestResource",
    "XForwardedForRequest",
    "assert_params_in_dict",
    "build_listener_resources",
    "build_listener_root",
    "create_resource_tree",
    "encode_json",
    "finish_request",
    "get_request_user_agent",
    "make_root_resource",
    "parse_boolean",
    "parse_boolean_from_args",
    "parse_bytes_from_args",
    "parse_enum",
    "parse_integer",
    "parse_integer_from_args",
    "parse_json",
    "parse_json_from_args",
    "parse_json_object_from_request",
    "parse_json_value_from_request",
    "parse_string",
    "parse_string_from_args",
    "parse_strings_from_args",
    "redact_uri",
    "respond_with_html",
    "respond_with_html_bytes",
    "respond_with_json",
    "respond_with_json_bytes",
    "respond_with_redirect",
    "return_html_error",
    "return_json_error",
    "set_clickjacking_protection_headers",
    "set_cors_headers",
    "wrap_additional_resource",
]
