-- Two guild settings: a role pinged with each approval request (none: nobody is pinged), and whether members are
-- shown seconds only, without dollars (moderators' texts keep the dollars).
ALTER TABLE guild_settings ADD COLUMN approver_role_id INTEGER;
ALTER TABLE guild_settings ADD COLUMN seconds_only INTEGER NOT NULL DEFAULT 0 CHECK (seconds_only IN (0, 1));
