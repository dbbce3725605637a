"""Tracking jobs in flight with several tracker processes on one PostgreSQL database, beside one process.

    .venv/bin/python -m benchmarks.tracking_shards --jobs 2000 --processes 1 4 --scale 2

Each tracker is a real OS process with its own pool, its own fal client and its own fake fal (fal is someone
else's service: it is not what is measured). All of them share one PostgreSQL database. A process owns the guilds of
its shards, `(guild_id >> 22) % processes`, and tracks only their jobs; the jobs are spread evenly over the guilds.
Phases, pacing and figures are those of benchmarks/tracking.py (realistic phases shortened by `--scale`; figures in
the phases' own time). The tracker is the real one, with the bot's own shard settings: it loads and watches only the
jobs of its shards.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import tempfile
from dataclasses import replace
from datetime import timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

from benchmarks.dbcount import committed, count_statements, counts
from benchmarks.tracking_common import MODEL, REALISTIC, fake_process, figures, submit_all
from benchmarks.tracking_runs import URLS, tween_settings, watching
from bot.db.connection import Database, open_database
from bot.fal import FalClient
from bot.ops.health import GatewayState
from bot.ops.wiring import operations
from bot.periods import to_db, utcnow
from bot.services import build_services
from tests.support.postgres import create_database, start_server
from tests.support.publisher import RecordingPublisher

SHARD_STEP = 1 << 22
GUILDS = 1_000
_INSERT = (
    "INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, state, upload_limit, "
    "created_at, updated_at, request_id, status_url, response_url, cancel_url, submitted_at, started_at, finished_at, "
    "video_url) VALUES (?, 1, 1, 'p', 5, 1, ?, ?, 99999999, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def guilds_of(index: int, processes: int) -> list[int]:
    """The guilds whose shard this process owns (shard i of `processes`): ids one shard step apart."""
    return [SHARD_STEP * g for g in range(GUILDS) if g % processes == index]


async def seed(db: Database, answers: list[dict[str, Any]], guilds: list[int], scale: float, index: int) -> None:
    """This process's jobs at fal now, spread over its guilds, and 200 earlier runs of its own to learn from."""
    now = utcnow()
    rand = random.Random(100 + index)
    history = []
    for i in range(200):
        run = (rand.uniform(*REALISTIC.run) + rand.uniform(0, 5)) / scale
        started = now - timedelta(hours=1, seconds=i * 300)
        stamps = (to_db(started), to_db(started + timedelta(seconds=run)))
        history.append((guilds[0], MODEL, "delivered", *stamps, f"old-{index}-{i}", "", "", "", None, *stamps, "x"))
    stamp = to_db(now)
    live = [
        (guilds[n % len(guilds)], MODEL, "queued", stamp, stamp, *(a[k] for k in URLS), stamp, None, None, None)
        for n, a in enumerate(answers)
    ]
    async with db.transaction() as tx:
        await tx.executemany(_INSERT, history + live)


async def tracker_process(url: str, n: int, index: int, processes: int, scale: float, barrier: Barrier) -> dict:
    guilds = guilds_of(index, processes)
    with fake_process(n, REALISTIC, scale, seed=7 + index) as fake, tempfile.TemporaryDirectory() as folder:
        answers = await submit_all(fake.queue_url, fake.rest_url, n)
        settings = tween_settings(folder, fake, n, scale, 500.0, None)
        # Shard i of `processes`: the real ownership filter loads only this process's jobs.
        settings = replace(settings, discord=replace(settings.discord, shard_count=processes, shard_ids=str(index)))
        async with open_database(url) as db, FalClient(settings.fal) as fal:
            await seed(db, answers, guilds, scale, index)
            services = build_services(db, fal, settings)
            services.attach_publisher(RecordingPublisher())
            await asyncio.to_thread(barrier.wait)
            connected = lambda: GatewayState(connected=True)  # noqa: E731
            async with operations(settings, db, services.tracker, connected, None):
                async with watching(services, n, limit=400 / scale) as observed:
                    await services.tracker.start()
                await services.tracker.stop(grace=1)
        return figures(observed, fake.report(), n, scale)


