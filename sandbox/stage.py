"""The sandbox's world: the fake Discord (recording every message state) and the fake fal on 127.0.0.1, a member and
a moderator, and the real bot started as an operator starts it: `python -m bot sync`, then `python -m bot`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.standin import StandIns
from scripts.story.record import RecordingDiscord
from tests.fakes.discord_fake import FakeMessage, FakeUser
from tests.fakes.fal import FakeFal, JobScript

# fal's queue and run, slowed to a pace a person can watch the card change at.
PACE = JobScript(queue_seconds=1.5, queue_position=2, run_seconds=2.5)
# The bot's embedded defaults, except its pace: the sandbox's fal finishes in seconds, so the bot looks at it and
# redraws the card about as often as a person can watch (against fal.ai it waits longer between looks).
SANDBOX_TOML = """
[tracker]
queued_interval = 0.5
queued_interval_cap = 2.0
running_interval = 0.5
running_sparse_interval = 1.0
[discord]
card_edit_interval = 1.0
"""
START_TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parents[1]  # where `python -m bot` runs, as `make run` runs it


class LiveDiscord(RecordingDiscord):
    """The story's recording fake Discord that also tells listeners each time a message state is recorded."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.listeners: list[Callable[[], None]] = []

    def message_json(self, message: FakeMessage) -> dict[str, Any]:
        answer = super().message_json(message)
        for listener in self.listeners:
            listener()
        return answer


@dataclass
class Sandbox:
    discord: LiveDiscord
    fal: FakeFal
    folder: Path
    people: dict[str, FakeUser] = field(default_factory=dict)  # "member" and "moderator"

    @property
    def log_path(self) -> Path:
        return self.folder / "bot.log"

    def names(self) -> dict[str, dict[str, str]]:
        """How mentions are shown: people, roles and channels by name."""
        guild = self.discord.guild
        users = {str(u.id): u.name for u in guild.members}
        users[str(self.discord.bot_user.id)] = "Tween"
        roles = {str(guild.id): "@everyone", str(guild.mod_role_id): "Moderator"}
        channels = {str(c.id): c.name for c in self.discord.channels.values()}
        return {"users": users, "roles": roles, "channels": channels}


@contextlib.asynccontextmanager
async def sandbox(folder: Path, pace: JobScript = PACE) -> AsyncIterator[Sandbox]:
    """Both fakes and the bot running; everything stopped (the bot killed if it will not stop) on the way out."""
    async with (
        LiveDiscord() as discord_fake,
        FakeFal(key="sandbox-fal-key", default_script=pace, video_maker=StandIns(folder / "videos")) as fal,
    ):
        guild = discord_fake.guild
        guild.name = "Sandbox"
        guild.member.name, guild.admin.name = "Mira", "Ravi"
        world = Sandbox(discord_fake, fal, folder, {"member": guild.member, "moderator": guild.admin})
        env = _env(discord_fake, fal, folder)
        await _run_once([sys.executable, "-m", "bot", "sync"], env, world.log_path)
        async with _bot(env, world.log_path) as process:
            await _wait_ready(discord_fake, process, world.log_path)
            yield world


def _env(discord_fake: LiveDiscord, fal: FakeFal, folder: Path) -> dict[str, str]:
    """What an operator sets, pointed at the fakes (as tests/e2e/conftest.py's bot_env, without its test pace)."""
    config = folder / "sandbox.toml"
    config.write_text(SANDBOX_TOML)
    return {
        "DISCORD_TOKEN": discord_fake.token,
        "FAL_KEY": fal.key,
        "DISCORD_API_BASE": discord_fake.api_base,
        "DISCORD_GATEWAY_URL": discord_fake.gateway_url,
        "FAL_QUEUE_URL": fal.queue_url,
        "FAL_REST_URL": fal.rest_url,
        "TWEEN_DB_PATH": str(folder / "tween.sqlite3"),
        "TWEEN_CONFIG": str(config),
    }


def _full_env(env: dict[str, str]) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "FAL_KEY")}, **env}


async def _run_once(command: list[str], env: dict[str, str], log_path: Path) -> None:
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=_full_env(env), stdout=log, stderr=log)
    if await asyncio.wait_for(process.wait(), START_TIMEOUT) != 0:
        raise SystemExit(f"`{' '.join(command[1:])}` failed; see {log_path}")


@contextlib.asynccontextmanager
async def _bot(env: dict[str, str], log_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=ROOT, env=_full_env(env), stdout=log, stderr=log
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # a Ctrl+C in the terminal reaches the bot too
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_ready(discord_fake: LiveDiscord, process: asyncio.subprocess.Process, log_path: Path) -> None:
    ready = asyncio.ensure_future(discord_fake.wait_ready(timeout=START_TIMEOUT))
    died = asyncio.ensure_future(process.wait())
    done, _ = await asyncio.wait({ready, died}, return_when=asyncio.FIRST_COMPLETED)
    if died in done:
        ready.cancel()
        raise SystemExit(f"the bot stopped during start-up (exit {process.returncode}); see {log_path}")
    died.cancel()
    ready.result()
