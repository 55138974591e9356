"""The asynchronous resource base classes modules subclass, and Synapse's servlet router.

``DirectServeJsonResource`` / ``DirectServeHtmlResource`` dispatch to
``_async_render_<METHOD>``; ``JsonResource`` dispatches on registered path regexes.
"""

from __future__ import annotations

import abc
import contextlib
import importlib
import logging
import re
import types
import urllib.parse
from inspect import isawaitable
from typing import (
    Any,
    Awaitable,
    Callable,
    ContextManager,
    Dict,
    Iterable,
    List,
    NamedTuple,
    Pattern,
    Protocol,
    Tuple,
    Union,
)

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request

from synapse_modhost.errors import LimitExceededError, UnrecognizedRequestError
from synapse_modhost.web._respond import (
    HTML_ERROR_TEMPLATE,
    respond_with_html_bytes,
    respond_with_json,
    return_html_error,
    return_json_error,
)

__all__ = [
    "AdditionalResource",
    "DirectServeHtmlResource",
    "DirectServeJsonResource",
    "HttpServer",
    "JsonResource",
    "ServletCallback",
    "wrap_additional_resource",
]

logger = logging.getLogger(__name__)

#: What a servlet handler may return: ``(code, body)``, ``None``, or an awaitable of one.
ServletCallback = Callable[
    ..., Union[None, Awaitable[None], Tuple[int, Any], Awaitable[Tuple[int, Any]]]
]


class HttpServer(Protocol):
    """Anything servlets can register their handlers with (``RestServlet.register``)."""

    def register_paths(
        self,
        method: str,
        path_patterns: Iterable[Pattern[str]],
        callback: ServletCallback,
        servlet_classname: str,
    ) -> None:
        """Route ``method`` requests whose path matches one of ``path_patterns``."""


def _is_cancellable(func: Any) -> bool:
    # Synapse's ``@cancellable`` decorator marks a function with ``cancellable = True``.
    return bool(getattr(func, "cancellable", False))


def _set_servlet_name(request: Request, name: str) -> None:
    metrics = getattr(request, "request_metrics", None)
    if metrics is not None:
        try:
            metrics.name = name
        except AttributeError:
            pass


def _request_reactor(request: Request) -> Any:
    """The reactor serving ``request``: the request's, its site's or its channel's."""
    reactor = getattr(request, "reactor", None)
    if reactor is None:
        site = getattr(request, "site", None) or getattr(
            getattr(request, "channel", None), "site", None
        )
        reactor = getattr(site, "reactor", None)
    return reactor


async def _sleep(clock: Any, seconds: float) -> None:
    """Wait ``seconds`` on ``clock``: a reactor (``callLater``) or an object whose
    ``sleep(seconds)`` returns an awaitable."""
    if hasattr(clock, "callLater"):
        await deferLater(clock, seconds)
    elif hasattr(clock, "sleep"):
        await clock.sleep(seconds)


class _AsyncResource(Resource, metaclass=abc.ABCMeta):
    """Runs an asynchronous ``_async_render`` per request and turns its outcome into a
    response: ``(code, body)`` → ``_send_response``, ``None`` → nothing (the handler
    responded), an exception → ``_send_error_response``.

    ``clock`` waits out ``LimitExceededError.pause``: a reactor or an object with
    ``sleep(seconds)``; ``None`` means the reactor serving the request.
    """

    def __init__(self, clock: Any = None, extract_context: bool = False):
        super().__init__()
        self._clock = clock
        # Tracing is not implemented; kept for signature compatibility.
        self._extract_context = extract_context

    def render(self, request: Request) -> int:
        request.render_deferred = ensureDeferred(self._async_render_wrapper(request))  # type: ignore[attr-defined]
        return NOT_DONE_YET

    async def _async_render_wrapper(self, request: Request) -> None:
        processing: Callable[[], ContextManager[None]] | None = getattr(request, "processing", None)
        with processing() if processing is not None else contextlib.nullcontext():
            try:
                _set_servlet_name(request, type(self).__name__)
                try:
                    callback_return = await self._async_render(request)
                except LimitExceededError as e:
                    if e.pause:
                        clock = (
                            self._clock if self._clock is not None else _request_reactor(request)
                        )
                        await _sleep(clock, e.pause)
                    raise
                if callback_return is not None:
                    code, response = callback_return
                    self._send_response(request, code, response)
            except Exception:
                self._send_error_response(Failure(), request)

    async def _async_render(self, request: Request) -> Tuple[int, Any] | None:
        """Call ``_async_render_<METHOD>`` (``HEAD`` uses ``GET``'s); 405 if missing."""
        method = request.method.decode("ascii")
        if method == "HEAD":
            method = "GET"
        handler = getattr(self, f"_async_render_{method}", None)
        if handler is None:
            raise UnrecognizedRequestError(code=405)
        request.is_render_cancellable = _is_cancellable(handler)  # type: ignore[attr-defined]
        result = handler(request)
        if isawaitable(result):
            result = await result
        return result

    @abc.abstractmethod
    def _send_response(self, request: Request, code: int, response_object: Any) -> None:
        raise NotImplementedError()

    @abc.abstractmethod
    def _send_error_response(self, f: Failure, request: Request) -> None:
        raise NotImplementedError()


