"""Load: N /tween per minute for M minutes through the fake Discord and the fake fal, against the real bot.

Prints a table: jobs asked, answered, delivered, errors, and the bot's resident memory over time (the bot runs as
`python -m bot`, so the fakes' own storage does not count). Every job must end delivered and memory must stay flat.

    .venv/bin/python -m benchmarks.load --per-minute 200 --minutes 10     # the full run
    .venv/bin/python -m benchmarks.load --per-minute 600 --minutes 0.1    # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.conftest import World, bot_process, ephemeral_text_of, run_bot
from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.fal_server import FakeFal, JobScript
from tests.support.images import image_bytes

LOAD_TOML = """
[budget]
default_seconds = 1000000
member_seconds = 1000000
[concurrency]
per_member = 4
per_guild = 40
total = 40
[abuse]
actions = 1000
"""


@dataclass
class LoadResult:
    asked: int = 0
    delivered: int = 0
    answered: int = 0
    errors: list[str] = field(default_factory=list)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rss_growth_mb(self) -> float:
        if len(self.rss_mb) < 2:
            return 0.0
        settled = self.rss_mb[len(self.rss_mb) // 4 :]  # after warm-up
        return max(m for _, m in settled) - settled[0][1]


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run_load(per_minute: float, minutes: float, members: int = 50, *, subprocess: bool = False) -> LoadResult:
    """Drive the load; with `subprocess` the bot runs as `python -m bot` and its own memory is sampled."""
    result = LoadResult()
    frames = {
        "start": ("s.png", image_bytes(640, 360), "image/png"),
        "end": ("e.jpg", image_bytes(640, 360, "JPEG"), "image/jpeg"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeDiscord() as discord_fake, FakeFal(key="load-key", default_script=JobScript(0.2, 1, 0.5)) as fal:
            world = World(discord_fake, fal, Path(tmp))
            people = [discord_fake.add_member(discord_fake.guild, f"load{n}") for n in range(members)]
            async with _bot(world, subprocess) as pid:
                started = time.monotonic()
                total = max(1, round(per_minute * minutes))
                interactions = []
                for n in range(total):
                    await asyncio.sleep(max(0.0, started + n * 60 / per_minute - time.monotonic()))
                    interactions.append(
                        await discord_fake.slash(
                            "tween",
                            user=people[n % members],
                            options={"prompt": f"load {n}", "duration": 3},
                            attachments=frames,
                        )
                    )
                    if n % 20 == 0:
                        result.rss_mb.append((time.monotonic() - started, rss_mb(pid)))
                result.asked = total
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    result.answered = sum(1 for i in interactions if ephemeral_text_of(i))
                    result.delivered = sum(
                        1
                        for m in discord_fake.all_messages.values()
                        if any(a.filename.endswith(".mp4") for a in m.attachments)
                    )
                    if result.delivered >= total:
                        break
                    await asyncio.sleep(0.2)
                result.rss_mb.append((time.monotonic() - started, rss_mb(pid)))
                result.seconds = time.monotonic() - started
            result.errors = discord_fake.errors + discord_fake.spec_violations
    return result


@contextlib.asynccontextmanager
async def _bot(world: World, subprocess: bool) -> AsyncIterator[int | str]:
    """The bot in this process (memory: the whole process) or as its own process (memory: the bot alone)."""
    if not subprocess:
        async with run_bot(world, LOAD_TOML):
            yield "self"
        return
    with bot_process(world.env(LOAD_TOML), world.tmp_path / "bot.log") as process:
        await world.discord.wait_ready(timeout=30)
        yield process.pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-minute", type=float, default=200)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--in-process", action="store_true", help="run the bot inside this process")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        result = asyncio.run(run_load(args.per_minute, args.minutes, subprocess=not args.in_process))
        print("memory: the bot's own process" if not args.in_process else "memory: bot and both fakes together")
        print(f"{'asked':>8} {'answered':>9} {'delivered':>10} {'errors':>7} {'seconds':>8} {'RSS MB start→end':>18}")
        start, end = result.rss_mb[0][1], result.rss_mb[-1][1]
        print(
            f"{result.asked:>8} {result.answered:>9} {result.delivered:>10} {len(result.errors):>7} "
            f"{result.seconds:>8.1f} {start:>8.1f} → {end:<8.1f}"
        )
        print(f"RSS growth after warm-up: {result.rss_growth_mb:.1f} MB")


if __name__ == "__main__":
    main()
