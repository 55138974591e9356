"""Body fields of the wrong JSON type answer 400 (``M_BAD_JSON``, or ``M_INVALID_PARAM``
where that field already uses it) before anything is written, where Synapse answers 500
(docs/compatibility.md); the valid request still succeeds."""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from synapse_modhost.testing import ModuleHostTestCase, override_config
from synapse_modhost.testing._channel import FakeChannel

C = "/_matrix/client/v3"
A = "/_synapse/admin"
EMAIL: Dict[str, Any] = {
    "email": {"notif_from": "Server <noreply@test.local>", "smtp_host": "localhost"}
}
#: values of every JSON type but string / but integer
NOT_STRINGS: List[Any] = [5, 1.5, True, [], {}, ["x"], {"a": 1}]
NOT_INTEGERS: List[Any] = ["s", [], {}, None, [1], {"a": 1}]
#: a few values of other types, for fields checked once per value
OTHER_TYPES: List[Any] = [5, 1.5, True, [], {}]
Case = Tuple[Dict[str, Any], str, str]


class WrongShapeTests(ModuleHostTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.alice = self.register_user("alice")
        self.alice_token = self.login(self.alice, device_id="ALICEDEV")
        self.bob = self.register_user("bob")
        self.bob_token = self.login(self.bob)
        self.admin_token = self.login(self.register_user("root", admin=True))

    # ------------------------------------------------------------------ helpers

    def req(self, method: str, path: str, body: Any = None, token: Optional[str] = None) -> FakeChannel:
        return self.make_request(method, path, body, access_token=token)

    def assert_400(self, channel: FakeChannel, errcode: str, error: str, what: Any = None) -> None:
        self.assertEqual(
            (channel.code, channel.json_body), (400, {"errcode": errcode, "error": error}), what
        )

    def assert_ok(self, channel: FakeChannel) -> Any:
        self.assertEqual(channel.code, 200, channel.json_body)
        return channel.json_body

    def devices(self, token: str) -> List[str]:
        body = self.assert_ok(self.req("GET", C + "/devices", token=token))
        return sorted(d["device_id"] for d in body["devices"])

    def shared_secret_body(self, username: str, **overrides: Any) -> Dict[str, Any]:
        nonce = self.assert_ok(self.req("GET", A + "/v1/register"))["nonce"]
        msg = "\x00".join([nonce, username, "pw", "notadmin"]).encode()
        mac = hmac.new(b"test-shared-secret", msg, hashlib.sha1).hexdigest()
        body = {"nonce": nonce, "username": username, "password": "pw", "mac": mac}
        body.update(overrides)
        return body

    def uia(self, localpart: str, **identifier: Any) -> Dict[str, Any]:
        ident: Dict[str, Any] = {"type": "m.id.user", "user": localpart}
        ident.update(identifier)
        return {"type": "m.login.password", "identifier": ident, "password": "password"}

    # ------------------------------------------------------------------ client API

    @override_config({"room_list_publication_rules": [{"action": "allow"}]})
    def test_public_rooms_post(self) -> None:
        """POST /publicRooms: bad ``limit``/``since`` are 400 M_BAD_JSON; valid bodies list."""
        room = self.create_room(self.alice_token, visibility="public")
        for limit in NOT_INTEGERS:
            channel = self.req("POST", C + "/publicRooms", {"limit": limit}, self.alice_token)
            self.assert_400(channel, "M_BAD_JSON", "Param 'limit' must be an integer", limit)
        for since in NOT_STRINGS:
            channel = self.req("POST", C + "/publicRooms", {"since": since}, self.alice_token)
            self.assert_400(channel, "M_BAD_JSON", "Param 'since' must be a string, if given", since)
        for body in ({}, {"limit": 10}, {"limit": "10"}, {"limit": 1.5}, {"since": None}):
            chunk = self.assert_ok(self.req("POST", C + "/publicRooms", body, self.alice_token))["chunk"]
            self.assertEqual([r["room_id"] for r in chunk], [room], body)

    def test_user_directory_search(self) -> None:
        """POST /user_directory/search: bad ``search_term``/``limit`` are 400; valid finds."""
        room = self.create_room(self.alice_token, preset="public_chat")
        self.join(room, self.bob_token)
        path = C + "/user_directory/search"
        for term in NOT_STRINGS + [None]:
            channel = self.req("POST", path, {"search_term": term}, self.alice_token)
            self.assert_400(channel, "M_BAD_JSON", "`search_term` must be a string", term)
        for limit in NOT_INTEGERS:
            channel = self.req("POST", path, {"search_term": "bob", "limit": limit}, self.alice_token)
            self.assert_400(channel, "M_BAD_JSON", "`limit` must be an integer", limit)
        found = self.assert_ok(self.req("POST", path, {"search_term": "bob", "limit": "5"}, self.alice_token))
        self.assertEqual([r["user_id"] for r in found["results"]], [self.bob])

    def test_login(self) -> None:
        """POST /login: wrong-typed fields are 400s creating no device; a valid login works."""
        path = C + "/login"
        base = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
                "password": "password"}  # fmt: skip
        cases: List[Case] = [
            ({"identifier": 5}, "M_BAD_JSON", "'identifier' must be a JSON object"),
            ({"identifier": True}, "M_BAD_JSON", "'identifier' must be a JSON object"),
            ({"identifier": {"type": "m.id.user", "user": 5}}, "M_BAD_JSON",
             "User identifier 'user' must be a string"),
            ({"identifier": None, "user": 1.5}, "M_BAD_JSON", "User identifier 'user' must be a string"),
            ({"identifier": {"type": "m.id.thirdparty", "medium": [], "address": "a@b.c"}}, "M_BAD_JSON",
             "Thirdparty identifier 'medium' and 'address' must be strings"),
            ({"identifier": {"type": "m.id.thirdparty", "medium": "email", "address": 5}}, "M_BAD_JSON",
             "Thirdparty identifier 'medium' and 'address' must be strings"),
            ({"device_id": []}, "M_INVALID_PARAM", "device_id must be a string."),
            ({"device_id": 5}, "M_INVALID_PARAM", "device_id must be a string."),
            ({"initial_device_display_name": {}}, "M_BAD_JSON",
             "initial_device_display_name must be a string."),
            ({"initial_device_display_name": True}, "M_BAD_JSON",
             "initial_device_display_name must be a string."),
        ]  # fmt: skip
        before = self.devices(self.alice_token)
        for overrides, errcode, error in cases:
            body = dict(base, **overrides)
            if body.get("identifier") is None:
                del body["identifier"]
            self.assert_400(self.req("POST", path, body), errcode, error, overrides)
        for token in OTHER_TYPES[:1] + OTHER_TYPES[3:]:
            channel = self.req("POST", path, {"type": "m.login.token", "token": token})
            self.assert_400(channel, "M_BAD_JSON", "Param 'token' must be a string", token)
        self.assertEqual(self.devices(self.alice_token), before)
        ok = self.assert_ok(self.req("POST", path, dict(base, device_id="NEW", initial_device_display_name="n")))
        self.assertEqual(ok["device_id"], "NEW")
        self.assertEqual(self.devices(self.alice_token), sorted(before + ["NEW"]))

    def test_login_token_kept(self) -> None:
        """m.login.token with a bad device field is a 400 that leaves the token usable."""
        token = self.get_success(self.host.hs.login.create_login_token(self.alice))
        body = {"type": "m.login.token", "token": token}
        for key, errcode in (("device_id", "M_INVALID_PARAM"), ("initial_device_display_name", "M_BAD_JSON")):
            channel = self.req("POST", C + "/login", dict(body, **{key: []}))
            self.assert_400(channel, errcode, "%s must be a string." % key)
        self.assertEqual(self.assert_ok(self.req("POST", C + "/login", body))["user_id"], self.alice)

    def test_uia_identifier(self) -> None:
        """A UIA password stage with a bad identifier/user is 400 M_BAD_JSON, then valid works."""
        path = C + "/account/password"
        for auth, error in (
            (dict(self.uia("alice"), identifier=5), "'identifier' must be a JSON object"),
            (self.uia("alice", user=[1]), "User identifier 'user' must be a string"),
        ):
            channel = self.req("POST", path, {"auth": auth, "new_password": "pw2"}, self.alice_token)
            self.assert_400(channel, "M_BAD_JSON", error, auth)
        self.login(self.alice)  # the old password still works
        body = {"auth": self.uia("alice"), "new_password": "pw2", "logout_devices": False}
        self.assert_ok(self.req("POST", path, body, self.alice_token))
        self.login(self.alice, password="pw2")

    def test_register(self) -> None:
        """POST /register: bad device_id/display name are 400s registering nobody; valid works."""
        path = C + "/register"
        base = {"username": "carol", "password": "pw", "auth": {"type": "m.login.dummy"}}
        cases: List[Case] = [
            ({"device_id": []}, "M_INVALID_PARAM", "device_id must be a string."),
            ({"device_id": 5}, "M_INVALID_PARAM", "device_id must be a string."),
            ({"initial_device_display_name": 5}, "M_BAD_JSON",
             "initial_device_display_name must be a string."),
            ({"initial_device_display_name": {}}, "M_BAD_JSON",
             "initial_device_display_name must be a string."),
        ]  # fmt: skip
        for overrides, errcode, error in cases:
            self.assert_400(self.req("POST", path, dict(base, **overrides)), errcode, error, overrides)
        available = self.req("GET", C + "/register/available?username=carol")
        self.assertEqual((available.code, available.json_body), (200, {"available": True}))
        ok = self.assert_ok(self.req("POST", path, dict(base, device_id="CDEV")))
        self.assertEqual((ok["user_id"], ok["device_id"]), ("@carol:test.local", "CDEV"))

    @override_config({"allow_guest_access": True})
    def test_register_guest(self) -> None:
        """Guest registration: a bad display name is 400 M_BAD_JSON making no guest."""
        path = C + "/register?kind=guest"
        for name in NOT_STRINGS:
            self.assert_400(
                self.req("POST", path, {"initial_device_display_name": name}),
                "M_BAD_JSON", "initial_device_display_name must be a string.", name,
            )  # fmt: skip
        ok = self.assert_ok(self.req("POST", path, {"initial_device_display_name": "g"}))
        # guest ids are numbered from 1: none was made by the refused requests
        self.assertEqual(ok["user_id"], "@1:test.local")

    def test_register_guest_disabled_first(self) -> None:
        """With guest access off a bad guest body still gets the 403, as before."""
        channel = self.req("POST", C + "/register?kind=guest", {"initial_device_display_name": 5})
        self.assertEqual((channel.code, channel.json_body["error"]), (403, "Guest access is disabled"))

    @override_config(EMAIL)
    def test_register_email_request_token(self) -> None:
        """register/email/requestToken: a non-string ``email`` is 400 M_BAD_JSON."""
        path = C + "/register/email/requestToken"
        for email in NOT_STRINGS + [None]:
            body = {"client_secret": "secret", "email": email, "send_attempt": 1}
            self.assert_400(self.req("POST", path, body), "M_BAD_JSON", "Param 'email' must be a string", email)
        body = {"client_secret": "secret", "email": "c@example.com", "send_attempt": 1}
        self.assertIn("sid", self.assert_ok(self.req("POST", path, body)))

    @override_config(EMAIL)
    def test_account_3pid(self) -> None:
        """POST /account/3pid: bad ``three_pid_creds``/``sid`` are 400s binding nothing."""
        started = self.req("POST", C + "/account/3pid/email/requestToken",
                           {"client_secret": "secret", "email": "a@example.com", "send_attempt": 1},
                           self.alice_token)  # fmt: skip
        sid = self.assert_ok(started)["sid"]
        path = C + "/account/3pid"
        for creds in (5, 1.5, True, "s", ["x"]):
            self.assert_400(self.req("POST", path, {"three_pid_creds": creds}, self.alice_token),
                            "M_BAD_JSON", "Param 'three_pid_creds' must be a JSON object", creds)  # fmt: skip
        for bad_sid in NOT_STRINGS:
            body = {"three_pid_creds": {"client_secret": "secret", "sid": bad_sid}}
            self.assert_400(self.req("POST", path, body, self.alice_token), "M_BAD_JSON",
                            "Param 'sid' must be a string", bad_sid)  # fmt: skip
        listed = self.assert_ok(self.req("GET", path, token=self.alice_token))["threepids"]
        self.assertEqual(listed, [])
        body = {"three_pid_creds": {"client_secret": "secret", "sid": sid}}
        self.assert_ok(self.req("POST", path, body, self.alice_token))
        listed = self.assert_ok(self.req("GET", path, token=self.alice_token))["threepids"]
        self.assertEqual([t["address"] for t in listed], ["a@example.com"])

    def test_third_party_invite(self) -> None:
        """A 3PID invite with a non-string field is 400 M_BAD_JSON and sends nothing."""
        room = self.create_room(self.alice_token)
        path = C + "/rooms/%s/invite" % urllib.parse.quote(room)
        base = {"medium": "email", "address": "x@example.com", "id_server": "id.example",
                "id_access_token": "t"}  # fmt: skip
        for key in base:
            for value in OTHER_TYPES:
                channel = self.req("POST", path, dict(base, **{key: value}), self.alice_token)
                self.assert_400(channel, "M_BAD_JSON", "`%s` must be a string" % key, (key, value))
        state_path = C + "/rooms/%s/state" % urllib.parse.quote(room)
        types = [e["type"] for e in self.assert_ok(self.req("GET", state_path, token=self.alice_token))]
        self.assertNotIn("m.room.third_party_invite", types)
        self.assertEqual(self.assert_ok(self.req("POST", path, base, self.alice_token)), {})
        types = [e["type"] for e in self.assert_ok(self.req("GET", state_path, token=self.alice_token))]
        self.assertIn("m.room.third_party_invite", types)

    def test_member_displayname_and_avatar(self) -> None:
        """Membership content with a non-string displayname/avatar_url is a 400."""
        room = self.create_room(self.alice_token, preset="public_chat")
        quoted = urllib.parse.quote(room)
        state_path = C + "/rooms/%s/state/m.room.member/%s" % (quoted, self.alice)
        for key, name in (("displayname", "Displayname"), ("avatar_url", "Avatar URL")):
            for value in OTHER_TYPES:
                channel = self.req("PUT", state_path, {"membership": "join", key: value}, self.alice_token)
                self.assert_400(channel, "M_BAD_JSON", "%s must be a string" % name, (key, value))
                channel = self.req("POST", C + "/join/" + quoted, {key: value}, self.bob_token)
                self.assert_400(channel, "M_BAD_JSON", "%s must be a string" % name, (key, value))
        members = self.assert_ok(self.req("GET", C + "/rooms/%s/joined_members" % quoted, token=self.alice_token))
        self.assertEqual(list(members["joined"]), [self.alice])
        self.assert_ok(self.req("PUT", state_path, {"membership": "join", "displayname": "Al"}, self.alice_token))
        member = self.assert_ok(self.req("GET", state_path, token=self.alice_token))
        self.assertEqual(member["displayname"], "Al")
        self.assert_ok(self.req("POST", C + "/join/" + quoted, {"displayname": "B"}, self.bob_token))

    # ------------------------------------------------------------------ admin API

    def test_admin_register(self) -> None:
        """Admin register: a non-string ``nonce``/``mac`` is 400 registering nobody."""
        for nonce in NOT_STRINGS:
            body = self.shared_secret_body("carol", nonce=nonce)
            self.assert_400(self.req("POST", A + "/v1/register", body), "M_BAD_JSON",
                            "nonce must be a string", nonce)  # fmt: skip
        for mac in NOT_STRINGS + [None]:
            body = self.shared_secret_body("carol", mac=mac)
            self.assert_400(self.req("POST", A + "/v1/register", body), "M_BAD_JSON",
                            "mac must be a string", mac)  # fmt: skip
        user = self.req("GET", A + "/v2/users/@carol:test.local", token=self.admin_token)
        self.assertEqual(user.code, 404)
        ok = self.assert_ok(self.req("POST", A + "/v1/register", self.shared_secret_body("carol")))
        self.assertEqual(ok["user_id"], "@carol:test.local")

    def test_admin_reset_password(self) -> None:
        """Admin reset_password: a non-string ``new_password`` is 400 and the old password still works."""
        path = A + "/v1/reset_password/" + urllib.parse.quote(self.bob)
        for value in OTHER_TYPES + [None]:
            self.assert_400(
                self.req("POST", path, {"new_password": value}, self.admin_token),
                "M_BAD_JSON", "Param 'new_password' must be a string", value,
            )  # fmt: skip
        self.assertTrue(self.login(self.bob))
        self.assert_ok(self.req("POST", path, {"new_password": "newpw"}, self.admin_token))
        self.assertTrue(self.login(self.bob, "newpw"))

    def _delete_room_cases(self) -> List[Dict[str, Any]]:
        return [
            {"new_room_user_id": value} for value in OTHER_TYPES
        ] + [{"room_name": 5}, {"room_name": []}, {"message": {}}, {"message": False}]

    def _assert_delete_refused(self, version: str, room: str) -> None:
        path = A + "/%s/rooms/%s" % (version, urllib.parse.quote(room))
        for overrides in self._delete_room_cases():
            (key,) = overrides
            body = dict({"new_room_user_id": self.alice, "block": True}, **overrides)
            channel = self.req("DELETE", path, body, self.admin_token)
            self.assert_400(channel, "M_BAD_JSON", "Param '%s' must be a string, if given" % key, overrides)
        # not blocked, nobody kicked: bob can still join
        self.join(room, self.bob_token)

    def test_admin_delete_room_v1(self) -> None:
        """Admin v1 room delete: bad string params are 400s before blocking/kicking."""
        room = self.create_room(self.alice_token, preset="public_chat")
        self._assert_delete_refused("v1", room)
        body = {"new_room_user_id": self.alice, "room_name": "Moved", "message": "bye"}
        result = self.assert_ok(self.req("DELETE", A + "/v1/rooms/" + urllib.parse.quote(room), body, self.admin_token))
        self.assertEqual(sorted(result["kicked_users"]), sorted([self.alice, self.bob]))
        self.assertIsNotNone(result["new_room_id"])

    def test_admin_delete_room_remote_new_room_user_blocks_nothing(self) -> None:
        """Admin v1 room delete with a remote new_room_user_id and block: 400, the room is not blocked."""
        room = self.create_room(self.alice_token, preset="public_chat")
        path = A + "/v1/rooms/" + urllib.parse.quote(room)
        body = {"new_room_user_id": "@someone:elsewhere.example", "block": True}
        channel = self.req("DELETE", path, body, self.admin_token)
        self.assertEqual(channel.code, 400, channel.json_body)
        self.assertEqual(channel.json_body["error"], "User must be our own: @someone:elsewhere.example")
        self.assertFalse(self.get_success(self.host.hs.event_store.rooms.is_room_blocked(room)))
        self.join(room, self.bob_token)

    def test_admin_delete_room_v2(self) -> None:
        """Admin v2 room delete: bad string params are 400s starting no task."""
        room = self.create_room(self.alice_token, preset="public_chat")
        quoted = urllib.parse.quote(room)
        self._assert_delete_refused("v2", room)
        status = self.req("GET", A + "/v2/rooms/%s/delete_status" % quoted, token=self.admin_token)
        self.assertEqual(status.code, 404)
        body = {"new_room_user_id": self.alice, "room_name": "Moved", "message": "bye"}
        delete_id = self.assert_ok(self.req("DELETE", A + "/v2/rooms/" + quoted, body, self.admin_token))["delete_id"]
        self.pump(1)
        status = self.assert_ok(self.req("GET", A + "/v2/rooms/delete_status/" + delete_id, token=self.admin_token))
        self.assertEqual(status["status"], "complete", status)
