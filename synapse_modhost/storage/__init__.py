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

from synapse_modhost.storage._engine import MEMORY, DatabaseEngine, SqliteEngine
from synapse_modhost.storage._errors import (
    DatabaseClosedError,
    DatabaseOpenError,
    MigrationError,
    StorageError,
    StoreError,
    UnknownMigrationError,
)
from synapse_modhost.storage._migrations import (
    Migration,
    apply_migrations,
    load_migrations,
    open_database,
    split_statements,
)
from synapse_modhost.storage._pool import DatabasePool
from synapse_modhost.storage._transaction import CallbackEntry, LoggingTransaction
from synapse_modhost.storage._user_records import (
    AccessTokenRecord,
    DeviceRecord,
    ExternalIdReuseError,
    LoginTokenExpired,
    LoginTokenNotFound,
    LoginTokenRecord,
    LoginTokenReused,
    Profile,
    RefreshTokenRecord,
    ThreepidRecord,
    TokenCache,
    TokenInfo,
    UserDirectoryEntry,
    UserExistsError,
    UserRecord,
)
from synapse_modhost.storage._users import UserStore

__all__ = [
    "AccessTokenRecord",
    "CallbackEntry",
    "DatabaseClosedError",
    "DatabaseEngine",
    "DatabaseOpenError",
    "DatabasePool",
    "DeviceRecord",
    "ExternalIdReuseError",
    "LoggingTransaction",
    "LoginTokenExpired",
    "LoginTokenNotFound",
    "LoginTokenRecord",
    "LoginTokenReused",
    "MEMORY",
    "Migration",
    "MigrationError",
    "Profile",
    "RefreshTokenRecord",
    "SqliteEngine",
    "StorageError",
    "StoreError",
    "ThreepidRecord",
    "TokenCache",
    "TokenInfo",
    "UnknownMigrationError",
    "UserDirectoryEntry",
    "UserExistsError",
    "UserRecord",
    "UserStore",
    "apply_migrations",
    "load_migrations",
    "open_database",
    "split_statements",
]

from synapse_modhost.storage._account_data import AccountDataSnapshot, AccountDataStore

__all__ += ["AccountDataSnapshot", "AccountDataStore"]

from synapse_modhost.storage._media import LocalMedia, MediaStore  # noqa: E402

__all__ += ["LocalMedia", "MediaStore"]

from synapse_modhost.storage._user_records import (  # noqa: E402
    ClientIpRecord,
    FullProfile,
    ProfileTooLargeError,
    UserListEntry,
)

__all__ += ["ClientIpRecord", "FullProfile", "ProfileTooLargeError", "UserListEntry"]

# Rooms and events (schema 002_rooms).
from synapse_modhost.storage._event_persist import PersistRow  # noqa: E402
from synapse_modhost.storage._events import EventStore, RoomCache  # noqa: E402
from synapse_modhost.storage._room_records import (  # noqa: E402
    AliasRecord,
    MembershipRecord,
    PublicRoomRecord,
    RoomAliasExistsError,
    RoomExistsError,
    RoomRecord,
)
from synapse_modhost.storage._rooms import RoomStore  # noqa: E402

__all__ += [
    "AliasRecord",
    "EventStore",
    "MembershipRecord",
    "PersistRow",
    "PublicRoomRecord",
    "RoomAliasExistsError",
    "RoomCache",
    "RoomExistsError",
    "RoomRecord",
    "RoomStore",
]
