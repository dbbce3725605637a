"""Operating the real bot: /health, /metrics and fal webhooks, served by `python -m bot`'s own wiring."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ROOT, World, bot_process, run_bot
from tests.e2e.test_tween_e2e import run_tween
from tests.fakes.fal_server import JobScript
from tests.support.waiting import read_until, wait_until

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_toml(port: int, webhooks: str = "") -> str:
    return f"[server]\nport = {port}\n" + webhooks


def webhook_toml(world: World, port: int) -> str:
    return (
        f'[webhooks]\npublic_url = "http://127.0.0.1:{port}"\njwks_urls = ["{world.fal.jwks_url}"]\n'
        # Running jobs are looked at once a minute: only the webhook can explain a quick delivery.
        "fallback_interval = 60.0\n"
    )


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_health_and_metrics_describe_the_running_bot(world: World):
    port = free_port()
    async with run_bot(world, server_toml(port)) as bot, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        await world.discord.wait_for(lambda: bot.gateway_state().connected)
        health = await http.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        components = health.json()["components"]
        assert set(components) == {"gateway", "database", "tracker", "fal_account", "lease"}
        assert components["lease"]["ok"] and components["lease"]["shards"] == "every shard Discord recommends"
        assert 0 < components["lease"]["seconds_left"] <= 30

        interaction = await run_tween(world)
        await interaction.wait_acked()
        thread_id = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
        await world.discord.wait_for(lambda: any(m.attachments for m in world.discord.messages(thread_id.id)))
        # The video is posted before the row is marked delivered, and /metrics counts rows.
        await read_until(lambda: bot.services.jobs.get(1), lambda job: job.state.value == "delivered", what="delivered")
        figures = samples((await http.get("/metrics")).text)
        guild = str(world.discord.guild.id)
        assert figures[("tween_jobs", (("state", "delivered"),))] == 1
        assert figures[("tween_video_seconds_charged_total", (("guild", guild),))] == 5
        assert figures[("tween_dollars_charged_total", (("guild", guild),))] == pytest.approx(0.56)
        assert figures[("tween_fal_request_duration_seconds_count", (("kind", "submit"),))] == 1


async def test_a_fal_webhook_delivers_the_video_without_polling_for_it(world: World):
    port = free_port()
    world.fal.script_next(JobScript(queue_seconds=0.0, run_seconds=0.5))
    async with run_bot(world, server_toml(port, webhook_toml(world, port))) as bot:
        interaction = await run_tween(world)
        await interaction.wait_acked()
        (submit,) = await world.discord.wait_for(lambda: world.fal.submits or None)
        assert submit.webhook == f"http://127.0.0.1:{port}/fal/webhook"
        thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None))
        await world.discord.wait_for(lambda: any(m.attachments for m in world.discord.messages(thread.id)), timeout=10)
        # The fake records a delivery before the bot's answer reaches it.
        await world.discord.wait_for(lambda: all(d.status or d.error for d in world.fal.webhook_deliveries))
        assert [d.status for d in world.fal.webhook_deliveries] == [200]
        # One look when submitted (queued), one when the webhook came: no polling in between.
        assert world.fal.count("status", submit.request_id) <= 3
        assert bot.services.tracker.state().running


async def test_a_forged_webhook_is_refused(world: World):
    port = free_port()
    world.fal.webhooks.wrong_key = True
    world.fal.script_next(JobScript(queue_seconds=0.0, run_seconds=0.2))
    async with run_bot(world, server_toml(port, webhook_toml(world, port))):
        interaction = await run_tween(world)
        await interaction.wait_acked()
        first = await world.discord.wait_for(
            lambda: next((d for d in world.fal.webhook_deliveries if d.status is not None), None), timeout=10
        )
        assert first.status == 401


async def test_as_deployed_json_logs_and_the_health_command(world: World, tmp_path):
    """`python -m bot` as the Docker image runs it: HTTP server on, JSON logs; then the HEALTHCHECK command."""
    port = free_port()
    env = world.env() | {"TWEEN_HTTP_PORT": str(port), "TWEEN_LOG_FORMAT": "json"}
    log = tmp_path / "bot.log"
    with bot_process(env, log):
        await world.discord.wait_ready(timeout=30)
        interaction = await run_tween(world)
        await interaction.wait_acked()
        thread = await world.discord.wait_for(lambda: next(iter(world.discord.threads()), None), timeout=20)
        await world.discord.wait_for(lambda: any(m.attachments for m in world.discord.messages(thread.id)), timeout=30)
        healthy = await health_command(env)
        # The bot logs the delivery after posting the video and marking the row; wait for the line itself.
        await wait_until(lambda: "delivered as message" in log.read_text(), timeout=30, what="the delivered line")
    assert healthy.returncode == 0 and json.loads(healthy.stdout)["status"] == "ok"

    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    lifecycle = [r for r in records if r.get("job_id") == 1]
    said = " ".join(r["message"] for r in lifecycle)
    assert "reserved" in said and "submitted to fal" in said and "delivered as message" in said
    assert all(r["guild_id"] == world.discord.guild.id for r in lifecycle)
    for secret in (env["DISCORD_TOKEN"], env["FAL_KEY"]):
        assert secret not in log.read_text()


async def health_command(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "FAL_KEY")} | env
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "health"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=30,
    )
