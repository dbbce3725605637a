"""IDENTIFY turns shared through PostgreSQL: two processes' gates keep a bucket's IDENTIFYs a spacing apart, other
buckets do not wait, and an unreachable store falls back to pacing locally instead of failing the shard."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.db.pg_identify import PostgresIdentifyGate

SPACING = 0.4


async def turn_times(gate: PostgresIdentifyGate, bucket: int, into: list[tuple[int, float]]) -> None:
    await gate.wait_turn(bucket)
    into.append((bucket, time.monotonic()))


async def test_two_processes_take_turns_per_bucket(postgres_url: str):
    first, second = PostgresIdentifyGate(postgres_url, SPACING), PostgresIdentifyGate(postgres_url, SPACING)
    seen: list[tuple[int, float]] = []
    try:
        await asyncio.gather(*(turn_times(gate, 0, seen) for gate in (first, second, first)))
        times = sorted(t for _, t in seen)
        assert all(later - earlier >= SPACING * 0.95 for earlier, later in itertools.pairwise(times))
    finally:
        await first.close()
        await second.close()


async def test_other_buckets_do_not_wait(postgres_url: str):
    first, second = PostgresIdentifyGate(postgres_url, 30.0), PostgresIdentifyGate(postgres_url, 30.0)
    try:
        await first.wait_turn(0)
        # Bucket 0 is held for 30 s; bucket 1 passes at once (the test's own timeout would catch a wait).
        await asyncio.wait_for(second.wait_turn(1), timeout=10)
    finally:
        await first.close()
        await second.close()


async def test_a_gate_whose_store_is_gone_paces_locally():
    gate = PostgresIdentifyGate("postgresql://nobody@127.0.0.1:1/none", SPACING)
    await asyncio.wait_for(gate.wait_turn(0), timeout=10)
    await gate.close()
