-- Tier names come from the config's [tiers] table and are checked in code, so guild_settings loses its
-- CHECK (tier IN ('pro', 'standard')). SQLite cannot drop a constraint: the table is rebuilt with every column and
-- row. A NULL tier means the operator's model.default_tier; rows keep the tier they had. No other table refers to
-- guild_settings and it has no index but its primary key.

CREATE TABLE guild_settings_v4 (
    guild_id            INTEGER PRIMARY KEY,
    paused              INTEGER NOT NULL DEFAULT 0,
    guild_seconds       INTEGER CHECK (guild_seconds >= 0),
    member_seconds      INTEGER CHECK (member_seconds >= 0),
    period              TEXT CHECK (period IN ('day', 'week', 'month')),
    reset_hour          INTEGER CHECK (reset_hour BETWEEN 0 AND 23),
    tier                TEXT,
    log_channel_id      INTEGER,
    approval            TEXT NOT NULL DEFAULT 'off' CHECK (approval IN ('off', 'over', 'without_role', 'always')),
    approval_seconds    INTEGER,
    approval_role_id    INTEGER,
    member_concurrency  INTEGER CHECK (member_concurrency >= 1),
    guild_concurrency   INTEGER CHECK (guild_concurrency >= 1)
);

INSERT INTO guild_settings_v4 (
    guild_id, paused, guild_seconds, member_seconds, period, reset_hour, tier, log_channel_id, approval,
    approval_seconds, approval_role_id, member_concurrency, guild_concurrency
)
SELECT
    guild_id, paused, guild_seconds, member_seconds, period, reset_hour, tier, log_channel_id, approval,
    approval_seconds, approval_role_id, member_concurrency, guild_concurrency
FROM guild_settings;

DROP TABLE guild_settings;
ALTER TABLE guild_settings_v4 RENAME TO guild_settings;
