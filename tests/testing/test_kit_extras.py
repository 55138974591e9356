"""More of the test kit: http_stub.respond_with, error answers reaching api.http_client,
and make_config overrides on a ModuleHostTestCase subclass."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Tuple

from synapse_modhost.errors import HttpResponseException
from synapse_modhost.module_api import ModuleApi
from synapse_modhost.testing import ModuleHostTestCase, StubbedRequest, override_config

FETCHER = __name__ + ".Fetcher"


class Fetcher:
    """A module that fetches JSON through api.http_client."""

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        self.api = api
        self.config = config
        self.base = config.get("base", "http://policy.example")

    async def fetch(self, path: str, **args: str) -> Any:
        return await self.api.http_client.get_json(self.base + path, args or None)


class StubRespondWithTests(ModuleHostTestCase):
    """respond_with answers a module's request from a function of the request."""

    modules = [{"module": FETCHER, "config": {}}]

    def setUp(self) -> None:
        super().setUp()
        self.fetcher = self.host.modules[0].instance
        self.assertIsInstance(self.fetcher, Fetcher)

    def _http_error(self, coro: Any) -> HttpResponseException:
        """The HttpResponseException ``coro`` fails with."""
        error = self.get_failure(coro, HttpResponseException).value
        assert isinstance(error, HttpResponseException)
        return error

    def test_respond_with_answers_request(self) -> None:
        """The responder sees the request (method, URL, headers) and its answer reaches the module."""
        seen: List[StubbedRequest] = []

        def responder(request: StubbedRequest) -> Tuple[int, Dict[str, str], bytes]:
            seen.append(request)
            body = {"url": request.url, "accept": request.header("Accept")}
            return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

        self.http_stub.respond_with("GET", re.compile(r"^http://policy\.example/users/"), responder)
        result = self.get_success(self.fetcher.fetch("/users/alice", full="1"))
        self.assertEqual(result, {"url": "http://policy.example/users/alice?full=1", "accept": "application/json"})
        self.assertEqual([(r.method, r.url) for r in seen], [("GET", "http://policy.example/users/alice?full=1")])
        self.assertEqual(self.http_stub.unexpected, [])

    def test_respond_with_method_is_case_insensitive(self) -> None:
        """A rule given a lower-case method matches the module's GET."""
        self.http_stub.respond_with(
            "get", "http://policy.example/ping", lambda request: (200, {}, b'{"pong": true}'))
        self.assertEqual(self.get_success(self.fetcher.fetch("/ping")), {"pong": True})

    def test_first_matching_rule_wins(self) -> None:
        """Of two rules matching the same URL, the first one added answers."""
        self.http_stub.respond_with("GET", "http://policy.example/x", lambda r: (200, {}, b'{"rule": 1}'))
        self.http_stub.respond_with("GET", "http://policy.example/x", lambda r: (200, {}, b'{"rule": 2}'))
        self.assertEqual(self.get_success(self.fetcher.fetch("/x")), {"rule": 1})

    def test_error_code_raises_http_response_exception(self) -> None:
        """A rule answering 404 makes get_json raise HttpResponseException with code 404 and the body."""
        self.http_stub.respond("GET", "http://policy.example/missing", code=404, json={"errcode": "M_NOT_FOUND"})
        error = self._http_error(self.fetcher.fetch("/missing"))
        self.assertEqual(error.code, 404)
        self.assertEqual(json.loads(error.response), {"errcode": "M_NOT_FOUND"})
        self.http_stub.assert_requested("GET", "http://policy.example/missing")

    def test_error_code_from_respond_with(self) -> None:
        """A responder returning 503 makes get_json raise HttpResponseException with code 503."""
        self.http_stub.respond_with("GET", "http://policy.example/busy", lambda r: (503, {}, b"busy"))
        error = self._http_error(self.fetcher.fetch("/busy"))
        self.assertEqual((error.code, error.response), (503, b"busy"))


class MakeConfigOverrideTests(ModuleHostTestCase):
    """A subclass's make_config decides the host's config."""

    def make_config(self) -> Dict[str, Any]:
        """The kit's config with another server name and the Fetcher configured."""
        config = super().make_config()
        config["server_name"] = "made.example"
        config["modules"] = [{"module": FETCHER, "config": {"base": "http://made.example"}}]
        config["max_upload_size"] = "2M"
        return config

    def test_make_config_takes_effect(self) -> None:
        """The host runs with the server name, modules and limits make_config returned."""
        self.assertEqual(self.host.config.server.server_name, "made.example")
        self.assertEqual(self.host.config.media.max_upload_size, 2 * 1024 * 1024)
        self.assertEqual([m.name for m in self.host.modules], [FETCHER])
        fetcher = self.host.modules[0].instance
        self.assertEqual(fetcher.config, {"base": "http://made.example"})
        self.assertEqual(fetcher.api.server_name, "made.example")

    @override_config({"server_name": "merged.example"})
    def test_override_config_applies_on_top(self) -> None:
        """override_config merges over what make_config returned, keeping the rest."""
        self.assertEqual(self.host.config.server.server_name, "merged.example")
        self.assertEqual(self.host.config.media.max_upload_size, 2 * 1024 * 1024)
        self.assertEqual(self.host.modules[0].instance.config, {"base": "http://made.example"})
