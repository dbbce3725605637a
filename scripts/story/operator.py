"""Part 0: the operator. `python -m bot` started as an operator starts it (a process, its log on the terminal):
the first run says how to invite the bot and that no commands are synced; `python -m bot sync`; the next start
counts the commands Discord has."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from scripts.story.world import Stage
from tests.e2e.conftest import ROOT, bot_process
from tests.support.waiting import wait_until

START_TIMEOUT = 60.0


async def play(stage: Stage, folder: Path) -> None:
    rec = stage.discord.recording
    rec.add(
        "step",
        title="The operator starts Tween",
        story="The operator has put DISCORD_TOKEN and FAL_KEY in the environment and starts the bot for the first "
        "time, syncs the slash commands as the log says, and starts it again.",
    )
    env = stage.world.env()
    first = await _start_and_stop(env, folder / "first.log", "slash commands")
    rec.add("terminal", command="python -m bot", lines=first)
    rec.add("terminal", command="python -m bot sync", lines=await _sync(env))
    second = await _start_and_stop(env, folder / "second.log", "slash command(s)")
    rec.add("terminal", command="python -m bot", lines=second)


async def _start_and_stop(env: dict[str, str], log: Path, waits_for: str) -> list[str]:
    """Start the bot, wait for its greeting line, stop it with Ctrl-C, and return what it logged."""
    with bot_process(env, log) as process:
        await wait_until(lambda: waits_for in log.read_text(), START_TIMEOUT, what=f"'{waits_for}' in the log")
        process.send_signal(signal.SIGINT)
        await asyncio.to_thread(process.wait, START_TIMEOUT)
    return log.read_text().splitlines()


async def _sync(env: dict[str, str]) -> list[str]:
    full_env = {**{k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "FAL_KEY")}, **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sync",
        cwd=ROOT,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    return out.decode().splitlines()
