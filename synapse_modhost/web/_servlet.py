"""Request parsing helpers with the names, behaviour and error texts of Synapse's
``synapse.http.servlet``, and the ``RestServlet`` base class."""

from __future__ import annotations

import enum
import json
import logging
import urllib.parse
from http import HTTPStatus
from typing import (
    Any,
    Collection,
    Dict,
    Iterable,
    List,
    Mapping,
    Pattern,
    Sequence,
    Type,
    TypeVar,
)

from twisted.web.server import Request

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.web._request import redact_uri
from synapse_modhost.web._resources import HttpServer

__all__ = [
    "RestServlet",
    "assert_params_in_dict",
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
]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]
Args = Mapping[bytes, Sequence[bytes]]
E = TypeVar("E", bound=enum.Enum)

_BAD = HTTPStatus.BAD_REQUEST


def _reject_constant(value: str) -> None:
    raise ValueError(f"Invalid JSON value: '{value}'")


# NaN, Infinity and -Infinity are not JSON; the standard decoder accepts them by default.
_json_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def _args(request: Request) -> Args:
    return request.args or {}


def _missing_integer_param(name: str) -> SynapseError:
    # Synapse's text, also used (as is) by its JSON query-parameter helper.
    return SynapseError(
        _BAD, f"Missing required integer query parameter {name}", Codes.MISSING_PARAM
    )


def parse_integer(
    request: Request,
    name: str,
    default: int | None = None,
    required: bool = False,
    negative: bool = False,
) -> int | None:
    """The integer query parameter ``name``; see :func:`parse_integer_from_args`."""
    return parse_integer_from_args(_args(request), name, default, required, negative)


def parse_integer_from_args(
    args: Args,
    name: str,
    default: int | None = None,
    required: bool = False,
    negative: bool = False,
) -> int | None:
    """The first value of ``name`` as an ``int``, or ``default`` when absent.

    400 ``M_MISSING_PARAM`` if absent and ``required``; 400 ``M_INVALID_PARAM`` if not an
    integer, or negative without ``negative=True``.
    """
    name_bytes = name.encode("ascii")
    if name_bytes not in args:
        if not required:
            return default
        raise _missing_integer_param(name)
    try:
        value = int(args[name_bytes][0])
    except Exception:
        raise SynapseError(
            _BAD, f"Query parameter {name} must be an integer", Codes.INVALID_PARAM
        ) from None
    if not negative and value < 0:
        raise SynapseError(
            _BAD, f"Query parameter {name} must be a positive integer.", Codes.INVALID_PARAM
        )
    return value


def parse_boolean(
    request: Request, name: str, default: bool | None = None, required: bool = False
) -> bool | None:
    """The boolean query parameter ``name``; see :func:`parse_boolean_from_args`."""
    return parse_boolean_from_args(_args(request), name, default, required)


def parse_boolean_from_args(
    args: Args, name: str, default: bool | None = None, required: bool = False
) -> bool | None:
    """``true``/``false`` → ``True``/``False``; ``default`` when absent.

    400 ``M_INVALID_PARAM`` for any other value; 400 ``M_MISSING_PARAM`` if absent and
    ``required``.
    """
    name_bytes = name.encode("ascii")
    if name_bytes in args:
        value = args[name_bytes][0]
        if value == b"true":
            return True
        if value == b"false":
            return False
        raise SynapseError(
            _BAD,
            f"Boolean query parameter {name!r} must be one of ['true', 'false']",
            Codes.INVALID_PARAM,
        )
    if required:
        raise SynapseError(_BAD, f"Missing boolean query parameter {name!r}", Codes.MISSING_PARAM)
    return default


def parse_bytes_from_args(
    args: Args, name: str, default: bytes | None = None, required: bool = False
) -> bytes | None:
    """The first raw value of ``name``; ``default`` when absent (400
    ``M_MISSING_PARAM`` if ``required``)."""
    name_bytes = name.encode("ascii")
    if name_bytes in args:
        return args[name_bytes][0]
    if required:
        raise SynapseError(_BAD, f"Missing string query parameter {name}", Codes.MISSING_PARAM)
    return default


def parse_string(
    request: Request,
    name: str,
    default: str | None = None,
    required: bool = False,
    allowed_values: Collection[str] | None = None,
    encoding: str = "ascii",
) -> str | None:
    """The string query parameter ``name``; see :func:`parse_string_from_args`."""
    return parse_string_from_args(
        _args(request),
        name,
        default,
        required=required,
        allowed_values=allowed_values,
        encoding=encoding,
    )


def _parse_string_value(
    value: bytes, allowed_values: Collection[str] | None, name: str, encoding: str
) -> str:
    try:
        text = value.decode(encoding)
    except ValueError:
        raise SynapseError(_BAD, f"Query parameter {name!r} must be {encoding}") from None
    if allowed_values is not None and text not in allowed_values:
        raise SynapseError(
            _BAD,
            "Query parameter {!r} must be one of [{}]".format(
                name, ", ".join(repr(v) for v in allowed_values)
            ),
            Codes.INVALID_PARAM,
        )
    return text


