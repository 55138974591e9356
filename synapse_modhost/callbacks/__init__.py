"""Module callbacks: one registry per category, each with Synapse's combination rules.

``ModuleCallbacks`` holds every category; the host owns one, every ``ModuleApi`` registers
into it, and handlers run callbacks through it (``callbacks.spam_checker.user_may_invite``).
"""

from __future__ import annotations

from typing import Any, List

from synapse_modhost.callbacks._dispatch import (
    CallbackRef,
    Dispatcher,
    DispatchRecord,
    callable_name,
    delay_cancellation,
)
from synapse_modhost.callbacks._registry import CallbackCategory
from synapse_modhost.callbacks.account_data import AccountDataCallbacks
from synapse_modhost.callbacks.account_validity import AccountValidityCallbacks
from synapse_modhost.callbacks.background_updates import BackgroundUpdateControllerCallbacks
from synapse_modhost.callbacks.federation import FederationCallbacks
from synapse_modhost.callbacks.media_repository import MediaRepositoryCallbacks
from synapse_modhost.callbacks.password_auth_provider import PasswordAuthProviderCallbacks
from synapse_modhost.callbacks.presence_router import PresenceRouterCallbacks
from synapse_modhost.callbacks.ratelimit import RatelimitCallbacks
from synapse_modhost.callbacks.spam_checker import SpamCheckerCallbacks
from synapse_modhost.callbacks.third_party_rules import ThirdPartyRulesCallbacks
from synapse_modhost.callbacks.unsigned_fields import UnsignedFieldsCallbacks

__all__ = [
    "AccountDataCallbacks",
    "AccountValidityCallbacks",
    "BackgroundUpdateControllerCallbacks",
    "CallbackCategory",
    "CallbackRef",
    "DispatchRecord",
    "Dispatcher",
    "FederationCallbacks",
    "MediaRepositoryCallbacks",
    "ModuleCallbacks",
    "PasswordAuthProviderCallbacks",
    "PresenceRouterCallbacks",
    "RatelimitCallbacks",
    "SpamCheckerCallbacks",
    "ThirdPartyRulesCallbacks",
    "UnsignedFieldsCallbacks",
    "callable_name",
    "delay_cancellation",
]


class ModuleCallbacks:
    """Every callback category, sharing one dispatcher."""

    def __init__(self, clock: Any, *, auth_delegation_enabled: bool = False) -> None:
        self.dispatcher = Dispatcher(clock)
        d = self.dispatcher
        self.spam_checker = SpamCheckerCallbacks(d)
        self.third_party_rules = ThirdPartyRulesCallbacks(d)
        self.account_validity = AccountValidityCallbacks(d)
        self.media_repository = MediaRepositoryCallbacks(d)
        self.ratelimit = RatelimitCallbacks(d)
        self.presence_router = PresenceRouterCallbacks(d)
        self.password_auth_provider = PasswordAuthProviderCallbacks(
            d, auth_delegation_enabled=auth_delegation_enabled
        )
        self.account_data = AccountDataCallbacks(d)
        self.unsigned_fields = UnsignedFieldsCallbacks(d)
        self.background_updates = BackgroundUpdateControllerCallbacks(d)
        self.federation = FederationCallbacks(d)

    def categories(self) -> List[CallbackCategory]:
        """All categories, in a fixed order."""
        return [
            self.spam_checker,
            self.third_party_rules,
            self.account_validity,
            self.media_repository,
            self.ratelimit,
            self.presence_router,
            self.password_auth_provider,
            self.account_data,
            self.unsigned_fields,
            self.background_updates,
            self.federation,
        ]

    def registered(self) -> List[CallbackRef]:
        """Every registered callback, category by category."""
        return [ref for cat in self.categories() for ref in cat.registered()]
