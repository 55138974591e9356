"""Legacy loaders: constructors per kind, which methods are registered, and their wrappers."""

from __future__ import annotations

import inspect
from typing import Any, Dict, List

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.callbacks._dispatch import Dispatcher
from synapse_modhost.callbacks.legacy import (
    LEGACY_PASSWORD_PROVIDER,
    LEGACY_PRESENCE_ROUTER,
    LEGACY_SPAM_CHECKER,
    LEGACY_THIRD_PARTY_EVENT_RULES,
    construct_legacy,
    load_legacy,
    load_legacy_password_auth_provider,
    load_legacy_presence_router,
    load_legacy_spam_checker,
    load_legacy_third_party_event_rules,
)
from synapse_modhost.callbacks.password_auth_provider import PasswordAuthProviderCallbacks
from synapse_modhost.callbacks.presence_router import PresenceRouterCallbacks
from synapse_modhost.config._errors import ConfigError
from synapse_modhost.errors import SynapseError
from tests.callbacks._support import ALL_LOGS


class Recorder:
    """Stands in for a category whose combination rules are tested elsewhere."""

    def __init__(self) -> None:
        self.calls: List[Any] = []

    def register_callbacks(self, module: str, **kwargs: Any) -> None:
        self.calls.append((module, kwargs))

    def hooks(self) -> Dict[str, Any]:
        """The non-None callbacks of the single registration."""
        assert len(self.calls) == 1
        return {k: v for k, v in self.calls[0][1].items() if v is not None}


class FakeCallbacks:
    def __init__(self, auth_delegation_enabled: bool = False) -> None:
        d = Dispatcher(MemoryReactorClock())
        self.spam_checker = Recorder()
        self.third_party_rules = Recorder()
        self.presence_router = PresenceRouterCallbacks(d)
        self.password_auth_provider = PasswordAuthProviderCallbacks(
            d, auth_delegation_enabled=auth_delegation_enabled
        )


class FakeApi:
    server_name = "test"

    def get_qualified_user_id(self, username: str) -> str:
        return username if username.startswith("@") else f"@{username}:test"


def run(test: SynchronousTestCase, f: Any, *args: Any) -> Any:
    """Call a registered wrapper the way the dispatcher does and return its result."""
    res = f(*args)
    test.assertTrue(inspect.isawaitable(res))

    async def await_it() -> Any:
        return await res

    return test.successResultOf(defer.ensureDeferred(await_it()))


def fail(test: SynchronousTestCase, f: Any, *args: Any) -> Any:
    """Call a registered wrapper and return the exception it fails with."""

    async def go() -> Any:
        return await f(*args)

    return test.failureResultOf(defer.ensureDeferred(go())).value


