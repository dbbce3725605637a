"""What the tracking benchmarks share: job phases, the fake fal in a process of its own, submitting, and turning
what a run saw into figures (benchmarks/tracking.py runs them side by side)."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.fal.stream import KEEPALIVE
from tests.fakes.fal_server import MODEL, FakeFal, JobScript
from tests.support.images import image_bytes

__all__ = ["MODEL", "REALISTIC", "SHORT", "Phases", "fake_process", "figures", "submit_all"]

KEY = "bench"
POSITION = 5
# The queue API calls a job costs over its life; downloads of the finished video from fal's CDN are not counted.
QUEUE_ROUTES = ("status", "stream", "result", "cancel")


@dataclass(frozen=True)
class Phases:
    queue: tuple[float, float]
    run: tuple[float, float]


REALISTIC = Phases(queue=(10, 60), run=(60, 240))
SHORT = Phases(queue=(1, 3), run=(4, 12))


def scripts(n: int, phases: Phases, scale: float, seed: int) -> list[JobScript]:
    rand = random.Random(seed)
    return [
        JobScript(
            queue_seconds=rand.uniform(*phases.queue) / scale,
            queue_position=POSITION,
            run_seconds=rand.uniform(*phases.run) / scale,
            video_size=1024,
        )
        for _ in range(n)
    ]


# The fake fal, in a process of its own -------------------------------------------------------------------------


def _fake_main(conn: Connection, n: int, phases: Phases, scale: float, seed: int) -> None:
    asyncio.run(_fake(conn, n, phases, scale, seed))


async def _fake(conn: Connection, n: int, phases: Phases, scale: float, seed: int) -> None:
    async with FakeFal(key=KEY) as fake:
        fake.streams.keepalive = KEEPALIVE / scale  # fal's keep-alive period, in the phases' time like the rest
        fake.script_next(*scripts(n, phases, scale, seed))
        conn.send((fake.queue_url, fake.rest_url, fake.jwks_url))
        await asyncio.to_thread(conn.recv)
        timeline = {rid: (job.record.received_at, job.run_end) for rid, job in fake._jobs.items()}
        delivered = sum(1 for d in fake.webhook_deliveries if d.status == 200)
        counts = {route: fake.count(route) for route in QUEUE_ROUTES}
        # Each job's first stream is its first; any later one is a reconnect after a break or a stall.
        counts["stream jobs"] = len({record.request_id for record in fake.streams.records})
        conn.send({"timeline": timeline, "counts": counts, "webhooks": delivered})


@dataclass
class FakeProcess:
    queue_url: str
    rest_url: str
    jwks_url: str
    conn: Connection

    def report(self) -> dict[str, Any]:
        self.conn.send("report")
        return self.conn.recv()


@contextmanager
def fake_process(n: int, phases: Phases, scale: float, seed: int) -> Iterator[FakeProcess]:
    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    process = ctx.Process(target=_fake_main, args=(theirs, n, phases, scale, seed), daemon=True)
    process.start()
    try:
        yield FakeProcess(*mine.recv(), mine)
    finally:
        process.terminate()
        process.join(5)


async def submit_all(queue_url: str, rest_url: str, n: int, webhook: str | None = None) -> list[dict[str, Any]]:
    auth = {"Authorization": f"Key {KEY}"}
    async with httpx.AsyncClient(timeout=30) as http:
        token = (await http.post(f"{rest_url}/storage/auth/token", json={}, headers=auth)).json()
        url = (
            await http.post(
                f"{token['base_url']}/files/upload",
                content=image_bytes(),
                headers={"Authorization": f"Bearer {token['token']}", "Content-Type": "image/png"},
            )
        ).json()["access_url"]
        body = {"prompt": "p", "start_image_url": url}
        params = {"fal_webhook": webhook} if webhook else None
        submit = f"{queue_url}/{MODEL}"
        return [(await http.post(submit, json=body, headers=auth, params=params)).json() for _ in range(n)]


# Measuring --------------------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def cpu_seconds() -> float:
    """User + system CPU of this whole process, every thread included (aiosqlite works in one)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """The kernel's own peak resident size of this process (VmHWM): each side runs in a process of its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Observed:
    noticed: dict[str, float]
    lags: list[float]
    rss_peak: float
    errors: int = 0
    cpu: float = float("nan")  # CPU seconds of the tracking process from the tracker's start to the last finish
    began: float = float("nan")  # monotonic time the tracking started
    first_looks: dict[int, float] = field(default_factory=dict)  # job id: when Tween first knew its status
    lateness: list[float] = field(default_factory=list)  # every look's start against its plan, real seconds
    worst_late_p99: float = float("nan")  # the worst p99 of the last 1,000 looks /health reported


def figures(observed: Observed, report: dict[str, Any], n: int, scale: float) -> dict[str, float]:
    """Durations are in the phases' time (real seconds times the scale), except the event-loop lag and CPU (real)."""
    timeline = report["timeline"]
    noticed = observed.noticed
    delays = [(noticed[rid] - timeline[rid][1]) * scale for rid in noticed]
    minutes = sum((noticed[rid] - timeline[rid][0]) * scale / 60 for rid in noticed)
    counts = report["counts"]
    reads, first_opens = counts["status"], counts["stream jobs"]
    reopens = counts["stream"] - first_opens
    once = reads + first_opens + counts["result"] + counts["cancel"]
    looked = observed.first_looks
    nan = float("nan")
    startup = max(looked.values()) - observed.began if looked and len(looked) >= n else nan
    return {
        "jobs noticed finished": len(noticed),
        "status reads per job": reads / max(n, 1),
        "stream opens per job (first)": first_opens / max(n, 1),
        "stream reopens per job": reopens / max(n, 1),
        "fal requests per job, reconnects excluded": once / max(n, 1),
        "status reads per job-minute": reads / max(minutes, 1e-9),
        "finish noticed after p50 (s)": pct(delays, 0.50),
        "finish noticed after p95 (s)": pct(delays, 0.95),
        "finish noticed after max (s)": max(delays, default=nan),
        "every job looked at once after (s)": startup * scale,
        "every job looked at once after, real (s)": startup,
        "look lateness p50 (s)": pct(observed.lateness, 0.50) * scale,
        "look lateness p99 (s)": pct(observed.lateness, 0.99) * scale,
        "look lateness p99, worst /health sample (s)": observed.worst_late_p99 * scale,
        "event-loop lag p99 (ms)": pct(observed.lags, 0.99) * 1000,
        "CPU seconds": observed.cpu,
        "CPU ms per job": observed.cpu * 1000 / max(n, 1),
        "resident memory peak (MB)": observed.rss_peak,
        "webhooks accepted": report["webhooks"],
        "status reads that failed": observed.errors,
    }
