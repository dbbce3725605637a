-- A job's thread is a session: its current frames, prompt and duration, and numbered versions with parents.

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id      INTEGER NOT NULL,
    thread_id     INTEGER NOT NULL UNIQUE,
    channel_id    INTEGER NOT NULL,
    created_by    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    start_url     TEXT    NOT NULL,
    end_url       TEXT,
    prompt        TEXT    NOT NULL,
    duration      INTEGER NOT NULL,
    last_job_id   INTEGER REFERENCES jobs (id)
);

ALTER TABLE jobs ADD COLUMN session_id INTEGER REFERENCES sessions (id);
ALTER TABLE jobs ADD COLUMN version INTEGER;
ALTER TABLE jobs ADD COLUMN parent_job_id INTEGER REFERENCES jobs (id);
ALTER TABLE jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'tween';
CREATE INDEX jobs_session ON jobs (session_id, version);

CREATE TABLE votes (
    job_id   INTEGER NOT NULL REFERENCES jobs (id),
    user_id  INTEGER NOT NULL,
    at       TEXT    NOT NULL,
    PRIMARY KEY (job_id, user_id)
);