class DirectServeJsonResource(_AsyncResource):
    """Dispatches to ``_async_render_<METHOD>`` and answers in JSON with CORS headers.

    ``canonical_json`` selects the encoding of successful bodies (errors are always
    canonical).  Not a leaf: paths below its mount point get Twisted's 404 unless a
    subclass sets ``isLeaf = True``.
    """

    def __init__(
        self,
        canonical_json: bool = False,
        extract_context: bool = False,
        clock: Any = None,
    ):
        super().__init__(clock, extract_context)
        self.canonical_json = canonical_json

    def _send_response(self, request: Request, code: int, response_object: Any) -> None:
        respond_with_json(
            request, code, response_object, send_cors=True, canonical_json=self.canonical_json
        )

    def _send_error_response(self, f: Failure, request: Request) -> None:
        return_json_error(f, request, None)


class DirectServeHtmlResource(_AsyncResource):
    """Dispatches to ``_async_render_<METHOD>``; handlers return ``(code, html_bytes)``.

    Errors are rendered with ``ERROR_TEMPLATE`` (a ``str`` with ``{code}``/``{msg}`` or a
    template object with ``render(code=, msg=)``).
    """

    ERROR_TEMPLATE: Any = HTML_ERROR_TEMPLATE

    def __init__(self, extract_context: bool = False, clock: Any = None):
        super().__init__(clock, extract_context)

    def _send_response(self, request: Request, code: int, response_object: Any) -> None:
        assert isinstance(response_object, bytes)
        respond_with_html_bytes(request, code, response_object)

    def _send_error_response(self, f: Failure, request: Request) -> None:
        return_html_error(f, request, self.ERROR_TEMPLATE)


class _PathEntry(NamedTuple):
    callback: ServletCallback
    servlet_classname: str


