-- Budgets become pots (guild, member, channel), each job remembers the pots it reserved from, and guilds get
-- their moderation settings and an audit trail.

CREATE TABLE guild_settings (
    guild_id            INTEGER PRIMARY KEY,
    paused              INTEGER NOT NULL DEFAULT 0,
    guild_seconds       INTEGER CHECK (guild_seconds >= 0),
    member_seconds      INTEGER CHECK (member_seconds >= 0),
    period              TEXT CHECK (period IN ('day', 'week', 'month')),
    reset_hour          INTEGER CHECK (reset_hour BETWEEN 0 AND 23),
    tier                TEXT NOT NULL DEFAULT 'pro' CHECK (tier IN ('pro', 'standard')),
    log_channel_id      INTEGER,
    approval            TEXT NOT NULL DEFAULT 'off' CHECK (approval IN ('off', 'over', 'without_role', 'always')),
    approval_seconds    INTEGER,
    approval_role_id    INTEGER,
    member_concurrency  INTEGER CHECK (member_concurrency >= 1),
    guild_concurrency   INTEGER CHECK (guild_concurrency >= 1)
);

CREATE TABLE role_allowances (
    guild_id  INTEGER NOT NULL,
    role_id   INTEGER NOT NULL,
    seconds   INTEGER NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (guild_id, role_id)
);

CREATE TABLE channel_budgets (
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    seconds     INTEGER NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (guild_id, channel_id)
);

CREATE TABLE tween_channels (
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);

CREATE TABLE blocked_members (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    blocked_by  INTEGER NOT NULL,
    reason      TEXT,
    at          TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE banned_words (
    guild_id  INTEGER NOT NULL,
    word      TEXT NOT NULL,
    PRIMARY KEY (guild_id, word)
);

CREATE TABLE pots (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id          INTEGER NOT NULL,
    scope             TEXT    NOT NULL CHECK (scope IN ('guild', 'member', 'channel')),
    subject_id        INTEGER NOT NULL,
    limit_seconds     INTEGER NOT NULL CHECK (limit_seconds >= 0),
    extra_seconds     INTEGER NOT NULL DEFAULT 0 CHECK (extra_seconds >= 0),
    reserved_seconds  INTEGER NOT NULL DEFAULT 0 CHECK (reserved_seconds >= 0),
    spent_seconds     INTEGER NOT NULL DEFAULT 0 CHECK (spent_seconds >= 0),
    period_start      TEXT    NOT NULL,
    period_end        TEXT    NOT NULL,
    warned            INTEGER NOT NULL DEFAULT 0,
    UNIQUE (guild_id, scope, subject_id)
);

INSERT INTO pots (guild_id, scope, subject_id, limit_seconds, reserved_seconds, spent_seconds, period_start, period_end)
SELECT guild_id, 'guild', guild_id, limit_seconds, reserved_seconds, spent_seconds, period_start, period_end FROM budgets;
DROP TABLE budgets;

CREATE TABLE job_pots (
    job_id   INTEGER NOT NULL REFERENCES jobs (id),
    pot_id   INTEGER NOT NULL REFERENCES pots (id),
    seconds  INTEGER NOT NULL,
    PRIMARY KEY (job_id, pot_id)
);

INSERT INTO job_pots (job_id, pot_id, seconds)
SELECT j.id, p.id, j.duration FROM jobs j JOIN pots p ON p.guild_id = j.guild_id AND p.scope = 'guild'
WHERE j.state IN ('reserved', 'uploaded', 'submitting', 'submit_unknown', 'queued', 'running');

CREATE TABLE ledger_v2 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    job_id      INTEGER REFERENCES jobs (id),
    pot_id      INTEGER REFERENCES pots (id),
    actor_id    INTEGER,
    kind        TEXT    NOT NULL CHECK (kind IN ('reserve', 'charge', 'refund', 'topup', 'grant')),
    seconds     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
);
INSERT INTO ledger_v2 (id, guild_id, job_id, pot_id, kind, seconds, created_at)
SELECT l.id, l.guild_id, l.job_id, p.id, l.kind, l.seconds, l.created_at
FROM ledger l LEFT JOIN pots p ON p.guild_id = l.guild_id AND p.scope = 'guild' WHERE l.kind != 'reset';
DROP TABLE ledger;
ALTER TABLE ledger_v2 RENAME TO ledger;
CREATE INDEX ledger_guild ON ledger (guild_id, created_at);
CREATE UNIQUE INDEX ledger_once_per_job_pot ON ledger (job_id, pot_id, kind) WHERE job_id IS NOT NULL;

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id  INTEGER NOT NULL,
    actor_id  INTEGER,
    action    TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    at        TEXT    NOT NULL
);
CREATE INDEX audit_guild ON audit (guild_id, at);

ALTER TABLE jobs ADD COLUMN approval_message_id INTEGER;
ALTER TABLE jobs ADD COLUMN decided_by INTEGER;
ALTER TABLE jobs ADD COLUMN cancel_requested_by INTEGER;
ALTER TABLE jobs ADD COLUMN waited_at TEXT;
CREATE INDEX jobs_user ON jobs (guild_id, user_id, state);
