"""Chaos: a seeded, randomized run of many jobs against the fake fal, with cancels, approvals, denials, faults at
every boundary and SIGKILLed restarts, then one question: does every dollar agree with fal's bill?

The bot side (the real services, tracker and fal client on one SQLite file) runs in a child process that is killed
with SIGKILL at random moments and started again; the fake fal lives in this process for the whole run, so its bill
covers every life. Discord is a publisher that appends each post to a file, as a channel keeps its messages.
At the end a moderator settles each unknown submit by reading fal's bill, as the dashboard would show it.

    .venv/bin/python -m benchmarks.chaos                      # 1,000 jobs, seed 7
    .venv/bin/python -m benchmarks.chaos --jobs 200 --seed 3  # a quicker look

It prints the figures and exits 1 if any invariant broke: every video fal billed charged exactly once, no job fal
billed refunded, nothing charged that fal did not bill, no reservation left, no pot below zero, no video posted
twice, and never more jobs at fal than the caps allow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from tests.fakes.fal_server import FakeFal, Fault, JobScript
from tests.support.bill import bill_violations

TOTAL_CAP = 12
GUILDS = (101, 102, 103)  # 101 asks a moderator to approve every job; 102 caps each member at one job
MEMBERS = 40
KEY = "chaos-fal-key"


def scripts(rng: random.Random, n: int) -> list[JobScript]:
    """How fal treats each submitted job: mostly a video, and every way fal has of doing otherwise."""
    out = []
    for _ in range(n):
        roll = rng.random()
        script = JobScript(queue_seconds=rng.uniform(0.0, 0.4), run_seconds=rng.uniform(0.05, 0.6))
        if roll < 0.05:
            script = JobScript(outcome="error", error_type="runner_disconnected")
        elif roll < 0.10:
            script = JobScript(outcome="result_error", error_type=rng.choice(["internal_error", "runner_disconnected"]))
        elif roll < 0.15:
            script = JobScript(queue_seconds=rng.uniform(0.1, 0.5), cancel_races_start=True)
        elif roll < 0.20:
            script = JobScript(run_seconds=rng.uniform(0.2, 0.8), cancel_honoured=rng.random() < 0.5)
        elif roll < 0.22:
            script = JobScript(retried_at_fal=True)
        out.append(script)
    return out


FAULTS = (
    lambda: Fault(route="submit", status=503, after_effect=True, carries_request_id=True),
    lambda: Fault(route="submit", status=503, carries_request_id=True),
    lambda: Fault(route="submit", status=502),
    lambda: Fault(route="submit", drop=True, after_effect=True),
    lambda: Fault(route="submit", drop=True),
    lambda: Fault(route="submit", status=429, headers={"Retry-After": "0"}),
    lambda: Fault(route="status", status=503, times=3),
    lambda: Fault(route="result", status=502, times=2),
    lambda: Fault(route="cancel", status=503, times=5),
    lambda: Fault(route="status", drop=True),
)


# -- the bot's side, in a child process ----------------------------------------------------------------------


async def life(folder: Path, queue_url: str, rest_url: str, seed: int, jobs: int, final: bool) -> None:
    """One life of the bot: resume what the last one left, then ask for `jobs` more (random members, random
    cancels and decisions); a final life also waits until every job has ended."""
    from bot.db.connection import open_database
    from bot.errors import TweenError
    from bot.fal import FalClient
    from bot.models import JobState, Requester
    from bot.services import RawFrame, TweenRequest, build_services
    from tests.support.images import image_bytes
    from tests.support.settings import make_settings

    settings = make_settings(
        fal={"queue_url": queue_url, "rest_url": rest_url, "key": KEY, "max_attempts": 3},
        storage={"db_path": str(folder / "tween.sqlite3")},
        budget={"default_seconds": 1_000_000, "member_seconds": 1_000_000},
        concurrency={"per_member": 3, "per_guild": 8, "total": TOTAL_CAP},
        tracker={"queue_deadline": 3.0, "longest_run": 2.0, "max_delivery_attempts": 4},
    )
    rng = random.Random(seed)
    start, end = image_bytes(480, 320), image_bytes(480, 320, "JPEG", (200, 40, 40))
    mod = {g: Requester(g, 9, 1, is_moderator=True) for g in GUILDS}
    async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
        services = build_services(db, fal, settings)
        services.attach_publisher(FilePublisher(folder / "discord.jsonl"))
        await services.tracker.start()
        await services.moderation.configure(mod[101], "approval", approval="always")
        await services.moderation.configure(mod[102], "caps", member_concurrency=1, guild_concurrency=4)

        async def one(n: int) -> None:
            guild = rng.choice(GUILDS)
            who = Requester(guild, 1000 + rng.randrange(MEMBERS), 1)
            request = TweenRequest(
                who,
                f"@Image1 becomes @Image2 #{seed}-{n}",
                rng.randint(3, 10),
                RawFrame.of(start, "a.png"),
                RawFrame.of(end, "b.jpg"),
                10 * 1024 * 1024,
            )
            try:
                job = await services.jobs.submit(request)
            except TweenError:
                return
            await asyncio.sleep(rng.uniform(0, 0.6))
            try:
                if rng.random() < 0.2:
                    await services.moderation.cancel(who, job.id)
                if guild == 101:
                    await services.moderation.decide(mod[guild], job.id, approve=rng.random() < 0.8)
            except TweenError:
                pass

        await asyncio.gather(*(one(n) for n in range(jobs)))
        while final:
            waiting = await services.jobs.queue(101, [JobState.AWAITING_APPROVAL])
            for job in waiting:
                await services.moderation.decide(mod[101], job.id, approve=True)
            row = await db.fetch_one(
                "SELECT COUNT(*) FROM jobs WHERE state NOT IN "
                "('delivered', 'undeliverable', 'failed', 'cancelled', 'submit_unknown') OR failure_notified = 0 "
                "AND state IN ('failed', 'cancelled', 'submit_unknown')"
            )
            if row is not None and row[0] == 0:
                break
            await asyncio.sleep(0.2)
        await services.tracker.stop(grace=1.0)


async def settle(folder: Path, queue_url: str, rest_url: str, billed_prompts: list[str]) -> None:
    """A moderator settles every unknown submit, billed exactly when fal's bill shows its prompt."""
    from bot.db.connection import open_database
    from bot.fal import FalClient
    from bot.models import JobState, Requester
    from bot.services import build_services
    from tests.support.settings import make_settings

    settings = make_settings(
        fal={"queue_url": queue_url, "rest_url": rest_url, "key": KEY},
        storage={"db_path": str(folder / "tween.sqlite3")},
    )
    async with open_database(settings.storage.db_path) as db, FalClient(settings.fal) as fal:
        services = build_services(db, fal, settings)
        services.attach_publisher(FilePublisher(folder / "discord.jsonl"))
        for guild in GUILDS:
            for job in await services.jobs.queue(guild, [JobState.SUBMIT_UNKNOWN]):
                who = Requester(guild, 9, 1, is_moderator=True)
                await services.moderation.settle(who, job.id, billed=job.prompt in billed_prompts)


