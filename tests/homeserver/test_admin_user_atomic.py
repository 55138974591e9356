"""A refused ``PUT /_synapse/admin/v2/users/{userId}`` changes nothing: every check runs
before the first write, with Synapse's status, errcode and text."""

from __future__ import annotations

from typing import Any, Dict

from tests.homeserver._db_rows import table_rows

from ._users_probe import AccountTestCase

USERS = "/_synapse/admin/v2/users/"
NEW = "@newbie:test.local"


class AdminPutUserAtomicTests(AccountTestCase):
    """bob exists (with an email and an external id); the admin changes or creates users."""

    def setUp(self) -> None:
        super().setUp()
        self.admin = self.make_user("admin", admin=True)
        self.token = self.login("admin")
        self.bob = self.make_user("bob")
        self.carol = self.make_user("carol")
        body = {"threepids": [{"medium": "email", "address": "bob@x.org"}],
                "external_ids": [{"auth_provider": "sso", "external_id": "bob"}]}  # fmt: skip
        self.assertEqual(self.put(self.bob, body).code, 200)
        self.clear()

    def put(self, user_id: str, body: Dict[str, Any]) -> Any:
        return self.req("PUT", USERS + user_id, body, token=self.token)

    def refused(self, user_id: str, body: Dict[str, Any], code: int, errcode: str, error: str) -> None:
        """``body`` is refused with this error, no callback ran and no row changed."""
        before = table_rows(self)
        self.assert_error(self.put(user_id, body), code, errcode, error)
        self.assertEqual(table_rows(self), before)
        self.assertEqual(self.calls(), [])

    def user(self, user_id: str) -> Any:
        return self.req("GET", USERS + user_id, token=self.token)

    # ------------------------------------------------------------------ changing a user

    def test_bad_medium_after_displayname(self) -> None:
        """An unknown 3PID medium: 400 M_INVALID_PARAM, the display name unchanged."""
        self.refused(self.bob, {"displayname": "B6", "threepids": [{"medium": "bogus", "address": "b@x.org"}]},
                     400, "M_INVALID_PARAM", "'bogus' is not a valid value for 'medium'")  # fmt: skip
        self.assertEqual(self.user(self.bob).json_body["displayname"], "bob")

    def test_bad_email_after_displayname(self) -> None:
        """An email address that does not parse: 400, no 3PID nor display name change."""
        self.refused(self.bob, {"displayname": "B7", "threepids": [{"medium": "email", "address": "nope"}]},
                     400, "M_UNKNOWN", "Unable to parse email address")  # fmt: skip

    def test_avatar_not_a_string(self) -> None:
        """``avatar_url: 5``: 400 M_INVALID_PARAM, nothing written before it."""
        self.refused(self.bob, {"displayname": "B8", "avatar_url": 5,
                                "threepids": [{"medium": "msisdn", "address": "4412"}]},
                     400, "M_INVALID_PARAM", "'avatar_url' must be a string")  # fmt: skip

    def test_avatar_too_long(self) -> None:
        """An avatar URL over 1000 characters: Synapse's 400."""
        self.refused(self.bob, {"displayname": "B9", "avatar_url": "mxc://x/" + "a" * 1000},
                     400, "M_UNKNOWN", "Avatar URL is too long (max 1000)")  # fmt: skip

    def test_profile_too_large_for_avatar(self) -> None:
        """A display name that fits but an avatar that makes the profile too large:
        400 M_PROFILE_TOO_LARGE with the display name unchanged."""
        self.get_success(self.hs.user_store.set_profile_field(self.bob, "org.big", "x" * 65000))
        self.refused(self.bob, {"displayname": "Z" * 200, "avatar_url": "mxc://test.local/" + "a" * 300},
                     400, "M_PROFILE_TOO_LARGE", "Profile too large")  # fmt: skip
        self.assertEqual(self.user(self.bob).json_body["displayname"], "bob")

    def test_external_id_of_another_user(self) -> None:
        """An external id carol holds: 409, bob's 3PIDs and name unchanged."""
        self.assertEqual(self.put(self.carol, {"external_ids": [{"auth_provider": "sso", "external_id": "c"}]}).code, 200)
        self.clear()
        body = {"displayname": "B10", "threepids": [{"medium": "msisdn", "address": "4413"}],
                "external_ids": [{"auth_provider": "sso", "external_id": "c"}]}  # fmt: skip
        self.refused(self.bob, body, 409, "M_UNKNOWN", "External id is already in use.")
        self.assertEqual(self.user(self.bob).json_body["external_ids"], [{"auth_provider": "sso", "external_id": "bob"}])

    def test_duplicate_external_ids(self) -> None:
        """The same external id twice: 409 before anything is written."""
        pair = {"auth_provider": "sso", "external_id": "twice"}
        self.refused(self.bob, {"displayname": "B11", "external_ids": [pair, pair]},
                     409, "M_UNKNOWN", "External id is already in use.")  # fmt: skip

    def test_demoting_yourself(self) -> None:
        """"You may not demote yourself." before the display name is written."""
        self.refused(self.admin, {"displayname": "A2", "admin": False}, 400, "M_UNKNOWN",
                     "You may not demote yourself.")  # fmt: skip
        self.assertEqual(self.user(self.admin).json_body["displayname"], "admin")

    def test_wrong_shapes(self) -> None:
        """``threepids``/``external_ids`` that are not lists of objects: 400 M_BAD_JSON
        (Synapse: 500), for existing and new users alike."""
        cases = [
            ({"threepids": 5}, "\"threepids\": 5 is not of type 'array'"),
            ({"threepids": [5]}, "\"threepids\": 5 is not of type 'object'"),
            ({"threepids": [{"medium": ["email"], "address": "a@b.c"}]}, "\"medium\": ['email'] is not of type 'string'"),
            ({"threepids": [{"medium": "msisdn", "address": 5}]}, "\"address\": 5 is not of type 'string'"),
            ({"external_ids": 5}, "\"external_ids\": 5 is not of type 'array'"),
            ({"external_ids": ["x"]}, "\"external_ids\": 'x' is not of type 'object'"),
            ({"external_ids": [{"auth_provider": 1, "external_id": "e"}]}, "\"auth_provider\": 1 is not of type 'string'"),
        ]  # fmt: skip
        for body, error in cases:
            for user_id in (self.bob, NEW):
                self.refused(user_id, dict(body, displayname="shape"), 400, "M_BAD_JSON", error)
        self.assertEqual(self.user(NEW).code, 404)

    def test_valid_change_still_applies(self) -> None:
        """The checks let a valid change through, in Synapse's callback order."""
        body = {"displayname": "B12", "avatar_url": "mxc://test.local/b",
                "threepids": [{"medium": "email", "address": "New@X.org"}],
                "external_ids": [{"auth_provider": "sso", "external_id": "bob2"}]}  # fmt: skip
        channel = self.put(self.bob, body)
        self.assertEqual(channel.code, 200, channel.json_body)
        self.assertEqual([c[0] for c in self.calls()], [
            "on_profile_update", "on_remove_user_third_party_identifier",
            "on_add_user_third_party_identifier", "on_threepid_bind", "on_profile_update",
        ])  # fmt: skip
        self.assertEqual([t["address"] for t in channel.json_body["threepids"]], ["new@x.org"])
        self.assertEqual(channel.json_body["external_ids"], [{"auth_provider": "sso", "external_id": "bob2"}])

    # ------------------------------------------------------------------ creating a user

    def test_new_user_bad_email(self) -> None:
        """A new user's bad email: 400 and no user, profile or 3PID row."""
        self.refused(NEW, {"password": "pw", "threepids": [{"medium": "email", "address": "not-an-email"}]},
                     400, "M_UNKNOWN", "Unable to parse email address")  # fmt: skip
        self.assert_error(self.user(NEW), 404, "M_NOT_FOUND", "User not found")

    def test_new_user_bad_medium(self) -> None:
        """A new user's unknown medium: 400 M_INVALID_PARAM and no user."""
        self.refused(NEW, {"threepids": [{"medium": "fax", "address": "1"}]},
                     400, "M_INVALID_PARAM", "'fax' is not a valid value for 'medium'")  # fmt: skip

    def test_new_user_duplicate_external_ids(self) -> None:
        """The same external id twice for a new user: 409 and no user, no external id."""
        pair = {"auth_provider": "sso", "external_id": "n1"}
        self.refused(NEW, {"password": "pw", "external_ids": [pair, pair]}, 409, "M_UNKNOWN",
                     "External id is already in use.")  # fmt: skip
        self.assertIsNone(self.get_success(self.hs.user_store.get_user_by_external_id("sso", "n1")))

    def test_new_user_external_id_taken(self) -> None:
        """bob's external id for a new user: 409 and no user."""
        self.refused(NEW, {"external_ids": [{"auth_provider": "sso", "external_id": "bob"}]},
                     409, "M_UNKNOWN", "External id is already in use.")  # fmt: skip
        self.assertEqual(self.get_success(self.hs.user_store.get_user_by_external_id("sso", "bob")), self.bob)

    def test_new_user_avatar_too_long(self) -> None:
        """A new user's avatar URL over 1000 characters: 400 and no user."""
        self.refused(NEW, {"avatar_url": "mxc://x/" + "a" * 1000}, 400, "M_UNKNOWN",
                     "Avatar URL is too long (max 1000)")  # fmt: skip

    def test_new_user_after_refusals(self) -> None:
        """Once the body is fixed the user is created (201) with its 3PID and id."""
        self.refused(NEW, {"threepids": [{"medium": "email", "address": "nope"}]}, 400, "M_UNKNOWN",
                     "Unable to parse email address")  # fmt: skip
        body = {"password": "pw", "threepids": [{"medium": "email", "address": "n@x.org"}],
                "external_ids": [{"auth_provider": "sso", "external_id": "n1"}]}  # fmt: skip
        channel = self.put(NEW, body)
        self.assertEqual(channel.code, 201, channel.json_body)
        self.assertEqual(channel.json_body["external_ids"], [{"auth_provider": "sso", "external_id": "n1"}])
        self.assertEqual(self.names()[:2], ["check_registration_for_spam", "on_user_registration"])