class JsonResource(DirectServeJsonResource):
    """Synapse's servlet router: a leaf that matches ``request.path`` against registered
    regexes in registration order.

    The first pattern that matches decides: a handler for the method (``HEAD`` uses
    ``GET``'s) is called with the request and the URL-unquoted named groups as keyword
    arguments; no handler for the method → 405; no pattern matches → 404 (both
    ``M_UNRECOGNIZED``).  ``canonical_json`` is ``True`` by default, as in Synapse; the
    Client-Server API uses ``False``.

    ``hs`` is optional: when it is given, its ``config`` is passed to error rendering and
    its ``get_reactor()`` is the default clock.
    """

    isLeaf = True

    def __init__(
        self,
        hs: Any = None,
        canonical_json: bool = True,
        extract_context: bool = False,
        *,
        clock: Any = None,
    ):
        if clock is None and hs is not None and hasattr(hs, "get_reactor"):
            clock = hs.get_reactor()
        super().__init__(canonical_json, extract_context, clock=clock)
        self.hs = hs
        self._routes: Dict[Pattern[str], Dict[bytes, _PathEntry]] = {}
        # The patterns indexed by literal path prefix; rebuilt when a pattern is added.
        self._route_index: _RouteNode | None = None

    def register_paths(
        self,
        method: str,
        path_patterns: Iterable[Pattern[str]],
        callback: ServletCallback,
        servlet_classname: str,
    ) -> None:
        """Route ``method`` requests whose path matches any of ``path_patterns`` (compiled
        regexes, matched with ``re.match``) to ``callback(request, **groups)``."""
        method_bytes = method.encode("utf-8")
        for pattern in path_patterns:
            logger.debug("Registering for %s %s", method, pattern.pattern)
            methods = self._routes.get(pattern)
            if methods is None:
                methods = self._routes[pattern] = {}
                self._route_index = None
            methods[method_bytes] = _PathEntry(callback, servlet_classname)

    def _get_handler_for_request(
        self, request: Request
    ) -> Tuple[ServletCallback, str, Dict[str, Any]]:
        """The callback, servlet name and keyword arguments for ``request``."""
        node = self._route_index
        if node is None:
            node = self._route_index = _build_route_index(self._routes)
        path = request.path.decode("ascii")
        method = request.method
        if method == b"HEAD":
            method = b"GET"
        # The deepest node whose segments start the path lists, in registration order,
        # every pattern that can match it (the others' literal prefixes rule them out).
        segments = path.split("/")
        segments.pop()
        for segment in segments:
            child = node.children.get(segment)
            if child is None:
                break
            node = child
        for match, methods in node.routes:
            m = match(path)
            if m is not None:
                entry = methods.get(method)
                if entry is None:
                    raise UnrecognizedRequestError(code=405)
                return entry.callback, entry.servlet_classname, m.groupdict()
        raise UnrecognizedRequestError(code=404)

    async def _async_render(self, request: Request) -> Tuple[int, Any] | None:
        callback, servlet_classname, groups = self._get_handler_for_request(request)
        request.is_render_cancellable = _is_cancellable(callback)  # type: ignore[attr-defined]
        _set_servlet_name(request, servlet_classname)
        kwargs = {
            name: urllib.parse.unquote(value) if value else value for name, value in groups.items()
        }
        result = callback(request, **kwargs)
        if isinstance(result, (Deferred, types.CoroutineType)):
            result = await result
        return result  # type: ignore[return-value]

    def _send_error_response(self, f: Failure, request: Request) -> None:
        return_json_error(f, request, getattr(self.hs, "config", None))


_Route = Tuple[Callable[[str], Any], Dict[bytes, _PathEntry]]

#: the most literal prefixes worked out for one pattern (alternations multiply them)
_MAX_PREFIXES = 64

try:  # the regex parser ``re`` itself uses (``sre_parse`` before Python 3.11)
    _sre: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - Python < 3.11
    _sre = None


class _RouteNode:
    """One path segment of the route index: ``routes`` are ``(pattern.match, methods)``
    of every pattern whose literal prefix the segments down to here satisfy (or that has
    no usable prefix), in registration order."""

    __slots__ = ("children", "routes", "_indices")

    def __init__(self) -> None:
        self.children: Dict[str, _RouteNode] = {}
        self.routes: List[_Route] = []
        self._indices: List[int] = []


def _build_route_index(routes: Dict[Pattern[str], Dict[bytes, _PathEntry]]) -> _RouteNode:
    """Index ``routes`` (in registration order) by the literal start of their patterns.

    A pattern whose every match starts with ``/a/b/c...`` can only match paths whose
    ``/``-separated segments begin ``"", "a", "b"``: it is listed at that node and every
    node below it. Matching then tries, in registration order, only the patterns listed
    at the deepest node the path reaches, which gives the same first match as trying
    them all.
    """
    root = _RouteNode()
    ordered = [(p.match, m) for p, m in routes.items()]
    for index, pattern in enumerate(routes):
        for prefix in _literal_prefixes(pattern):
            node = root
            for segment in prefix[: prefix.rfind("/") + 1].split("/")[:-1]:
                child = node.children.get(segment)
                if child is None:
                    child = node.children[segment] = _RouteNode()
                node = child
            node._indices.append(index)

    def finish(node: _RouteNode, inherited: List[int]) -> None:
        indices = sorted(set(inherited).union(node._indices))
        node.routes = [ordered[i] for i in indices]
        node._indices = []
        for child in node.children.values():
            finish(child, indices)

    finish(root, [])
    return root


