"""Synapse's documented ListSpamChecker example imports and runs unchanged through the hook."""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.events import make_event_from_dict
from tests.compat._util import FreshHook

DOC_MODULE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "..", "..", "shared", "real-modules", "harness", "doc_modules",
    "list_spam_checker_doc.py",
)  # fmt: skip


class _FakeApi:
    """Records what the module registers."""

    def __init__(self) -> None:
        self.spam_callbacks: Dict[str, Any] = {}
        self.resources: List[Any] = []

    def register_spam_checker_callbacks(self, **kwargs: Any) -> None:
        self.spam_callbacks.update(kwargs)

    def register_web_resource(self, path: str, resource: Any) -> None:
        self.resources.append((path, resource))


class ListSpamCheckerDocTests(FreshHook, SynchronousTestCase):
    """Load the doc example by file path, as a module file on disk."""

    if not os.path.exists(DOC_MODULE):
        skip = "shared/real-modules doc example not available"

    def _load(self) -> ModuleType:
        name = "list_spam_checker_doc_under_test"
        spec = importlib.util.spec_from_file_location(name, DOC_MODULE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        self.addCleanup(sys.modules.pop, name, None)
        spec.loader.exec_module(module)
        return module

    def test_imports_host_module_api(self) -> None:
        """The example's ``ModuleApi`` name is the host's class."""
        from synapse_modhost.module_api import ModuleApi

        module = self._load()
        self.assertIs(module.ModuleApi, ModuleApi)

    def test_registers_and_checks_events(self) -> None:
        """Constructed with an api, it registers its callback, which reads ``event.sender``."""
        module = self._load()
        api = _FakeApi()
        module.ListSpamChecker({"evil_users": ["@evil:test"]}, api)
        self.assertEqual(api.resources[0][0], "/_synapse/client/list_spam_checker/is_evil")
        check = api.spam_callbacks["check_event_for_spam"]
        event = make_event_from_dict(
            {
                "type": "m.room.message",
                "room_id": "!r:test",
                "sender": "@evil:test",
                "content": {"body": "hi"},
                "depth": 1,
                "origin_server_ts": 1,
                "prev_events": [],
                "auth_events": [],
                "hashes": {},
            },
            "10",
        )
        coro = check(event)
        with self.assertRaises(StopIteration) as cm:
            coro.send(None)
        # The documented example returns True ("spam") for senders NOT in evil_users.
        self.assertIs(cm.exception.value, False)
