"""Two `python -m bot` processes on one PostgreSQL database, on shards 0 and 1 of 2, each with a guild of its own:
as an operator runs Tween past one process (compose.scale.yaml)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import World, bot_process
from tests.e2e.test_ops_e2e import free_port
from tests.e2e.test_tween_e2e import PROMPT, frames
from tests.fakes.discord_fake import FakeDiscord, FakeGuild
from tests.fakes.discord_fake.gateway import shard_of
from tests.fakes.fal_server import FakeFal, JobScript
from tests.support.bill import end_of_test_violations
from tests.support.stores import query, snapshot_postgres
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

HELD = JobScript(queue_seconds=0.0, run_seconds=None)  # runs until the test releases it
AT_FAL = ("queued", "running")


@dataclass
class Pair:
    """The world, and which guild each shard (so each process) serves."""

    world: World
    guilds: tuple[FakeGuild, FakeGuild]  # on shard 0, on shard 1
    ports: tuple[int, int]

    def env(self, shard: int, extra_toml: str = "") -> dict[str, str]:
        return self.world.env(extra_toml) | {
            "TWEEN_SHARD_COUNT": "2",
            "TWEEN_SHARD_IDS": str(shard),
            "TWEEN_HTTP_PORT": str(self.ports[shard]),
        }

    def log(self, shard: int) -> Path:
        return self.world.tmp_path / f"shard{shard}.log"

    @contextlib.contextmanager
    def process(self, shard: int, extra_toml: str = "") -> Iterator[subprocess.Popen[bytes]]:
        with bot_process(self.env(shard, extra_toml), self.log(shard)) as process:
            yield process

    async def ready(self, shard: int, sessions: int = 1) -> None:
        line = f"shard {shard} of 2 ready with 1 guild(s)"
        await wait_until(lambda: self.log(shard).read_text().count(line) >= sessions, 30, what=f"shard {shard} ready")

    def job(self, guild: FakeGuild) -> tuple[int, str, str | None]:
        """The guild's one job: (id, state, fal's request id)."""
        rows = query(self.world.store, "SELECT id, state, request_id FROM jobs WHERE guild_id = ?", (guild.id,))
        assert len(rows) <= 1, rows
        return rows[0] if rows else (0, "", None)

    def videos(self, guild: FakeGuild) -> list:
        return [
            m
            for t in self.world.discord.threads(guild.channel.id)
            for m in self.world.discord.messages(t.id)
            if m.attachments
        ]


@pytest.fixture
async def pair(tween_postgres_url: str, tmp_path: Path) -> AsyncIterator[Pair]:
    """PostgreSQL only: SQLite is one process's store by design."""
    async with FakeDiscord() as discord_fake, FakeFal(key="e2e-fal-key") as fal:
        world = World(discord_fake, fal, tmp_path, tween_postgres_url)
        discord_fake.recommended_shards = 2
        first = discord_fake.guild
        second = discord_fake.add_guild("Second Guild", shard=(1 - shard_of(first.id, 2), 2))
        guilds = (first, second) if shard_of(first.id, 2) == 0 else (second, first)
        yield Pair(world, guilds, (free_port(), free_port()))
        await snapshot_postgres(tween_postgres_url, tmp_path / "postgresql.sqlite3")
        assert end_of_test_violations(fal, tmp_path) == []  # every video fal billed is charged once


async def tween_in(pair: Pair, guild: FakeGuild) -> None:
    interaction = await pair.world.discord.slash(
        "tween", user=guild.member, guild=guild, options={"prompt": PROMPT, "duration": 5}, attachments=frames()
    )
    assert (await interaction.wait_acked())["type"] == 5


def said_about(log: Path, job_id: int) -> list[str]:
    return [line for line in log.read_text().splitlines() if f"job {job_id}:" in line]


