"""JsonResource's route index: the same handler, 405 and 404 as trying every pattern in
registration order."""

from __future__ import annotations

import itertools
import random
import re
from typing import Any, Dict, List, Optional, Pattern, Tuple

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.errors import UnrecognizedRequestError
from synapse_modhost.web import JsonResource
from synapse_modhost.web._resources import _literal_prefixes

_V = "(api/v1|r0|v3|unstable)"

PATTERNS: List[Tuple[str, str]] = [
    ("GET", "^/_matrix/client/versions$"),
    ("GET", f"^/_matrix/client/{_V}/rooms/(?P<room_id>[^/]*)/event/(?P<event_id>[^/]*)$"),
    ("PUT", f"^/_matrix/client/{_V}/rooms/(?P<room_id>[^/]*)/send/(?P<event_type>[^/]*)/(?P<txn_id>[^/]*)$"),
    ("POST", f"^/_matrix/client/{_V}/rooms/(?P<room_id>[^/]*)/send/(?P<event_type>[^/]*)$"),
    ("GET", f"^/_matrix/client/{_V}/rooms/(?P<room_id>[^/]*)/state/(?P<event_type>[^/]*)$"),
    ("PUT", f"^/_matrix/client/{_V}/rooms/(?P<room_id>[^/]*)/state/(?P<event_type>[^/]*)$"),
    ("GET", f"^/_matrix/client/{_V}/rooms/(?P<room_id>[^/]*)/state$"),
    ("POST", f"^/_matrix/client/{_V}/createRoom$"),
    ("PUT", f"^/_matrix/client/{_V}/createRoom/(?P<txn_id>[^/]*)$"),
    ("GET", f"^/_matrix/client/{_V}/sync$"),
    ("GET", "^/_matrix/client/v1/media/download/(?P<server>[^/]*)/(?P<media_id>[^/]*)$"),
    ("POST", "^/_matrix/client/(r0|v3)/user_directory/search$"),
    ("GET", "^/_synapse/admin/v1/register$"),
    ("POST", "^/_synapse/admin/v1/register$"),
    ("GET", "^/_synapse/admin/v2/users/(?P<user_id>[^/]*)$"),
    ("PUT", "^/_synapse/admin/v2/users/(?P<user_id>[^/]*)$"),
    ("DELETE", "^/_synapse/admin/v(1|2)/rooms/(?P<room_id>[^/]*)$"),
    # overlapping and unusual patterns: order must still decide
    ("GET", "^/_matrix/client/v3/rooms/special"),
    ("GET", "^/_matrix/client/v3/roomsx"),
    ("GET", "(?i)^/_MATRIX/CLIENT/v3/shout$"),
    ("GET", "^(/a)?/b$"),
    ("GET", "/x|/y/z"),
    ("POST", "^/_matrix/client/v3/rooms/(?P<room_id>[^/]*)/send/m\\.room\\.message$"),
    ("GET", "^/_matrix/client/v3/profile/(?P<user_id>[^/]*)(/displayname)?$"),
    ("GET", "^/_matrix/client/v3/a/b/"),
    ("GET", "^/$"),
    ("GET", "^$"),
]

PATHS = [
    "",
    "/",
    "/b",
    "/a/b",
    "/x",
    "/x/y",
    "/y/z",
    "/y/",
    "/_matrix/client/versions",
    "/_matrix/client/versions/",
    "/_matrix/client/v3/rooms/!r:hs/event/$e",
    "/_matrix/client/r0/rooms/!r:hs/event/$e",
    "/_matrix/client/api/v1/rooms/!r:hs/send/m.room.message/t1",
    "/_matrix/client/unstable/rooms/!r:hs/send/m.room.message",
    "/_matrix/client/v3/rooms/!r:hs/send/m.room.message",
    "/_matrix/client/v3/rooms/!r:hs/send/m.room.message/t1",
    "/_matrix/client/v3/rooms/!r:hs/send/m.room.message/t1/extra",
    "/_matrix/client/v3/rooms/!r:hs/state",
    "/_matrix/client/v3/rooms/!r:hs/state/m.room.name",
    "/_matrix/client/v3/rooms/special",
    "/_matrix/client/v3/rooms/special/send/x",
    "/_matrix/client/v3/roomsx",
    "/_matrix/client/v3/roomsx/y",
    "/_matrix/client/v3/rooms",
    "/_matrix/client/v3/rooms/",
    "/_matrix/client/v3/SHOUT",
    "/_MATRIX/client/v3/shout",
    "/_matrix/client/v3/createRoom",
    "/_matrix/client/v3/createRoom/t",
    "/_matrix/client/v4/createRoom",
    "/_matrix/client/v3/sync",
    "/_matrix/client/v1/media/download/hs/abc",
    "/_matrix/client/v3/user_directory/search",
    "/_matrix/client/api/v1/user_directory/search",
    "/_synapse/admin/v1/register",
    "/_synapse/admin/v2/users/@u:hs",
    "/_synapse/admin/v1/rooms/!r:hs",
    "/_synapse/admin/v2/rooms/!r:hs",
    "/_synapse/admin/v3/rooms/!r:hs",
    "/_matrix/client/v3/profile/@u:hs",
    "/_matrix/client/v3/profile/@u:hs/displayname",
    "/_matrix/client/v3/a/b/",
    "/_matrix/client/v3/a/b/c",
    "/_matrix/client/v3/a/b",
    "/nothing/here",
    "//",
]


