"""The pytest plugin's fixtures: modhost_http, make_requester, make_state_map, modhost_config.

Plain pytest test functions: trial collects only TestCase classes, so under trial this
file contributes no tests (and fails none).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

import pytest

from synapse_modhost.errors import HttpResponseException
from synapse_modhost.module_api import ModuleApi

RECORDER = __name__ + ".Recorder"


class Recorder:
    """A module that calls out over HTTP and keeps what its callbacks were given."""

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        self.api = api
        self.config = config
        self.created: List[Tuple[Any, Dict[str, Any], bool]] = []
        self.allowed: List[Tuple[Any, Any]] = []
        api.register_third_party_rules_callbacks(
            on_create_room=self.on_create_room,
            check_event_allowed=self.check_event_allowed,
        )

    async def fetch(self, url: str) -> Any:
        return await self.api.http_client.get_json(url)

    async def on_create_room(self, requester: Any, request_content: Dict[str, Any], is_admin: bool) -> None:
        self.created.append((requester, request_content, is_admin))

    async def check_event_allowed(self, event: Any, state: Any) -> Tuple[bool, Optional[Dict[str, Any]]]:
        self.allowed.append((event, state))
        banned = state.get(("org.example.banned", event.sender))
        return banned is None, None


@pytest.fixture
def modhost_modules() -> List[Dict[str, Any]]:
    return [{"module": RECORDER, "config": {"flavour": "pytest"}}]


def _recorder(modhost: Any) -> Recorder:
    instance = modhost.host.modules[0].instance
    assert isinstance(instance, Recorder)
    return instance


def test_modhost_http_is_the_stub(modhost: Any, modhost_http: Any) -> None:
    """modhost_http is the harness's http_stub."""
    assert modhost_http is modhost.http_stub


def test_modhost_http_answers_module(modhost: Any, modhost_http: Any) -> None:
    """A rule set on modhost_http answers the module's api.http_client request."""
    modhost_http.respond("GET", "http://policy.example/rules", json={"rules": ["a", "b"]})
    assert modhost.get_success(_recorder(modhost).fetch("http://policy.example/rules")) == {"rules": ["a", "b"]}
    sent = modhost_http.assert_requested("GET", "http://policy.example/rules")
    assert sent.header("Accept") == "application/json"


def test_modhost_http_error_code(modhost: Any, modhost_http: Any) -> None:
    """A rule answering 403 makes the module's get_json raise HttpResponseException(403)."""
    modhost_http.respond("GET", "http://policy.example/denied", code=403, json={"errcode": "M_FORBIDDEN"})
    failure = modhost.get_failure(_recorder(modhost).fetch("http://policy.example/denied"), HttpResponseException)
    assert failure.value.code == 403


def test_make_requester(modhost: Any, make_requester: Any) -> None:
    """make_requester builds the Requester on_create_room gets, with the given fields."""
    requester = make_requester("@carol:test.local", device_id="DEV1", is_guest=True)
    assert (requester.user_id, requester.device_id, requester.is_guest) == ("@carol:test.local", "DEV1", True)
    assert make_requester().user_id == "@alice:test.local"
    modhost.get_success(modhost.callbacks.third_party_rules.on_create_room(requester, {"name": "r"}, False))
    assert _recorder(modhost).created == [(requester, {"name": "r"}, False)]


def test_make_state_map(modhost: Any, make_event: Any, make_state_map: Any) -> None:
    """make_state_map keys state events by (type, state_key) and feeds check_event_allowed."""
    ban = make_event("org.example.banned", state_key="@mallory:test.local", content={})
    name = make_event("m.room.name", state_key="", content={"name": "Room"})
    state = make_state_map(ban, name)
    assert state == {("org.example.banned", "@mallory:test.local"): ban, ("m.room.name", ""): name}
    rules = modhost.callbacks.third_party_rules
    assert modhost.get_success(rules.check_event_allowed(make_event(sender="@bob:test.local"), state)) == (True, None)
    assert modhost.get_success(rules.check_event_allowed(make_event(sender="@mallory:test.local"), state)) == (
        False, None)
    with pytest.raises(ValueError):
        make_state_map(make_event())


def test_modhost_config_default(modhost_config: Dict[str, Any], modhost_modules: List[Dict[str, Any]],
                                tmp_path: Any) -> None:
    """modhost_config is the kit's default config with modhost_modules and a media store under tmp_path."""
    assert modhost_config["server_name"] == "test.local"
    assert modhost_config["modules"] == modhost_modules
    assert os.path.dirname(modhost_config["media_store_path"]) == str(tmp_path)


class TestModhostConfigOverride:
    """Overriding modhost_config changes the host the modhost fixture starts."""

    @pytest.fixture
    def modhost_config(self, modhost_config: Dict[str, Any]) -> Dict[str, Any]:
        config = dict(modhost_config)
        config["server_name"] = "fixture.example"
        config["modules"] = [{"module": RECORDER, "config": {"flavour": "override"}}]
        return config

    def test_override_takes_effect(self, modhost: Any) -> None:
        """The host runs with the overridden server name and module config."""
        assert modhost.host.config.server.server_name == "fixture.example"
        recorder = _recorder(modhost)
        assert recorder.config == {"flavour": "override"}
        assert recorder.api.server_name == "fixture.example"
