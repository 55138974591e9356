"""``UserStore`` on an inline engine: users, devices, tokens, profiles, 3PIDs, SSO ids."""

from __future__ import annotations

import os
import sqlite3

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.storage import (
    AccessTokenRecord,
    DeviceRecord,
    ExternalIdReuseError,
    LoginTokenExpired,
    LoginTokenNotFound,
    LoginTokenRecord,
    LoginTokenReused,
    Profile,
    ThreepidRecord,
    TokenCache,
    UserDirectoryEntry,
    UserExistsError,
    UserRecord,
    UserStore,
    open_database,
)

from ._helpers import open_inline

ALICE = "@alice:test"
BOB = "@bob:test"


class StoreTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1_700_000_000.5)
        self.engine = open_inline(self, clock=self.clock)
        self.store = UserStore(self.engine)

    def make_user(self, user_id: str = ALICE, **kwargs: object) -> None:
        self.successResultOf(self.store.create_user(user_id, **kwargs))  # type: ignore[arg-type]


class UserTests(StoreTestCase):
    """Accounts and their flags."""

    def test_create_and_get(self) -> None:
        """create_user stores the flags given, creation_ts in seconds from the clock."""
        self.make_user(ALICE, password_hash="h", admin=True, user_type="bot", appservice_id="as1")
        user = self.successResultOf(self.store.get_user(ALICE))
        self.assertEqual(
            user,
            UserRecord(
                ALICE,
                creation_ts=1_700_000_000,
                is_admin=True,
                user_type="bot",
                appservice_id="as1",
            ),
        )
        self.assertEqual(self.successResultOf(self.store.get_password_hash(ALICE)), "h")

    def test_unknown_user(self) -> None:
        """get_user and get_password_hash give None for an unknown user."""
        self.assertIsNone(self.successResultOf(self.store.get_user(BOB)))
        self.assertIsNone(self.successResultOf(self.store.get_password_hash(BOB)))

    def test_duplicate_refused(self) -> None:
        """Creating a taken user id fails with UserExistsError and changes nothing."""
        self.make_user(ALICE, password_hash="first")
        failure = self.failureResultOf(
            self.store.create_user(ALICE, password_hash="second"), UserExistsError
        )
        self.assertEqual(failure.value.user_id, ALICE)
        self.assertEqual(self.successResultOf(self.store.get_password_hash(ALICE)), "first")

    def test_profile_row_created(self) -> None:
        """create_user creates the profile row with the display name given."""
        self.make_user(ALICE, displayname="Alice")
        self.make_user(BOB)
        self.assertEqual(
            self.successResultOf(self.store.get_profile(ALICE)), Profile("Alice", None)
        )
        self.assertEqual(self.successResultOf(self.store.get_profile(BOB)), Profile(None, None))
        self.assertIsNone(self.successResultOf(self.store.get_profile("@nobody:test")))

    def test_check_user_exists(self) -> None:
        """One case-insensitive match gives its id; several give the exact one or None."""
        self.make_user("@Carol:test")
        self.assertEqual(
            self.successResultOf(self.store.check_user_exists("@carol:test")), "@Carol:test"
        )
        self.assertIsNone(self.successResultOf(self.store.check_user_exists("@dave:test")))
        self.make_user("@CAROL:test")
        self.assertEqual(
            self.successResultOf(self.store.check_user_exists("@CAROL:test")), "@CAROL:test"
        )
        self.assertIsNone(self.successResultOf(self.store.check_user_exists("@carol:test")))
        matches = self.successResultOf(self.store.get_users_by_id_case_insensitive("@carol:TEST"))
        self.assertEqual(sorted(matches), ["@CAROL:test", "@Carol:test"])

    def test_flag_setters(self) -> None:
        """Each setter changes its flag and reports whether the user exists."""
        self.make_user(ALICE)
        for setter, field in [
            (self.store.set_admin, "is_admin"),
            (self.store.set_deactivated, "deactivated"),
            (self.store.set_erased, "erased"),
            (self.store.set_shadow_banned, "shadow_banned"),
            (self.store.set_locked, "locked"),
            (self.store.set_suspended, "suspended"),
        ]:
            self.assertTrue(self.successResultOf(setter(ALICE, True)))
            user = self.successResultOf(self.store.get_user(ALICE))
            self.assertTrue(getattr(user, field), field)
            self.assertFalse(self.successResultOf(setter(BOB, True)))
        self.assertTrue(self.successResultOf(self.store.set_approved(ALICE, False)))
        self.assertFalse(self.successResultOf(self.store.get_user(ALICE)).approved)  # type: ignore[union-attr]

    def test_password_hash(self) -> None:
        """set_password_hash replaces (or clears) the hash."""
        self.make_user(ALICE, password_hash="old")
        self.assertTrue(self.successResultOf(self.store.set_password_hash(ALICE, "new")))
        self.assertEqual(self.successResultOf(self.store.get_password_hash(ALICE)), "new")
        self.successResultOf(self.store.set_password_hash(ALICE, None))
        self.assertIsNone(self.successResultOf(self.store.get_password_hash(ALICE)))
        self.assertEqual(self.successResultOf(self.store.count_users()), 1)


