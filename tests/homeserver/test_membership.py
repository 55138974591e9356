"""Membership (TRIGGERS.md §3): joins, invites (rate limits, third-party), leave, kick,
ban, unban, membership state events, profile changes and deactivation."""

from __future__ import annotations

from typing import Any

from synapse_modhost._codes import Codes
from synapse_modhost.types import RatelimitOverride, create_requester
from tests.homeserver._rooms_base import RoomsTestBase
from tests.homeserver._rooms_probe import RoomsProbe

MEMBER_FLOW = ["check_event_allowed", "on_new_event"]


class JoinTests(RoomsTestBase):
    """``/join`` and ``/rooms/{roomId}/join``."""

    def setUp(self) -> None:
        super().setUp()
        self.public = self.create_room(self.alice_token, preset="public_chat", room_alias_name="pub")
        self.private = self.create_room(self.alice_token, preset="private_chat")
        self.reset_calls()

    def test_join_order(self) -> None:
        """``user_may_join_room(user, room, False)`` → ``check_event_allowed`` → ``on_new_event``."""
        body = self.ok("POST", self.room_path(self.public, "join"), self.bob_token, {})
        self.assertEqual(body, {"room_id": self.public})
        self.assertEqual(self.names(), ["user_may_join_room"] + MEMBER_FLOW)
        self.assertEqual(self.calls()[0][1], ("@bob:test.local", self.public, False))
        join = self.calls()[1][1][0]
        self.assertEqual(join, ("EVENT", "m.room.member", "@bob:test.local", {"displayname": "bob", "membership": "join"}))

    def test_join_by_alias_when_invited(self) -> None:
        """``/join/{alias}``: ``is_invited`` is true after an invite."""
        self.invite(self.alice_token, self.public, self.bob)
        self.reset_calls()
        body = self.ok("POST", "/join/%23pub:test.local", self.bob_token, {})
        self.assertEqual(body, {"room_id": self.public})
        self.assertEqual(self.calls()[0], ("user_may_join_room", ("@bob:test.local", self.public, True)))

    def test_join_denied(self) -> None:
        """403 "Not allowed to join this room" with the module's code and extras."""
        self.answer("user_may_join_room", (Codes.CONSENT_NOT_GIVEN, {"extra": 1}))
        channel = self.request("POST", self.room_path(self.public, "join"), self.bob_token, {})
        self.assertEqual(channel.code, 403)
        self.assertEqual(channel.json_body, {"errcode": "M_CONSENT_NOT_GIVEN", "error": "Not allowed to join this room", "extra": 1})

    def test_admin_join_skips_spam_check(self) -> None:
        """Server admins are not spam-checked."""
        self.ok("POST", self.room_path(self.public, "join"), self.admin_token, {})
        self.assertEqual(self.names(), MEMBER_FLOW)

    def test_join_errors(self) -> None:
        """Invite-only, unknown room and unknown alias, as Synapse answers them."""
        channel = self.request("POST", self.room_path(self.private, "join"), self.bob_token, {})
        self.assert_error(channel, 403, "M_FORBIDDEN", "You are not invited to this room.")
        self.assertEqual(self.names(), ["user_may_join_room", "check_event_allowed"])
        self.assert_error(
            self.request("POST", "/join/!nope:test.local", self.bob_token, {}), 404, "M_UNKNOWN",
            "Can't join remote room because no servers that are in the room have been provided.",
        )  # fmt: skip
        self.assert_error(self.request("POST", "/join/%23nope:test.local", self.bob_token, {}), 404, "M_NOT_FOUND",
                          "Room alias #nope:test.local not found")  # fmt: skip
        self.assert_error(self.request("POST", "/join/nonsense", self.bob_token, {}), 400, "M_UNKNOWN",
                          "nonsense was not legal room ID or room alias")  # fmt: skip

    def test_join_again_is_noop(self) -> None:
        """Joining twice with the same profile keeps the first event."""
        self.join(self.bob_token, self.public)
        first = self.state(self.bob_token, self.public)
        self.join(self.bob_token, self.public)
        self.assertEqual(self.state(self.bob_token, self.public), first)


