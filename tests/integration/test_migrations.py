"""Every earlier schema version, with rows in it, upgrades to the newest: rows kept, schema equal to a fresh one.

For each k in 0..N-1 a database is built with migrations 1..k only, seeded with rows valid at k, and opened
with the real `open_database`. When a migration 000(N+1) is added, rows for version N come from the newest seeder
at or below it; add a seeder of its own when the new migration reshapes data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.db.connection import Database, open_database
from bot.db.jobs import JobRepo
from bot.db.migrate import apply_migrations, available, newest
from bot.errors import ConfigError
from bot.models import JobState

NEWEST = newest()
GUILD, CHANNEL, USER, MOD = 42, 7, 1001, 9009
T0, T1 = "2026-11-24T00:00:00.000000+00:00", "2026-11-25T00:00:00.000000+00:00"
NOW = "2026-11-24T12:00:00.000000+00:00"

# Columns a migration fills from other rows rather than from its default.
DERIVED = {("ledger", "pot_id")}


@dataclass
class Seeded:
    """What a seeder wrote, and what an upgrade is allowed to take away."""

    jobs: dict[int, str] = field(default_factory=dict)  # id -> state
    gone: set[tuple[str, int]] = field(default_factory=set)  # (table, rowid) the upgrade drops on purpose


Seeder = Callable[[aiosqlite.Connection], Awaitable[Seeded]]


async def insert(conn: aiosqlite.Connection, table: str, **values: Any) -> int:
    names = ", ".join(values)
    marks = ", ".join("?" * len(values))
    cursor = await conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def insert_job(conn: aiosqlite.Connection, state: str, **extra: Any) -> int:
    return await insert(
        conn,
        "jobs",
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=USER,
        prompt=f"@Image1 becomes @Image2 ({state})",
        duration=5,
        price_micros=560_000,
        model="fal-ai/kling-video/o1/image-to-video",
        state=state,
        upload_limit=10_485_760,
        created_at=NOW,
        updated_at=NOW,
        start_url="https://v3.fal.media/files/start.png",
        **extra,
    )


async def seed_v1(conn: aiosqlite.Connection) -> Seeded:
    seeded = Seeded()
    await insert(
        conn,
        "budgets",
        guild_id=GUILD,
        limit_seconds=60,
        reserved_seconds=5,
        spent_seconds=10,
        period="day",
        period_start=T0,
        period_end=T1,
    )
    running = await insert_job(conn, "running", request_id="req-running", submitted_at=NOW, card_message_id=555)
    done = await insert_job(
        conn, "delivered", request_id="req-done", video_url="https://v3.fal.media/v.mp4", video_size=1234
    )
    failed = await insert_job(conn, "failed", failure="fal_error", failure_detail="boom", failure_notified=1)
    seeded.jobs = {running: "running", done: "delivered", failed: "failed"}
    for job_id, kind in ((running, "reserve"), (done, "charge"), (failed, "refund")):
        await insert(conn, "ledger", guild_id=GUILD, job_id=job_id, kind=kind, seconds=5, created_at=NOW)
    reset = await insert(conn, "ledger", guild_id=GUILD, job_id=None, kind="reset", seconds=0, created_at=T0)
    seeded.gone.add(("ledger", reset))  # 0002: pots roll over by themselves; reset rows have no meaning left
    return seeded


async def seed_v2(conn: aiosqlite.Connection) -> Seeded:
    seeded = Seeded()
    await insert(conn, "guild_settings", guild_id=GUILD, tier="standard", approval="over", approval_seconds=8)
    await insert(conn, "role_allowances", guild_id=GUILD, role_id=77, seconds=40)
    await insert(conn, "channel_budgets", guild_id=GUILD, channel_id=CHANNEL, seconds=30)
    await insert(conn, "tween_channels", guild_id=GUILD, channel_id=CHANNEL)
    await insert(conn, "blocked_members", guild_id=GUILD, user_id=666, blocked_by=MOD, reason="spam", at=NOW)
    await insert(conn, "banned_words", guild_id=GUILD, word="forbidden")
    pots = {}
    for scope, subject in (("guild", GUILD), ("member", USER)):
        pots[scope] = await insert(
            conn,
            "pots",
            guild_id=GUILD,
            scope=scope,
            subject_id=subject,
            limit_seconds=60,
            extra_seconds=10,
            reserved_seconds=5,
            spent_seconds=5,
            period_start=T0,
            period_end=T1,
            warned=1,
        )
    running = await insert_job(conn, "running", request_id="req-running", submitted_at=NOW)
    waiting = await insert_job(conn, "awaiting_approval", approval_message_id=888)
    done = await insert_job(conn, "delivered", request_id="req-done", decided_by=MOD, video_url="https://v/v.mp4")
    seeded.jobs = {running: "running", waiting: "awaiting_approval", done: "delivered"}
    for pot_id in pots.values():
        await insert(conn, "job_pots", job_id=running, pot_id=pot_id, seconds=5)
        await insert(
            conn, "ledger", guild_id=GUILD, job_id=running, pot_id=pot_id, kind="reserve", seconds=5, created_at=NOW
        )
    await insert(
        conn, "ledger", guild_id=GUILD, pot_id=pots["member"], actor_id=MOD, kind="grant", seconds=10, created_at=NOW
    )
    await insert(conn, "audit", guild_id=GUILD, actor_id=MOD, action="grant", detail="+10s for <@1001>", at=NOW)
    return seeded


async def seed_v3(conn: aiosqlite.Connection) -> Seeded:
    seeded = await seed_v2(conn)
    first = min(seeded.jobs)
    session = await insert(
        conn,
        "sessions",
        guild_id=GUILD,
        thread_id=4444,
        channel_id=CHANNEL,
        created_by=USER,
        created_at=NOW,
        start_url="https://v3.fal.media/files/start.png",
        prompt="a session",
        duration=5,
        last_job_id=first,
    )
    await conn.execute("UPDATE jobs SET session_id = ?, version = 1 WHERE id = ?", (session, first))
    reroll = await insert_job(
        conn, "queued", session_id=session, version=2, parent_job_id=first, origin="reroll", request_id="req-2"
    )
    seeded.jobs[reroll] = "queued"
    await insert(conn, "votes", job_id=first, user_id=USER, at=NOW)
    return seeded


async def seed_nothing(conn: aiosqlite.Connection) -> Seeded:
    return Seeded()  # version 0: an empty file, no tables yet


SEEDERS: dict[int, Seeder] = {0: seed_nothing, 1: seed_v1, 2: seed_v2, 3: seed_v3}


def seeder_for(version: int) -> Seeder:
    return SEEDERS[max(v for v in SEEDERS if v <= version)]


# -- reading a schema and its rows ---------------------------------------------------------------------------------


async def rows(conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    async with conn.execute(sql, params) as cursor:
        return [tuple(r) for r in await cursor.fetchall()]


async def schema(conn: aiosqlite.Connection) -> dict[str, Any]:
    """Everything that defines the schema: sqlite_master's SQL, every table's columns and every index's columns."""
    master = await rows(conn, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
    tables = [name for kind, name, _, _ in master if kind == "table"]
    indexes = [name for kind, name, _, _ in master if kind == "index"]
    return {
        "master": master,
        "columns": {t: await rows(conn, f"PRAGMA table_info('{t}')") for t in tables},
        "foreign_keys": {t: await rows(conn, f"PRAGMA foreign_key_list('{t}')") for t in tables},
        "indexes": {i: await rows(conn, f"PRAGMA index_xinfo('{i}')") for i in indexes},
    }


async def snapshot(conn: aiosqlite.Connection) -> dict[str, dict[int, dict[str, Any]]]:
    """Every row of every table (but sqlite_sequence), by table and rowid."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for (table,) in await rows(
        conn, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ):
        async with conn.execute(f"SELECT rowid AS _rowid, * FROM {table}") as cursor:
            names = [d[0] for d in cursor.description]
            found[table] = {r[0]: dict(zip(names[1:], r[1:], strict=True)) for r in await cursor.fetchall()}
    return found


async def defaults(conn: aiosqlite.Connection, table: str) -> dict[str, Any]:
    """Each column's default value, evaluated (NULL when it declares none)."""
    result = {}
    for _, name, _, _, default, _ in await rows(conn, f"PRAGMA table_info('{table}')"):
        result[name] = (await rows(conn, f"SELECT {default}"))[0][0] if default is not None else None
    return result


async def build_at(path: Path, version: int) -> tuple[Seeded, dict[str, dict[int, dict[str, Any]]]]:
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await apply_migrations(conn, target=version) == version
        await conn.execute("BEGIN")
        seeded = await seeder_for(version)(conn)
        await conn.execute("COMMIT")
        return seeded, await snapshot(conn)


@pytest.fixture
async def fresh_schema(tmp_path) -> dict[str, Any]:
    path = tmp_path / "fresh.sqlite3"
    async with open_database(path):
        pass
    async with aiosqlite.connect(path) as conn:
        return await schema(conn)


# -- the tests -----------------------------------------------------------------------------------------------------


def test_there_is_something_to_upgrade_from():
    assert NEWEST == len(available()) >= 1


@pytest.mark.parametrize("version", range(NEWEST))
async def test_apply_migrations_stops_at_a_target(tmp_path, version):
    async with aiosqlite.connect(tmp_path / "t.sqlite3", isolation_level=None) as conn:
        assert await apply_migrations(conn, target=version) == version
        assert (await rows(conn, "PRAGMA user_version")) == [(version,)]
        assert await apply_migrations(conn) == NEWEST


@pytest.mark.parametrize("version", range(NEWEST))
async def test_every_earlier_version_upgrades_keeping_its_rows(tmp_path, version):
    path = tmp_path / f"v{version}.sqlite3"
    seeded, before = await build_at(path, version)
    async with open_database(path) as db:
        await assert_jobs_readable(db, seeded)
    async with aiosqlite.connect(path) as conn:
        assert await rows(conn, "PRAGMA user_version") == [(NEWEST,)]
        assert await rows(conn, "PRAGMA integrity_check") == [("ok",)]
        assert await rows(conn, "PRAGMA foreign_key_check") == []
        after = await snapshot(conn)
        await assert_rows_survive(conn, before, after, seeded)
        if version == 1:
            await assert_budgets_became_pots(conn, seeded)


@pytest.mark.parametrize("version", range(NEWEST))
async def test_every_upgrade_ends_at_the_schema_of_a_fresh_database(tmp_path, fresh_schema, version):
    path = tmp_path / f"v{version}.sqlite3"
    await build_at(path, version)
    async with open_database(path):
        pass
    async with aiosqlite.connect(path) as conn:
        upgraded = await schema(conn)
    assert upgraded["master"] == fresh_schema["master"]
    assert upgraded == fresh_schema


async def assert_rows_survive(
    conn: aiosqlite.Connection, before: dict[str, Any], after: dict[str, Any], seeded: Seeded
) -> None:
    """Rows in tables that still exist keep their values; columns added since read as their defaults."""
    for table, old_rows in before.items():
        if table not in after:
            continue  # replaced by a migration; what it became is asserted on its own
        new_defaults = await defaults(conn, table)
        for rowid, old in old_rows.items():
            if (table, rowid) in seeded.gone:
                assert rowid not in after[table], f"{table} row {rowid} should have been dropped"
                continue
            new = after[table].get(rowid)
            assert new is not None, f"{table} row {rowid} was lost"
            assert {k: new[k] for k in old if k in new} == {k: v for k, v in old.items() if k in new}, table
            added = {k for k in new if k not in old and (table, k) not in DERIVED}
            assert {k: new[k] for k in added} == {k: new_defaults[k] for k in added}, f"{table} new columns"


async def assert_jobs_readable(db: Database, seeded: Seeded) -> None:
    """The bot's own code reads every upgraded job, and finds the unfinished ones to resume."""
    repo = JobRepo(db)
    for job_id, state in seeded.jobs.items():
        job = await repo.get(job_id)
        assert job is not None and job.state == JobState(state)
        assert job.origin in ("tween", "reroll")
    open_ids = {job.id for job in await repo.list_open()}
    assert open_ids == {i for i, s in seeded.jobs.items() if not JobState(s).terminal}


async def assert_budgets_became_pots(conn: aiosqlite.Connection, seeded: Seeded) -> None:
    pots = await rows(conn, "SELECT id, scope, subject_id, limit_seconds, reserved_seconds, spent_seconds FROM pots")
    assert [p[1:] for p in pots] == [("guild", GUILD, 60, 5, 10)]
    pot_id = pots[0][0]
    running = next(i for i, s in seeded.jobs.items() if s == "running")
    assert await rows(conn, "SELECT job_id, pot_id, seconds FROM job_pots") == [(running, pot_id, 5)]
    ledger = await rows(conn, "SELECT kind, pot_id FROM ledger ORDER BY id")
    assert ledger == [("reserve", pot_id), ("charge", pot_id), ("refund", pot_id)]


async def test_a_database_newer_than_the_code_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "future.sqlite3"
    async with aiosqlite.connect(path) as conn:
        await conn.executescript(f"CREATE TABLE from_the_future (x);\nPRAGMA user_version = {NEWEST + 1};")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=rf"schema v{NEWEST + 1}, newer than this Tween knows \(v{NEWEST}\)"):
        async with open_database(path):
            pass
    assert path.read_bytes() == before
    async with aiosqlite.connect(path) as conn:
        assert await rows(conn, "PRAGMA journal_mode") == [("delete",)]


async def test_apply_migrations_refuses_a_newer_database_too(tmp_path):
    async with aiosqlite.connect(tmp_path / "t.sqlite3", isolation_level=None) as conn:
        await conn.execute(f"PRAGMA user_version = {NEWEST + 5}")
        with pytest.raises(ConfigError, match="newer"):
            await apply_migrations(conn)
