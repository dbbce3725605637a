"""Benchmarks of Tween's own cost, each beside a naive baseline, against the fake fal on 127.0.0.1.

    .venv/bin/python -m benchmarks.core            # all of them, printed as a table
    .venv/bin/python -m benchmarks.core startup    # one of them

Figures are measured here, in one run; BENCHMARKS.md records them with the machine they came from.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.db.connection import open_database
from bot.errors import BudgetExhausted
from bot.fal import FalClient
from bot.models import Requester
from bot.periods import to_db, utcnow
from bot.services import build_services
from tests.fakes.fal_server import FakeFal, JobScript
from tests.support.publisher import RecordingPublisher
from tests.support.settings import make_settings

Row = tuple[str, str, str, str]


async def reservations(concurrent: int = 500, budget_jobs: int = 100) -> list[Row]:
    """500 members reserve 5 s at once from a guild pot that holds 100 jobs."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(
            budget={"default_seconds": budget_jobs * 5, "member_seconds": 5}, storage={"db_path": f"{tmp}/b.sqlite3"}
        )
        async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
            services = build_services(db, fal, settings)
            policy = await services.jobs.guilds.policy(1)

            async def one(n: int) -> bool:
                try:
                    async with db.transaction() as conn:
                        await services.budget.reserve(conn, policy, Requester(1, n, 1), 5)
                    return True
                except BudgetExhausted:
                    return False

            started = time.perf_counter()
            granted = sum(await asyncio.gather(*(one(n) for n in range(concurrent))))
            seconds = time.perf_counter() - started
            pot = await services.budget.guild_pot(1)
    assert pot.reserved_seconds == granted * 5 <= budget_jobs * 5
    return [
        (
            "reservations granted",
            f"{granted} of {concurrent}",
            f"exactly {budget_jobs}",
            "✅" if granted == budget_jobs else "❌",
        ),
        ("reservations per second", f"{concurrent / seconds:,.0f}", "—", ""),
    ]


