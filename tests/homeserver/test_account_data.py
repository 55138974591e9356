"""Account data endpoints, tags, ``on_account_data_updated`` and ``AccountDataManager``."""

from __future__ import annotations

import urllib.parse
from typing import Any, List, Tuple

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.testing import default_config
from tests.homeserver._rooms_case import RoomsTestCase
from tests.homeserver._sync_probe import SyncProbe


class AccountDataEndpointTests(RoomsTestCase):
    def path(self, user: str, data_type: str, room: str = "") -> str:
        base = "/_matrix/client/v3/user/%s" % user
        if room:
            base += "/rooms/%s" % urllib.parse.quote(room)
        return base + "/account_data/" + data_type

    def test_global_put_get_and_callback(self) -> None:
        """A PUT stores the data, then the callback (which can already read it) gets
        (user, None, type, content)."""
        channel = self.make_request(
            "PUT", self.path(self.alice, "org.x"), {"k": "v"}, self.alice_token
        )
        self.assertEqual((channel.code, channel.json_body), (200, {}))
        self.assertEqual(
            self.probe_calls("on_account_data_updated"), [(self.alice, None, "org.x", {"k": "v"})]
        )
        channel = self.make_request(
            "GET", self.path(self.alice, "org.x"), access_token=self.alice_token
        )
        self.assertEqual(channel.json_body, {"k": "v"})

    def test_room_put_get_and_callback(self) -> None:
        """Room account data is stored per room (any valid room ID) with the room in the callback."""
        room = "!unknown:test.local"
        channel = self.make_request(
            "PUT", self.path(self.alice, "org.r", room), {"r": 1}, self.alice_token
        )
        self.assertEqual(channel.code, 200)
        self.assertEqual(
            self.probe_calls("on_account_data_updated"), [(self.alice, room, "org.r", {"r": 1})]
        )
        channel = self.make_request(
            "GET", self.path(self.alice, "org.r", room), access_token=self.alice_token
        )
        self.assertEqual(channel.json_body, {"r": 1})

    def test_errors(self) -> None:
        """Other users, protected types, bad room IDs, bodies and missing data get Synapse's answers."""
        cases: List[Tuple[str, str, Any, int, str, str]] = [
            (
                "PUT",
                self.path(self.bob, "org.x"),
                {},
                403,
                "M_FORBIDDEN",
                "Cannot add account data for other users.",
            ),
            (
                "GET",
                self.path(self.bob, "org.x"),
                None,
                403,
                "M_FORBIDDEN",
                "Cannot get account data for other users.",
            ),
            (
                "GET",
                self.path(self.alice, "org.none"),
                None,
                404,
                "M_NOT_FOUND",
                "Account data not found",
            ),
            (
                "PUT",
                self.path(self.alice, "m.fully_read"),
                {},
                405,
                "M_BAD_JSON",
                "Cannot set m.fully_read through this API. Use /rooms/!roomId:server.name/read_markers",
            ),
            (
                "PUT",
                self.path(self.alice, "m.push_rules"),
                {},
                405,
                "M_BAD_JSON",
                "Cannot set m.push_rules through this API. Use /pushrules",
            ),
            (
                "PUT",
                self.path(self.alice, "org.x"),
                [1],
                400,
                "M_BAD_JSON",
                "Content must be a JSON object.",
            ),
            (
                "PUT",
                self.path(self.alice, "org.r", "bad"),
                {},
                400,
                "M_INVALID_PARAM",
                "bad is not a valid room ID",
            ),
            (
                "GET",
                self.path(self.alice, "org.r", "bad"),
                None,
                400,
                "M_INVALID_PARAM",
                "bad is not a valid room ID",
            ),
            (
                "GET",
                self.path(self.alice, "org.r", "!r:test.local"),
                None,
                404,
                "M_NOT_FOUND",
                "Room account data not found",
            ),
        ]
        for method, path, body, code, errcode, error in cases:
            channel = self.make_request(method, path, body, self.alice_token)
            self.assertEqual(
                (channel.code, channel.json_body),
                (code, {"errcode": errcode, "error": error}),
                path,
            )
        self.assertEqual(self.probe_calls("on_account_data_updated"), [])

    def test_sync_shows_global_and_room_data(self) -> None:
        """Account data appears in /sync: global at the top, per room in the room."""
        room = self.rooms.create_room(self.alice)
        since = self.sync_ok(self.alice_token)["next_batch"]
        self.make_request("PUT", self.path(self.alice, "org.g"), {"g": 1}, self.alice_token)
        self.make_request("PUT", self.path(self.alice, "org.r", room), {"r": 1}, self.alice_token)
        body = self.sync_ok(self.alice_token, since=since)
        self.assertEqual(body["account_data"]["events"], [{"type": "org.g", "content": {"g": 1}}])
        entry = body["rooms"]["join"][room]
        self.assertEqual(entry["account_data"]["events"], [{"type": "org.r", "content": {"r": 1}}])
        self.assertEqual(entry["timeline"]["events"], [])
        self.assertTrue(body["next_batch"].endswith("_2_0_0_0_0_0_0_0_0_0"))

    def test_tags(self) -> None:
        """Tags need a membership, show as ``m.tag`` and fire no module callback."""
        room = self.rooms.create_room(self.alice)
        base = "/_matrix/client/v3/user/%s/rooms/%s/tags" % (self.alice, urllib.parse.quote(room))
        channel = self.make_request("PUT", base + "/u.work", {"order": 0.5}, self.alice_token)
        self.assertEqual(channel.code, 200)
        channel = self.make_request("GET", base, access_token=self.alice_token)
        self.assertEqual(channel.json_body, {"tags": {"u.work": {"order": 0.5}}})
        self.assertEqual(self.probe_calls("on_account_data_updated"), [])
        body = self.sync_ok(self.alice_token)
        self.assertIn(
            {"type": "m.tag", "content": {"tags": {"u.work": {"order": 0.5}}}},
            body["rooms"]["join"][room]["account_data"]["events"],
        )
        other = "/_matrix/client/v3/user/%s/rooms/%s/tags/t" % (
            self.alice,
            urllib.parse.quote("!x:test.local"),
        )
        channel = self.make_request("PUT", other, {}, self.alice_token)
        self.assertEqual(
            channel.json_body["error"],
            "User %s has no membership in room !x:test.local" % self.alice,
        )
        self.make_request("DELETE", base + "/u.work", access_token=self.alice_token)
        self.assertEqual(
            self.make_request("GET", base, access_token=self.alice_token).json_body, {"tags": {}}
        )