def _process_main(url: str, n: int, index: int, processes: int, scale: float, barrier: Barrier) -> dict:
    count_statements()
    figures_ = asyncio.run(tracker_process(url, n, index, processes, scale, barrier))
    # Includes seeding this process's jobs (one executemany) and loading them at start: the whole run's traffic.
    figures_["DB statements per job"] = counts["statements"] / max(n, 1)
    return figures_


def run(url: str, jobs: int, processes: int, scale: float) -> list[dict]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    share = jobs // processes
    # Not a Pool: its workers are daemons, and each tracker starts its fake fal as a child process.
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_queued, args=(results, url, share, i, processes, scale, barrier)) for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    out = [results.get(timeout=600 + 400 / scale) for _ in workers]  # a crashed worker ends the run
    for worker in workers:
        worker.join(30)
    return [result for _, result in sorted(out)]


def _queued(results: Any, url: str, n: int, index: int, processes: int, scale: float, barrier: Barrier) -> None:
    results.put((index, _process_main(url, n, index, processes, scale, barrier)))


MEASURES = (
    ("jobs noticed finished", "{:.0f}"),
    ("status reads per job-minute", "{:.1f}"),
    ("finish noticed after p50 (s)", "{:.2f}"),
    ("finish noticed after p95 (s)", "{:.2f}"),
    ("event-loop lag p99 (ms)", "{:.1f}"),
    ("resident memory peak (MB)", "{:.1f}"),
    ("DB statements per job", "{:.1f}"),
)


def table(columns: dict[str, list[dict]]) -> str:
    """One column per process, plus an overall one per run (sums for jobs, worst for latencies and memory)."""
    heads: list[str] = []
    cells: list[list[str]] = []
    for name, per_process in columns.items():
        for i, figures_ in enumerate(per_process):
            heads.append(f"{name} p{i + 1}")
            cells.append([fmt.format(figures_[key]) for key, fmt in MEASURES])
        if len(per_process) > 1:
            heads.append(f"{name} all")
            cells.append(overall(per_process))
    lines = ["| measure | " + " | ".join(heads) + " |", "| --- |" + " ---: |" * len(heads)]
    for r, (key, _) in enumerate(MEASURES):
        lines.append(f"| {key} | " + " | ".join(c[r] for c in cells) + " |")
    return "\n".join(lines)


def overall(per_process: list[dict]) -> list[str]:
    noticed = sum(f["jobs noticed finished"] for f in per_process)
    reads = sum(f["status reads per job-minute"] * f["jobs noticed finished"] for f in per_process) / max(noticed, 1)
    worst = [max(f[key] for f in per_process) for key, _ in MEASURES[2:-1]]
    statements = sum(f["DB statements per job"] for f in per_process) / len(per_process)
    spread = (f"≤{v:.2f}" if i < 2 else f"≤{v:.1f}" for i, v in enumerate(worst))
    return [f"{noticed:.0f}", f"{reads:.1f}", *spread, f"{statements:.1f}"]


async def fresh(server: Any) -> str:
    url = server.url(await create_database(server))
    async with open_database(url):  # migrated before the run
        pass
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000, help="jobs in flight in all, split over the processes")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4], help="one run per count")
    parser.add_argument("--scale", type=float, default=2.0, help="how much faster than real the phases run")
    args = parser.parse_args()
    server = start_server()
    try:
        columns = {}
        for processes in args.processes:
            url = asyncio.run(fresh(server))
            database = url.rsplit("/", 1)[1]
            before = asyncio.run(committed(server.url(), database))
            columns[f"{args.jobs}/{processes}"] = run(url, args.jobs, processes, args.scale)
            commits = asyncio.run(committed(server.url(), database)) - before
            print(table(columns), flush=True)
            print(f"{args.jobs}/{processes}: the server committed {commits / args.jobs:.1f} transactions per job")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
