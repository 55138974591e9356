-- synapse-modhost schema 005: more for accounts (owned by storage/_users.py and
-- storage/_credentials.py). Never edit once released: add a new file.

-- custom profile fields: a JSON object (NULL = none), as Synapse's profiles.fields
ALTER TABLE profiles ADD COLUMN fields TEXT;

-- third-party id validation sessions. The stand-in sends no mail: a session is
-- validated when it is created (validated_at set), see homeserver/handlers/threepids.py.
CREATE TABLE threepid_sessions (
    session_id TEXT NOT NULL PRIMARY KEY,
    client_secret TEXT NOT NULL,
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    validated_at INTEGER
) WITHOUT ROWID;

-- identity-server bindings recorded by ModuleApi.store_remote_3pid_association
-- (no foreign key: Synapse accepts any user id here)
CREATE TABLE user_threepid_id_server (
    user_id TEXT NOT NULL,
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    id_server TEXT NOT NULL,
    PRIMARY KEY (user_id, medium, address, id_server)
) WITHOUT ROWID;

-- where each access token was used from; written in batches (handlers/auth.py)
CREATE TABLE user_ips (
    user_id TEXT NOT NULL,
    access_token TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    device_id TEXT,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (user_id, access_token, ip)
) WITHOUT ROWID;

CREATE INDEX user_ips_by_last_seen ON user_ips (user_id, last_seen);
