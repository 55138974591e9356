"""Value types, codes and errors modules use (MODULEAPI.md §4.2–4.4); values as observed on
Synapse 1.163.2."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost._codes import Codes
from synapse_modhost.errors import (
    CodeMessageException,
    HttpResponseException,
    InvalidClientCredentialsError,
    LimitExceededError,
    NotFoundError,
    SynapseError,
)
from synapse_modhost.types import (
    NOT_SPAM,
    PRESENCE_ALL_USERS,
    Absent,
    MediaUploadLimit,
    ProfileInfo,
    RegistrationBehaviour,
    RoomAlias,
    RoomID,
    UserID,
    create_requester,
)


class UserIDTests(SynchronousTestCase):
    """``UserID`` / ``RoomAlias`` (DomainSpecificString)."""

    def test_parse(self) -> None:
        """from_string splits at the first ``:``; to_string/str/repr round-trip."""
        u = UserID.from_string("@alice:test.local:8448")
        self.assertEqual((u.localpart, u.domain), ("alice", "test.local:8448"))
        self.assertEqual(u.to_string(), "@alice:test.local:8448")
        self.assertEqual(str(u), "@alice:test.local:8448")
        self.assertEqual(repr(u), "@alice:test.local:8448")

    def test_wrong_sigil(self) -> None:
        """A missing sigil is 400 M_INVALID_PARAM "Expected UserID string to start with '@'"."""
        for s in ("alice:test", ""):
            with self.assertRaises(SynapseError) as cm:
                UserID.from_string(s)
            self.assertEqual(cm.exception.code, 400)
            self.assertEqual(cm.exception.msg, "Expected UserID string to start with '@'")
            self.assertEqual(cm.exception.errcode, Codes.INVALID_PARAM)

    def test_missing_domain(self) -> None:
        """No ``:`` is "Expected UserID of the form '@localname:domain'"."""
        with self.assertRaises(SynapseError) as cm:
            UserID.from_string("@alice")
        self.assertEqual(cm.exception.msg, "Expected UserID of the form '@localname:domain'")

    def test_value_semantics(self) -> None:
        """Equal by value, hashable, frozen, copies are the same object."""
        a, b = UserID("a", "t"), UserID.from_string("@a:t")
        self.assertEqual(a, b)
        self.assertEqual(len({a, b}), 1)
        self.assertIs(copy.deepcopy(a), a)
        with self.assertRaises(AttributeError):
            a.localpart = "x"  # type: ignore[misc]

    def test_is_valid(self) -> None:
        """is_valid also checks the server name; an empty localpart is accepted."""
        self.assertTrue(UserID.is_valid("@a:test"))
        self.assertTrue(UserID.is_valid("@:test"))
        self.assertTrue(UserID.is_valid("@a:[::1]:8"))
        self.assertFalse(UserID.is_valid("@a:te st"))
        self.assertFalse(UserID.is_valid("@a:exa_mple.com"))
        self.assertFalse(UserID.is_valid("@a:"))
        self.assertFalse(UserID.is_valid("a:test"))

    def test_is_valid_strict(self) -> None:
        """is_valid_strict rejects an empty or non-ASCII localpart."""
        self.assertTrue(UserID.is_valid_strict("@alice:test"))
        self.assertFalse(UserID.is_valid_strict("@:test"))
        self.assertFalse(UserID.is_valid_strict("@\u00e9:test"))

    def test_room_alias(self) -> None:
        """RoomAlias parses ``#local:domain`` with its own sigil in errors."""
        a = RoomAlias.from_string("#r1:test.local")
        self.assertEqual((a.localpart, a.domain, str(a)), ("r1", "test.local", "#r1:test.local"))
        with self.assertRaises(SynapseError) as cm:
            RoomAlias.from_string("!r1:test")
        self.assertEqual(cm.exception.msg, "Expected RoomAlias string to start with '#'")


