"""A probe module for the account tests (registration, login, profiles, 3PIDs,
deactivation, the user admin API): it records every account callback it sees, in
order, and answers as the test sets on the instance (``self.probe.answers[name]``).

Also :class:`AccountTestCase`, the test case the account tests share.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Dict, List, Optional, Sequence, Tuple

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from synapse_modhost.module_api import ModuleApi
from synapse_modhost.testing import FakeChannel, ModuleHostTestCase
from synapse_modhost.types import NOT_SPAM, ProfileInfo, RegistrationBehaviour

PROBE = "tests.homeserver._users_probe.AccountProbe"
SERVER = "test.local"
UA = "probe-agent/1.0"

#: callbacks that are not interesting in most order checks
QUIET = ("is_user_expired",)


class AccountProbe:
    """Registers the account callbacks; ``answers`` maps a callback name to what it
    returns (a callable is called with the arguments; an exception instance is raised)."""

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        self.api = api
        self.calls: List[Tuple[str, Tuple[Any, ...]]] = []
        self.answers: Dict[str, Any] = {}
        login_types = config.get("login_types", ["org.lab.login"])
        api.register_spam_checker_callbacks(
            check_registration_for_spam=self._cb("check_registration_for_spam",
                                                 RegistrationBehaviour.ALLOW),
            check_login_for_spam=self._cb("check_login_for_spam", NOT_SPAM),
        )  # fmt: skip
        api.register_account_validity_callbacks(
            is_user_expired=self._cb("is_user_expired", None),
            on_user_registration=self._cb("on_user_registration", None),
            on_user_login=self._cb("on_user_login", None),
        )
        api.register_third_party_rules_callbacks(
            check_can_deactivate_user=self._cb("check_can_deactivate_user", True),
            on_profile_update=self._cb("on_profile_update", None),
            on_user_deactivation_status_changed=self._cb(
                "on_user_deactivation_status_changed", None
            ),
            on_threepid_bind=self._cb("on_threepid_bind", None),
            on_add_user_third_party_identifier=self._cb("on_add_user_third_party_identifier", None),
            on_remove_user_third_party_identifier=self._cb(
                "on_remove_user_third_party_identifier", None
            ),
        )
        api.register_password_auth_provider_callbacks(
            auth_checkers={(t, ("secret",)): self.auth_checker for t in login_types},
            check_3pid_auth=self._cb("check_3pid_auth", None),
            on_logged_out=self._cb("on_logged_out", None),
            get_username_for_registration=self._cb("get_username_for_registration", None),
            get_displayname_for_registration=self._cb("get_displayname_for_registration", None),
            is_3pid_allowed=self._cb("is_3pid_allowed", True),
        )
        api.register_web_resource("/_synapse/client/probe/whoami", _WhoAmI(api, self))

    @staticmethod
    def parse_config(config: Dict[str, Any]) -> Dict[str, Any]:
        return config

    def _cb(self, name: str, default: Any) -> Any:
        async def callback(*args: Any) -> Any:
            self.calls.append((name, tuple(_plain(a) for a in args)))
            answer = self.answers.get(name, default)
            if isinstance(answer, BaseException):
                raise answer
            return answer(*args) if callable(answer) else answer

        callback.__name__ = name
        return callback

    async def auth_checker(self, username: str, login_type: str, login_dict: Dict[str, Any]) -> Any:
        self.calls.append(("auth_checker", (username, login_type, dict(login_dict))))
        if login_dict.get("secret") != "open-sesame":
            return None

        async def post_login(response: Dict[str, Any]) -> None:
            self.calls.append(("post_login", (dict(response),)))

        return self.api.get_qualified_user_id(username), post_login


def _plain(value: Any) -> Any:
    if isinstance(value, ProfileInfo):
        return ("ProfileInfo", value.display_name, value.avatar_url)
    if isinstance(value, list):
        return [tuple(v) if isinstance(v, tuple) else v for v in value]
    return value


class _WhoAmI(Resource):
    """``POST`` authenticates with ``ModuleApi.get_user_by_req`` (twice with ``?twice``)."""

    isLeaf = True

    def __init__(self, api: ModuleApi, probe: AccountProbe) -> None:
        super().__init__()
        self.api = api
        self.probe = probe

    def render_POST(self, request: Any) -> Any:
        from twisted.internet import defer

        async def go() -> None:
            try:
                requester = await self.api.get_user_by_req(request)
                if b"twice" in request.args:
                    await self.api.get_user_by_req(request)
                request.setResponseCode(200)
                request.write(requester.user.to_string().encode())
            except BaseException as e:  # report what the module saw
                request.setResponseCode(500)
                request.write(type(e).__name__.encode())
            request.finish()

        defer.ensureDeferred(go())
        return NOT_DONE_YET


class AccountTestCase(ModuleHostTestCase):
    """A host with the probe module loaded, cheap bcrypt and helpers for the account tests."""

    probe_config: Dict[str, Any] = {}
    extra_config: Dict[str, Any] = {}

    def make_config(self) -> Dict[str, Any]:
        config = super().make_config()
        config["bcrypt_rounds"] = 4
        config["modules"] = [{"module": PROBE, "config": dict(self.probe_config)}]
        config.update(self.extra_config)
        return config

    def setUp(self) -> None:
        super().setUp()
        self.hs = self.host.hs
        self.probe: AccountProbe = self.host.modules[0].instance
        self.api: ModuleApi = self.host.modules[0].api

    # ------------------------------------------------------------------ calls

    def calls(self, names: Optional[Sequence[str]] = None) -> List[Tuple[str, Tuple[Any, ...]]]:
        """The callbacks recorded so far (``names`` only, else all but ``QUIET``)."""
        return [
            c for c in self.probe.calls
            if (c[0] in names if names is not None else c[0] not in QUIET)
        ]  # fmt: skip

    def clear(self) -> None:
        self.probe.calls.clear()

    def make_user(self, localpart: str, password: str = "password", admin: bool = False) -> str:
        """Register through the kit (shared-secret API), then forget the calls it caused."""
        user_id = self.register_user(localpart, password, admin=admin)
        self.clear()
        return user_id

    def tokens_of(self, user_id: str) -> List[Tuple[Optional[str], str]]:
        """``(device_id, token)`` of the user's access tokens, oldest first."""
        records = self.get_success(self.hs.user_store.get_access_tokens(user_id))
        return [(r.device_id, r.token) for r in records]

    def names(self) -> List[str]:
        return [c[0] for c in self.calls()]

    # ------------------------------------------------------------------ requests

    def req(
        self, method: str, path: str, content: Any = None, token: Optional[str] = None,
    ) -> FakeChannel:  # fmt: skip
        """A request with a ``User-Agent`` (what request_info callbacks see)."""
        return self.make_request(method, path, content, access_token=token,
                                 headers=[("User-Agent", UA)])  # fmt: skip

    def assert_error(self, channel: FakeChannel, code: int, errcode: str, error: str) -> None:
        """``channel`` answered ``code`` with exactly this errcode and text."""
        self.assertEqual(channel.code, code, channel.json_body)
        self.assertEqual(channel.json_body["errcode"], errcode)
        self.assertEqual(channel.json_body["error"], error)

    def password_login(
        self, localpart: str, password: str = "password", **extra: Any
    ) -> FakeChannel:
        body = {"type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart}, "password": password}  # fmt: skip
        body.update(extra)
        return self.req("POST", "/_matrix/client/v3/login", body)

    def uia_password(self, localpart: str, password: str = "password") -> Dict[str, Any]:
        return {"type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart}, "password": password}  # fmt: skip

    def shared_secret_body(
        self, username: str, password: str = "pw", admin: bool = False,
        user_type: Optional[str] = None, **extra: Any,
    ) -> Dict[str, Any]:  # fmt: skip
        """A valid ``POST /_synapse/admin/v1/register`` body with a fresh nonce."""
        nonce = self.req("GET", "/_synapse/admin/v1/register").json_body["nonce"]
        parts = [nonce, username, password, "admin" if admin else "notadmin"]
        if user_type:
            parts.append(user_type)
        mac = hmac.new(b"test-shared-secret", "\x00".join(parts).encode(), hashlib.sha1)
        body = {"nonce": nonce, "username": username, "password": password, "admin": admin,
                "mac": mac.hexdigest()}  # fmt: skip
        if user_type:
            body["user_type"] = user_type
        body.update(extra)
        return body


class FakeMembership:
    """Stands in for the rooms helper's membership handler: records the calls."""

    def __init__(self, record: List[Tuple[str, Tuple[Any, ...]]]) -> None:
        self.record = record

    async def update_profile_in_joined_rooms(self, requester: Any, user_id: str) -> None:
        self.record.append(
            ("update_profile_in_joined_rooms", (requester.user.to_string(), user_id))
        )

    async def leave_all_rooms(self, user_id: str) -> None:
        self.record.append(("leave_all_rooms", (user_id,)))
