"""The sample modules, tested only with the public kit: over HTTP and by direct callback calls."""

from __future__ import annotations

import os
import sys

from synapse_modhost.errors import Codes
from synapse_modhost.testing import ModuleHostTestCase, make_event, override_config
from synapse_modhost.types import NOT_SPAM, MediaUploadLimit

DOC_MODULES = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "real-modules", "harness", "doc_modules"
)


class ListSpamCheckerTests(ModuleHostTestCase):
    """sample_modules.list_spam_checker"""

    modules = [
        {
            "module": "sample_modules.list_spam_checker.ListSpamChecker",
            "config": {"evil_users": ["@mallory:test.local"]},
        }
    ]

    def test_is_evil_resource(self) -> None:
        """The resource says a listed user is evil and another is not."""
        channel = self.make_request("GET", "/_synapse/client/list_spam_checker/is_evil?user=@mallory:test.local")
        self.assertEqual((channel.code, channel.json_body), (200, {"evil": True}))
        channel = self.make_request("GET", "/_synapse/client/list_spam_checker/is_evil?user=@bob:test.local")
        self.assertEqual(channel.json_body, {"evil": False})

    def test_check_event_for_spam(self) -> None:
        """A listed sender's event is spam (M_FORBIDDEN); anyone else's is not."""
        spam = self.callbacks.spam_checker
        self.assertIs(self.get_success(spam.check_event_for_spam(make_event(sender="@bob:test.local"))), NOT_SPAM)
        code, _ = self.get_success(spam.check_event_for_spam(make_event(sender="@mallory:test.local")))
        self.assertEqual(code, Codes.FORBIDDEN)


class DocListSpamCheckerTests(ModuleHostTestCase):
    """The ListSpamChecker exactly as printed in Synapse's docs, through the kit."""

    modules = [
        {"module": "list_spam_checker_doc.ListSpamChecker", "config": {"evil_users": ["@mallory:test.local"]}}
    ]

    def setUp(self) -> None:
        if not os.path.exists(os.path.join(DOC_MODULES, "list_spam_checker_doc.py")):
            self.skipTest("../shared/real-modules/harness/doc_modules is not beside this checkout")
        sys.path.insert(0, DOC_MODULES)
        self.addCleanup(sys.path.remove, DOC_MODULES)
        self.addCleanup(sys.modules.pop, "list_spam_checker_doc", None)
        super().setUp()

    def test_resource(self) -> None:
        """Its resource answers {"evil": true} for a listed user."""
        channel = self.make_request("GET", "/_synapse/client/list_spam_checker/is_evil?user=@mallory:test.local")
        self.assertEqual((channel.code, channel.json_body), (200, {"evil": True}))

    def test_callback_semantics(self) -> None:
        """As on Synapse, its True-for-unlisted return makes every unlisted sender's event spam."""
        spam = self.callbacks.spam_checker
        code, _ = self.get_success(spam.check_event_for_spam(make_event(sender="@bob:test.local")))
        self.assertEqual(code, Codes.FORBIDDEN)
        self.assertIs(self.get_success(spam.check_event_for_spam(make_event(sender="@mallory:test.local"))), NOT_SPAM)


class EventCensorerTests(ModuleHostTestCase):
    """sample_modules.event_censorer"""

    modules = [
        {
            "module": "sample_modules.event_censorer.EventCensorer",
            "config": {"endpoint": "http://censor.example/censor", "banned_words": ["darn"]},
        }
    ]

    def test_censor_resource(self) -> None:
        """Its own censoring service masks banned words."""
        channel = self.make_request(
            "POST", "/_synapse/client/event_censorer/censor", {"content": {"body": "oh darn it"}}
        )
        self.assertEqual((channel.code, channel.json_body), (200, {"body": "oh **** it"}))

    def test_check_event_allowed_posts_and_replaces(self) -> None:
        """check_event_allowed posts the event to the endpoint and returns its content as the replacement."""
        self.http_stub.respond("POST", "http://censor.example/censor", json={"body": "clean"})
        event = make_event(content={"msgtype": "m.text", "body": "dirty"})
        allowed, replacement = self.get_success(self.callbacks.third_party_rules.check_event_allowed(event, {}))
        self.assertTrue(allowed)
        self.assertEqual(replacement["content"], {"body": "clean"})
        sent = self.http_stub.assert_requested("POST", "http://censor.example/censor")
        self.assertEqual(sent.json["content"]["body"], "dirty")

    def test_other_events_untouched(self) -> None:
        """Non-message events are allowed without a call out."""
        event = make_event("m.room.topic", state_key="", content={"topic": "t"})
        self.assertEqual(self.get_success(self.callbacks.third_party_rules.check_event_allowed(event, {})), (True, None))
        self.assertEqual(self.http_stub.requests, [])