class InviteTests(RoomsTestBase):
    """Invites: rate limits, spam checks, third-party invites."""

    def setUp(self) -> None:
        super().setUp()
        self.room = self.create_room(self.alice_token, preset="private_chat")
        self.reset_calls()

    def test_invite_order(self) -> None:
        """Three rate-limit overrides, then ``user_may_invite``, then the event."""
        self.invite(self.alice_token, self.room, self.bob)
        self.assertEqual(
            self.calls()[:3],
            [("get_ratelimit_override_for_user", ("@alice:test.local", "rc_invites.per_room")),
             ("get_ratelimit_override_for_user", ("@alice:test.local", "rc_invites.per_user")),
             ("get_ratelimit_override_for_user", ("@alice:test.local", "rc_invites.per_issuer"))],
        )  # fmt: skip
        self.assertEqual(self.calls()[3], ("user_may_invite", ("@alice:test.local", "@bob:test.local", self.room)))
        self.assertEqual(self.names()[4:], MEMBER_FLOW)
        invite = RoomsProbe.raw[-1][1][0]
        stripped = invite.unsigned["invite_room_state"]
        self.assertIn({"type": "m.room.create", "state_key": "", "content": {"room_version": "12"},
                       "sender": "@alice:test.local"}, stripped)  # fmt: skip

    def test_invite_denials(self) -> None:
        """Rate limited (429 + retry_after_ms), spam-checked and power-level denials."""
        self.answer("get_ratelimit_override_for_user", RatelimitOverride(per_second=0.1, burst_count=0))
        channel = self.request("POST", self.room_path(self.room, "invite"), self.alice_token, {"user_id": self.bob})
        self.assertEqual(channel.code, 429)
        self.assertEqual(channel.json_body["errcode"], "M_LIMIT_EXCEEDED")
        self.assertEqual(channel.json_body["error"], "Too Many Requests")
        self.assertIn("retry_after_ms", channel.json_body)
        self.assertIn("retry-after", channel.headers)
        self.answer("get_ratelimit_override_for_user", None)
        self.answer("user_may_invite", (Codes.FORBIDDEN, {"reason": "no"}))
        channel = self.request("POST", self.room_path(self.room, "invite"), self.alice_token, {"user_id": self.bob})
        self.assertEqual(channel.json_body, {"errcode": "M_FORBIDDEN", "error": "Invites have been disabled on this server", "reason": "no"})
        public = self.create_room(self.alice_token, preset="public_chat")
        self.join(self.bob_token, public)
        self.answer("user_may_invite", True)
        self.assert_error(self.request("POST", self.room_path(public, "invite"), self.bob_token, {"user_id": self.admin}),
                          403, "M_FORBIDDEN", "You don't have permission to invite users")  # fmt: skip
        self.assert_error(self.request("POST", self.room_path(public, "invite"), self.alice_token, {"user_id": self.alice}),
                          403, "M_FORBIDDEN", "@alice:test.local is already in the room.")  # fmt: skip

    def test_admin_invite_skips_user_may_invite(self) -> None:
        """Admins are not asked ``user_may_invite`` (the rate-limit overrides still run)."""
        room = self.create_room(self.admin_token, preset="private_chat")
        self.reset_calls()
        self.invite(self.admin_token, room, self.bob)
        self.assertNotIn("user_may_invite", self.names())
        self.assertIn("get_ratelimit_override_for_user", self.names())

    def test_threepid_invite(self) -> None:
        """An unbound address: ``check_threepid_can_be_invited`` → ``user_may_send_3pid_invite``
        → a third-party invite event (send callbacks)."""
        body = {"medium": "email", "address": "carol@example.com", "id_server": "id.example.com", "id_access_token": "t"}
        self.ok("POST", self.room_path(self.room, "invite"), self.alice_token, body)
        self.assertEqual(
            self.names(),
            ["check_threepid_can_be_invited", "user_may_send_3pid_invite", "check_event_allowed",
             "check_event_for_spam", "on_new_event"],
        )  # fmt: skip
        medium, address, state = self.calls()[0][1]
        self.assertEqual((medium, address), ("email", "carol@example.com"))
        self.assertIn(("m.room.create", ""), state)
        self.assertEqual(self.calls()[1][1], ("@alice:test.local", "email", "carol@example.com", self.room))
        event = self.calls()[2][1][0]
        self.assertEqual(event[1], "m.room.third_party_invite")
        self.assertEqual(event[3]["display_name"], "ca...@ex...")

    def test_threepid_invite_denials(self) -> None:
        """Synapse's texts for each refusal and for a missing identity server."""
        body = {"medium": "email", "address": "carol@example.com", "id_server": "id.example.com", "id_access_token": "t"}
        path = self.room_path(self.room, "invite")
        self.answer("check_threepid_can_be_invited", False)
        self.assert_error(self.request("POST", path, self.alice_token, body), 403, "M_FORBIDDEN",
                          "This third-party identifier can not be invited in this room")  # fmt: skip
        self.answer("check_threepid_can_be_invited", True)
        self.answer("user_may_send_3pid_invite", False)
        self.assert_error(self.request("POST", path, self.alice_token, body), 403, "M_FORBIDDEN", "Cannot send threepid invite")
        self.assert_error(
            self.request("POST", path, self.alice_token, {"medium": "email", "address": "x@y"}), 400, "M_MISSING_PARAM",
            "`id_server` and `id_access_token` are required when doing 3pid invite",
        )  # fmt: skip

    def test_threepid_bound_to_local_user(self) -> None:
        """An address bound to a local user invites that user (``user_may_invite``)."""
        self.get_success(self.hs.user_store.add_threepid(self.bob, "email", "bob@example.com", 0, 0))
        body = {"medium": "email", "address": "bob@example.com", "id_server": "id", "id_access_token": "t"}
        self.ok("POST", self.room_path(self.room, "invite"), self.alice_token, body)
        self.assertIn(("user_may_invite", ("@alice:test.local", "@bob:test.local", self.room)), self.calls())
        member = self.state(self.alice_token, self.room)[("m.room.member", "@bob:test.local")]
        self.assertEqual(member["membership"], "invite")


