"""``POST /user_directory/search``: who is visible, matching, spam filtering, ``limited``."""

from __future__ import annotations

from typing import Any, Dict, List

from tests.homeserver._rooms_case import RealRoomsTestCase, RoomsTestCase

PATH = "/_matrix/client/v3/user_directory/search"


class UserDirectoryTests(RoomsTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.carol = self.register_user("carol")
        self.dave = self.register_user("dave")
        self.dave_token = self.login(self.dave)
        self.spam = self.register_user("spam1")
        self.eve = self.register_user("eve")
        private = self.rooms.create_room(self.alice)
        self.rooms.join(private, self.bob)
        self.rooms.join(private, self.spam)
        self.rooms.member(private, self.alice, self.eve, "invite")
        public = self.rooms.create_room(self.dave, join_rule="public")
        self.public = public

    def search(self, body: Any, token: str = "") -> Any:
        return self.make_request("POST", PATH, body, token or self.alice_token)

    def ids(self, term: str, token: str = "", limit: int = 10) -> List[str]:
        channel = self.search({"search_term": term, "limit": limit}, token)
        self.assertEqual(channel.code, 200, channel.json_body)
        return [r["user_id"] for r in channel.json_body["results"]]

    def test_shared_and_public_users_only(self) -> None:
        """Room-mates and public-room members are found; invitees, strangers and the
        searcher (not in a public room) are not."""
        self.assertEqual(self.ids("test"), [self.bob, self.dave])
        self.assertEqual(self.ids("carol"), [])
        self.assertEqual(self.ids("eve"), [])
        self.assertEqual(self.ids("alice"), [])

    def test_searcher_in_public_room_finds_themselves(self) -> None:
        """A searcher joined to a public room is in the results."""
        self.assertEqual(self.ids("dave", self.dave_token), [self.dave])

    def test_word_prefix_matching(self) -> None:
        """Every search word must start a word of the user ID or display name."""
        self.assertEqual(self.ids("bo"), [self.bob])
        self.assertEqual(self.ids("ob"), [])
        self.assertEqual(self.ids("bob test"), [self.bob])

    def test_spam_users_silently_removed(self) -> None:
        """``check_username_for_spam`` runs once per result with the profile and the
        searcher; spammy users vanish without changing ``limited``."""
        channel = self.search({"search_term": "spam"})
        self.assertEqual(channel.json_body, {"limited": False, "results": []})
        self.assertEqual(
            self.probe_calls("check_username_for_spam"),
            [({"user_id": self.spam, "display_name": "spam1", "avatar_url": None}, self.alice)],
        )

    def test_limited_counts_before_spam_filter(self) -> None:
        """``limited`` says more matched than ``limit``; results are cut before the spam check."""
        channel = self.search({"search_term": "test", "limit": 1})
        body: Dict[str, Any] = channel.json_body
        self.assertEqual(
            body,
            {
                "limited": True,
                "results": [{"user_id": self.bob, "display_name": "bob", "avatar_url": None}],
            },
        )
        self.assertEqual(len(self.probe_calls("check_username_for_spam")), 1)

    def test_deactivated_users_hidden(self) -> None:
        """A deactivated room-mate is not found."""
        self.get_success(self.hs.user_store.set_deactivated(self.bob, True))
        self.assertEqual(self.ids("bob"), [])

    def test_body_errors(self) -> None:
        """A missing ``search_term`` is a 400; a non-integer ``limit`` is 400 M_BAD_JSON
        (Synapse: 500)."""
        channel = self.search({})
        self.assertEqual(
            (channel.code, channel.json_body),
            (400, {"errcode": "M_UNKNOWN", "error": "`search_term` is required field"}),
        )
        channel = self.search({"search_term": "x", "limit": "x"})
        self.assertEqual(
            (channel.code, channel.json_body),
            (400, {"errcode": "M_BAD_JSON", "error": "`limit` must be an integer"}),
        )


class RealRoomsUserDirectoryTests(RealRoomsTestCase):
    def test_room_mates_found_with_real_rooms(self) -> None:
        """A user sharing a real room is found; a stranger is not."""
        room = self.create_room(self.alice_token, preset="private_chat")
        self.invite(room, self.alice_token, self.bob)
        self.join(room, self.bob_token)
        self.register_user("carol")
        channel = self.make_request("POST", PATH, {"search_term": "test"}, self.alice_token)
        self.assertEqual([r["user_id"] for r in channel.json_body["results"]], [self.bob])