def _literal_prefixes(pattern: Pattern[str]) -> List[str]:
    """Strings one of which starts every string ``pattern.match`` matches (``[""]`` when
    nothing is known)."""
    source = pattern.pattern
    if _sre is None or not isinstance(source, str) or pattern.flags & re.IGNORECASE:
        return [""]
    try:
        parsed = _sre.parse(source, pattern.flags)
    except Exception:  # pragma: no cover - it compiled, so it parses
        return [""]
    prefixes, _ = _walk_literals(list(parsed), [""], True)
    return prefixes


def _walk_literals(items: List[Any], prefixes: List[str], at_start: bool) -> Tuple[List[str], bool]:
    """Extend ``prefixes`` by the literal text ``items`` begin with; also whether every
    item was literal (so what follows them may extend the prefixes further)."""
    for op, av in items:
        if op is _sre.LITERAL:
            prefixes = [p + chr(av) for p in prefixes]
            at_start = False
        elif op is _sre.AT and av is _sre.AT_BEGINNING and at_start:
            continue
        elif op is _sre.IN and all(o is _sre.LITERAL for o, _ in av):
            # a set of characters (the parser turns ``v1|v2`` into ``v[12]``)
            chars = [chr(c) for _, c in av]
            if len(prefixes) * len(chars) > _MAX_PREFIXES:
                return prefixes, False
            prefixes = list(dict.fromkeys(p + c for p in prefixes for c in chars))
            at_start = False
        elif op is _sre.SUBPATTERN:
            _, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                return prefixes, False
            prefixes, complete = _walk_literals(list(sub), prefixes, at_start)
            if not complete:
                return prefixes, False
            at_start = at_start and all(not p for p in prefixes)
        elif op is _sre.BRANCH:
            _, alternatives = av
            extended: List[str] = []
            complete = True
            for alternative in alternatives:
                found, whole = _walk_literals(list(alternative), prefixes, at_start)
                extended.extend(found)
                complete = complete and whole
            extended = list(dict.fromkeys(extended))
            if len(extended) > _MAX_PREFIXES:
                return prefixes, False
            prefixes = extended
            if not complete:
                return prefixes, False
            at_start = at_start and all(not p for p in prefixes)
        else:
            return prefixes, False
    return prefixes, True


class AdditionalResource(DirectServeJsonResource):
    """Serves an ``additional_resources`` handler: every method awaits
    ``handler(request)``; ``(code, obj)`` is sent as JSON, ``None`` means the handler
    responded itself.

    Accepts Synapse's ``AdditionalResource(hs, handler)`` as well as
    ``AdditionalResource(handler)``.
    """

    def __init__(
        self,
        hs_or_handler: Any,
        handler: Callable[[Request], Awaitable[Tuple[int, Any] | None]] | None = None,
        *,
        clock: Any = None,
    ):
        if handler is None:
            handler = hs_or_handler
        elif clock is None and hasattr(hs_or_handler, "get_reactor"):
            clock = hs_or_handler.get_reactor()
        super().__init__(clock=clock)
        assert handler is not None
        self._handler = handler

    async def _async_render(self, request: Request) -> Tuple[int, Any] | None:
        return await self._handler(request)


def wrap_additional_resource(handler: object, *, clock: Any = None) -> IResource | None:
    """The resource to mount for an ``additional_resources`` handler instance.

    A ``twisted.web.resource.Resource`` is mounted as it is; an object with
    ``handle_request`` is wrapped in :class:`AdditionalResource`; anything else gives
    ``None`` (Synapse then fails with ``ConfigError("additional_resource <module> does
    not implement a known interface")``, which the caller raises).
    """
    if isinstance(handler, Resource):
        return handler
    handle_request = getattr(handler, "handle_request", None)
    if handle_request is not None:
        return AdditionalResource(handle_request, clock=clock)
    return None