class LeaveKickBanTests(RoomsTestBase):
    """Leave, kick, ban, unban, membership state events, forget."""

    def setUp(self) -> None:
        super().setUp()
        self.room = self.create_room(self.alice_token, preset="public_chat")
        self.join(self.bob_token, self.room)
        self.reset_calls()

    def action(self, token: str, action: str, user_id: Any = None) -> Any:
        body = {} if user_id is None else {"user_id": user_id}
        return self.request("POST", self.room_path(self.room, action), token, body)

    def test_leave_kick_ban_unban_callbacks(self) -> None:
        """No spam-checker callback: ``check_event_allowed`` and ``on_new_event`` only."""
        for token, action, target, membership in (
            (self.alice_token, "ban", self.bob, "ban"),
            (self.alice_token, "unban", self.bob, "leave"),
        ):
            self.reset_calls()
            self.assertEqual(self.action(token, action, target).code, 200)
            self.assertEqual(self.names(), MEMBER_FLOW)
            self.assertEqual(self.calls()[0][1][0][3]["membership"], membership)
        self.join(self.bob_token, self.room)
        self.reset_calls()
        self.assertEqual(self.action(self.alice_token, "kick", self.bob).code, 200)
        self.assertEqual(self.names(), MEMBER_FLOW)
        self.join(self.bob_token, self.room)
        self.reset_calls()
        self.assertEqual(self.action(self.bob_token, "leave").code, 200)
        self.assertEqual(self.names(), MEMBER_FLOW)

    def test_denials(self) -> None:
        """Synapse's texts for membership changes the rules refuse."""
        self.assert_error(self.action(self.bob_token, "kick", self.alice), 403, "M_FORBIDDEN", "You cannot kick user @alice:test.local.")
        self.assert_error(self.action(self.alice_token, "kick", self.admin), 403, "M_FORBIDDEN", "The target user is not in the room")
        self.assert_error(self.action(self.bob_token, "ban", self.alice), 403, "M_FORBIDDEN", "You don't have permission to ban")
        self.assertEqual(self.action(self.alice_token, "ban", self.bob).code, 200)
        self.assert_error(self.action(self.bob_token, "join"), 403, "M_BAD_STATE", "Cannot join user who was banned")
        self.assert_error(self.action(self.alice_token, "invite", self.bob), 403, "M_BAD_STATE", "Cannot invite user who was banned")
        self.assertEqual(self.action(self.alice_token, "unban", self.bob).code, 200)
        self.assert_error(self.action(self.alice_token, "unban", self.bob), 403, "M_BAD_STATE",
                          "Cannot unban user who was not banned (membership=leave)")  # fmt: skip
        self.assert_error(self.action(self.bob_token, "leave"), 403, "M_FORBIDDEN", "@bob:test.local not in room %s." % self.room)
        self.assert_error(self.request("POST", "/rooms/!nope:test.local/leave", self.bob_token, {}), 404, "M_UNKNOWN", "Not a known room")
        self.assert_error(self.action(self.alice_token, "kick", "bob"), 400, "M_INVALID_PARAM", "Expected UserID string to start with '@'")
        self.assert_error(self.action(self.alice_token, "kick"), 400, "M_MISSING_PARAM", "Missing params: ['user_id']")

    def test_member_state_event(self) -> None:
        """``PUT …/state/m.room.member/{userId}``: ``user_may_send_state_event``, then the
        membership flow; a non-string membership is 400."""
        path = self.room_path(self.room, "state/m.room.member/@admin:test.local")
        self.ok("PUT", path, self.alice_token, {"membership": "invite"})
        self.assertEqual(self.names()[0], "user_may_send_state_event")
        self.assertIn("user_may_invite", self.names())
        self.assert_error(self.request("PUT", path, self.alice_token, {"membership": 5}), 400, "M_UNKNOWN",
                          "Invalid membership (must be a string)")  # fmt: skip
        self.assert_error(self.request("PUT", path, self.alice_token, {"membership": "foo"}), 400, "M_UNKNOWN",
                          "Invalid membership key")  # fmt: skip

    def test_forget(self) -> None:
        """``/forget`` only after leaving; a forgotten room is hidden from state reads."""
        self.assert_error(self.request("POST", self.room_path(self.room, "forget"), self.bob_token, {}), 400,
                          "M_UNKNOWN", "User @bob:test.local in room %s" % self.room)  # fmt: skip
        self.action(self.bob_token, "leave")
        self.ok("POST", self.room_path(self.room, "forget"), self.bob_token, {})
        channel = self.request("GET", self.room_path(self.room, "state"), self.bob_token)
        self.assertEqual(channel.code, 403)


