"""The kit's helpers: config overrides, callbacks, the http_client stub, treq, factories, guards."""

from __future__ import annotations

import re
from typing import Any, List

from twisted.internet import defer
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.module_api import ModuleApi
from synapse_modhost.testing import (
    HostHarness,
    ModuleHostTestCase,
    default_config,
    make_event,
    make_requester,
    make_state_map,
    override_config,
)
from synapse_modhost.types import NOT_SPAM

PROBE = "tests.testing.test_kit.ProbeModule"


class ProbeModule:
    """A module that calls out over HTTP from a callback and records what it saw."""

    seen: List[Any] = []

    def __init__(self, config: Any, api: ModuleApi) -> None:
        self.api = api
        self.url = config.get("url", "http://policy.example/check")
        api.register_spam_checker_callbacks(user_may_invite=self.user_may_invite)

    async def user_may_invite(self, inviter: str, invitee: str, room_id: str) -> Any:
        answer = await self.api.http_client.post_json_get_json(self.url, {"invitee": invitee})
        ProbeModule.seen.append((inviter, invitee, room_id, answer))
        return NOT_SPAM if answer.get("ok") else False


class KitTests(ModuleHostTestCase):
    """What a test gets from ModuleHostTestCase."""

    modules = [{"module": PROBE, "config": {}}]

    def test_config_default(self) -> None:
        """The host runs on the kit's default config."""
        self.assertEqual(self.host.config.server.server_name, "test.local")

    @override_config({"server_name": "other.example", "max_upload_size": "1M"})
    def test_override_config(self) -> None:
        """override_config merges into the config of that test only."""
        self.assertEqual(self.host.config.server.server_name, "other.example")
        self.assertEqual(self.host.config.media.max_upload_size, 1024 * 1024)

    def test_callbacks_and_http_stub(self) -> None:
        """A callback run directly calls out through the stub, which records the request."""
        self.http_stub.respond("POST", "http://policy.example/check", json={"ok": True})
        result = self.get_success(
            self.callbacks.spam_checker.user_may_invite("@a:test.local", "@b:test.local", "!r:test.local")
        )
        self.assertIs(result, NOT_SPAM)
        sent = self.http_stub.assert_requested("POST", "http://policy.example/check", json={"invitee": "@b:test.local"})
        self.assertEqual(sent.header("Content-Type"), "application/json")
        self.assertTrue(sent.header("User-Agent").startswith("Synapse/"))

    def test_http_stub_regex_and_denial(self) -> None:
        """A regex rule matches; a denial comes back normalised to (Codes, dict)."""
        self.http_stub.respond("POST", re.compile(r"/check$"), json={"ok": False})
        code, extra = self.get_success(
            self.callbacks.spam_checker.user_may_invite("@a:test.local", "@b:test.local", "!r:test.local")
        )
        self.assertEqual((code.value, extra), ("M_FORBIDDEN", {}))

    def test_assert_requested_lists_what_was_sent(self) -> None:
        """assert_requested fails with the requests that were sent."""
        with self.assertRaises(AssertionError) as cm:
            self.http_stub.assert_requested("GET", "http://nowhere.example/")
        self.assertIn("nothing", str(cm.exception))

    def test_treq_over_site(self) -> None:
        """self.treq talks to the host's Site in memory."""
        d = defer.ensureDeferred(self._versions())
        self.assertIn("v1.1", self.successResultOf(d))

    async def _versions(self) -> Any:
        response = await self.treq.get("http://test.local/_matrix/client/versions")
        body = await response.json()
        return body["versions"]

    def test_pump_runs_delayed_calls(self) -> None:
        """pump advances the memory clock."""
        fired: List[int] = []
        self.reactor.callLater(5, fired.append, 1)
        self.pump(4)
        self.assertEqual(fired, [])
        self.pump(1)
        self.assertEqual(fired, [1])

    def test_get_failure(self) -> None:
        """get_failure returns the Failure of the expected type."""
        f = self.get_failure(defer.fail(ValueError("x")), ValueError)
        self.assertEqual(str(f.value), "x")

    def test_factories(self) -> None:
        """make_event, make_requester and make_state_map build what callbacks get."""
        event = make_event(sender="@bob:test.local", content={"body": "hi"})
        self.assertEqual((event.type, event.sender, event.content["body"]), ("m.room.message", "@bob:test.local", "hi"))
        member = make_event("m.room.member", state_key="@bob:test.local", content={"membership": "join"})
        self.assertEqual(make_state_map(member), {("m.room.member", "@bob:test.local"): member})
        self.assertEqual(make_requester("@c:test.local").user_id, "@c:test.local")
        self.assertRaises(ValueError, make_state_map, event)