class SayHelloTests(ModuleHostTestCase):
    """sample_modules.say_hello"""

    modules = [{"module": "sample_modules.say_hello.SayHello", "config": {"default_name": "world"}}]

    def test_greets(self) -> None:
        """?name= is greeted; without it the default name is."""
        self.assertEqual(
            self.make_request("GET", "/_synapse/client/my_super_module/say_hello?name=Ada").json_body,
            {"hello": "Ada"},
        )
        self.assertEqual(
            self.make_request("GET", "/_synapse/client/my_super_module/say_hello").json_body, {"hello": "world"}
        )

    def test_post_not_allowed(self) -> None:
        """A plain Resource without render_POST answers 405, as Twisted does on Synapse."""
        self.assertEqual(self.make_request("POST", "/_synapse/client/my_super_module/say_hello", b"").code, 405)


class MediaLimitsTests(ModuleHostTestCase):
    """sample_modules.media_limits"""

    modules = [
        {
            "module": "sample_modules.media_limits.MediaLimits",
            "config": {
                "small_uploaders": ["@guest:test.local"],
                "small_size": 100,
                "daily_quota": 1000,
                "upgrade_uri": "https://example.com/upgrade",
            },
        }
    ]

    def test_callbacks(self) -> None:
        """Small uploaders get a small config and size cap; everyone gets the daily quota."""
        media = self.callbacks.media_repository
        self.assertEqual(self.get_success(media.get_media_config_for_user("@guest:test.local")), {"m.upload.size": 100})
        self.assertIsNone(self.get_success(media.get_media_config_for_user("@bob:test.local")))
        self.assertFalse(self.get_success(media.is_user_allowed_to_upload_media_of_size("@guest:test.local", 101)))
        self.assertTrue(self.get_success(media.is_user_allowed_to_upload_media_of_size("@bob:test.local", 10**6)))
        limits = self.get_success(media.get_media_upload_limits_for_user("@bob:test.local"))
        self.assertEqual(
            limits, [MediaUploadLimit(1000, 86_400_000, "https://example.com/upgrade", True)]
        )

    def test_exceeded_resource(self) -> None:
        """on_media_upload_limit_exceeded is recorded and listed by the resource."""
        limit = MediaUploadLimit(1000, 86_400_000)
        self.get_success(
            self.callbacks.media_repository.on_media_upload_limit_exceeded("@bob:test.local", limit, 900, 200)
        )
        channel = self.make_request("GET", "/_synapse/client/media_limits/exceeded")
        self.assertEqual(channel.code, 200)
        self.assertEqual(
            channel.json_body["exceeded"],
            [{"user_id": "@bob:test.local", "max_bytes": 1000, "sent_bytes": 900, "attempted_bytes": 200}],
        )

    @override_config({"modules": [{"module": "sample_modules.media_limits.MediaLimits", "config": {}}]})
    def test_no_quota_defers_to_server(self) -> None:
        """Without daily_quota the module leaves limits to the server's config."""
        self.assertIsNone(self.get_success(self.callbacks.media_repository.get_media_upload_limits_for_user("@b:test.local")))


class AccountValidityTests(ModuleHostTestCase):
    """sample_modules.account_validity"""

    modules = [
        {
            "module": "sample_modules.account_validity.AccountValidity",
            "config": {"period": "1h", "expired_users": ["@old:test.local"]},
        }
    ]

    def test_expiry_after_period(self) -> None:
        """A user registered now expires an hour later on the clock."""
        validity = self.callbacks.account_validity
        self.get_success(validity.on_user_registration("@new:test.local"))
        self.assertFalse(self.get_success(validity.is_user_expired("@new:test.local")))
        self.pump(3601)
        self.assertTrue(self.get_success(validity.is_user_expired("@new:test.local")))

    def test_unknown_user_not_decided(self) -> None:
        """A user the module knows nothing about is left to others (None)."""
        self.assertIsNone(self.get_success(self.callbacks.account_validity.is_user_expired("@x:test.local")))

    def test_status_resource(self) -> None:
        """The status resource reports listed users as expired; a missing user parameter is 400."""
        channel = self.make_request("GET", "/_synapse/client/account_validity/status?user=@old:test.local")
        self.assertEqual(channel.code, 200)
        self.assertTrue(channel.json_body["expired"])
        channel = self.make_request("GET", "/_synapse/client/account_validity/status")
        self.assertEqual(channel.code, 400)
        self.assertEqual(channel.json_body["errcode"], "M_MISSING_PARAM")