class DeviceAndTokenTests(StoreTestCase):
    """Devices, access tokens and the token cache."""

    def setUp(self) -> None:
        super().setUp()
        self.make_user(ALICE)
        self.make_user(BOB, admin=True)

    def add_token(self, token: str, device: str | None, user: str = ALICE) -> int:
        if device is not None:
            self.successResultOf(self.store.create_device(user, device))
        return self.successResultOf(self.store.add_access_token(user, token, device))

    def test_devices(self) -> None:
        """create_device is idempotent; devices are listed by id and can be renamed."""
        self.assertTrue(self.successResultOf(self.store.create_device(ALICE, "B", "phone")))
        self.assertFalse(self.successResultOf(self.store.create_device(ALICE, "B", "other")))
        self.successResultOf(self.store.create_device(ALICE, "A"))
        self.assertTrue(self.successResultOf(self.store.update_device(ALICE, "A", "laptop")))
        self.successResultOf(self.store.update_device_last_seen(ALICE, "A", 5, "1.2.3.4", "ua"))
        devices = self.successResultOf(self.store.get_devices(ALICE))
        self.assertEqual(
            devices,
            [
                DeviceRecord(ALICE, "A", "laptop", 5, "1.2.3.4", "ua"),
                DeviceRecord(ALICE, "B", "phone"),
            ],
        )
        self.assertIsNone(self.successResultOf(self.store.get_device(BOB, "A")))

    def test_token_lookup(self) -> None:
        """get_user_by_access_token answers with the token's user, device, id and user flags."""
        token_id = self.add_token("tok", "DEV")
        info = self.successResultOf(self.store.get_user_by_access_token("tok"))
        assert info is not None
        self.assertEqual(
            (
                info.user_id,
                info.token_id,
                info.device_id,
                info.token_owner,
                info.is_admin,
                info.deactivated,
            ),
            (ALICE, token_id, "DEV", ALICE, False, False),
        )
        self.assertIsNone(self.successResultOf(self.store.get_user_by_access_token("nope")))

    def test_token_for_unknown_user_refused(self) -> None:
        """A token for a user that does not exist violates the foreign key."""
        self.failureResultOf(
            self.store.add_access_token("@ghost:test", "t", None), sqlite3.IntegrityError
        )

    def test_puppet_token(self) -> None:
        """A puppeting token authenticates the puppeted user; its owner is the admin."""
        self.successResultOf(
            self.store.add_access_token(BOB, "puppet", None, puppets_user_id=ALICE)
        )
        info = self.successResultOf(self.store.get_user_by_access_token("puppet"))
        assert info is not None
        self.assertEqual((info.user_id, info.token_owner, info.is_admin), (ALICE, BOB, False))

    def test_lookups_cached(self) -> None:
        """A looked-up token is answered from the cache (a row removed behind the store's back stays visible)."""
        self.add_token("tok", "DEV")
        self.successResultOf(self.store.get_user_by_access_token("tok"))
        self.assertEqual(len(self.store.token_cache), 1)
        self.successResultOf(self.engine.execute("raw", "DELETE FROM access_tokens"))
        self.assertIsNotNone(self.successResultOf(self.store.get_user_by_access_token("tok")))

    def test_flag_change_invalidates_cache(self) -> None:
        """Changing a user's flags is reflected by the next token lookup."""
        self.add_token("tok", "DEV")
        self.successResultOf(self.store.get_user_by_access_token("tok"))
        self.successResultOf(self.store.set_admin(ALICE, True))
        self.successResultOf(self.store.set_deactivated(ALICE, True))
        info = self.successResultOf(self.store.get_user_by_access_token("tok"))
        assert info is not None
        self.assertEqual((info.is_admin, info.deactivated), (True, True))

    def test_delete_access_token(self) -> None:
        """delete_access_token returns what it deleted and the token stops working at once."""
        token_id = self.add_token("tok", "DEV")
        self.successResultOf(self.store.get_user_by_access_token("tok"))
        deleted = self.successResultOf(self.store.delete_access_token("tok"))
        self.assertEqual(deleted, AccessTokenRecord("tok", token_id, ALICE, "DEV"))
        self.assertIsNone(self.successResultOf(self.store.get_user_by_access_token("tok")))
        self.assertIsNone(self.successResultOf(self.store.delete_access_token("tok")))
        self.assertIsNotNone(self.successResultOf(self.store.get_device(ALICE, "DEV")))

    def test_delete_access_tokens(self) -> None:
        """delete_access_tokens removes all but except_token_id (or one device's), in creation order."""
        keep = self.add_token("t1", "D1")
        second = self.add_token("t2", "D2")
        third = self.add_token("t3", None)
        other = self.add_token("t4", "D1", user=BOB)
        for token in ("t1", "t2", "t3", "t4"):
            self.successResultOf(self.store.get_user_by_access_token(token))
        deleted = self.successResultOf(self.store.delete_access_tokens(ALICE, except_token_id=keep))
        self.assertEqual([t.token_id for t in deleted], [second, third])
        self.assertIsNone(self.successResultOf(self.store.get_user_by_access_token("t2")))
        self.assertIsNotNone(self.successResultOf(self.store.get_user_by_access_token("t1")))
        self.assertIsNotNone(self.successResultOf(self.store.get_user_by_access_token("t4")))
        deleted = self.successResultOf(self.store.delete_access_tokens(ALICE, device_id="D1"))
        self.assertEqual([t.token_id for t in deleted], [keep])
        remaining = self.successResultOf(self.store.get_access_tokens(BOB))
        self.assertEqual([t.token_id for t in remaining], [other])

    def test_delete_device(self) -> None:
        """delete_device removes the device with its access and refresh tokens, returning the tokens."""
        first = self.add_token("t1", "DEV")
        refresh_id = self.successResultOf(self.store.add_refresh_token(ALICE, "r1", "DEV"))
        second = self.successResultOf(
            self.store.add_access_token(ALICE, "t2", "DEV", refresh_token_id=refresh_id)
        )
        self.add_token("t3", "OTHER")
        self.successResultOf(self.store.get_user_by_access_token("t1"))
        deleted = self.successResultOf(self.store.delete_device(ALICE, "DEV"))
        self.assertEqual([t.token_id for t in deleted], [first, second])
        self.assertIsNone(self.successResultOf(self.store.get_device(ALICE, "DEV")))
        self.assertIsNone(self.successResultOf(self.store.get_user_by_access_token("t1")))
        self.assertIsNone(self.successResultOf(self.store.get_refresh_token("r1")))
        self.assertIsNotNone(self.successResultOf(self.store.get_user_by_access_token("t3")))

    def test_delete_all_devices(self) -> None:
        """delete_devices(user) removes every device and device token, keeping device-less ones."""
        self.add_token("t1", "A")
        self.add_token("t2", "B")
        loose = self.add_token("t3", None)
        deleted = self.successResultOf(self.store.delete_devices(ALICE))
        self.assertEqual([t.token for t in deleted], ["t1", "t2"])
        self.assertEqual(self.successResultOf(self.store.get_devices(ALICE)), [])
        self.assertEqual(
            [t.token_id for t in self.successResultOf(self.store.get_access_tokens(ALICE))], [loose]
        )

    def test_refresh_token(self) -> None:
        """A refresh token is stored and found by its text."""
        self.successResultOf(self.store.create_device(ALICE, "DEV"))
        token_id = self.successResultOf(
            self.store.add_refresh_token(ALICE, "r", "DEV", expiry_ts=99)
        )
        record = self.successResultOf(self.store.get_refresh_token("r"))
        assert record is not None
        self.assertEqual((record.token_id, record.user_id, record.expiry_ts), (token_id, ALICE, 99))