class ConstructLegacyTests(SynchronousTestCase):
    def test_spam_checker_with_api(self) -> None:
        """A spam checker whose constructor takes an ``api`` parameter gets config= and api=."""

        class WithApi:
            def __init__(self, config: Any, api: Any) -> None:
                self.args = (config, api)

        api = FakeApi()
        inst = construct_legacy(WithApi, {"c": 1}, api, LEGACY_SPAM_CHECKER)
        self.assertEqual(inst.args, ({"c": 1}, api))

    def test_spam_checker_without_api(self) -> None:
        """Without an ``api`` parameter (or with a keyword-only one) only config= is passed."""

        class NoApi:
            def __init__(self, config: Any) -> None:
                self.config = config

        class KwOnlyApi:
            def __init__(self, config: Any, *, api: Any = "not given") -> None:
                self.api = api

        self.assertEqual(
            construct_legacy(NoApi, {"c": 2}, FakeApi(), LEGACY_SPAM_CHECKER).config, {"c": 2}
        )
        self.assertEqual(
            construct_legacy(KwOnlyApi, {}, FakeApi(), LEGACY_SPAM_CHECKER).api, "not given"
        )

    def test_rules_and_router_get_module_api(self) -> None:
        """Third-party rules and presence routers are built with config= and module_api=."""

        class Mod:
            def __init__(self, config: Any, module_api: Any) -> None:
                self.args = (config, module_api)

        api = FakeApi()
        for kind in (LEGACY_THIRD_PARTY_EVENT_RULES, LEGACY_PRESENCE_ROUTER):
            self.assertEqual(construct_legacy(Mod, {"k": kind}, api, kind).args, ({"k": kind}, api))

    def test_password_provider_gets_account_handler(self) -> None:
        """Password providers are built with config= and account_handler=."""

        class Provider:
            def __init__(self, config: Any, account_handler: Any) -> None:
                self.args = (config, account_handler)

        api = FakeApi()
        self.assertEqual(
            construct_legacy(Provider, {}, api, LEGACY_PASSWORD_PROVIDER).args, ({}, api)
        )

    def test_password_provider_ctor_error_logged_and_raised(self) -> None:
        """A password provider constructor error is logged and re-raised."""

        class Broken:
            def __init__(self, config: Any, account_handler: Any) -> None:
                raise ValueError("bad provider")

        with self.assertLogs("synapse_modhost.callbacks.legacy", "ERROR") as logs:
            self.assertRaises(
                ValueError, construct_legacy, Broken, {}, FakeApi(), LEGACY_PASSWORD_PROVIDER
            )
        self.assertIn("Error while initializing", logs.output[0])
        self.assertIn("bad provider", logs.output[0])

    def test_unknown_kind(self) -> None:
        """An unknown kind is a ValueError."""
        self.assertRaises(ValueError, construct_legacy, object, {}, FakeApi(), "nope")


