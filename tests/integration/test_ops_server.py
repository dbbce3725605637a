"""The operations server on 127.0.0.1 with a real migrated SQLite file: /health, /metrics, mounted routes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot.db import pots
from bot.db.connection import Database, open_database
from bot.db.jobs import JobRepo
from bot.db.leases import LeaseState
from bot.fal.account import AccountState
from bot.models import JobState, PotScope
from bot.ops import healthcheck
from bot.ops.health import GatewayState, HealthProbes, check_health
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer
from bot.services.tracker import TrackerState
from bot.settings import ServerSettings
from bot.sharding import ShardPlan

GUILD_A, GUILD_B = 1001, 2002
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PERIOD = (NOW - timedelta(hours=12), NOW + timedelta(hours=12))


@dataclass
class World:
    """What the probes report; tests flip it."""

    gateway: GatewayState = field(default_factory=lambda: GatewayState(connected=True, latency=0.042))
    tracker: TrackerState = field(default_factory=lambda: TrackerState(running=True, watched=2, idle_seconds=0.4))
    fal_account: AccountState = field(default_factory=lambda: AccountState(paused=False, refusals=0, status=None))
    lease: LeaseState = field(default_factory=lambda: LeaseState("shards 0-1 of 4", NOW + timedelta(seconds=20), False))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(tmp_path / "tween.sqlite3") as opened:
        yield opened


async def add_job(
    db: Database, guild_id: int, state: JobState, *, duration: int = 5, price_micros: int = 560_000
) -> int:
    """A job as the services leave it: row, reservation in the guild's and the member's pot, then the outcome."""
    async with db.transaction() as conn:
        job = await JobRepo(db).insert(
            conn,
            job={
                "guild_id": guild_id,
                "channel_id": 10,
                "user_id": 20,
                "prompt": "@Image1 turns into @Image2",
                "duration": duration,
                "price_micros": price_micros,
                "model": "fal-ai/kling-video/o1/image-to-video",
                "upload_limit": 10_485_760,
            },
            now=NOW,
        )
        job_id = job.id
        await conn.execute("UPDATE jobs SET state = ? WHERE id = ?", (state.value, job_id))
        held = [
            await pots.current(conn, guild_id, PotScope.GUILD, guild_id, limit=600, now=NOW, bounds=PERIOD),
            await pots.current(conn, guild_id, PotScope.MEMBER, 20, limit=300, now=NOW, bounds=PERIOD),
        ]
        for pot in held:
            await pots.link_job(conn, job_id, pot.id, duration)
        outcome = {JobState.DELIVERED: "charge", JobState.UNDELIVERABLE: "charge", JobState.FAILED: "refund"}
        for kind in ["reserve", *([outcome[state]] if state in outcome else [])]:
            for pot in held:
                await pots.record(
                    conn, guild_id=guild_id, job_id=job_id, pot_id=pot.id, kind=kind, seconds=duration, at=NOW
                )
    return job_id


async def seed(db: Database) -> None:
    await add_job(db, GUILD_A, JobState.DELIVERED)  # 5 s, $0.56
    await add_job(db, GUILD_A, JobState.FAILED, duration=10, price_micros=1_120_000)  # refunded: not spending
    await add_job(db, GUILD_A, JobState.QUEUED)  # reserved only
    await add_job(db, GUILD_A, JobState.WAITING)
    await add_job(db, GUILD_A, JobState.AWAITING_APPROVAL)
    await add_job(db, GUILD_B, JobState.UNDELIVERABLE, duration=3, price_micros=252_000)  # charged, not posted
    async with db.transaction() as conn:
        guild_pot = await pots.current(conn, GUILD_A, PotScope.GUILD, GUILD_A, limit=600, now=NOW, bounds=PERIOD)
        await pots.record(conn, guild_id=GUILD_A, pot_id=guild_pot.id, actor_id=9, kind="topup", seconds=60, at=NOW)


@dataclass
class Running:
    server: OpsServer
    world: World
    metrics: Metrics
    base: str


@contextlib.asynccontextmanager
async def serve(
    db: Database, *, metrics_on: bool = True, routes=(), metrics: Metrics | None = None
) -> AsyncIterator[Running]:
    world, metrics = World(), metrics or Metrics()
    probes = HealthProbes(
        gateway=lambda: world.gateway,
        database=db,
        tracker=lambda: world.tracker,
        fal_account=lambda: world.fal_account,
        lease=lambda: world.lease,
        clock=lambda: NOW,
    )
    server = OpsServer(ServerSettings(host="127.0.0.1", port=0, metrics=metrics_on), probes, metrics, routes)
    await server.start(port=0)
    try:
        yield Running(server, world, metrics, f"http://127.0.0.1:{server.bound_port}")
    finally:
        await server.stop()


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5.0) as client:
        return await client.get(url)


async def test_health_is_200_with_every_component_ok(db):
    async with serve(db) as running:
        response = await get(f"{running.base}/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    report = response.json()
    assert report["status"] == "ok"
    assert report["components"]["gateway"] == {"ok": True, "latency_ms": 42.0}
    assert report["components"]["database"]["ok"] is True
    assert report["components"]["tracker"] == {"ok": True, "watched": 2, "idle_seconds": 0.4}
    assert report["components"]["lease"] == {"ok": True, "shards": "shards 0-1 of 4", "seconds_left": 20.0}


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        ({"tracker": TrackerState(running=False, watched=0, idle_seconds=95.0)}, "tracker"),
        ({"gateway": GatewayState(connected=False, latency=float("inf"))}, "gateway"),
        ({"fal_account": AccountState(paused=True, refusals=2, status=403)}, "fal_account"),
        # Not renewed for a whole lease term (the database away), or taken over: another process may serve them.
        ({"lease": LeaseState("shards 0-1 of 4", NOW - timedelta(seconds=1), False)}, "lease"),
        ({"lease": LeaseState("shards 0-1 of 4", NOW + timedelta(seconds=20), True)}, "lease"),
    ],
)
async def test_health_is_503_when_a_component_is_down(db, change, broken):
    async with serve(db) as running:
        for name, value in change.items():
            setattr(running.world, name, value)
        response = await get(f"{running.base}/health")
    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "degraded"
    assert report["components"][broken]["ok"] is False
    assert [name for name, part in report["components"].items() if not part["ok"]] == [broken]
    assert "Infinity" not in response.text


async def test_a_database_that_does_not_answer_in_time_is_unhealthy(db):
    probes = HealthProbes(
        gateway=lambda: GatewayState(True, 0.05), database=db, tracker=lambda: TrackerState(True, 0, 0.0)
    )
    held, release = asyncio.Event(), asyncio.Event()

    async def hold_the_connection() -> None:
        async with db.transaction():
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold_the_connection())
    await held.wait()
    try:
        healthy, report = await check_health(probes, database_timeout=0.1)
    finally:
        release.set()
        await holder
    assert not healthy
    assert report["components"]["database"] == {"ok": False, "error": "timeout"}
    assert (await check_health(probes))[0] is True


def by_label(family, label: str) -> dict[str, float]:
    return {s.labels[label]: s.value for s in family.samples if s.name == family.name or s.name.endswith("_total")}


async def scrape(running: Running) -> dict[str, object]:
    response = await get(f"{running.base}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(response.text)}


async def test_metrics_show_jobs_queue_and_spending_from_the_database(db):
    await seed(db)
    async with serve(db) as running:
        found = await scrape(running)

        jobs = by_label(found["tween_jobs"], "state")
        assert set(jobs) == {s.value for s in JobState}
        assert {state: n for state, n in jobs.items() if n} == {
            "delivered": 1,
            "failed": 1,
            "queued": 1,
            "waiting": 1,
            "awaiting_approval": 1,
            "undeliverable": 1,
        }
        assert found["tween_queue_depth"].samples[0].value == 2
        assert by_label(found["tween_video_seconds_charged"], "guild") == {str(GUILD_A): 5, str(GUILD_B): 3}
        dollars = by_label(found["tween_dollars_charged"], "guild")
        assert dollars == pytest.approx({str(GUILD_A): 0.56, str(GUILD_B): 0.252})
        assert found["tween_tracker_jobs_watched"].samples[0].value == 2
        assert found["tween_discord_gateway_latency_seconds"].samples[0].value == pytest.approx(0.042)

        # Lines written after a scrape are added to what was read before.
        await add_job(db, GUILD_A, JobState.DELIVERED, duration=10, price_micros=1_120_000)
        found = await scrape(running)
        assert by_label(found["tween_video_seconds_charged"], "guild") == {str(GUILD_A): 15, str(GUILD_B): 3}
        assert by_label(found["tween_dollars_charged"], "guild") == pytest.approx(
            {str(GUILD_A): 1.68, str(GUILD_B): 0.252}
        )
        assert by_label(found["tween_jobs"], "state")["delivered"] == 2


async def test_processes_sharing_a_database_each_report_the_guilds_of_their_own_shards(db):
    """Summed across processes, the figures count each job and each charge once."""
    on_0, on_1 = (1000 << 22) | 5, (1001 << 22) | 5  # shard 0 and shard 1 of 2
    await add_job(db, on_0, JobState.DELIVERED)
    await add_job(db, on_0, JobState.QUEUED)
    await add_job(db, on_1, JobState.DELIVERED, duration=3, price_micros=336_000)
    seen = []
    for shard in (0, 1):
        async with serve(db, metrics=Metrics(owned=ShardPlan(2, (shard,)))) as running:
            found = await scrape(running)
        jobs = {state: n for state, n in by_label(found["tween_jobs"], "state").items() if n}
        seen.append((jobs, by_label(found["tween_video_seconds_charged"], "guild")))
    assert seen == [
        ({"delivered": 1, "queued": 1}, {str(on_0): 5}),
        ({"delivered": 1}, {str(on_1): 3}),
    ]


async def test_a_charge_refunded_later_is_taken_back(db):
    job_id = await add_job(db, GUILD_B, JobState.DELIVERED, duration=4, price_micros=448_000)
    async with serve(db) as running:
        assert by_label((await scrape(running))["tween_video_seconds_charged"], "guild") == {str(GUILD_B): 4}
        async with db.transaction() as conn:
            for pot_id, seconds in await pots.job_pots(conn, job_id):
                await pots.record(
                    conn, guild_id=GUILD_B, job_id=job_id, pot_id=pot_id, kind="refund", seconds=seconds, at=NOW
                )
        found = await scrape(running)
    assert by_label(found["tween_video_seconds_charged"], "guild") == {str(GUILD_B): 0}
    assert by_label(found["tween_dollars_charged"], "guild") == {str(GUILD_B): 0}


async def test_ledger_lines_from_before_pots_count_once(db):
    # Schema 1 kept one ledger line per job and no pots; migration 0002 left pot_id empty where no budget existed.
    job_id = await add_job(db, GUILD_B, JobState.QUEUED, duration=6, price_micros=672_000)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM ledger WHERE job_id = ?", (job_id,))
        await conn.execute("UPDATE jobs SET state = 'delivered' WHERE id = ?", (job_id,))
        for kind in ("reserve", "charge"):
            await pots.record(conn, guild_id=GUILD_B, job_id=job_id, kind=kind, seconds=6, at=NOW)
    async with serve(db) as running:
        found = await scrape(running)
    assert by_label(found["tween_video_seconds_charged"], "guild") == {str(GUILD_B): 6}
    assert by_label(found["tween_dollars_charged"], "guild") == pytest.approx({str(GUILD_B): 0.672})


async def test_metrics_off_is_404_and_health_still_answers(db):
    async with serve(db, metrics_on=False) as running:
        assert (await get(f"{running.base}/metrics")).status_code == 404
        assert (await get(f"{running.base}/health")).status_code == 200


async def test_unknown_paths_are_404_and_nothing_is_access_logged(db, caplog):
    with caplog.at_level(logging.DEBUG, logger="aiohttp.access"):
        async with serve(db) as running:
            assert (await get(f"{running.base}/nowhere")).status_code == 404
            assert (await get(f"{running.base}/health")).status_code == 200
    assert [r for r in caplog.records if r.name == "aiohttp.access"] == []


async def test_extra_routes_are_mounted(db):
    seen: list[bytes] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append(await request.read())
        return web.Response(status=202)

    async with serve(db, routes=[web.post("/fal/webhook", receive)]) as running, httpx.AsyncClient() as client:
        response = await client.post(f"{running.base}/fal/webhook", content=b'{"status": "OK"}')
        wrong_method = await client.get(f"{running.base}/fal/webhook")
    assert response.status_code == 202
    assert seen == [b'{"status": "OK"}']
    assert wrong_method.status_code == 405


async def test_port_zero_in_settings_means_off_unless_a_port_is_given(db):
    probes = HealthProbes(gateway=lambda: GatewayState(True), database=db, tracker=lambda: TrackerState(True, 0, 0.0))
    async with OpsServer(ServerSettings(host="127.0.0.1", port=0, metrics=True), probes, None) as server:
        assert server.bound_port is None
    server = OpsServer(ServerSettings(host="127.0.0.1", port=0, metrics=True), probes, None)
    await server.start(port=0)
    try:
        assert server.bound_port and server.bound_port > 0
        assert (await get(f"http://127.0.0.1:{server.bound_port}/metrics")).status_code == 404
    finally:
        await server.stop()
    assert server.bound_port is None


async def test_the_health_command_asks_the_running_server(db):
    async with serve(db) as running:
        settings = ServerSettings(host="0.0.0.0", port=running.server.bound_port, metrics=True)
        out = io.StringIO()
        assert await asyncio.to_thread(healthcheck.main, settings, out=out) == 0
        assert out.getvalue().startswith('{"status":"ok"')
        running.world.tracker = TrackerState(running=False, watched=0, idle_seconds=0.0)
        assert await asyncio.to_thread(healthcheck.main, settings, out=io.StringIO()) == 1