class TokenCacheTests(SynchronousTestCase):
    """The generation rule of the token cache."""

    def test_stale_lookup_not_cached(self) -> None:
        """A lookup started before an invalidation does not fill the cache; a bounded cache drops the oldest."""
        from synapse_modhost.storage import TokenInfo

        info = TokenInfo(
            ALICE, 1, None, None, ALICE, False, False, False, False, False, False, True
        )
        cache = TokenCache(max_entries=2)
        started = cache.generation
        cache.invalidate_user(BOB)
        self.assertIs(cache.fill(info, "a", started), info)
        self.assertIsNone(cache.get("a"))
        for token in ("a", "b", "c"):
            cache.fill(info, token, cache.generation)
        self.assertEqual([cache.get(t) is not None for t in "abc"], [False, True, True])
        cache.invalidate_user(ALICE)
        self.assertEqual(len(cache), 0)


class ProfileThreepidExternalIdTests(StoreTestCase):
    """Profiles, third-party ids, SSO external ids and the directory search."""

    def setUp(self) -> None:
        super().setUp()
        self.make_user(ALICE, displayname="Alice Liddell")
        self.make_user(BOB, displayname="Bob 100%")

    def test_profile_setters(self) -> None:
        """set_displayname and set_avatar_url each change one field (creating the row if needed)."""
        self.successResultOf(self.store.set_avatar_url(ALICE, "mxc://test/a"))
        self.successResultOf(self.store.set_displayname(ALICE, "Al"))
        self.assertEqual(
            self.successResultOf(self.store.get_profile(ALICE)), Profile("Al", "mxc://test/a")
        )
        self.successResultOf(
            self.engine.execute("raw", "DELETE FROM profiles WHERE user_id = ?", BOB)
        )
        self.successResultOf(self.store.set_avatar_url(BOB, "mxc://test/b"))
        self.assertEqual(
            self.successResultOf(self.store.get_profile(BOB)), Profile(None, "mxc://test/b")
        )

    def test_threepids(self) -> None:
        """Threepids are listed in the order added, found by address, removable, and moved on re-add."""
        self.successResultOf(self.store.add_threepid(ALICE, "msisdn", "4412", 3, 4))
        self.successResultOf(self.store.add_threepid(ALICE, "email", "a@x", 1, 2))
        self.assertEqual(
            self.successResultOf(self.store.get_threepids(ALICE)),
            [ThreepidRecord("msisdn", "4412", 3, 4), ThreepidRecord("email", "a@x", 1, 2)],
        )
        self.assertEqual(
            self.successResultOf(self.store.get_user_id_by_threepid("email", "a@x")), ALICE
        )
        self.assertFalse(self.successResultOf(self.store.remove_threepid(BOB, "email", "a@x")))
        self.successResultOf(self.store.add_threepid(BOB, "email", "a@x", 5, 6))
        self.assertEqual(
            self.successResultOf(self.store.get_user_id_by_threepid("email", "a@x")), BOB
        )
        self.assertTrue(self.successResultOf(self.store.remove_threepid(ALICE, "msisdn", "4412")))
        self.assertEqual(self.successResultOf(self.store.get_threepids(ALICE)), [])

    def test_external_ids(self) -> None:
        """External ids map to one user each; reuse is refused; they are listed and removable."""
        self.successResultOf(self.store.record_user_external_id("oidc", "sub1", ALICE))
        self.successResultOf(self.store.record_user_external_id("cas", "alice", ALICE))
        self.failureResultOf(
            self.store.record_user_external_id("oidc", "sub1", BOB), ExternalIdReuseError
        )
        self.assertEqual(
            self.successResultOf(self.store.get_user_by_external_id("oidc", "sub1")), ALICE
        )
        self.assertIsNone(self.successResultOf(self.store.get_user_by_external_id("oidc", "sub2")))
        self.assertEqual(
            self.successResultOf(self.store.get_external_ids_by_user(ALICE)),
            [("cas", "alice"), ("oidc", "sub1")],
        )
        self.assertTrue(
            self.successResultOf(self.store.remove_user_external_id("cas", "alice", ALICE))
        )
        self.assertEqual(
            self.successResultOf(self.store.get_external_ids_by_user(ALICE)), [("oidc", "sub1")]
        )

    def test_search_users(self) -> None:
        """search_users matches id or display name substrings, ignoring case, skipping deactivated users."""
        self.make_user("@carol:test", displayname="LIDDELL fan")
        search = self.store.search_users
        self.assertEqual(
            [e.user_id for e in self.successResultOf(search("liddell", 10))], [ALICE, "@carol:test"]
        )
        self.assertEqual(
            self.successResultOf(search("BOB", 10)), [UserDirectoryEntry(BOB, "Bob 100%", None)]
        )
        self.assertEqual([e.user_id for e in self.successResultOf(search("100%", 10))], [BOB])
        self.assertEqual(self.successResultOf(search("_", 10)), [])
        self.assertEqual(len(self.successResultOf(search(":test", 2))), 2)
        self.successResultOf(self.store.set_deactivated(ALICE, True))
        self.assertEqual([e.user_id for e in self.successResultOf(search("alice", 10))], [])
        found = self.successResultOf(search("alice", 10, include_deactivated=True))
        self.assertEqual([e.user_id for e in found], [ALICE])