class RoomIDTests(SynchronousTestCase):
    """``RoomID``: ``!local:domain`` or a room-v12 hash."""

    def test_with_domain(self) -> None:
        """``!local:domain`` keeps the string and exposes the domain."""
        r = RoomID.from_string("!abc:test.local")
        self.assertEqual(
            (r.to_string(), r.get_domain(), repr(r)),
            ("!abc:test.local", "test.local", "!abc:test.local"),
        )

    def test_domainless(self) -> None:
        """43 URL-safe base64 characters form a domainless (v12) room ID."""
        s = "!" + "A" * 43
        r = RoomID.from_string(s)
        self.assertIsNone(r.get_domain())
        self.assertEqual(r.to_string(), s)
        self.assertTrue(RoomID.is_valid(s))

    def test_invalid(self) -> None:
        """Bad sigil and bad hash forms are 400 M_INVALID_PARAM with Synapse's messages."""
        with self.assertRaises(SynapseError) as cm:
            RoomID.from_string("x")
        self.assertEqual(cm.exception.msg, "Expected RoomID string to start with '!'")
        with self.assertRaises(SynapseError) as cm:
            RoomID.from_string("!abc")
        self.assertEqual(
            cm.exception.msg, "Expected RoomID string to be valid urlsafe unpadded base64 'abc'"
        )
        self.assertFalse(RoomID.is_valid("!abc"))
        self.assertFalse(RoomID.is_valid(""))


class RequesterTests(SynchronousTestCase):
    """``Requester`` and ``create_requester``."""

    def test_defaults(self) -> None:
        """create_requester defaults: authenticated_entity is the user id, nothing else set."""
        r = create_requester("@a:b")
        self.assertEqual(r.user, UserID("a", "b"))
        self.assertEqual(r.user_id, "@a:b")
        self.assertEqual(r.authenticated_entity, "@a:b")
        self.assertEqual(
            (
                r.access_token_id,
                r.is_guest,
                set(r.scope),
                r.shadow_banned,
                r.device_id,
                r.app_service_id,
            ),
            (None, False, set(), False, None, None),
        )

    def test_repr(self) -> None:
        """repr is the Rust format with Some(...)/None and lower-case booleans."""
        r = create_requester("@alice:test.local", access_token_id=2, device_id="BQIMMKEKEP")
        self.assertEqual(
            repr(r),
            "Requester(user_id=@alice:test.local, access_token_id=Some(2), is_guest=false, "
            'scope={}, shadow_banned=false, device_id=Some("BQIMMKEKEP"), app_service_id=None, '
            "authenticated_entity=@alice:test.local)",
        )

    def test_read_only(self) -> None:
        """Requester attributes cannot be assigned."""
        r = create_requester("@a:b")
        with self.assertRaises(AttributeError):
            r.user_id = "@c:d"  # type: ignore[misc]

    def test_serialize(self) -> None:
        """serialize() gives Synapse's keys (including the historical ``app_server_id``)."""
        d = create_requester("@a:b", access_token_id=1, scope=["x"]).serialize()
        self.assertEqual(
            d,
            {"user_id": "@a:b", "access_token_id": 1, "is_guest": False, "scope": ["x"],
             "shadow_banned": False, "device_id": None, "app_server_id": None,
             "authenticated_entity": "@a:b"},
        )  # fmt: skip


class ValueTypeTests(SynchronousTestCase):
    """Other shapes from §4.2."""

    def test_constants(self) -> None:
        """NOT_SPAM and PRESENCE_ALL_USERS have Synapse's values; Absent is falsy."""
        self.assertEqual((NOT_SPAM, PRESENCE_ALL_USERS), ("NOT_SPAM", "ALL"))
        self.assertFalse(Absent)

    def test_profile_info_repr(self) -> None:
        """ProfileInfo's repr matches Synapse's."""
        self.assertEqual(
            repr(ProfileInfo(None, "Alice!")), "ProfileInfo(avatar_url=None, display_name='Alice!')"
        )

    def test_media_upload_limit(self) -> None:
        """MediaUploadLimit defaults info_uri None and can_upgrade False."""
        m = MediaUploadLimit(2048, 3600000)
        self.assertEqual(
            repr(m),
            "MediaUploadLimit(max_bytes=2048, time_period_ms=3600000, info_uri=None, can_upgrade=False)",
        )

    def test_registration_behaviour(self) -> None:
        """RegistrationBehaviour values."""
        self.assertEqual(RegistrationBehaviour("shadow_ban"), RegistrationBehaviour.SHADOW_BAN)
        self.assertEqual([m.value for m in RegistrationBehaviour], ["allow", "shadow_ban", "deny"])