class _Req:
    def __init__(self, path: str, method: bytes) -> None:
        self.path = path.encode("ascii")
        self.method = method


def _linear(routes: List[Tuple[Pattern[str], Dict[bytes, str]]], path: str, method: bytes) -> Any:
    if method == b"HEAD":
        method = b"GET"
    for pattern, methods in routes:
        m = pattern.match(path)
        if m is not None:
            name = methods.get(method)
            return 405 if name is None else (name, m.groupdict())
    return 404


def _indexed(router: JsonResource, path: str, method: bytes) -> Any:
    try:
        _, name, groups = router._get_handler_for_request(_Req(path, method))  # type: ignore[arg-type]
    except UnrecognizedRequestError as e:
        return e.code
    return name, groups


def _cb(request: Any) -> None:
    return None


class RouteIndexTests(SynchronousTestCase):
    def _check(self, patterns: List[Tuple[str, str]], paths: List[str]) -> None:
        router = JsonResource()
        reference: Dict[Pattern[str], Dict[bytes, str]] = {}
        for n, (method, source) in enumerate(patterns):
            pattern = re.compile(source)
            name = "S%d" % n
            router.register_paths(method, [pattern], _cb, name)
            reference.setdefault(pattern, {})[method.encode()] = name
        for path, method in itertools.product(paths, (b"GET", b"PUT", b"POST", b"HEAD", b"DELETE")):
            self.assertEqual(
                _indexed(router, path, method),
                _linear(list(reference.items()), path, method),
                (path, method),
            )

    def test_same_answers_as_trying_every_pattern(self) -> None:
        """Every path and method gets the handler, 405 or 404 the linear scan gives."""
        self._check(PATTERNS, PATHS)

    def test_registration_order_in_any_order(self) -> None:
        """Shuffled registration orders still agree with the linear scan."""
        rng = random.Random(3)
        for _ in range(30):
            patterns = list(PATTERNS)
            rng.shuffle(patterns)
            self._check(patterns, PATHS)

    def test_index_rebuilt_after_registration(self) -> None:
        """A pattern registered after the first request is routed too."""
        router = JsonResource()
        router.register_paths("GET", [re.compile("^/a/b$")], _cb, "AB")
        self.assertEqual(_indexed(router, "/a/c", b"GET"), 404)
        router.register_paths("GET", [re.compile("^/a/(?P<x>[^/]*)$")], _cb, "AX")
        self.assertEqual(_indexed(router, "/a/c", b"GET"), ("AX", {"x": "c"}))
        self.assertEqual(_indexed(router, "/a/b", b"GET"), ("AB", {}))

    def test_literal_prefixes(self) -> None:
        """What every match must start with; nothing is assumed when it is unknown."""
        cases: List[Tuple[str, Optional[List[str]]]] = [
            ("^/a/b", ["/a/b"]),
            ("^/x/(v1|v2)/y", ["/x/v1/y", "/x/v2/y"]),
            ("/x|/y/z", ["/x", "/y/z"]),
            ("(?i)^/a", [""]),
            ("^(/a)?/b", [""]),
            ("^/a(?i:b)", ["/a"]),
            ("^/a\\b/c", ["/a"]),
            ("^/a/(b|c.*)/d", ["/a/b", "/a/c"]),
        ]
        for source, expected in cases:
            self.assertEqual(_literal_prefixes(re.compile(source)), expected, source)
