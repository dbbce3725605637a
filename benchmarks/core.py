"""Benchmarks of Tween's own cost, each beside the typical way (benchmarks/baselines.py, benchmarks/naive_bot.py),
in the same run, against the fakes on 127.0.0.1.

    .venv/bin/python -m benchmarks.core            # all of them, printed as a table
    .venv/bin/python -m benchmarks.core startup    # one of them

Figures are measured here, in one run; BENCHMARKS.md records them with the machine they came from.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import baselines
from bot.db.connection import open_database
from bot.errors import BudgetExhausted
from bot.fal import FalClient
from bot.models import Requester
from bot.periods import to_db, utcnow
from bot.services import build_services
from bot.services.lifecycle import Draft
from tests.fakes.fal_server import FakeFal, JobScript
from tests.support.publisher import RecordingPublisher
from tests.support.settings import make_settings

ROOT = Path(__file__).resolve().parent.parent
Row = tuple[str, str, str, str, str]  # measure, Tween, baseline, goal, Tween meets it
BURST = 5.0  # seconds after a restart in which fal's requests are counted


def ok(passed: bool) -> str:
    return "✅" if passed else "❌"


async def reservations(concurrent: int = 500, budget_jobs: int = 100) -> list[Row]:
    """500 members reserve 5 s at once from a guild pot that holds 100 jobs; the baseline checks, then spends."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(
            budget={"default_seconds": budget_jobs * 5, "member_seconds": 5}, storage={"db_path": f"{tmp}/b.sqlite3"}
        )
        async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
            services = build_services(db, fal, settings)
            policy = await services.moderation.policy(1)

            async def one(n: int) -> bool:
                try:
                    draft = Draft(Requester(1, n, 1), "p", 5, price_micros=560_000, model="m", upload_limit=1)
                    await services.lifecycle.open(draft, policy)  # the job row and its holds, as /tween writes them
                    return True
                except BudgetExhausted:
                    return False

            started = time.perf_counter()
            granted = sum(await asyncio.gather(*(one(n) for n in range(concurrent))))
            rate = concurrent / (time.perf_counter() - started)
            pot = await services.budget.guild_pot(1)
        naive, naive_rate = await baselines.reservations(tmp, concurrent, budget_jobs)
    assert pot.reserved_seconds == granted * 5 <= budget_jobs * 5
    return [
        (
            f"reservations granted, {concurrent} at once, budget for {budget_jobs}",
            f"{granted}",
            f"{naive} (overspent {naive / budget_jobs:.0f}×)" if naive > budget_jobs else f"{naive}",
            f"exactly {budget_jobs}",
            ok(granted == budget_jobs),
        ),
        ("reservations per second", f"{rate:,.0f}", f"{naive_rate:,.0f}", "—", ""),
    ]


async def startup(jobs: int = 10_000) -> list[Row]:
    """A restart with 10,000 unfinished jobs: how long until every one is tracked, and fal's first-second burst."""
    async with FakeFal(default_script=JobScript(queue_seconds=None)) as fake:
        with tempfile.TemporaryDirectory() as tmp:
            settings = make_settings(
                fal={"queue_url": fake.queue_url, "rest_url": fake.rest_url, "max_reads_per_second": 500.0},
                tracker={"queued_interval": 5.0, "running_interval": 2.25},
                storage={"db_path": f"{tmp}/s.sqlite3"},
            )
            async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
                await open_jobs(db, fake, jobs)
                services = build_services(db, fal, settings)
                services.attach_publisher(RecordingPublisher())
                started = time.perf_counter()
                await services.tracker.start()
                seconds = time.perf_counter() - started
                tracked = services.tracker.resumed
                burst = await requests_in(fake, BURST)
                await services.tracker.stop(grace=0.5)
                await asyncio.sleep(0.5)
                with baselines.startup(settings.storage.db_path, fake.key) as naive:
                    naive_answered = await requests_in(fake, BURST)
                naive_seconds, naive_tracked = naive
    return [
        (
            f"start-up with {jobs:,} unfinished jobs: all tracked after",
            f"{seconds:.2f} s ({tracked:,})",
            f"{naive_seconds:.2f} s ({naive_tracked:,})",
            "≤ 2 s",
            ok(seconds <= 2 and tracked == jobs),
        ),
        (
            f"fal status requests in the first {BURST:.0f} s",
            f"{burst:,} answered (spread over one interval)",
            f"{naive_tracked:,} due at once, {naive_answered:,} answered",
            "no storm",
            "",
        ),
    ]


