"""Tracking many jobs at once: Tween's tracker beside the naive way (one coroutine per job polling every 0.1 s,
fal_client's `subscribe` default), against the fake fal with realistic phases run faster by a time scale.

    .venv/bin/python -m benchmarks.tracking --jobs 1000 --scale 20

Figures are in simulated time: "per minute" means per minute of the real phases (queue 10-60 s, run 60-240 s).

Work in progress (issue 7): with a time scale the baseline's 0.1 s polling becomes 0.005 s and saturates the one
process it shares with the fake fal, so its figures are not yet a fair comparison; run the baseline in real time or
in its own process before trusting the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time

import httpx

from benchmarks.load import rss_mb
from bot.db.connection import open_database
from bot.fal import FalClient
from bot.periods import to_db, utcnow
from bot.services import build_services
from tests.fakes.fal_server import MODEL, FakeFal, JobScript
from tests.support.images import image_bytes
from tests.support.publisher import RecordingPublisher
from tests.support.settings import make_settings


def scripts(n: int, scale: float, seed: int = 7) -> list[JobScript]:
    rand = random.Random(seed)
    return [
        JobScript(
            queue_seconds=rand.uniform(10, 60) / scale,
            queue_position=5,
            run_seconds=rand.uniform(60, 240) / scale,
            video_size=1024,
        )
        for _ in range(n)
    ]


async def submit_all(fake: FakeFal, n: int, scale: float) -> list[dict]:
    async with httpx.AsyncClient(timeout=30) as http:
        token = (
            await http.post(
                f"{fake.rest_url}/storage/auth/token", json={}, headers={"Authorization": f"Key {fake.key}"}
            )
        ).json()
        url = (
            await http.post(
                f"{token['base_url']}/files/upload",
                content=image_bytes(),
                headers={"Authorization": f"Bearer {token['token']}", "Content-Type": "image/png"},
            )
        ).json()["access_url"]
        fake.script_next(*scripts(n, scale))
        answers = []
        for _ in range(n):
            answer = await http.post(
                f"{fake.queue_url}/{MODEL}",
                json={"prompt": "p", "start_image_url": url},
                headers={"Authorization": f"Key {fake.key}"},
            )
            answers.append(answer.json())
    return answers


class LagProbe:
    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - start - 0.01)

    def __enter__(self) -> LagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def completion(fake: FakeFal, rid: str) -> float:
    job = fake._jobs[rid]  # the fake's own timeline: when fal finished it
    assert job.run_end is not None
    return job.run_end


async def ours(n: int, scale: float, reads_per_second: float) -> dict[str, float]:
    async with FakeFal(key="bench") as fake:
        answers = await submit_all(fake, n, scale)
        with tempfile.TemporaryDirectory() as tmp:
            settings = make_settings(
                fal={
                    "queue_url": fake.queue_url,
                    "rest_url": fake.rest_url,
                    "key": "bench",
                    "max_reads_per_second": reads_per_second * scale,
                },
                tracker={
                    "queued_interval": 5.0 / scale,
                    "running_interval": 3.0 / scale,
                    "error_backoff_cap": 60 / scale,
                },
                storage={"db_path": f"{tmp}/t.sqlite3"},
                concurrency={"total": n, "per_guild": n, "per_member": n},
            )
            async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
                now = to_db(utcnow())
                async with db.transaction() as conn:
                    await conn.executemany(
                        "INSERT INTO jobs (guild_id, channel_id, user_id, prompt, duration, price_micros, model, "
                        "state, upload_limit, created_at, updated_at, request_id, status_url, response_url, "
                        "cancel_url, submitted_at) "
                        "VALUES (1, 1, 1, 'p', 5, 1, ?, 'queued', 99999999, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            (MODEL, now, now, a["request_id"], a["status_url"], a["response_url"], a["cancel_url"], now)
                            for a in answers
                        ],
                    )
                services = build_services(db, fal, settings)
                services.attach_publisher(RecordingPublisher())
                noticed: dict[str, float] = {}
                original = services.jobs.complete

                async def complete(job, video):  # type: ignore[no-untyped-def]
                    noticed[job.request_id] = time.monotonic()
                    return await original(job, video)

                services.jobs.complete = complete  # type: ignore[method-assign]
                start, rss_before = time.monotonic(), rss_mb()
                with LagProbe() as probe:
                    await services.tracker.start()
                    while len(noticed) < n and time.monotonic() - start < 600 / scale * 4:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                    rss_peak = rss_mb()
                    await services.tracker.stop(grace=1)
            return _figures(fake, n, scale, noticed, start, probe.lags, rss_peak - rss_before + rss_before)


async def baseline(n: int, scale: float) -> dict[str, float]:
    async with FakeFal(key="bench") as fake:
        answers = await submit_all(fake, n, scale)
        noticed: dict[str, float] = {}
        start = time.monotonic()
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as http:

            async def follow(answer: dict) -> None:
                while True:
                    status = await http.get(answer["status_url"], headers={"Authorization": "Key bench"})
                    if status.json().get("status") == "COMPLETED":
                        noticed[answer["request_id"]] = time.monotonic()
                        await http.get(answer["response_url"], headers={"Authorization": "Key bench"})
                        return
                    await asyncio.sleep(0.1 / scale)

            with LagProbe() as probe:
                await asyncio.gather(*(follow(a) for a in answers))
                rss_peak = rss_mb()
        return _figures(fake, n, scale, noticed, start, probe.lags, rss_peak)


def _figures(
    fake: FakeFal, n: int, scale: float, noticed: dict[str, float], start: float, lags: list[float], rss: float
) -> dict[str, float]:
    delays = [(noticed[rid] - completion(fake, rid)) * scale for rid in noticed]
    minutes = [(noticed[rid] - fake._jobs[rid].record.received_at) * scale / 60 for rid in noticed]
    reads = fake.count("status")
    return {
        "noticed": len(noticed),
        "jobs": n,
        "reads per job per minute": reads / max(sum(minutes), 1e-9),
        "noticed after completion p95 (s)": p(delays, 0.95),
        "loop lag p99 (ms)": p(lags, 0.99) * 1000,
        "RSS (MB)": rss,
        "mean delay (s)": statistics.fmean(delays) if delays else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=20)
    parser.add_argument("--reads-per-second", type=float, default=10.0, help="Tween's cap, in real-time units")
    args = parser.parse_args()
    mine = asyncio.run(ours(args.jobs, args.scale, args.reads_per_second))
    naive = asyncio.run(baseline(args.jobs, args.scale))
    print(f"{'measure':<36} {'Tween':>12} {'baseline':>12}")
    for key in mine:
        print(f"{key:<36} {mine[key]:>12.2f} {naive[key]:>12.2f}")
    ratio = naive["reads per job per minute"] / mine["reads per job per minute"]
    print(f"fal status reads per job: baseline / Tween = {ratio:.1f}x")


if __name__ == "__main__":
    main()
