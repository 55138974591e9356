"""A probe module for the sync, messages, account data and user directory tests: records
the callbacks it sees, in order, and answers as the test says (class attributes)."""

from __future__ import annotations

from typing import Any, Dict, List, Set, Tuple, Union

from synapse_modhost.module_api import ModuleApi

PROBE = "tests.homeserver._sync_probe.SyncProbe"


class SyncProbe:
    """Registers unsigned-field, account data, username spam and presence router
    callbacks. ``config``: ``{"unsigned": bool, "account_data": bool, "spam": bool,
    "presence": bool}`` (each default ``True``), and ``"validity": true`` to record
    ``is_user_expired`` too (never expired)."""

    #: ``(callback name, args)`` in call order
    calls: List[Tuple[str, Tuple[Any, ...]]] = []
    #: set to an exception to make ``add_field_to_unsigned_callback`` raise it
    unsigned_raises: Union[BaseException, None] = None
    #: what ``get_interested_users`` returns
    interested: Union[Set[str], str] = set()
    #: extra routing for ``get_users_for_states``: user -> receives every state
    route_all_to: Set[str] = set()
    #: what ``get_global`` returned inside each global ``on_account_data_updated``
    stored_at_callback: List[Any] = []
    #: the last instance
    instance: "SyncProbe"

    def __init__(self, config: Dict[str, Any], api: ModuleApi) -> None:
        self.api = api
        SyncProbe.instance = self
        if config.get("unsigned", True):
            api.register_add_extra_fields_to_unsigned_client_event_callbacks(
                add_field_to_unsigned_callback=self.add_field_to_unsigned_callback
            )
        if config.get("account_data", True):
            api.register_account_data_callbacks(
                on_account_data_updated=self.on_account_data_updated
            )
        if config.get("spam", True):
            api.register_spam_checker_callbacks(
                check_username_for_spam=self.check_username_for_spam
            )
        if config.get("validity", False):
            api.register_account_validity_callbacks(is_user_expired=self.is_user_expired)
        if config.get("presence", True):
            api.register_presence_router_callbacks(
                get_users_for_states=self.get_users_for_states,
                get_interested_users=self.get_interested_users,
            )

    @classmethod
    def reset(cls) -> None:
        cls.calls = []
        cls.unsigned_raises = None
        cls.interested = set()
        cls.route_all_to = set()
        cls.stored_at_callback = []

    def names(self) -> List[str]:
        return [name for name, _ in self.calls]

    async def is_user_expired(self, user_id: str) -> bool:
        SyncProbe.calls.append(("is_user_expired", (user_id,)))
        return False

    async def add_field_to_unsigned_callback(self, event: Any) -> Dict[str, Any]:
        SyncProbe.calls.append(("add_field_to_unsigned_callback", (event.event_id,)))
        if SyncProbe.unsigned_raises is not None:
            raise SyncProbe.unsigned_raises
        return {"probe": 1, "age": "module", "membership": "module", "transaction_id": "module"}

    async def on_account_data_updated(
        self, user_id: str, room_id: Any, account_data_type: str, content: Dict[str, Any]
    ) -> None:
        SyncProbe.calls.append(
            ("on_account_data_updated", (user_id, room_id, account_data_type, content))
        )
        if room_id is None:
            manager = self.api.account_data_manager
            stored = await manager.get_global(user_id, account_data_type)
            SyncProbe.stored_at_callback.append(stored)

    async def check_username_for_spam(
        self, user_profile: Dict[str, Any], requester_id: str
    ) -> bool:
        SyncProbe.calls.append(("check_username_for_spam", (dict(user_profile), requester_id)))
        return str(user_profile["user_id"]).startswith("@spam")

    async def get_users_for_states(self, states: Any) -> Dict[str, Set[Any]]:
        states = list(states)
        SyncProbe.calls.append(("get_users_for_states", tuple(s.user_id for s in states)))
        return {user: set(states) for user in SyncProbe.route_all_to}

    async def get_interested_users(self, user_id: str) -> Union[Set[str], str]:
        SyncProbe.calls.append(("get_interested_users", (user_id,)))
        return SyncProbe.interested
