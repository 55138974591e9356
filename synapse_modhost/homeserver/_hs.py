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
    from synapse_modhost.host import ModuleHost

__all__ = ["HomeServer"]


def _build(module: str, name: str, *args: Any) -> Any:
    """``module.name(*args)``, imported on first use (each handler costs nothing until a
    request or a module needs it)."""
    import importlib

    return getattr(importlib.import_module(module), name)(*args)


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
    def user_store(self) -> Any:
        from synapse_modhost.storage import UserStore

        return UserStore(self.engine)

    @cached_property
    def event_store(self) -> Any:
        return _build("synapse_modhost.storage", "EventStore", self.engine)

    @cached_property
    def media_store(self) -> Any:
        return _build("synapse_modhost.storage", "MediaStore", self.engine)

    @cached_property
    def account_data_store(self) -> Any:
        return _build("synapse_modhost.storage", "AccountDataStore", self.engine)

    # ------------------------------------------------------------------ handlers

    @cached_property
    def auth(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.auth", "Auth", self)

    @cached_property
    def registration(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.registration", "RegistrationHandler", self)

    @cached_property
    def login(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.login", "LoginHandler", self)

    @cached_property
    def profile(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.profile", "ProfileHandler", self)

    @cached_property
    def threepids(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.threepids", "ThreepidHandler", self)

    @cached_property
    def deactivation(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.deactivation", "DeactivationHandler", self)

    @cached_property
    def events(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.events", "EventCreationHandler", self)

    @cached_property
    def rooms(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.rooms", "RoomCreationHandler", self)

    @cached_property
    def membership(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.membership", "MembershipHandler", self)

    @cached_property
    def directory(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.directory", "DirectoryHandler", self)

    @cached_property
    def notifier(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.notifier", "Notifier", self)

    @cached_property
    def sync(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.sync", "SyncHandler", self)

    @cached_property
    def messages(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.messages", "MessageHandler", self)

    @cached_property
    def account_data(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.account_data", "AccountDataHandler", self)

    @cached_property
    def user_directory(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.user_directory", "UserDirectoryHandler", self)

    @cached_property
    def media(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.media", "MediaHandler", self)

    @cached_property
    def admin(self) -> Any:
        return _build("synapse_modhost.homeserver.handlers.admin", "AdminHandler", self)
