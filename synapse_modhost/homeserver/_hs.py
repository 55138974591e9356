"""``HomeServer``: the stand-in's stores and handlers, built lazily from one database.

Each handler lives in ``homeserver/handlers/<concern>.py`` and each store in
``storage/_<concern>.py``; the properties below are the one place that wires them, so a
handler reaches another as ``self.hs.<name>`` and the REST layer and ``ModuleApi`` reach
the same objects (never a second path with different rules).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synapse_modhost.homeserver.handlers.account_data import AccountDataHandler
    from synapse_modhost.homeserver.handlers.admin import AdminHandler
    from synapse_modhost.homeserver.handlers.auth import Auth
    from synapse_modhost.homeserver.handlers.deactivation import DeactivationHandler
    from synapse_modhost.homeserver.handlers.directory import DirectoryHandler
    from synapse_modhost.homeserver.handlers.events import EventCreationHandler
    from synapse_modhost.homeserver.handlers.login import LoginHandler
    from synapse_modhost.homeserver.handlers.media import MediaHandler
    from synapse_modhost.homeserver.handlers.membership import MembershipHandler
    from synapse_modhost.homeserver.handlers.messages import MessageHandler
    from synapse_modhost.homeserver.handlers.notifier import Notifier
    from synapse_modhost.homeserver.handlers.profile import ProfileHandler
    from synapse_modhost.homeserver.handlers.registration import RegistrationHandler
    from synapse_modhost.homeserver.handlers.rooms import RoomCreationHandler
    from synapse_modhost.homeserver.handlers.sync import SyncHandler
    from synapse_modhost.homeserver.handlers.threepids import ThreepidHandler
    from synapse_modhost.homeserver.handlers.user_directory import UserDirectoryHandler
    from synapse_modhost.host import ModuleHost
    from synapse_modhost.storage import AccountDataStore, EventStore, MediaStore, UserStore

__all__ = ["HomeServer"]


class HomeServer:
    """Stores and handlers for one host. ``engine`` is the storage engine."""

    def __init__(self, host: "ModuleHost", engine: Any) -> None:
        self.host = host
        self.config = host.config
        self.reactor = host.reactor
        self.clock = host.reactor
        self.callbacks = host.callbacks
        self.server_name: str = host.config.server.server_name
        self.engine = engine

    def time_msec(self) -> int:
        """The clock's time in milliseconds."""
        return int(self.reactor.seconds() * 1000)

    def is_mine_id(self, string: str) -> bool:
        """Whether a user id, room alias or room id's domain is this server."""
        parts = string.split(":", 1)
        return len(parts) == 2 and parts[1] == self.server_name

    # ------------------------------------------------------------------ stores

    @cached_property
    def db_pool(self) -> Any:
        """What ``ModuleApi.run_db_interaction`` runs on."""
        from synapse_modhost.storage import DatabasePool

        return DatabasePool(self.engine)

    @cached_property
    def user_store(self) -> "UserStore":
        from synapse_modhost.storage import UserStore

        return UserStore(self.engine)

    @cached_property
    def event_store(self) -> "EventStore":
        from synapse_modhost.storage import EventStore

        return EventStore(self.engine, server_name=self.server_name)

    @cached_property
    def media_store(self) -> "MediaStore":
        from synapse_modhost.storage import MediaStore

        return MediaStore(self.engine)

    @cached_property
    def account_data_store(self) -> "AccountDataStore":
        from synapse_modhost.storage import AccountDataStore

        return AccountDataStore(self.engine)

    # ------------------------------------------------------------------ handlers

    @cached_property
    def auth(self) -> "Auth":
        from synapse_modhost.homeserver.handlers.auth import Auth

        return Auth(self)

    @cached_property
    def registration(self) -> "RegistrationHandler":
        from synapse_modhost.homeserver.handlers.registration import RegistrationHandler

        return RegistrationHandler(self)

    @cached_property
    def login(self) -> "LoginHandler":
        from synapse_modhost.homeserver.handlers.login import LoginHandler

        return LoginHandler(self)

    @cached_property
    def profile(self) -> "ProfileHandler":
        from synapse_modhost.homeserver.handlers.profile import ProfileHandler

        return ProfileHandler(self)

    @cached_property
    def threepids(self) -> "ThreepidHandler":
        from synapse_modhost.homeserver.handlers.threepids import ThreepidHandler

        return ThreepidHandler(self)

    @cached_property
    def deactivation(self) -> "DeactivationHandler":
        from synapse_modhost.homeserver.handlers.deactivation import DeactivationHandler

        return DeactivationHandler(self)

    @cached_property
    def events(self) -> "EventCreationHandler":
        from synapse_modhost.homeserver.handlers.events import EventCreationHandler

        return EventCreationHandler(self)

    @cached_property
    def rooms(self) -> "RoomCreationHandler":
        from synapse_modhost.homeserver.handlers.rooms import RoomCreationHandler

        return RoomCreationHandler(self)

    @cached_property
    def membership(self) -> "MembershipHandler":
        from synapse_modhost.homeserver.handlers.membership import MembershipHandler

        return MembershipHandler(self)

    @cached_property
    def directory(self) -> "DirectoryHandler":
        from synapse_modhost.homeserver.handlers.directory import DirectoryHandler

        return DirectoryHandler(self)

    @cached_property
    def notifier(self) -> "Notifier":
        from synapse_modhost.homeserver.handlers.notifier import Notifier

        return Notifier(self)

    @cached_property
    def sync(self) -> "SyncHandler":
        from synapse_modhost.homeserver.handlers.sync import SyncHandler

        return SyncHandler(self)

    @cached_property
    def messages(self) -> "MessageHandler":
        from synapse_modhost.homeserver.handlers.messages import MessageHandler

        return MessageHandler(self)

    @cached_property
    def account_data(self) -> "AccountDataHandler":
        from synapse_modhost.homeserver.handlers.account_data import AccountDataHandler

        return AccountDataHandler(self)

    @cached_property
    def user_directory(self) -> "UserDirectoryHandler":
        from synapse_modhost.homeserver.handlers.user_directory import UserDirectoryHandler

        return UserDirectoryHandler(self)

    @cached_property
    def media(self) -> "MediaHandler":
        from synapse_modhost.homeserver.handlers.media import MediaHandler

        return MediaHandler(self)

    @cached_property
    def account_validity(self) -> Any:
        from synapse_modhost.homeserver.handlers.account_validity import AccountValidityHandler

        return AccountValidityHandler(self)

    @cached_property
    def admin(self) -> "AdminHandler":
        from synapse_modhost.homeserver.handlers.admin import AdminHandler

        return AdminHandler(self)
