-- synapse-modhost schema 001: accounts, devices, tokens, profiles, third-party ids.
-- Owned by synapse_modhost/storage/_users.py. Never edit once released: add a new file.
-- Booleans are 0/1 integers; *_ts / *_ms / *_at columns are milliseconds since the
-- epoch, except users.creation_ts, in seconds (the unit Synapse reports).

CREATE TABLE users (
    user_id TEXT NOT NULL PRIMARY KEY,
    password_hash TEXT,
    creation_ts INTEGER NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    is_guest INTEGER NOT NULL DEFAULT 0,
    deactivated INTEGER NOT NULL DEFAULT 0,
    erased INTEGER NOT NULL DEFAULT 0,
    shadow_banned INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    suspended INTEGER NOT NULL DEFAULT 0,
    approved INTEGER NOT NULL DEFAULT 1,
    user_type TEXT,
    appservice_id TEXT,
    consent_version TEXT,
    consent_ts INTEGER,
    consent_server_notice_sent TEXT
) WITHOUT ROWID;

-- case-insensitive existence checks (login, check_user_exists)
CREATE INDEX users_user_id_nocase ON users (user_id COLLATE NOCASE);

CREATE TABLE devices (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    display_name TEXT,
    last_seen_ts INTEGER,
    last_seen_ip TEXT,
    last_seen_user_agent TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    next_token_id INTEGER REFERENCES refresh_tokens (id) ON DELETE CASCADE,
    expiry_ts INTEGER,
    ultimate_session_expiry_ts INTEGER
);

CREATE INDEX refresh_tokens_by_device ON refresh_tokens (user_id, device_id);
CREATE INDEX refresh_tokens_by_next ON refresh_tokens (next_token_id);

-- "id" is the rowid: the token_id handed around (Synapse's TokenLookupResult.token_id)
CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    device_id TEXT,
    valid_until_ms INTEGER,
    puppets_user_id TEXT,
    refresh_token_id INTEGER REFERENCES refresh_tokens (id) ON DELETE CASCADE,
    used INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX access_tokens_by_device ON access_tokens (user_id, device_id);
CREATE INDEX access_tokens_by_refresh_token ON access_tokens (refresh_token_id);

CREATE TABLE profiles (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    displayname TEXT,
    avatar_url TEXT
) WITHOUT ROWID;

-- one owner per (medium, address); listed per user in insertion (rowid) order
CREATE TABLE user_threepids (
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    validated_at INTEGER NOT NULL,
    added_at INTEGER NOT NULL,
    UNIQUE (medium, address)
);

CREATE INDEX user_threepids_by_user ON user_threepids (user_id);

CREATE TABLE user_external_ids (
    auth_provider TEXT NOT NULL,
    external_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    PRIMARY KEY (auth_provider, external_id)
) WITHOUT ROWID;

CREATE INDEX user_external_ids_by_user ON user_external_ids (user_id);

CREATE TABLE login_tokens (
    token TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    expiry_ts INTEGER NOT NULL,
    auth_provider_id TEXT,
    auth_provider_session_id TEXT,
    used_ts INTEGER
) WITHOUT ROWID;

CREATE INDEX login_tokens_by_user ON login_tokens (user_id);
CREATE INDEX login_tokens_by_expiry ON login_tokens (expiry_ts);
CREATE INDEX login_tokens_by_session ON login_tokens (auth_provider_id, auth_provider_session_id);