class CodesTests(SynchronousTestCase):
    """``Codes`` (§4.3)."""

    def test_count(self) -> None:
        """There are 76 members."""
        self.assertEqual(len(Codes), 76)

    def test_regular_names(self) -> None:
        """Regular members are named after their value minus ``M_``."""
        self.assertEqual(Codes.FORBIDDEN.value, "M_FORBIDDEN")
        self.assertEqual(Codes.UNABLE_TO_GRANT_JOIN.value, "M_UNABLE_TO_GRANT_JOIN")

    def test_irregular_names(self) -> None:
        """The irregular names have Synapse's values."""
        expected = {
            "EXPIRED_ACCOUNT": "ORG_MATRIX_EXPIRED_ACCOUNT",
            "USER_ACCOUNT_SUSPENDED": "M_USER_SUSPENDED",
            "UNABLE_AUTHORISE_JOIN": "M_UNABLE_TO_AUTHORISE_JOIN",
            "ALREADY_JOINED": "ORG.MATRIX.MSC3848.ALREADY_JOINED",
            "UNREDACTED_CONTENT_DELETED": "FI.MAU.MSC2815_UNREDACTED_CONTENT_DELETED",
            "UNABLE_DUE_TO_PARTIAL_STATE": "ORG.MATRIX.MSC3895_UNABLE_DUE_TO_PARTIAL_STATE",
            "USER_AWAITING_APPROVAL": "ORG.MATRIX.MSC3866_USER_AWAITING_APPROVAL",
            "AS_PING_URL_NOT_SET": "M_URL_NOT_SET",
            "AS_FEDPROXY_DESTINATION_DENIED": "IO.ELEMENT.MSC4512.M_FEDPROXY_DESTINATION_DENIED",
            "DELAY_TOO_LARGE": "ORG.MATRIX.MSC4140_DELAY_TOO_LARGE",
            "MSC4306_NOT_IN_THREAD": "IO.ELEMENT.MSC4306.M_NOT_IN_THREAD",
        }
        self.assertEqual({n: Codes[n].value for n in expected}, expected)

    def test_json_and_str(self) -> None:
        """json.dumps gives the value; str() gives ``Codes.NAME`` (Python 3.11)."""
        self.assertEqual(json.dumps({"e": Codes.FORBIDDEN}), '{"e": "M_FORBIDDEN"}')
        self.assertEqual(str(Codes.FORBIDDEN), "Codes.FORBIDDEN")
        self.assertEqual(Codes.FORBIDDEN, "M_FORBIDDEN")


