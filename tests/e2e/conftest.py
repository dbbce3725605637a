"""End to end: the real bot (built as `python -m bot` builds it) against the fake Discord and the fake fal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest
import yarl

from bot.__main__ import running_bot
from bot.app import TweenBot
from bot.settings import Settings
from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.fal_server import FakeFal
from tests.support.bill import end_of_test_violations
from tests.support.stores import snapshot_postgres

ROOT = Path(__file__).resolve().parents[2]
FAST = """
[fal]
backoff_base = 0.01
backoff_cap = 0.05
max_reads_per_second = 200.0
{fal}[tracker]
queued_interval = 0.05
running_interval = 0.05
running_sparse_interval = 0.3
error_backoff_cap = 0.2
[discord]
card_edit_interval = 0.05
"""
# Tests act faster than any member; the abuse limit has its own test.
RELAXED = "[abuse]\nactions = 100\n"

pytestmark = pytest.mark.e2e


def bot_env(
    discord_fake: FakeDiscord,
    fal: FakeFal,
    tmp_path: Path,
    extra_toml: str = "",
    database_url: str | None = None,
    fal_toml: str = "",
) -> dict[str, str]:
    """The bot's environment; `fal_toml` is more of the [fal] table, `extra_toml` more tables after it."""
    config = tmp_path / "tween-test.toml"
    config.write_text(FAST.format(fal=fal_toml) + extra_toml + ("" if "[abuse]" in extra_toml else RELAXED))
    return {
        "DISCORD_TOKEN": discord_fake.token,
        "FAL_KEY": fal.key,
        "DISCORD_API_BASE": discord_fake.api_base,
        "DISCORD_GATEWAY_URL": discord_fake.gateway_url,
        "FAL_QUEUE_URL": fal.queue_url,
        "FAL_REST_URL": fal.rest_url,
        "TWEEN_DB_PATH": str(tmp_path / "tween.sqlite3"),
        "TWEEN_CONFIG": str(config),
        **({"TWEEN_DATABASE_URL": database_url} if database_url else {}),
    }


@dataclass
class World:
    discord: FakeDiscord
    fal: FakeFal
    tmp_path: Path
    database_url: str | None = None  # None: the SQLite file in tmp_path
    fal_toml: str = ""  # more of the bot's [fal] table

    def env(self, extra_toml: str = "") -> dict[str, str]:
        return bot_env(self.discord, self.fal, self.tmp_path, extra_toml, self.database_url, self.fal_toml)

    @property
    def store(self) -> str:
        """Where the bot keeps its rows: for tests that look behind its back."""
        return self.database_url or str(self.tmp_path / "tween.sqlite3")


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """Every end-to-end test runs on both stores: the SQLite file, and a PostgreSQL database of its own."""
    url = request.getfixturevalue("tween_postgres_url") if request.param == "postgresql" else None
    async with FakeDiscord() as discord_fake, FakeFal(key="e2e-fal-key") as fal:
        yield World(discord_fake, fal, tmp_path, url)
        if url is not None:
            await snapshot_postgres(url, tmp_path / "postgresql.sqlite3")
        assert end_of_test_violations(fal, tmp_path) == []  # every video fal billed is charged once, none refunded


@contextlib.asynccontextmanager
async def run_bot(world: World, extra_toml: str = "") -> AsyncIterator[TweenBot]:
    """Start the real bot in this process; fail loudly if it dies; restore discord.py's globals after."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    settings = Settings.load(world.env(extra_toml))
    try:
        async with running_bot(settings) as bot:
            task = asyncio.create_task(bot.start(settings.discord.token))
            await asyncio.sleep(0)
            ready = asyncio.create_task(world.discord.wait_ready())
            done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                ready.cancel()
                raise AssertionError(f"the bot stopped during start-up: {task.exception()!r}")
            try:
                yield bot
            finally:
                await bot.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                if task.done() and not task.cancelled() and task.exception():
                    raise AssertionError(f"the bot crashed: {task.exception()!r}")
    finally:
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(gateway))


@pytest.fixture
async def tween(world: World) -> AsyncIterator[TweenBot]:
    async with run_bot(world) as bot:
        # As an operator does once: the fake then holds every slash command to what a member could really send.
        await bot.tree.sync()
        yield bot


@contextlib.contextmanager
def bot_process(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m bot` exactly as an operator runs it; killed at the end if still alive."""
    full_env = {**{k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "FAL_KEY")}, **env}
    with log_path.open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=full_env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def ephemeral_text_of(interaction: object) -> str:
    """Everything the bot answered privately to one interaction (the original response and followups)."""
    messages = [getattr(interaction, "original", None), *getattr(interaction, "followups", [])]
    return " ".join(m.content for m in messages if m is not None and m.content)