class GuardTests(SynchronousTestCase):
    """The kit fails tests that leave things behind."""

    def _run_case(self, case: ModuleHostTestCase) -> TestResult:
        result = TestResult()
        case.run(result)
        return result

    def test_leftover_delayed_call_fails(self) -> None:
        """A test that leaves a delayed call pending fails, naming it."""

        class LeavesDelayedCall(ModuleHostTestCase):
            def test_leaves(self) -> None:
                self.reactor.callLater(30, lambda: None)

        result = self._run_case(LeavesDelayedCall("test_leaves"))
        problems = result.errors + result.failures
        self.assertEqual(len(problems), 1)
        self.assertIn("delayed call(s) pending", str(problems[0][1]))

    def test_unanswered_request_fails(self) -> None:
        """A module request no http_stub rule answered fails the test, naming it."""

        class LeavesUnansweredRequest(ModuleHostTestCase):
            modules = [{"module": PROBE, "config": {}}]

            def test_unanswered(self) -> None:
                self.get_success(
                    self.callbacks.spam_checker.user_may_invite(
                        "@a:test.local", "@b:test.local", "!r:test.local"
                    )
                )

        result = self._run_case(LeavesUnansweredRequest("test_unanswered"))
        text = " ".join(str(p[1]) for p in result.errors + result.failures)
        self.assertIn("POST http://policy.example/check", text)


class HarnessTests(SynchronousTestCase):
    """HostHarness works without a TestCase (the pytest fixtures use it)."""

    def test_harness_start_stop(self) -> None:
        """A harness starts, serves a request and stops with nothing pending."""
        config = default_config()
        config["media_store_path"] = self.mktemp()
        harness = HostHarness(config)
        harness.start()
        self.assertEqual(harness.make_request("GET", "/health").text_body, "OK")
        harness.stop()
        self.assertEqual(harness.leftover_delayed_calls(), [])


class MatrixHelperTests(ModuleHostTestCase):
    """The kit's Matrix helpers drive the stand-in's real endpoints (callbacks fire)."""

    modules = [
        {"module": "sample_modules.list_spam_checker.ListSpamChecker", "config": {"evil_users": ["@mallory:test.local"]}}
    ]

    def test_users_rooms_messages_media(self) -> None:
        """register_user, login, create_room, invite, join, send_event and upload_media work together."""
        alice = self.register_user("alice", "pw1")
        bob = self.register_user("bob", "pw2")
        self.assertEqual((alice, bob), ("@alice:test.local", "@bob:test.local"))
        alice_token = self.login("alice", "pw1")
        bob_token = self.login("@bob:test.local", "pw2")
        room_id = self.create_room(alice_token, name="kit")
        self.invite(room_id, alice_token, bob)
        self.assertEqual(self.join(room_id, bob_token), room_id)
        event_id = self.send_event(room_id, bob_token, {"msgtype": "m.text", "body": "hi"})
        channel = self.make_request("GET", "/_matrix/client/v3/rooms/%s/event/%s" % (room_id, event_id),
                                    access_token=alice_token)
        self.assertEqual((channel.code, channel.json_body["content"]["body"]), (200, "hi"))
        uri = self.upload_media(alice_token, b"bytes", "text/plain", "a.txt")
        self.assertTrue(uri.startswith("mxc://test.local/"))

    def test_spam_checker_fires_through_send(self) -> None:
        """A module's check_event_for_spam denies through send_event's real path."""
        self.register_user("mallory")
        token = self.login("mallory")
        room_id = self.create_room(token)
        from synapse_modhost.testing import RequestFailed

        with self.assertRaises(RequestFailed) as cm:
            self.send_event(room_id, token, {"msgtype": "m.text", "body": "buy"})
        self.assertEqual(cm.exception.channel.code, 403)
        self.assertEqual(cm.exception.channel.json_body["errcode"], "M_FORBIDDEN")

    def test_login_wrong_password(self) -> None:
        """login with a wrong password raises RequestFailed carrying the 403."""
        from synapse_modhost.testing import RequestFailed

        self.register_user("carol", "right")
        with self.assertRaises(RequestFailed) as cm:
            self.login("carol", "wrong")
        self.assertEqual(cm.exception.channel.json_body["errcode"], "M_FORBIDDEN")