class LegacySpamCheckerTests(SynchronousTestCase):
    def test_only_known_methods_registered(self) -> None:
        """Only Synapse's legacy spam-checker method names are registered, under the module name."""

        class Checker:
            def check_event_for_spam(self, event: Any) -> bool:
                return False

            def user_may_join_room(self, user_id: str, room_id: str, is_invited: bool) -> bool:
                return True

            def check_login_for_spam(self, *args: Any) -> str:
                return "NOT_SPAM"

        cbs = FakeCallbacks()
        load_legacy_spam_checker(cbs, "legacy:Checker", Checker())  # type: ignore[arg-type]
        self.assertEqual(cbs.spam_checker.calls[0][0], "legacy:Checker")
        self.assertEqual(list(cbs.spam_checker.hooks()), ["check_event_for_spam"])
        self.assertIn("user_may_publish_room", cbs.spam_checker.calls[0][1])

    def test_sync_and_async_methods_awaitable(self) -> None:
        """Synchronous methods are wrapped so their plain result can be awaited; async ones too."""

        class Checker:
            def user_may_invite(self, inviter: str, invitee: str, room_id: str) -> bool:
                return inviter == "@ok:test"

            async def user_may_publish_room(self, user_id: str, room_id: str) -> bool:
                return False

        cbs = FakeCallbacks()
        load_legacy_spam_checker(cbs, "m", Checker())  # type: ignore[arg-type]
        hooks = cbs.spam_checker.hooks()
        self.assertIs(run(self, hooks["user_may_invite"], "@ok:test", "@b:test", "!r:test"), True)
        self.assertIs(run(self, hooks["user_may_publish_room"], "@a:test", "!r:test"), False)

    def test_wrapper_keeps_signature(self) -> None:
        """The wrapper shows the method's own parameters (one-parameter user_may_create_room)."""

        class Checker:
            def user_may_create_room(self, user_id: str) -> bool:
                return True

            def check_username_for_spam(self, user_profile: Dict[str, Any]) -> bool:
                return False

        cbs = FakeCallbacks()
        load_legacy_spam_checker(cbs, "m", Checker())  # type: ignore[arg-type]
        hooks = cbs.spam_checker.hooks()
        self.assertEqual(
            list(inspect.signature(hooks["user_may_create_room"]).parameters), ["user_id"]
        )
        self.assertEqual(len(inspect.signature(hooks["check_username_for_spam"]).parameters), 1)

    def test_three_argument_registration_check(self) -> None:
        """A 3-parameter check_registration_for_spam is called without auth_provider_id."""
        seen: List[Any] = []

        class Checker:
            def check_registration_for_spam(
                self, email_threepid: Dict[str, Any] | None, username: str, request_info: Any
            ) -> str:
                seen.append((email_threepid, username, request_info))
                return "ALLOW"

        cbs = FakeCallbacks()
        load_legacy_spam_checker(cbs, "m", Checker())  # type: ignore[arg-type]
        res = run(
            self,
            cbs.spam_checker.hooks()["check_registration_for_spam"],
            None,
            "bob",
            [("ua", "ip")],
            "oidc",
        )
        self.assertEqual(res, "ALLOW")
        self.assertEqual(seen, [(None, "bob", [("ua", "ip")])])

    def test_bad_registration_signature(self) -> None:
        """A check_registration_for_spam with neither 3 nor 4 parameters is refused."""

        class Checker:
            def check_registration_for_spam(self, username: str) -> str:
                return "ALLOW"

        with self.assertRaises(RuntimeError) as cm:
            load_legacy_spam_checker(FakeCallbacks(), "m", Checker())  # type: ignore[arg-type]
        self.assertEqual(
            str(cm.exception), "Bad signature for callback check_registration_for_spam"
        )

    def test_load_legacy_constructs_and_registers(self) -> None:
        """load_legacy builds the object for its kind, registers its methods, and returns it."""

        class Checker:
            def __init__(self, config: Any, api: Any) -> None:
                self.config = config

            def user_may_invite(self, *args: Any) -> bool:
                return True

        cbs = FakeCallbacks()
        inst = load_legacy(cbs, "legacy:x", Checker, {"a": 1}, FakeApi(), LEGACY_SPAM_CHECKER)  # type: ignore[arg-type]
        self.assertEqual(inst.config, {"a": 1})
        self.assertEqual(list(cbs.spam_checker.hooks()), ["user_may_invite"])


class LegacyThirdPartyRulesTests(SynchronousTestCase):
    def load(self, instance: Any) -> Dict[str, Any]:
        cbs = FakeCallbacks()
        load_legacy_third_party_event_rules(cbs, "m", instance)  # type: ignore[arg-type]
        return cbs.third_party_rules.hooks()

    def test_only_four_methods(self) -> None:
        """Only the four legacy rule names are registered (not on_new_event)."""

        class Rules:
            def check_threepid_can_be_invited(self, *a: Any) -> bool:
                return True

            async def on_new_event(self, *a: Any) -> None:
                return None

        self.assertEqual(list(self.load(Rules())), ["check_threepid_can_be_invited"])

    def test_check_event_allowed_shapes(self) -> None:
        """A dict result becomes (True, dict); a bool result becomes (bool, None)."""
        results: List[Any] = [{"type": "x"}, False, True]

        class Rules:
            async def check_event_allowed(self, event: Any, state: Any) -> Any:
                return results.pop(0)

        f = self.load(Rules())["check_event_allowed"]
        self.assertEqual(run(self, f, "ev", {}), (True, {"type": "x"}))
        self.assertEqual(run(self, f, "ev", {}), (False, None))
        self.assertEqual(run(self, f, "ev", {}), (True, None))

    def test_sync_check_event_allowed_fails(self) -> None:
        """A synchronous check_event_allowed fails with TypeError (Synapse awaits it directly)."""

        class Rules:
            def check_event_allowed(self, event: Any, state: Any) -> bool:
                return True

        err = fail(self, self.load(Rules())["check_event_allowed"], "ev", {})
        self.assertIsInstance(err, TypeError)
        self.assertEqual(str(err), "object bool can't be used in 'await' expression")

    def test_on_create_room_false_is_403(self) -> None:
        """on_create_room returning False raises SynapseError(403, ...); other values pass."""
        results: List[Any] = [False, None, True]

        class Rules:
            def on_create_room(self, requester: Any, config: Any, is_admin: bool) -> Any:
                return defer.succeed(results.pop(0))

        f = self.load(Rules())["on_create_room"]
        err = fail(self, f, "req", {}, False)
        self.assertIsInstance(err, SynapseError)
        self.assertEqual(
            (err.code, err.msg), (403, "Room creation forbidden with these parameters")
        )
        self.assertIsNone(run(self, f, "req", {}, False))
        self.assertIsNone(run(self, f, "req", {}, False))

    def test_sync_on_create_room_fails(self) -> None:
        """A synchronous on_create_room fails with TypeError rather than being accepted."""

        class Rules:
            def on_create_room(self, requester: Any, config: Any, is_admin: bool) -> bool:
                return False

        self.assertIsInstance(
            fail(self, self.load(Rules())["on_create_room"], "r", {}, False), TypeError
        )

    def test_plain_methods_may_be_sync(self) -> None:
        """check_visibility_can_be_modified may be synchronous."""

        class Rules:
            def check_visibility_can_be_modified(self, room_id: str, state: Any, vis: str) -> bool:
                return vis == "private"

        f = self.load(Rules())["check_visibility_can_be_modified"]
        self.assertIs(run(self, f, "!r:test", {}, "public"), False)