async def startup(jobs: int = 10_000) -> list[Row]:
    """A restart with 10,000 unfinished jobs in the database: how long until every one is tracked."""
    async with FakeFal(default_script=JobScript(queue_seconds=None)) as fake:
        with tempfile.TemporaryDirectory() as tmp:
            settings = make_settings(
                fal={"queue_url": fake.queue_url, "rest_url": fake.rest_url},
                tracker={"queued_interval": 5.0, "running_interval": 3.0},
                storage={"db_path": f"{tmp}/s.sqlite3"},
            )
            async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
                now = to_db(utcnow())
                rows = [
                    (
                        1,
                        1,
                        n % 50,
                        "p",
                        5,
                        560000,
                        "m",
                        "queued",
                        1,
                        now,
                        now,
                        f"r{n}",
                        f"{fake.queue_url}/fal-ai/kling-video/requests/r{n}/status",
                        now,
                    )
                    for n in range(jobs)
                ]
                async with db.transaction() as conn:
                    await conn.executemany(
                        "INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, "
                        "state, upload_limit, created_at, updated_at, request_id, status_url, submitted_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                services = build_services(db, fal, settings)
                services.attach_publisher(RecordingPublisher())
                started = time.perf_counter()
                await services.tracker.start()
                seconds = time.perf_counter() - started
                tracked = services.tracker.resumed
                await services.tracker.stop(grace=0.5)
    return [
        (
            f"start-up with {jobs:,} unfinished jobs",
            f"{seconds:.2f} s ({tracked:,} tracked)",
            "≤ 2 s",
            "✅" if seconds <= 2 and tracked == jobs else "❌",
        )
    ]


async def acks(burst: int = 50, bursts: int = 3) -> list[Row]:
    """50 /tween arriving at once through the fake Discord, three times: time until each is deferred (answered).
    The bot runs as `python -m bot`, so the fakes' work is not done in the bot's process."""
    from tests.e2e.conftest import bot_env, bot_process
    from tests.fakes.discord_fake import FakeDiscord
    from tests.support.images import image_bytes

    frames = {"start": ("s.png", image_bytes(640, 360), "image/png")}
    budget = "[budget]\ndefault_seconds = 100000\nmember_seconds = 100\n[abuse]\nactions = 1000\n"
    with tempfile.TemporaryDirectory() as tmp:
        # No schema checks here: the e2e suite makes them, and they would slow the fake, not the bot.
        async with FakeDiscord(validate_spec=False) as discord_fake, FakeFal(key="bench") as fake:
            people = [discord_fake.add_member(discord_fake.guild, f"m{n}") for n in range(burst)]
            env = bot_env(discord_fake, fake, Path(tmp), budget)
            with bot_process(env, Path(tmp) / "bot.log"):
                await discord_fake.wait_ready(timeout=30)
                await asyncio.sleep(1.0)  # let start-up settle (tracker, first gateway events)
                latencies: list[float] = []
                for _ in range(bursts):
                    interactions = await asyncio.gather(
                        *(
                            discord_fake.slash(
                                "tween", user=p, options={"prompt": "go", "duration": 3}, attachments=frames
                            )
                            for p in people
                        )
                    )
                    await asyncio.gather(*(i.wait_acked(10) for i in interactions))
                    latencies += [i.acked_after * 1000 for i in interactions if i.acked_after is not None]
                    await asyncio.sleep(2.0)  # let the burst's jobs get under way before the next one
                latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    median = statistics.median(latencies)
    return [
        (
            f"/tween deferred, {burst} at once ×{bursts} (p50 / p99)",
            f"{median:.1f} / {p99:.1f} ms",
            "p99 ≤ 50 ms",
            "✅" if p99 <= 50 else "❌",
        )
    ]


async def delivery(size: int = 100 * 1024 * 1024) -> list[Row]:
    """A 100 MiB video relayed from fal to a boosted guild by `python -m bot`: the bot's memory rise and speed."""
    from benchmarks.load import rss_mb
    from tests.e2e.conftest import World, bot_process
    from tests.fakes.discord_fake import FakeDiscord
    from tests.support.images import image_bytes

    frames = {"start": ("s.png", image_bytes(640, 360), "image/png")}
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeDiscord(upload_limit=size) as discord_fake, FakeFal(key="bench") as fake:
            fake.default_script = JobScript(queue_seconds=0.05, run_seconds=0.5, video_size=size)
            world = World(discord_fake, fake, Path(tmp))
            with bot_process(world.env(), Path(tempfile.gettempdir()) / "tween-bench-delivery.log") as process:
                await discord_fake.wait_ready(timeout=30)
                await discord_fake.slash(
                    "tween", user=discord_fake.guild.member, options={"prompt": "big"}, attachments=frames
                )
                await discord_fake.wait_for(lambda: fake.count("result") >= 1, timeout=60)
                baseline, peak = rss_mb(process.pid), 0.0
                started = time.perf_counter()
                while not any(a.size == size for m in discord_fake.all_messages.values() for a in m.attachments):
                    if time.perf_counter() - started > 120:
                        raise TimeoutError("the video never arrived")
                    peak = max(peak, rss_mb(process.pid))
                    await asyncio.sleep(0.005)
                seconds = time.perf_counter() - started
    rise = peak - baseline
    return [
        ("100 MiB delivery: bot memory rise", f"{rise:.1f} MiB", "≤ 16 MiB", "✅" if rise <= 16 else "❌"),
        ("100 MiB delivery: fal → Discord", f"{seconds:.2f} s ({size / seconds / 2**20:.0f} MiB/s)", "loopback", ""),
    ]


BENCHMARKS: dict[str, Callable[[], Awaitable[list[Row]]]] = {
    "reservations": reservations,
    "startup": startup,
    "acks": acks,
    "delivery": delivery,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="which to run (default: all)")
    names = parser.parse_args().names or list(BENCHMARKS)
    rows: list[Row] = []
    for name in names:
        rows += asyncio.run(BENCHMARKS[name]())
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'Tween':<28} {'goal':<12} ok")
    for measure, value, goal, ok in rows:
        print(f"{measure:<{width}}  {value:<28} {goal:<12} {ok}")


if __name__ == "__main__":
    main()