class LoginTokenTests(StoreTestCase):
    """Login tokens: single use, expiry, session invalidation."""

    def setUp(self) -> None:
        super().setUp()
        self.make_user(ALICE)
        self.now_ms = int(self.clock.seconds() * 1000)

    def test_consume_once(self) -> None:
        """A valid token is consumed once; a second use is LoginTokenReused."""
        self.successResultOf(
            self.store.add_login_token(
                "lt",
                ALICE,
                self.now_ms + 1000,
                auth_provider_id="oidc",
                auth_provider_session_id="s",
            )
        )
        self.assertEqual(
            self.successResultOf(self.store.consume_login_token("lt")),
            LoginTokenRecord(ALICE, "oidc", "s"),
        )
        self.failureResultOf(self.store.consume_login_token("lt"), LoginTokenReused)

    def test_expired_and_unknown(self) -> None:
        """An expired token is LoginTokenExpired (then reused); an unknown one LoginTokenNotFound."""
        self.successResultOf(self.store.add_login_token("lt", ALICE, self.now_ms + 1000))
        self.clock.advance(1)
        self.failureResultOf(self.store.consume_login_token("lt"), LoginTokenExpired)
        self.failureResultOf(self.store.consume_login_token("lt"), LoginTokenReused)
        self.failureResultOf(self.store.consume_login_token("other"), LoginTokenNotFound)

    def test_invalidate_by_session(self) -> None:
        """Invalidating an IdP session makes its tokens count as used."""
        self.successResultOf(
            self.store.add_login_token(
                "lt",
                ALICE,
                self.now_ms + 1000,
                auth_provider_id="oidc",
                auth_provider_session_id="s",
            )
        )
        self.successResultOf(self.store.add_login_token("other", ALICE, self.now_ms + 1000))
        self.successResultOf(self.store.invalidate_login_tokens_by_session_id("oidc", "s"))
        self.failureResultOf(self.store.consume_login_token("lt"), LoginTokenReused)
        self.successResultOf(self.store.consume_login_token("other"))
        self.assertEqual(
            self.successResultOf(self.store.delete_expired_login_tokens(self.now_ms + 1001)), 2
        )


