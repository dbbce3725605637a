"""The typical bot, for the baselines in benchmarks/core.py: run as its own process against the fakes.

    python -m benchmarks.naive_bot ack              # /tween that reads and checks the frames, then answers
    python -m benchmarks.naive_bot relay URL CHANNEL  # a video fetched into memory and posted as bytes

Both read DISCORD_TOKEN and DISCORD_API_BASE / DISCORD_GATEWAY_URL like Tween does.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from pathlib import Path

import discord
import httpx
import yarl
from discord import app_commands
from PIL import Image


def point_at_fake() -> None:
    discord.http.Route.BASE = os.environ["DISCORD_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])


class NaiveBot(discord.Client):
    """Does the work first and answers after, as many bots do."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.none())
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="tween", description="naive")
        async def tween(
            interaction: discord.Interaction,
            start: discord.Attachment | None = None,
            prompt: str | None = None,
            end: discord.Attachment | None = None,
            duration: int | None = None,
        ) -> None:
            for frame in (start, end):
                if frame is not None:
                    Image.open(io.BytesIO(await frame.read())).verify()
            await interaction.response.defer(ephemeral=True, thinking=True)


def memory(field: str) -> float:
    """This process's resident memory (VmRSS) or its peak so far (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def relay(url: str, channel_id: int) -> None:
    """Prints the memory before and the peak after, in MiB, and the seconds: `RELAY <before> <peak> <seconds>`."""
    before, started = memory("VmRSS"), time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as http:
        data = (await http.get(url)).content
    client = discord.Client(intents=discord.Intents.none())
    await client.login(os.environ["DISCORD_TOKEN"])
    try:
        channel = client.get_partial_messageable(channel_id)
        await channel.send(file=discord.File(io.BytesIO(data), "video.mp4"))
    finally:
        await client.close()
    print(f"RELAY {before:.1f} {memory('VmHWM'):.1f} {time.perf_counter() - started:.3f}", flush=True)


def main() -> None:
    point_at_fake()
    if sys.argv[1] == "ack":
        NaiveBot().run(os.environ["DISCORD_TOKEN"], log_handler=None)
    else:
        asyncio.run(relay(sys.argv[2], int(sys.argv[3])))


if __name__ == "__main__":
    main()