class FilePublisher:
    """Discord as far as money and delivery go: each post is one line appended to a file, which outlives a kill."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _posts(self) -> list[dict[str, int]]:
        if not self._path.exists():
            return []
        return [json.loads(line) for line in self._path.read_text().splitlines() if line.strip()]

    def _post(self, kind: str, job_id: int) -> int:
        message_id = int(time.time_ns() // 1000)
        with self._path.open("a") as fh:
            fh.write(json.dumps({"kind": kind, "job": job_id, "id": message_id}) + "\n")
        return message_id

    async def open_card(self, job, preview):
        from bot.services import CardPlacement

        return CardPlacement(self._post("card", job.id), None)

    async def update_card(self, job) -> None:
        return None

    async def find_delivery(self, job) -> int | None:
        return next((p["id"] for p in self._posts() if p["kind"] == "result" and p["job"] == job.id), None)

    async def deliver(self, job, video) -> int:
        return self._post("result", job.id)

    async def notify(self, job) -> None:
        self._post("notice", job.id)

    async def request_approval(self, job, policy, preview) -> int:
        return self._post("approval", job.id)

    async def close_approval(self, job) -> None:
        return None

    async def post_log(self, channel_id, event) -> None:
        return None


# -- the run, in this process ----------------------------------------------------------------------------------


async def run(jobs: int, seed: int, kills: int) -> int:
    rng = random.Random(seed)
    problems: list[str] = ["did not finish"]
    folder = Path(tempfile.mkdtemp(prefix="tween-chaos-"))
    try:
        async with FakeFal(key=KEY) as fake:
            fake.script_next(*scripts(rng, jobs * 2))
            started = time.monotonic()
            per_life = max(1, jobs // (kills + 1))
            lives, asked = 0, 0
            faults = asyncio.create_task(inject_faults(fake, rng))
            while asked < jobs:
                count = min(per_life, jobs - asked)
                final = asked + count >= jobs
                await one_life(fake, folder, seed * 1000 + lives, count, final, None if final else rng.uniform(1.5, 4))
                asked, lives = asked + count, lives + 1
            faults.cancel()
            await fal_is_done(fake)  # the moderator reads fal's dashboard once nothing there is still running
            prompts = {record.request_id: record.body["prompt"] for record in fake.submits}
            billed_prompts = [prompts[rid] for rid in fake.bill if rid in prompts]
            await child(folder, fake, ["settle", json.dumps(billed_prompts)])
            seconds = time.monotonic() - started
            problems = verdict(fake, folder)
            report(folder, fake, jobs, lives, seconds, problems)
    finally:
        if not problems:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept for a look: {folder}")
    return 1 if problems else 0


async def fal_is_done(fake: FakeFal) -> None:
    from tests.fakes.fal.job import COMPLETED

    while any(job.phase(fake.clock()) != COMPLETED for job in fake._jobs.values()):  # noqa: ASYNC110 - a clock
        await asyncio.sleep(0.1)


async def inject_faults(fake: FakeFal, rng: random.Random) -> None:
    while True:
        await asyncio.sleep(rng.uniform(0.05, 0.4))
        fake.inject(rng.choice(FAULTS)())


async def one_life(fake: FakeFal, folder: Path, seed: int, count: int, final: bool, kill_after: float | None) -> None:
    args = ["life", str(seed), str(count), "final" if final else "more"]
    await child(folder, fake, args, kill_after=kill_after)


async def child(folder: Path, fake: FakeFal, args: list[str], *, kill_after: float | None = None) -> None:
    command = [sys.executable, "-m", "benchmarks.chaos", "--child", str(folder), fake.queue_url, fake.rest_url, *args]
    process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await asyncio.wait_for(process.wait(), timeout=kill_after if kill_after is not None else 600)
    except TimeoutError:
        process.send_signal(signal.SIGKILL)  # mid-step, wherever it is: the next life resumes from the database
        await process.wait()


def verdict(fake: FakeFal, folder: Path) -> list[str]:
    db = folder / "tween.sqlite3"
    prompts = {record.request_id: record.body["prompt"] for record in fake.submits}
    with closing(sqlite3.connect(db)) as conn:
        known = {row[0] for row in conn.execute("SELECT request_id FROM jobs WHERE request_id IS NOT NULL")}
        # Lost submits never learned their request id; the moderator matched them on fal's bill by prompt.
        blind = [rid for rid in fake.bill if rid not in known]
        problems = [p for rid in blind for p in settled_by_prompt(conn, rid, prompts.get(rid))]
    problems += bill_violations(set(fake.bill) - set(blind), db, peak=fake.max_at_fal(), cap=TOTAL_CAP)
    with closing(sqlite3.connect(db)) as conn:
        held = conn.execute("SELECT COALESCE(SUM(reserved_seconds), 0) FROM pots").fetchone()[0]
        open_jobs = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE state NOT IN ('delivered', 'undeliverable', 'failed', 'cancelled')"
        ).fetchone()[0]
        delivered = {row[0] for row in conn.execute("SELECT id FROM jobs WHERE state = 'delivered'")}
    if held:
        problems.append(f"{held} s still reserved after every job ended (stranded reservations)")
    if open_jobs:
        problems.append(f"{open_jobs} job(s) never ended")
    posts = [json.loads(line) for line in (folder / "discord.jsonl").read_text().splitlines() if line.strip()]
    results = [p["job"] for p in posts if p["kind"] == "result"]
    if twice := sorted({j for j in results if results.count(j) > 1}):
        problems.append(f"videos posted twice: jobs {twice[:10]}")
    if missing := sorted(delivered - set(results)):
        problems.append(f"delivered yet never posted: jobs {missing[:10]}")
    return problems


def settled_by_prompt(conn: sqlite3.Connection, request_id: str, prompt: str | None) -> list[str]:
    row = conn.execute("SELECT id FROM jobs WHERE prompt = ? AND request_id IS NULL", (prompt,)).fetchone()
    if row is None:
        return [f"fal billed request {request_id}, which no Tween job knows: nobody was charged for it"]
    pots = conn.execute("SELECT COUNT(*) FROM job_pots WHERE job_id = ?", (row[0],)).fetchone()[0]
    kinds = dict(conn.execute("SELECT kind, COUNT(*) FROM ledger WHERE job_id = ? GROUP BY kind", (row[0],)))
    if kinds.get("charge", 0) != pots or kinds.get("refund", 0):
        return [f"job {row[0]} (a lost submit fal billed) was charged {kinds.get('charge', 0)} of {pots} pots"]
    return []


def report(folder: Path, fake: FakeFal, asked: int, lives: int, seconds: float, problems: list[str]) -> None:
    with closing(sqlite3.connect(folder / "tween.sqlite3")) as conn:
        states = dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
        kinds = dict(conn.execute("SELECT kind, COUNT(DISTINCT job_id) FROM ledger GROUP BY kind").fetchall())
        reasons = conn.execute(
            "SELECT failure, COUNT(*) FROM jobs WHERE failure IS NOT NULL GROUP BY failure"
        ).fetchall()
    print(f"/tween asked {asked} times; {sum(states.values())} jobs reserved (the rest were refused, or their")
    print(
        f"command died with a killed process before reserving) in {lives} lives ({lives - 1} SIGKILLs), {seconds:.0f} s"
    )
    print("states: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    print("why not a video: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons)))
    charged, refunded = kinds.get("charge", 0), kinds.get("refund", 0)
    print(f"fal billed {len(fake.bill)} video(s); jobs charged {charged}, refunded {refunded}")
    print(f"most jobs at fal at once: {fake.max_at_fal()} (cap {TOTAL_CAP})")
    print("invariants: " + ("all hold" if not problems else f"{len(problems)} broken"))
    for problem in problems[:20]:
        print(f"  ✗ {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.child:
        folder, queue_url, rest_url, what, *rest = args.child
        if what == "settle":
            asyncio.run(settle(Path(folder), queue_url, rest_url, json.loads(rest[0])))
        else:
            seed, count, final = rest
            asyncio.run(life(Path(folder), queue_url, rest_url, int(seed), int(count), final == "final"))
        return 0
    os.environ.setdefault("PYTHONHASHSEED", "0")
    return asyncio.run(run(args.jobs, args.seed, args.kills))


if __name__ == "__main__":
    sys.exit(main())