class PersistenceTests(SynchronousTestCase):
    """Data written through the store survives closing and reopening the file."""

    def test_reopen_keeps_users_and_tokens(self) -> None:
        """Users, devices, tokens, profiles and threepids are there after close and reopen."""
        path = os.path.join(self.mktemp(), "data", "homeserver.db")
        engine = self.successResultOf(open_database(Clock(), path, threaded=False))
        store = UserStore(engine)
        self.successResultOf(store.create_user(ALICE, password_hash="h", displayname="A"))
        self.successResultOf(store.create_device(ALICE, "DEV"))
        token_id = self.successResultOf(store.add_access_token(ALICE, "tok", "DEV"))
        self.successResultOf(store.add_threepid(ALICE, "email", "a@x", 1, 2))
        self.successResultOf(engine.close())

        engine = self.successResultOf(open_database(Clock(), path, threaded=False))
        self.addCleanup(engine.close)
        store = UserStore(engine)
        self.assertEqual(self.successResultOf(store.get_password_hash(ALICE)), "h")
        info = self.successResultOf(store.get_user_by_access_token("tok"))
        assert info is not None
        self.assertEqual((info.user_id, info.token_id, info.device_id), (ALICE, token_id, "DEV"))
        self.assertEqual(self.successResultOf(store.get_profile(ALICE)), Profile("A", None))
        self.assertEqual(len(self.successResultOf(store.get_threepids(ALICE))), 1)
