-- synapse-modhost schema 003: the local media repository.
-- Owned by synapse_modhost/storage/_media.py. Never edit once released: add a new file.
-- Table and column names are Synapse's (local_media_repository), so a module reading
-- them through run_db_interaction finds what it would find on Synapse.
-- *_ts columns are milliseconds since the epoch; booleans are 0/1 integers.

CREATE TABLE local_media_repository (
    media_id TEXT NOT NULL PRIMARY KEY,
    -- the uploader (also the creator of a media id reserved by POST /create)
    user_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    media_type TEXT,
    upload_name TEXT,
    -- NULL while a media id made by POST /create has no content yet
    media_length INTEGER,
    sha256 TEXT,
    -- 1 when uploaded with authenticated media on (Synapse's default): the legacy
    -- unauthenticated download endpoints answer 404 for it
    authenticated INTEGER NOT NULL DEFAULT 1,
    quarantined_by TEXT,
    last_access_ts INTEGER
) WITHOUT ROWID;

-- uploaded bytes per user and period (media_upload_limits), pending ids per user
CREATE INDEX local_media_repository_user_created
    ON local_media_repository (user_id, created_ts);