class LegacyPresenceRouterTests(SynchronousTestCase):
    def test_sync_methods_work_end_to_end(self) -> None:
        """A legacy router's synchronous methods are registered and answer through the registry."""

        class Router:
            def get_users_for_states(self, updates: Any) -> Dict[str, Any]:
                return {}

            def get_interested_users(self, user_id: str) -> Any:
                return {"@friend:test"}

        cbs = FakeCallbacks()
        load_legacy_presence_router(cbs, "legacy:Router", Router())  # type: ignore[arg-type]
        res = self.successResultOf(
            defer.ensureDeferred(cbs.presence_router.get_interested_users("@a:test"))
        )
        self.assertEqual(res, {"@friend:test"})
        self.assertEqual(
            cbs.presence_router.callbacks("get_interested_users")[0].module, "legacy:Router"
        )

    def test_only_one_method_refused(self) -> None:
        """A legacy router with only one of the pair hits the pairing RuntimeError."""

        class Router:
            def get_interested_users(self, user_id: str) -> Any:
                return "ALL"

        self.assertRaises(RuntimeError, load_legacy_presence_router, FakeCallbacks(), "m", Router())


class LegacyPasswordProviderTests(SynchronousTestCase):
    def load(
        self, instance: Any, cbs: FakeCallbacks | None = None
    ) -> PasswordAuthProviderCallbacks:
        cbs = cbs or FakeCallbacks()
        load_legacy_password_auth_provider(cbs, "legacy:P", instance, FakeApi())  # type: ignore[arg-type]
        return cbs.password_auth_provider

    def check(
        self, p: PasswordAuthProviderCallbacks, login_type: str, login_dict: Dict[str, Any]
    ) -> Any:
        return self.successResultOf(
            defer.ensureDeferred(p.check_auth("alice", login_type, login_dict))
        )

    def test_check_password_becomes_password_checker(self) -> None:
        """check_password(qualified user id, password) -> truthy logs in as (user_id, None)."""
        seen: List[Any] = []

        class Provider:
            def check_password(self, user_id: str, password: str) -> Any:
                seen.append((user_id, password))
                return defer.succeed(password == "right")

        p = self.load(Provider())
        self.assertEqual(p.get_supported_login_types(), {"m.login.password": ("password",)})
        self.assertEqual(
            self.check(p, "m.login.password", {"password": "right"}), ("@alice:test", None)
        )
        self.assertIsNone(self.check(p, "m.login.password", {"password": "wrong"}))
        self.assertEqual(seen, [("@alice:test", "right"), ("@alice:test", "wrong")])

    def test_sync_check_password_is_skipped(self) -> None:
        """A synchronous check_password fails with TypeError, so the checker is skipped."""

        class Provider:
            def check_password(self, user_id: str, password: str) -> bool:
                return True

        p = self.load(Provider())
        with self.assertLogs(ALL_LOGS, "WARNING") as logs:
            self.assertIsNone(self.check(p, "m.login.password", {"password": "x"}))
        self.assertTrue(any("bool can't be used in 'await' expression" in x for x in logs.output))

    def test_check_auth_for_supported_types(self) -> None:
        """check_auth is registered for each supported type (fields as tuples); a bare str is (str, None)."""
        seen: List[Any] = []

        class Provider:
            def get_supported_login_types(self) -> Dict[str, List[str]]:
                return {"org.a": ["token"], "org.b": []}

            async def check_auth(
                self, username: str, login_type: str, login_dict: Dict[str, Any]
            ) -> Any:
                seen.append((username, login_type, login_dict))
                return "@bare:test"

        p = self.load(Provider())
        self.assertEqual(p.get_supported_login_types(), {"org.a": ("token",), "org.b": ()})
        self.assertEqual(self.check(p, "org.a", {"token": "t"}), ("@bare:test", None))
        self.assertEqual(seen, [("alice", "org.a", {"token": "t"})])

    def test_types_without_check_auth_not_registered(self) -> None:
        """get_supported_login_types alone registers nothing."""

        class Provider:
            def get_supported_login_types(self) -> Dict[str, List[str]]:
                return {"org.a": ["token"]}

        self.assertEqual(self.load(Provider()).get_supported_login_types(), {})

    def test_check_password_replaces_same_key_check_auth(self) -> None:
        """check_password replaces check_auth for ("m.login.password", ("password",)); order kept."""

        class Provider:
            def get_supported_login_types(self) -> Dict[str, Any]:
                return {"m.login.password": ("password",), "org.x": ()}

            async def check_auth(self, *args: Any) -> Any:
                return "@from_check_auth:test"

            async def check_password(self, user_id: str, password: str) -> bool:
                return True

        p = self.load(Provider())
        self.assertEqual(list(p.get_supported_login_types()), ["m.login.password", "org.x"])
        self.assertEqual(len(p.auth_checkers_for("m.login.password")), 1)
        self.assertEqual(
            self.check(p, "m.login.password", {"password": "x"}), ("@alice:test", None)
        )

    def test_check_3pid_auth_and_on_logged_out(self) -> None:
        """check_3pid_auth's bare str becomes (str, None); a synchronous on_logged_out works."""
        logged_out: List[Any] = []

        class Provider:
            async def check_3pid_auth(self, medium: str, address: str, password: str) -> str:
                return "@three:test"

            def on_logged_out(self, user_id: str, device_id: str | None, access_token: str) -> None:
                logged_out.append((user_id, device_id, access_token))

        p = self.load(Provider())
        res = self.successResultOf(defer.ensureDeferred(p.check_3pid_auth("email", "a@b", "pw")))
        self.assertEqual(res, ("@three:test", None))
        self.successResultOf(defer.ensureDeferred(p.on_logged_out("@a:test", "D", "tok")))
        self.assertEqual(logged_out, [("@a:test", "D", "tok")])

    def test_auth_delegation_refuses_legacy_provider(self) -> None:
        """With OAuth delegation a legacy provider is refused with the same ConfigError."""

        class Provider:
            pass

        self.assertRaises(
            ConfigError, self.load, Provider(), FakeCallbacks(auth_delegation_enabled=True)
        )
