"""The sample modules under pytest, with the kit's fixtures (``modhost`` and friends)."""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, Iterator, List

import pytest

from synapse_modhost.errors import Codes
from synapse_modhost.types import NOT_SPAM

DOC_MODULES = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "real-modules", "harness", "doc_modules"
)


@pytest.fixture
def modhost_modules() -> List[Dict[str, Any]]:
    return [
        {"module": "sample_modules.list_spam_checker.ListSpamChecker", "config": {"evil_users": ["@mallory:test.local"]}},
        {"module": "sample_modules.say_hello.SayHello", "config": {}},
    ]


def test_list_spam_checker_resource(modhost: Any) -> None:
    """The sample ListSpamChecker's resource answers over in-memory HTTP."""
    channel = modhost.make_request("GET", "/_synapse/client/list_spam_checker/is_evil?user=@mallory:test.local")
    assert (channel.code, channel.json_body) == (200, {"evil": True})


def test_list_spam_checker_callback(modhost: Any, make_event: Any) -> None:
    """The sample ListSpamChecker's callback, run with Synapse's rules."""
    spam = modhost.callbacks.spam_checker
    assert modhost.get_success(spam.check_event_for_spam(make_event(sender="@bob:test.local"))) is NOT_SPAM
    code, _ = modhost.get_success(spam.check_event_for_spam(make_event(sender="@mallory:test.local")))
    assert code == Codes.FORBIDDEN


def test_say_hello(modhost: Any) -> None:
    """say_hello greets by name."""
    assert modhost.make_request("GET", "/_synapse/client/my_super_module/say_hello?name=Py").json_body == {"hello": "Py"}


@pytest.fixture
def doc_module_path() -> Iterator[None]:
    if not os.path.exists(os.path.join(DOC_MODULES, "list_spam_checker_doc.py")):
        pytest.skip("../shared/real-modules/harness/doc_modules is not beside this checkout")
    sys.path.insert(0, DOC_MODULES)
    yield
    sys.path.remove(DOC_MODULES)
    sys.modules.pop("list_spam_checker_doc", None)


class TestDocListSpamChecker:
    """The ListSpamChecker exactly as printed in Synapse's docs, under pytest."""

    @pytest.fixture
    def modhost_modules(self, doc_module_path: None) -> List[Dict[str, Any]]:
        return [{"module": "list_spam_checker_doc.ListSpamChecker", "config": {"evil_users": ["@mallory:test.local"]}}]

    def test_resource(self, modhost: Any) -> None:
        """Its resource answers {"evil": true} for a listed user."""
        channel = modhost.make_request("GET", "/_synapse/client/list_spam_checker/is_evil?user=@mallory:test.local")
        assert (channel.code, channel.json_body) == (200, {"evil": True})

    def test_callback(self, modhost: Any, make_event: Any) -> None:
        """Its callback rejects unlisted senders, as it does on Synapse."""
        code, _ = modhost.get_success(
            modhost.callbacks.spam_checker.check_event_for_spam(make_event(sender="@bob:test.local"))
        )
        assert code == Codes.FORBIDDEN
