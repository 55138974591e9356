-- synapse-modhost schema 004: account data (global and per room) and sync filters.
-- Owned by synapse_modhost/storage/_account_data.py. Never edit once released: add a new file.

-- room_id '' is global account data. stream_id orders writes across all users (the
-- account data part of sync tokens); a row keeps the stream id of its last write.
CREATE TABLE account_data (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    account_data_type TEXT NOT NULL,
    stream_id INTEGER NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (user_id, room_id, account_data_type)
) WITHOUT ROWID;

CREATE INDEX account_data_by_stream ON account_data (user_id, stream_id);
CREATE INDEX account_data_max_stream ON account_data (stream_id);

-- POST /user/{userId}/filter; ids count from 0 per user, as Synapse's.
CREATE TABLE user_filters (
    user_id TEXT NOT NULL,
    filter_id INTEGER NOT NULL,
    filter_json TEXT NOT NULL,
    PRIMARY KEY (user_id, filter_id)
) WITHOUT ROWID;
