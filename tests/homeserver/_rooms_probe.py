"""A probe module for the room tests: records every room-related callback it sees, in
order, and answers as the test sets on the class (``RoomsProbe.answers``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from synapse_modhost.module_api import ModuleApi
from synapse_modhost.types import NOT_SPAM

PROBE = "tests.homeserver._rooms_probe.RoomsProbe"

#: ``{callback name: answer}``; a callable answer is called with the arguments
Answers = Dict[str, Any]


def _summary(value: Any) -> Any:
    """Events become ``("EVENT", type, state_key, content)``; state maps become sorted
    lists of their keys."""
    if hasattr(value, "event_id") and hasattr(value, "get_dict"):
        return ("EVENT", value.type, value.get_state_key(), value.content.copy())
    if isinstance(value, dict) and value and all(isinstance(k, tuple) for k in value):
        return sorted(value)
    return value


class RoomsProbe:
    """Registers spam-checker, third-party-rules, ratelimit and account-validity callbacks."""

    #: ``(callback name, args)`` in call order (args summarised, see ``_summary``)
    calls: List[Tuple[str, Tuple[Any, ...]]] = []
    #: the raw arguments, in the same order
    raw: List[Tuple[str, Tuple[Any, ...]]] = []
    answers: Answers = {}
    instances: List["RoomsProbe"] = []

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        self.api = api
        RoomsProbe.instances.append(self)
        api.register_account_validity_callbacks(is_user_expired=self.is_user_expired)
        api.register_spam_checker_callbacks(
            check_event_for_spam=self.check_event_for_spam,
            user_may_join_room=self.user_may_join_room,
            user_may_invite=self.user_may_invite,
            user_may_send_3pid_invite=self.user_may_send_3pid_invite,
            user_may_create_room=self.user_may_create_room,
            user_may_create_room_alias=self.user_may_create_room_alias,
            user_may_publish_room=self.user_may_publish_room,
            user_may_send_state_event=self.user_may_send_state_event,
        )
        api.register_third_party_rules_callbacks(
            check_event_allowed=self.check_event_allowed,
            on_create_room=self.on_create_room,
            check_threepid_can_be_invited=self.check_threepid_can_be_invited,
            check_visibility_can_be_modified=self.check_visibility_can_be_modified,
            on_new_event=self.on_new_event,
            check_can_shutdown_room=self.check_can_shutdown_room,
        )
        api.register_ratelimit_callbacks(get_ratelimit_override_for_user=self.get_ratelimit_override_for_user)

    @staticmethod
    def parse_config(config: Dict[str, Any]) -> Dict[str, Any]:
        return config

    @classmethod
    def reset(cls) -> None:
        cls.calls = []
        cls.raw = []
        cls.answers = {}
        cls.instances = []

    @classmethod
    def names(cls, exclude: Tuple[str, ...] = ("is_user_expired",)) -> List[str]:
        """The callback names called so far (``is_user_expired`` left out by default)."""
        return [name for name, _ in cls.calls if name not in exclude]

    @classmethod
    def args_of(cls, name: str) -> List[Tuple[Any, ...]]:
        return [args for n, args in cls.calls if n == name]

    def _record(self, name: str, default: Any, *args: Any) -> Any:
        RoomsProbe.calls.append((name, tuple(_summary(a) for a in args)))
        RoomsProbe.raw.append((name, args))
        answer = RoomsProbe.answers.get(name, default)
        if callable(answer):
            return answer(*args)
        return answer

    async def is_user_expired(self, user_id: str) -> Optional[bool]:
        return self._record("is_user_expired", None, user_id)

    async def check_event_for_spam(self, event: Any) -> Any:
        return self._record("check_event_for_spam", NOT_SPAM, event)

    async def user_may_join_room(self, user_id: str, room_id: str, is_invited: bool) -> Any:
        return self._record("user_may_join_room", NOT_SPAM, user_id, room_id, is_invited)

    async def user_may_invite(self, inviter: str, invitee: str, room_id: str) -> Any:
        return self._record("user_may_invite", NOT_SPAM, inviter, invitee, room_id)

    async def user_may_send_3pid_invite(self, inviter: str, medium: str, address: str, room_id: str) -> Any:
        return self._record("user_may_send_3pid_invite", NOT_SPAM, inviter, medium, address, room_id)

    async def user_may_create_room(self, user_id: str, room_config: Dict[str, Any]) -> Any:
        return self._record("user_may_create_room", NOT_SPAM, user_id, room_config)

    async def user_may_create_room_alias(self, user_id: str, room_alias: Any) -> Any:
        return self._record("user_may_create_room_alias", NOT_SPAM, user_id, room_alias)

    async def user_may_publish_room(self, user_id: str, room_id: str) -> Any:
        return self._record("user_may_publish_room", NOT_SPAM, user_id, room_id)

    async def user_may_send_state_event(
        self, user_id: str, room_id: str, event_type: str, state_key: str, content: Dict[str, Any]
    ) -> Any:
        return self._record(
            "user_may_send_state_event", NOT_SPAM, user_id, room_id, event_type, state_key, content
        )

    async def check_event_allowed(self, event: Any, state: Any) -> Any:
        return self._record("check_event_allowed", (True, None), event, state)

    async def on_create_room(self, requester: Any, config: Dict[str, Any], is_admin: bool) -> Any:
        return self._record("on_create_room", None, requester.user_id, config, is_admin)

    async def check_threepid_can_be_invited(self, medium: str, address: str, state: Any) -> Any:
        return self._record("check_threepid_can_be_invited", True, medium, address, state)

    async def check_visibility_can_be_modified(self, room_id: str, state: Any, visibility: str) -> Any:
        return self._record("check_visibility_can_be_modified", True, room_id, state, visibility)

    async def on_new_event(self, event: Any, state: Any) -> Any:
        return self._record("on_new_event", None, event, state)

    async def check_can_shutdown_room(self, user_id: Optional[str], room_id: str) -> Any:
        return self._record("check_can_shutdown_room", True, user_id, room_id)

    async def get_ratelimit_override_for_user(self, user_id: str, limiter_name: str) -> Any:
        return self._record("get_ratelimit_override_for_user", None, user_id, limiter_name)
