-- synapse-modhost schema 002: rooms, events, room state, memberships, aliases.
-- Owned by synapse_modhost/storage/_events.py and _rooms.py. Never edit once released:
-- add a new file. Booleans are 0/1 integers; *_ts columns are milliseconds since the epoch.

CREATE TABLE rooms (
    room_id TEXT NOT NULL PRIMARY KEY,
    room_version TEXT NOT NULL,
    creator TEXT,
    -- published in the local room directory
    is_public INTEGER NOT NULL DEFAULT 0,
    created_ts INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX rooms_public ON rooms (is_public) WHERE is_public = 1;

-- every persisted event, in stream order (the stream position is the rowid and is never
-- reused: AUTOINCREMENT keeps the highest value ever assigned, even after a purge)
CREATE TABLE events (
    stream_ordering INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    -- NULL for non-state events
    state_key TEXT,
    sender TEXT NOT NULL,
    depth INTEGER NOT NULL,
    origin_server_ts INTEGER NOT NULL,
    -- the PDU as persisted (get_dict_for_persistence), canonical JSON
    json TEXT NOT NULL,
    -- the internal metadata dict (txn_id, device_id, token_id, ...), JSON
    internal_metadata TEXT NOT NULL,
    -- the redaction event that redacted this one
    redacted_by TEXT,
    -- PUT .../send/{type}/{txnId}: one event per (room, sender, device, transaction ID)
    device_id TEXT,
    txn_id TEXT
);

CREATE INDEX events_by_room ON events (room_id, stream_ordering);
CREATE UNIQUE INDEX events_by_txn ON events (room_id, sender, device_id, txn_id)
    WHERE txn_id IS NOT NULL;
-- the state of a room at any stream position (its state history)
CREATE INDEX events_state_by_room ON events (room_id, type, state_key, stream_ordering)
    WHERE state_key IS NOT NULL;

CREATE TABLE current_state_events (
    room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (room_id, type, state_key)
) WITHOUT ROWID;

-- the current membership of local users (join, invite, leave, ban, knock)
CREATE TABLE local_current_membership (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    membership TEXT NOT NULL,
    event_id TEXT NOT NULL,
    stream_ordering INTEGER NOT NULL,
    forgotten INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, room_id)
) WITHOUT ROWID;

CREATE INDEX local_current_membership_by_room ON local_current_membership (room_id);

CREATE TABLE room_aliases (
    room_alias TEXT NOT NULL PRIMARY KEY,
    room_id TEXT NOT NULL,
    creator TEXT,
    -- JSON list of server names
    servers TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX room_aliases_by_room ON room_aliases (room_id);

-- rooms an admin blocked (may name rooms this server never knew)
CREATE TABLE blocked_rooms (
    room_id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL
) WITHOUT ROWID;
