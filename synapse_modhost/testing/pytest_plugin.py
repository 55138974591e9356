"""pytest fixtures for module tests (registered through the ``pytest11`` entry point).

    @pytest.fixture
    def modhost_modules():
        return [{"module": "my_module.MyModule", "config": {}}]

    def test_resource(modhost):
        channel = modhost.make_request("GET", "/_synapse/client/my_module/hello")
        assert channel.code == 200

Fixtures: ``modhost_modules`` (override it: the ``modules:`` list), ``modhost_config``
(the whole config dict; override to change more), ``modhost`` (a started
:class:`~synapse_modhost.testing.HostHarness`: ``make_request``, ``register_user``,
``login``, ``create_room``, ``send_event``, ``invite``, ``join``, ``upload_media``,
``get_success``, ``pump``, ``callbacks``, ``http_stub``, ``treq``), ``modhost_http`` (its
``http_stub``), and the factories ``make_event``, ``make_requester``, ``make_state_map``.
A test fails if it leaves delayed calls pending or an unanswered outbound request.

pytest is not a dependency of synapse-modhost: this module is only imported by pytest.
It is loaded in every pytest run of an environment where synapse-modhost is installed, so
it imports nothing of the host until a test asks for one of its fixtures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List

import pytest

if TYPE_CHECKING:
    from synapse_modhost.testing._harness import HostHarness


@pytest.fixture
def modhost_modules() -> List[Dict[str, Any]]:
    """The ``modules:`` list of the test host (override this fixture)."""
    return []


@pytest.fixture
def modhost_config(modhost_modules: List[Dict[str, Any]], tmp_path: Any) -> Dict[str, Any]:
    """The test host's config dict."""
    from synapse_modhost.testing import default_config

    config = default_config()
    config["modules"] = modhost_modules
    config["media_store_path"] = str(tmp_path / "media_store")
    return config


@pytest.fixture
def modhost(modhost_config: Dict[str, Any]) -> Iterator["HostHarness"]:
    """A started host in memory."""
    from synapse_modhost.testing import HostHarness
    from synapse_modhost.testing._guards import (
        FailureCatcher,
        collect_dropped_deferreds,
        leftover_problems,
    )

    catcher = FailureCatcher()
    catcher.start()
    try:
        harness = HostHarness(modhost_config)
        harness.failure_catcher = catcher
        harness.start()
        yield harness
        harness.stop()
        collect_dropped_deferreds()
    finally:
        catcher.stop()
    problems = leftover_problems(harness, catcher.failures)
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture
def modhost_http(modhost: "HostHarness") -> Any:
    """The stub behind the modules' ``api.http_client``."""
    return modhost.http_stub


@pytest.fixture
def make_event() -> Callable[..., Any]:
    """``make_event(type, sender, room_id, content, state_key, ...)``."""
    from synapse_modhost.testing import make_event

    return make_event


@pytest.fixture
def make_requester() -> Callable[..., Any]:
    """``make_requester(user_id, ...)``."""
    from synapse_modhost.testing import make_requester

    return make_requester


@pytest.fixture
def make_state_map() -> Callable[..., Any]:
    """``make_state_map(*state_events)``."""
    from synapse_modhost.testing import make_state_map

    return make_state_map