class ErrorTests(SynchronousTestCase):
    """Exceptions (§4.4)."""

    def test_code_message_exception(self) -> None:
        """``str(e)`` is ``"<code>: <msg>"``; headers default to None."""
        e = CodeMessageException(418, "tea")
        self.assertEqual((str(e), e.code, e.msg, e.headers), ("418: tea", 418, "tea", None))

    def test_synapse_error_dict(self) -> None:
        """error_dict has error, errcode and the additional fields."""
        e = SynapseError(400, "bad", Codes.INVALID_PARAM, {"x": 1})
        self.assertEqual(e.error_dict(None), {"error": "bad", "errcode": "M_INVALID_PARAM", "x": 1})
        self.assertEqual(str(e), "400: bad")
        self.assertEqual(SynapseError(400, "m").error_dict(None)["errcode"], "M_UNKNOWN")

    def test_invalid_client_credentials(self) -> None:
        """InvalidClientCredentialsError is a 401 with the given errcode."""
        e = InvalidClientCredentialsError("m", "M_X")
        self.assertEqual((e.code, e.error_dict(None)), (401, {"error": "m", "errcode": "M_X"}))

    def test_not_found(self) -> None:
        """NotFoundError is 404 M_NOT_FOUND "Not found"."""
        e = NotFoundError()
        self.assertEqual(
            (e.code, e.error_dict(None)), (404, {"error": "Not found", "errcode": "M_NOT_FOUND"})
        )

    def test_limit_exceeded(self) -> None:
        """429 "Too Many Requests", retry_after_ms in the body, Retry-After rounded up."""
        e = LimitExceededError("limiter", retry_after_ms=1500)
        self.assertEqual((e.code, e.msg), (429, "Too Many Requests"))
        self.assertEqual(e.headers, {"Retry-After": "2"})
        self.assertEqual(
            e.error_dict(None),
            {"error": "Too Many Requests", "errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500},
        )
        self.assertIsNone(LimitExceededError("limiter").headers)

    def test_http_response_exception(self) -> None:
        """HttpResponseException is not a SynapseError; to_synapse_error proxies the remote."""
        e = HttpResponseException(
            401, "Unauthorized", b'{"errcode":"M_UNKNOWN_TOKEN","error":"bad","extra":1}'
        )
        self.assertNotIsInstance(e, SynapseError)
        self.assertEqual(str(e), "401: Unauthorized")
        s = e.to_synapse_error()
        self.assertEqual(s.code, 400)
        self.assertEqual(s.error_dict(None), {"error": "bad", "errcode": "M_UNKNOWN", "extra": 1})

    def test_http_response_exception_not_json(self) -> None:
        """A non-JSON body keeps the code and uses the reason phrase and M_UNKNOWN."""
        s = HttpResponseException(502, "Bad Gateway", b"not json").to_synapse_error()
        self.assertEqual(
            (s.code, s.error_dict(None)), (502, {"error": "Bad Gateway", "errcode": "M_UNKNOWN"})
        )
        t = HttpResponseException(403, "Forbidden", b'{"errcode":"M_FORBIDDEN"}').to_synapse_error()
        self.assertEqual(t.error_dict(None), {"error": "Forbidden", "errcode": "M_FORBIDDEN"})


class LazyValueTypesTests(SynchronousTestCase):
    """``synapse_modhost.types`` builds its attrs classes on first use of their names."""

    def test_every_exported_name_resolves(self) -> None:
        """Each name in ``__all__`` resolves, is listed by dir(), and is what its submodule defines."""
        import importlib

        import synapse_modhost.types as types_module

        for name in types_module.__all__:
            self.assertIn(name, dir(types_module))
            value = getattr(types_module, name)
            submodule = types_module._LAZY.get(name)
            if submodule is not None:
                defining = importlib.import_module("synapse_modhost.types." + submodule)
                self.assertIs(value, getattr(defining, name))

    def test_unknown_name_is_an_attribute_error(self) -> None:
        """An unknown name raises AttributeError naming the module and the name."""
        import synapse_modhost.types as types_module

        with self.assertRaises(AttributeError) as caught:
            types_module.NoSuchType  # noqa: B018
        self.assertIn("'synapse_modhost.types' has no attribute 'NoSuchType'", str(caught.exception))

    def test_host_start_builds_no_value_type(self) -> None:
        """Starting a host whose module imports NOT_SPAM and ModuleApi builds none of the attrs types."""
        code = """
import sys
from twisted.internet.testing import MemoryReactorClock
from synapse_modhost import build_host
reactor = MemoryReactorClock()
host = build_host({
    "server_name": "test.local",
    "database": {"name": "sqlite3", "args": {"database": ":memory:"}},
    "modules": [{"module": "sample_modules.list_spam_checker.ListSpamChecker",
                 "config": {"evil_users": ["@mallory:test.local"]}}],
}, reactor, database_threaded=False)
started = host.start(listen=False)
assert started.called, "the in-memory start did not finish"
print(sorted(m for m in sys.modules if m.startswith("synapse_modhost.types.")))
"""
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=root)
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "[]")