class ProfileAndDeactivationTests(RoomsTestBase):
    """Membership changes other handlers ask for."""

    def setUp(self) -> None:
        super().setUp()
        self.room = self.create_room(self.alice_token, preset="public_chat")
        self.join(self.bob_token, self.room)
        self.reset_calls()

    def test_profile_update_rejoins(self) -> None:
        """A new join event per joined room: ``user_may_join_room(user, room, False)`` +
        ``check_event_allowed`` + ``on_new_event``; failures do not raise."""
        self.get_success(self.hs.user_store.set_displayname(self.bob, "Bobby"))
        requester = create_requester(self.bob)
        self.get_success(self.hs.membership.update_profile_in_joined_rooms(requester, self.bob))
        self.assertEqual(self.names(), ["user_may_join_room"] + MEMBER_FLOW)
        self.assertEqual(self.calls()[0][1], ("@bob:test.local", self.room, False))
        member = self.state(self.bob_token, self.room)[("m.room.member", "@bob:test.local")]
        self.assertEqual(member, {"displayname": "Bobby", "membership": "join"})
        self.answer("user_may_join_room", False)
        self.get_success(self.hs.membership.update_profile_in_joined_rooms(requester, self.bob))

    def test_profile_change_through_the_api(self) -> None:
        """``PUT /profile/{userId}/displayname`` sends a new join event into each room."""
        self.ok("PUT", "/profile/@bob:test.local/displayname", self.bob_token, {"displayname": "New Bob"})
        self.assertEqual(self.names()[-3:], ["user_may_join_room"] + MEMBER_FLOW)
        member = self.state(self.bob_token, self.room)[("m.room.member", "@bob:test.local")]
        self.assertEqual(member["displayname"], "New Bob")

    def test_leave_all_rooms(self) -> None:
        """Deactivation parts the user from joined rooms and rejects invites."""
        private = self.create_room(self.alice_token, preset="private_chat")
        self.invite(self.alice_token, private, self.bob)
        self.get_success(self.hs.membership.leave_all_rooms(self.bob))
        memberships = self.get_success(
            self.hs.event_store.get_rooms_for_user_with_membership(self.bob, include_forgotten=True)
        )
        self.assertEqual({r: m[0] for r, m in memberships.items()}, {self.room: "leave", private: "leave"})
        # the joined room is also forgotten; the rejected invite is not
        self.assertEqual(list(self.get_success(self.hs.event_store.get_rooms_for_user_with_membership(self.bob))), [private])