def parse_strings_from_args(
    args: Args,
    name: str,
    default: List[str] | None = None,
    required: bool = False,
    allowed_values: Collection[str] | None = None,
    encoding: str = "ascii",
) -> List[str] | None:
    """Every value of ``name``, decoded; ``default`` when absent.

    400 ``M_MISSING_PARAM`` if absent and ``required``; 400 ``M_UNKNOWN`` if a value
    does not decode; 400 ``M_INVALID_PARAM`` if one is not in ``allowed_values``.
    """
    name_bytes = name.encode("ascii")
    if name_bytes in args:
        return [
            _parse_string_value(value, allowed_values, name, encoding) for value in args[name_bytes]
        ]
    if required:
        raise SynapseError(_BAD, f"Missing string query parameter {name!r}", Codes.MISSING_PARAM)
    return default


def parse_string_from_args(
    args: Args,
    name: str,
    default: str | None = None,
    required: bool = False,
    allowed_values: Collection[str] | None = None,
    encoding: str = "ascii",
) -> str | None:
    """The first value of ``name``, decoded; see :func:`parse_strings_from_args`."""
    strings = parse_strings_from_args(
        args,
        name,
        default=[default] if default is not None else None,
        required=required,
        allowed_values=allowed_values,
        encoding=encoding,
    )
    if strings is None:
        return None
    return strings[0]


def parse_json(
    request: Request,
    name: str,
    default: dict | None = None,
    required: bool = False,
    encoding: str = "ascii",
) -> JsonDict | None:
    """The query parameter ``name`` decoded as (URL-quoted) JSON."""
    return parse_json_from_args(_args(request), name, default, required, encoding)


def parse_json_from_args(
    args: Args,
    name: str,
    default: dict | None = None,
    required: bool = False,
    encoding: str = "ascii",
) -> JsonDict | None:
    """``name`` URL-unquoted and decoded as JSON; 400 ``M_NOT_JSON`` if it is not JSON.

    (Synapse's "missing" message for this helper says "integer"; kept as it is.)
    """
    name_bytes = name.encode("ascii")
    if name_bytes not in args:
        if not required:
            return default
        raise _missing_integer_param(name)
    text = parse_string_from_args(args, name, required=True, encoding=encoding)
    assert text is not None
    try:
        value: JsonDict = _json_decoder.decode(urllib.parse.unquote(text))
    except Exception:
        raise SynapseError(
            _BAD, f"Query parameter {name} must be a valid JSON object", Codes.NOT_JSON
        ) from None
    return value


def parse_enum(
    request: Request,
    name: str,
    E: Type[E],
    default: E | None = None,
    required: bool = False,
) -> E | None:
    """The query parameter ``name`` as a member of the string-valued enum ``E``."""
    assert all(isinstance(e.value, str) for e in E), "parse_enum only works with string values"
    text = parse_string(
        request,
        name,
        default=default.value if default is not None else None,
        required=required,
        allowed_values=[e.value for e in E],
    )
    if text is None:
        return None
    return E(text)


def parse_json_value_from_request(request: Request, allow_empty_body: bool = False) -> Any:
    """The request body decoded as any JSON value (``None`` for an empty body when
    ``allow_empty_body``).

    400 ``M_UNKNOWN`` "Error reading JSON content." if the body cannot be read; 400
    ``M_NOT_JSON`` "Content not JSON." if it is not UTF-8 JSON (NaN/Infinity included).
    """
    try:
        content = request.content.read()  # type: ignore[union-attr]
    except Exception:
        raise SynapseError(_BAD, "Error reading JSON content.") from None
    if not content and allow_empty_body:
        return None
    try:
        return _json_decoder.decode(content.decode("utf-8"))
    except Exception as e:
        logger.warning(
            "Unable to parse JSON from %s %s response: %s (%s)",
            request.method.decode("ascii", errors="replace"),
            redact_uri(request.uri.decode("ascii", errors="replace")),
            e,
            content,
        )
        raise SynapseError(_BAD, "Content not JSON.", errcode=Codes.NOT_JSON) from None


def parse_json_object_from_request(request: Request, allow_empty_body: bool = False) -> JsonDict:
    """The request body as a JSON object (``{}`` for an empty body when
    ``allow_empty_body``); 400 ``M_BAD_JSON`` "Content must be a JSON object." for any
    other JSON value."""
    content = parse_json_value_from_request(request, allow_empty_body=allow_empty_body)
    if allow_empty_body and content is None:
        return {}
    if not isinstance(content, dict):
        raise SynapseError(_BAD, "Content must be a JSON object.", errcode=Codes.BAD_JSON)
    return content


def assert_params_in_dict(body: Mapping[str, Any], required: Iterable[str]) -> None:
    """400 ``M_MISSING_PARAM`` "Missing params: [...]" naming every absent key."""
    absent = [k for k in required if k not in body]
    if absent:
        raise SynapseError(_BAD, f"Missing params: {absent!r}", Codes.MISSING_PARAM)


class RestServlet:
    """A servlet whose ``on_GET``/``on_PUT``/``on_POST``/``on_DELETE`` methods are
    registered for each of its ``PATTERNS`` by :meth:`register`."""

    PATTERNS: Iterable[Pattern[str]] | None = None

    def register(self, http_server: HttpServer) -> None:
        """Register this servlet's ``on_<METHOD>`` handlers with ``http_server``."""
        patterns = self.PATTERNS
        if not patterns:
            raise NotImplementedError("RestServlet must register something.")
        for method in ("GET", "PUT", "POST", "DELETE"):
            handler = getattr(self, f"on_{method}", None)
            if handler is not None:
                http_server.register_paths(method, patterns, handler, type(self).__name__)
