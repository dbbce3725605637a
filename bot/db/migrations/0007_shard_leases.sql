-- Which running process serves which Discord shard (bot/db/leases.py): one row per shard, renewed while the
-- process runs and taken over once it has expired. shard_count 0 is a process on Discord's recommended count
-- serving every shard: its one row (shard 0) covers them all.
CREATE TABLE shard_leases (
    shard_count INTEGER NOT NULL CHECK (shard_count >= 0),
    shard_id INTEGER NOT NULL CHECK (shard_id >= 0 AND (shard_id < shard_count OR (shard_count = 0 AND shard_id = 0))),
    holder TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (shard_count, shard_id)
);

