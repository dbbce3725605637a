-- Jobs, guild budgets and the ledger that explains every change to a budget.

CREATE TABLE budgets (
    guild_id          INTEGER PRIMARY KEY,
    limit_seconds     INTEGER NOT NULL CHECK (limit_seconds >= 0),
    reserved_seconds  INTEGER NOT NULL DEFAULT 0 CHECK (reserved_seconds >= 0),
    spent_seconds     INTEGER NOT NULL DEFAULT 0 CHECK (spent_seconds >= 0),
    period            TEXT    NOT NULL,
    period_start      TEXT    NOT NULL,
    period_end        TEXT    NOT NULL
);

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    prompt            TEXT    NOT NULL,
    duration          INTEGER NOT NULL,
    price_micros      INTEGER NOT NULL,
    model             TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    upload_limit      INTEGER NOT NULL,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    start_url         TEXT,
    end_url           TEXT,
    request_id        TEXT UNIQUE,
    status_url        TEXT,
    response_url      TEXT,
    cancel_url        TEXT,
    queue_position    INTEGER,
    submitted_at      TEXT,
    started_at        TEXT,
    finished_at       TEXT,
    video_url         TEXT,
    video_size        INTEGER,
    card_message_id   INTEGER,
    thread_id         INTEGER,
    result_message_id INTEGER,
    failure           TEXT,
    failure_detail    TEXT,
    failure_notified  INTEGER NOT NULL DEFAULT 0,
    delivery_attempts INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX jobs_state ON jobs (state, failure_notified);
CREATE INDEX jobs_guild ON jobs (guild_id, created_at);

CREATE TABLE ledger (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    job_id      INTEGER REFERENCES jobs (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('reserve', 'charge', 'refund', 'reset')),
    seconds     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
);

CREATE INDEX ledger_guild ON ledger (guild_id, created_at);
CREATE UNIQUE INDEX ledger_once_per_job ON ledger (job_id, kind) WHERE job_id IS NOT NULL;
