"""A guild's tier is a name from the config's [tiers] table: checked in code when set, and a name the config lost
falls back to the default tier with one warning. Migration 0004 took the old CHECK out of the schema."""

from __future__ import annotations

import logging

import aiosqlite
import pytest

from bot.db.connection import open_database
from bot.db.migrate import apply_migrations
from bot.errors import InputRejected
from tests.fakes.fal_server import FakeFal
from tests.integration.conftest import GUILD, MOD, open_stack, settings_for

TURBO = {
    "endpoint": "fal-ai/kling-video/o1/turbo/image-to-video",
    "price_per_second": 0.05,
    "min_duration": 3,
    "max_duration": 5,
    "default_duration": 4,
    "input": "kling_o1",
}


async def test_a_guild_uses_the_default_tier_until_a_moderator_picks_one(fake_fal: FakeFal, tmp_path):
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        assert (await stack.services.moderation.policy(GUILD)).tier == "pro"
        assert (await stack.services.budget.price_for(GUILD)).price_per_second == 0.112
        await stack.services.moderation.configure(MOD, "tier", tier="standard")
        assert (await stack.services.moderation.policy(GUILD)).tier == "standard"
        assert (await stack.services.budget.price_for(GUILD)).price_per_second == 0.084


async def test_a_tier_the_config_does_not_have_is_refused_and_nothing_changes(fake_fal: FakeFal, tmp_path):
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        with pytest.raises(InputRejected) as refused:
            await stack.services.moderation.configure(MOD, "tier", tier="turbo")
        assert refused.value.reason == "unknown_tier"
        assert refused.value.details == {"tier": "turbo", "known": ["pro", "standard"]}
        assert (await stack.services.moderation.policy(GUILD)).tier == "pro"
        assert await stack.services.moderation.audit_log(GUILD) == []


async def test_a_tier_removed_from_the_config_falls_back_to_the_default_with_one_warning(
    fake_fal: FakeFal, tmp_path, caplog
):
    async with open_stack(settings_for(fake_fal, tmp_path, tiers={"turbo": TURBO})) as stack:
        await stack.services.moderation.configure(MOD, "tier", tier="turbo")
        turbo = await stack.services.budget.price_for(GUILD)
        assert (turbo.name, turbo.price_per_second) == ("turbo", 0.05)
    with caplog.at_level(logging.WARNING, logger="bot.db.guilds"):
        async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
            assert (await stack.services.moderation.policy(GUILD)).tier == "pro"
            assert (await stack.services.budget.price_for(GUILD)).name == "pro"
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.db.guilds"]
    assert warnings == [f"guild {GUILD} picked tier 'turbo', no longer in the config; it uses 'pro'"]


async def test_a_guild_that_never_picked_follows_the_operators_default_tier(fake_fal: FakeFal, tmp_path):
    async with open_stack(settings_for(fake_fal, tmp_path)) as stack:
        await stack.services.moderation.configure(MOD, "pause", paused=1)  # a settings row, with no tier in it
    settings = settings_for(fake_fal, tmp_path, model={"default_tier": "standard"})
    async with open_stack(settings) as stack:
        assert (await stack.services.moderation.policy(GUILD)).tier == "standard"


async def test_the_schema_no_longer_limits_tier_names(tmp_path):
    path = tmp_path / "t.sqlite3"
    insert = "INSERT INTO guild_settings (guild_id, tier) VALUES (?, ?)"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await apply_migrations(conn, target=3)
        await conn.execute(insert, (1, "standard"))
        with pytest.raises(aiosqlite.IntegrityError, match="CHECK"):
            await conn.execute(insert, (2, "turbo"))
    async with open_database(path) as db:
        async with db.transaction() as conn:
            await conn.execute(insert, (2, "turbo"))
            await conn.execute("INSERT INTO guild_settings (guild_id) VALUES (3)")
        rows = await db.fetch_all("SELECT guild_id, tier FROM guild_settings ORDER BY guild_id")
    assert [tuple(r) for r in rows] == [(1, "standard"), (2, "turbo"), (3, None)]