async def test_each_process_delivers_its_own_guild_once_and_one_shared_cap_holds_across_both(pair: Pair):
    fal = pair.world.fal
    fal.script_next(HELD, HELD)
    cap = "[concurrency]\ntotal = 1\n"
    with pair.process(0, cap) as first, pair.process(1, cap) as second:
        await pair.ready(0)
        await pair.ready(1)
        await tween_in(pair, pair.guilds[0])
        await wait_until(lambda: pair.job(pair.guilds[0])[1] in AT_FAL, 20, what="shard 0's job at fal")
        await tween_in(pair, pair.guilds[1])
        # fal's one slot is taken by the other process's job: this one waits in Tween's queue, unsubmitted.
        await wait_until(lambda: pair.job(pair.guilds[1])[1] == "waiting", 20, what="shard 1's job waiting")
        assert len(fal.submits) == 1

        fal.release(fal.submits[0].request_id)  # done: the slot frees in process 0, and process 1's job may start
        # Well inside the 30 s periodic re-check: only process 0's notice can explain this start.
        await wait_until(lambda: len(fal.submits) == 2, 15, what="the waiting job submitted by its own process")
        fal.release(fal.submits[1].request_id)
        await wait_until(lambda: pair.videos(pair.guilds[0]) and pair.videos(pair.guilds[1]), 30, what="both videos")
        await wait_until(lambda: pair.job(pair.guilds[1])[1] == "delivered", 20, what="delivered")
        assert first.poll() is None and second.poll() is None

    assert fal.max_at_fal() == 1
    assert [len(pair.videos(g)) for g in pair.guilds] == [1, 1]
    jobs = [pair.job(g)[0] for g in pair.guilds]
    for shard, mine in enumerate(jobs):
        other = jobs[1 - shard]
        assert any("delivered as message" in line for line in said_about(pair.log(shard), mine))
        assert said_about(pair.log(shard), other) == []  # never touched the other process's job
        assert "Traceback" not in pair.log(shard).read_text()


async def test_a_webhook_that_reaches_the_other_process_wakes_the_owner(pair: Pair):
    fal = pair.world.fal
    fal.script_next(JobScript(queue_seconds=0.0, run_seconds=0.3))
    # Behind one public address (a load balancer) fal's webhook may reach either process: here always process 1.
    hooks = (
        f'[webhooks]\npublic_url = "http://127.0.0.1:{pair.ports[1]}"\njwks_urls = ["{fal.jwks_url}"]\n'
        "fallback_interval = 60.0\n"  # a running job is polled once a minute: only the wake explains a quick delivery
    )
    pair.world.fal_toml = "status_stream = false\n"  # nor may a status stream see the finish first
    with pair.process(0, hooks), pair.process(1, hooks):
        await pair.ready(0)
        await pair.ready(1)
        await tween_in(pair, pair.guilds[0])
        await wait_until(lambda: pair.videos(pair.guilds[0]), 30, what="the video of process 0's guild")
        (submit,) = fal.submits
        assert [d.status for d in fal.webhook_deliveries] == [200]
        assert fal.count("status", submit.request_id) <= 3  # looked at when queued, and when woken: not polled
    job_id = pair.job(pair.guilds[0])[0]
    assert any("passed on to the process that serves it" in line for line in said_about(pair.log(1), job_id))
    assert any("fal reported it finished" in line for line in said_about(pair.log(0), job_id))
    assert any("delivered as message" in line for line in said_about(pair.log(0), job_id))


async def test_a_killed_process_is_restarted_and_delivers_its_job_once_and_the_other_never_touches_it(pair: Pair):
    fal = pair.world.fal
    fal.script_next(HELD)
    with pair.process(1) as survivor:
        with pair.process(0) as victim:
            await pair.ready(0)
            await pair.ready(1)
            await tween_in(pair, pair.guilds[0])
            await wait_until(
                lambda: fal.submits and fal.count("status") + fal.count("stream") >= 2,
                20,
                what="process 0 tracking its job at fal",
            )
            victim.kill()
            victim.wait(timeout=10)
        orphan = fal.submits[0].request_id
        fal.release(orphan)  # done at fal while its process is dead

        # The survivor works on (a whole job of its own) and leaves the orphan alone: shard 0 is not its to serve.
        await tween_in(pair, pair.guilds[1])
        await wait_until(lambda: pair.job(pair.guilds[1])[1] == "delivered", 30, what="the survivor's own job")
        assert pair.videos(pair.guilds[0]) == []
        assert pair.job(pair.guilds[0])[1] in AT_FAL

        with pair.process(0) as restarted:
            await pair.ready(0, sessions=2)
            await wait_until(lambda: pair.videos(pair.guilds[0]), 30, what="the orphan's video")
            await wait_until(lambda: pair.job(pair.guilds[0])[1] == "delivered", 20, what="delivered")
            assert restarted.poll() is None and survivor.poll() is None

    assert [len(pair.videos(g)) for g in pair.guilds] == [1, 1]
    assert len(fal.submits) == 2
    orphan_id = pair.job(pair.guilds[0])[0]
    assert said_about(pair.log(1), orphan_id) == []
    assert any("delivered as message" in line for line in said_about(pair.log(0), orphan_id))