class CallbackOrderTests(RoomsTestCase):
    probe_config = {"validity": True}

    def test_expiry_check_then_write_then_callback(self) -> None:
        """``is_user_expired`` runs first (auth), then the write, then
        ``on_account_data_updated`` (TRIGGERS.md §0, §6)."""
        path = "/_matrix/client/v3/user/%s/account_data/org.x" % self.alice
        SyncProbe.calls.clear()
        self.make_request("PUT", path, {"k": 1}, self.alice_token)
        self.assertEqual(
            SyncProbe.calls,
            [
                ("is_user_expired", (self.alice,)),
                ("on_account_data_updated", (self.alice, None, "org.x", {"k": 1})),
            ],
        )
        self.assertEqual(SyncProbe.stored_at_callback, [{"k": 1}])


class AccountDataManagerTests(RoomsTestCase):
    def manager(self) -> Any:
        return SyncProbe.instance.api.account_data_manager

    def test_put_then_get_global(self) -> None:
        """put_global stores and fires the callback; get_global returns a frozen copy."""
        self.get_success(self.manager().put_global(self.alice, "org.m", {"a": [1]}))
        self.assertEqual(
            self.probe_calls("on_account_data_updated"), [(self.alice, None, "org.m", {"a": [1]})]
        )
        data = self.get_success(self.manager().get_global(self.alice, "org.m"))
        self.assertEqual(data, {"a": [1]})
        with self.assertRaises(TypeError):
            data["b"] = 1
        self.assertIsNone(self.get_success(self.manager().get_global(self.alice, "org.none")))

    def test_errors(self) -> None:
        """Remote and unknown users and wrong types raise Synapse's errors."""
        manager = self.manager()
        f = self.get_failure(manager.get_global("@x:elsewhere", "t"), ValueError)
        self.assertEqual(
            str(f.value),
            "@x:elsewhere is not local to this homeserver; can't access account data for remote users.",
        )
        f = self.get_failure(manager.put_global(self.alice, 5, {}), TypeError)
        self.assertEqual(str(f.value), "data_type must be a str; got int")
        f = self.get_failure(manager.put_global(self.alice, "t", [1]), TypeError)
        self.assertEqual(str(f.value), "new_data must be a dict; got list")
        f = self.get_failure(manager.put_global("@ghost:test.local", "t", {}), ValueError)
        self.assertEqual(str(f.value), "User @ghost:test.local does not exist on this server.")
        self.assertEqual(self.probe_calls("on_account_data_updated"), [])


class RestartTests(SynchronousTestCase):
    def test_account_data_and_filters_survive_restart(self) -> None:
        """Account data and filters written before a restart are there after it."""
        from synapse_modhost import build_host

        config = default_config()
        config["database"]["args"]["database"] = self.mktemp()
        config["media_store_path"] = self.mktemp()

        def start() -> Any:
            host = build_host(config, MemoryReactorClock(), database_threaded=False)
            self.successResultOf(_deferred(host.start(listen=False)))
            return host

        host = start()
        hs = host.hs
        self.successResultOf(_deferred(hs.user_store.create_user("@a:test.local")))
        self.successResultOf(
            _deferred(hs.account_data.add_account_data_for_user("@a:test.local", "org.x", {"k": 1}))
        )
        self.successResultOf(
            _deferred(hs.account_data.add_user_filter("@a:test.local", {"room": {}}))
        )
        self.successResultOf(_deferred(host.stop()))

        host = start()
        hs = host.hs
        data = self.successResultOf(_deferred(hs.account_data.get_global("@a:test.local", "org.x")))
        self.assertEqual(data, {"k": 1})
        token = self.successResultOf(_deferred(hs.notifier.get_current_token()))
        self.assertEqual(token.account_data, 1)
        stored = self.successResultOf(
            _deferred(hs.account_data.get_user_filter("@a:test.local", 0))
        )
        self.assertEqual(stored, {"room": {}})
        self.successResultOf(_deferred(host.stop()))


def _deferred(value: Any) -> Any:
    from twisted.internet import defer

    return value if isinstance(value, defer.Deferred) else defer.ensureDeferred(value)