async def open_jobs(db: Any, fake: FakeFal, jobs: int) -> None:
    """Jobs waiting in fal's queue, known to the fake fal (planted directly: 10,000 real submits take a minute)."""
    from tests.fakes.fal.job import Job
    from tests.fakes.fal.model import SubmitRecord

    now = to_db(utcnow())
    status = f"{fake.queue_url}/fal-ai/kling-video/requests/r{{}}/status"
    for n in range(jobs):
        record = SubmitRecord(f"r{n}", "m", {}, {}, time.monotonic())
        base = status.format(n).removesuffix("/status")
        urls = {"request_id": f"r{n}", "response_url": base, "status_url": f"{base}/status", "cancel_url": base}
        fake._jobs[record.request_id] = Job(record, JobScript(queue_seconds=None), urls, datetime.now(UTC))
    rows = [(n % 50, 560000, "m", "queued", now, now, f"r{n}", status.format(n), now) for n in range(jobs)]
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, "
            "upload_limit, created_at, updated_at, request_id, status_url, submitted_at) "
            "VALUES (1, 1, ?, 'p', 5, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
            rows,
        )


async def requests_in(fake: FakeFal, seconds: float) -> int:
    before = fake.count("status")
    await asyncio.sleep(seconds)
    return fake.count("status") - before


async def acks(burst: int = 50, bursts: int = 3) -> list[Row]:
    """50 /tween arriving at once through the fake Discord, three times: time until each is answered (deferred).
    Each bot runs as its own process, so the fakes' work is not done in the bot's. The baseline reads and checks
    the frames first and answers after."""
    tween = await ack_latencies([sys.executable, "-m", "bot"], burst, bursts)
    naive = await ack_latencies([sys.executable, "-m", "benchmarks.naive_bot", "ack"], burst, bursts)
    return [
        (
            f"/tween answered, {burst} at once ×{bursts} (p50 / p99)",
            f"{statistics.median(tween):.1f} / {pct(tween, 0.99):.1f} ms",
            f"{statistics.median(naive):.1f} / {pct(naive, 0.99):.1f} ms",
            "p99 ≤ 50 ms",
            ok(pct(tween, 0.99) <= 50),
        )
    ]


async def ack_latencies(command: list[str], burst: int, bursts: int) -> list[float]:
    from tests.fakes.discord_fake import FakeDiscord
    from tests.support.images import image_bytes

    frames = {"start": ("s.png", image_bytes(640, 360), "image/png")}
    budget = "[budget]\ndefault_seconds = 100000\nmember_seconds = 100\n[abuse]\nactions = 1000\n"
    latencies: list[float] = []
    # No schema checks here: the e2e suite makes them, and they would slow the fake, not the bot.
    async with FakeDiscord(validate_spec=False) as discord_fake, FakeFal(key="bench") as fake:
        people = [discord_fake.add_member(discord_fake.guild, f"m{n}") for n in range(burst)]
        with running(command, discord_fake, fake, budget):
            await discord_fake.wait_ready(timeout=30)
            await asyncio.sleep(1.0)  # let start-up settle
            for _ in range(bursts):
                options = {"prompt": "go", "duration": 3}
                interactions = await asyncio.gather(
                    *(discord_fake.slash("tween", user=p, options=options, attachments=frames) for p in people)
                )
                await asyncio.gather(*(i.wait_acked(10) for i in interactions))
                latencies += [i.acked_after * 1000 for i in interactions if i.acked_after is not None]
                await asyncio.sleep(2.0)  # let the burst's work get under way before the next one
    return sorted(latencies)


