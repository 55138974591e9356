"""Storage: the database engine, schema migrations, the ``DatabasePool`` modules see
through ``run_db_interaction``, and the stores handlers use.

``synapse.storage.database`` serves ``DatabasePool`` and ``LoggingTransaction`` from here.

Typical start-up (the host)::

    engine = await open_database(reactor, config.database.database, threaded=True)
    pool = DatabasePool(engine)          # ModuleApi.run_db_interaction -> pool.runInteraction
    users = UserStore(engine)
    ...
    await engine.close()

Schema files are ``schema/NNN_name.sql`` (see ``_migrations``): ``001_users`` belongs to
the user store; other stores add their own files (``002_rooms``, ``003_media``, ...; the
full name is the identity, so a shared number does not collide) and export their store
class from here. SQL uses ``?`` placeholders.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict

if TYPE_CHECKING:
    from synapse_modhost.storage._account_data import (
        AccountDataSnapshot,
        AccountDataStore,
    )
    from synapse_modhost.storage._engine import (
        MEMORY,
        SqliteEngine,
    )
    from synapse_modhost.storage._errors import (
        DatabaseClosedError,
        DatabaseOpenError,
        MigrationError,
        StorageError,
        StoreError,
        UnknownMigrationError,
    )
    from synapse_modhost.storage._event_persist import (
        PersistRow,
    )
    from synapse_modhost.storage._events import (
        EventStore,
        RoomCache,
    )
    from synapse_modhost.storage._interface import (
        DatabaseEngine,
    )
    from synapse_modhost.storage._media import (
        LocalMedia,
        MediaStore,
    )
    from synapse_modhost.storage._migrations import (
        Migration,
        apply_migrations,
        load_migrations,
        open_database,
        split_statements,
    )
    from synapse_modhost.storage._pool import (
        DatabasePool,
    )
    from synapse_modhost.storage._room_records import (
        AliasRecord,
        MembershipRecord,
        PublicRoomRecord,
        RoomAliasExistsError,
        RoomExistsError,
        RoomRecord,
    )
    from synapse_modhost.storage._rooms import (
        RoomStore,
    )
    from synapse_modhost.storage._transaction import (
        CallbackEntry,
        LoggingTransaction,
    )
    from synapse_modhost.storage._user_records import (
        AccessTokenRecord,
        ClientIpRecord,
        DeviceRecord,
        ExternalIdReuseError,
        FullProfile,
        LoginTokenExpired,
        LoginTokenNotFound,
        LoginTokenRecord,
        LoginTokenReused,
        Profile,
        ProfileTooLargeError,
        RefreshTokenRecord,
        ThreepidRecord,
        TokenCache,
        TokenInfo,
        UserDirectoryEntry,
        UserExistsError,
        UserListEntry,
        UserRecord,
    )
    from synapse_modhost.storage._users import (
        UserStore,
    )

# name -> the private module that defines it; loaded on first use, so that opening the
# database at start-up does not import every store and record class.
_EXPORTS: Dict[str, str] = {
    "AccessTokenRecord": "synapse_modhost.storage._user_records",
    "AccountDataSnapshot": "synapse_modhost.storage._account_data",
    "AccountDataStore": "synapse_modhost.storage._account_data",
    "AliasRecord": "synapse_modhost.storage._room_records",
    "CallbackEntry": "synapse_modhost.storage._transaction",
    "ClientIpRecord": "synapse_modhost.storage._user_records",
    "DatabaseClosedError": "synapse_modhost.storage._errors",
    "DatabaseEngine": "synapse_modhost.storage._interface",
    "DatabaseOpenError": "synapse_modhost.storage._errors",
    "DatabasePool": "synapse_modhost.storage._pool",
    "DeviceRecord": "synapse_modhost.storage._user_records",
    "EventStore": "synapse_modhost.storage._events",
    "ExternalIdReuseError": "synapse_modhost.storage._user_records",
    "FullProfile": "synapse_modhost.storage._user_records",
    "LocalMedia": "synapse_modhost.storage._media",
    "LoggingTransaction": "synapse_modhost.storage._transaction",
    "LoginTokenExpired": "synapse_modhost.storage._user_records",
    "LoginTokenNotFound": "synapse_modhost.storage._user_records",
    "LoginTokenRecord": "synapse_modhost.storage._user_records",
    "LoginTokenReused": "synapse_modhost.storage._user_records",
    "MEMORY": "synapse_modhost.storage._engine",
    "MediaStore": "synapse_modhost.storage._media",
    "MembershipRecord": "synapse_modhost.storage._room_records",
    "Migration": "synapse_modhost.storage._migrations",
    "MigrationError": "synapse_modhost.storage._errors",
    "PersistRow": "synapse_modhost.storage._event_persist",
    "Profile": "synapse_modhost.storage._user_records",
    "ProfileTooLargeError": "synapse_modhost.storage._user_records",
    "PublicRoomRecord": "synapse_modhost.storage._room_records",
    "RefreshTokenRecord": "synapse_modhost.storage._user_records",
    "RoomAliasExistsError": "synapse_modhost.storage._room_records",
    "RoomCache": "synapse_modhost.storage._events",
    "RoomExistsError": "synapse_modhost.storage._room_records",
    "RoomRecord": "synapse_modhost.storage._room_records",
    "RoomStore": "synapse_modhost.storage._rooms",
    "SqliteEngine": "synapse_modhost.storage._engine",
    "StorageError": "synapse_modhost.storage._errors",
    "StoreError": "synapse_modhost.storage._errors",
    "ThreepidRecord": "synapse_modhost.storage._user_records",
    "TokenCache": "synapse_modhost.storage._user_records",
    "TokenInfo": "synapse_modhost.storage._user_records",
    "UnknownMigrationError": "synapse_modhost.storage._errors",
    "UserDirectoryEntry": "synapse_modhost.storage._user_records",
    "UserExistsError": "synapse_modhost.storage._user_records",
    "UserListEntry": "synapse_modhost.storage._user_records",
    "UserRecord": "synapse_modhost.storage._user_records",
    "UserStore": "synapse_modhost.storage._users",
    "apply_migrations": "synapse_modhost.storage._migrations",
    "load_migrations": "synapse_modhost.storage._migrations",
    "open_database": "synapse_modhost.storage._migrations",
    "split_statements": "synapse_modhost.storage._migrations",
}

__all__ = [
    "AccessTokenRecord",
    "AccountDataSnapshot",
    "AccountDataStore",
    "AliasRecord",
    "CallbackEntry",
    "ClientIpRecord",
    "DatabaseClosedError",
    "DatabaseEngine",
    "DatabaseOpenError",
    "DatabasePool",
    "DeviceRecord",
    "EventStore",
    "ExternalIdReuseError",
    "FullProfile",
    "LocalMedia",
    "LoggingTransaction",
    "LoginTokenExpired",
    "LoginTokenNotFound",
    "LoginTokenRecord",
    "LoginTokenReused",
    "MEMORY",
    "MediaStore",
    "MembershipRecord",
    "Migration",
    "MigrationError",
    "PersistRow",
    "Profile",
    "ProfileTooLargeError",
    "PublicRoomRecord",
    "RefreshTokenRecord",
    "RoomAliasExistsError",
    "RoomCache",
    "RoomExistsError",
    "RoomRecord",
    "RoomStore",
    "SqliteEngine",
    "StorageError",
    "StoreError",
    "ThreepidRecord",
    "TokenCache",
    "TokenInfo",
    "UnknownMigrationError",
    "UserDirectoryEntry",
    "UserExistsError",
    "UserListEntry",
    "UserRecord",
    "UserStore",
    "apply_migrations",
    "load_migrations",
    "open_database",
    "split_statements",
]



def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> Any:
    return sorted(set(globals()) | set(_EXPORTS))