@contextlib.contextmanager
def running(command: list[str], discord_fake: Any, fake: FakeFal, toml: str = "") -> Iterator[subprocess.Popen[bytes]]:
    from tests.e2e.conftest import bot_env, bot_process

    with tempfile.TemporaryDirectory() as tmp:
        env = bot_env(discord_fake, fake, Path(tmp), toml)
        if command[-1] == "bot":
            with bot_process(env, Path(tmp) / "bot.log") as process:
                yield process
            return
        full = {**os.environ, **env}
        process = subprocess.Popen(command, cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield process
        finally:
            process.kill()
            process.wait(10)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


async def delivery(limit: int = 100 * 1024 * 1024) -> list[Row]:
    """A real video of about 95 MiB relayed from fal to a boosted guild by `python -m bot`: the bot's memory rise
    and speed. The baseline fetches the video into memory and posts the bytes."""
    from tests.support import media

    video = media.video(media.VideoSpec(10, 1920, 1080, bitrate=78_000_000))  # just under 100 MiB
    size = video.stat().st_size
    async with delivery_world(limit, video) as (discord_fake, fake, tween):
        rid = fake.submits[0].request_id
        naive_rise, naive_seconds = await naive_relay(discord_fake, fake, fake.video_url(rid))
    rise, seconds = tween
    return [
        ("100 MiB delivery: bot memory rise", f"{rise:.1f} MiB", f"{naive_rise:.1f} MiB", "≤ 16 MiB", ok(rise <= 16)),
        (
            "100 MiB delivery: fal → Discord",
            f"{seconds:.2f} s ({size / seconds / 2**20:.0f} MiB/s)",
            f"{naive_seconds:.2f} s ({size / naive_seconds / 2**20:.0f} MiB/s)",
            "loopback",
            "",
        ),
    ]


@contextlib.asynccontextmanager
async def delivery_world(limit: int, video: Path) -> AsyncIterator[tuple[Any, FakeFal, tuple[float, float]]]:
    from benchmarks.load import rss_mb
    from tests.fakes.discord_fake import FakeDiscord
    from tests.support.images import image_bytes

    frames = {"start": ("s.png", image_bytes(640, 360), "image/png")}
    size = video.stat().st_size
    async with FakeDiscord(upload_limit=limit) as discord_fake, FakeFal(key="bench") as fake:
        fake.default_script = JobScript(queue_seconds=0.05, run_seconds=0.5, video=video)
        with running([sys.executable, "-m", "bot"], discord_fake, fake) as process:
            await discord_fake.wait_ready(timeout=30)
            await discord_fake.slash(
                "tween",
                user=discord_fake.guild.member,
                options={"prompt": "big", "duration": 10},
                attachments=frames,
            )
            await discord_fake.wait_for(lambda: fake.count("result") >= 1, timeout=60)
            before, peak = rss_mb(process.pid), 0.0
            started = time.perf_counter()
            while not any(a.size == size for m in discord_fake.all_messages.values() for a in m.attachments):
                if time.perf_counter() - started > 120:
                    raise TimeoutError("the video never arrived")
                peak = max(peak, rss_mb(process.pid))
                await asyncio.sleep(0.005)
            seconds = time.perf_counter() - started
        yield discord_fake, fake, (peak - before, seconds)


async def naive_relay(discord_fake: Any, fake: FakeFal, url: str) -> tuple[float, float]:
    """(memory rise in MiB, seconds) of the baseline relaying the same video to the same channel."""
    from tests.e2e.conftest import bot_env

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **bot_env(discord_fake, fake, Path(tmp))}
        command = [sys.executable, "-m", "benchmarks.naive_bot", "relay", url, str(discord_fake.guild.channel.id)]
        process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env, stdout=subprocess.PIPE)
        out, _ = await process.communicate()
    _, before, peak, seconds = out.decode().split()[-4:]
    return float(peak) - float(before), float(seconds)


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
    print(f"{'measure':<{width}}  {'Tween':<24} {'baseline':<26} {'goal':<12} ok")
    for measure, value, naive, goal, passed in rows:
        print(f"{measure:<{width}}  {value:<24} {naive:<26} {goal:<12} {passed}")


if __name__ == "__main__":
    main()
