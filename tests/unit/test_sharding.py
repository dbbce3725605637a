"""Shards without Discord: IDENTIFY pacing per bucket, the answers to 4010/4011, and shards in /health and /metrics."""

from __future__ import annotations

import asyncio
import math

from bot.identify import IDENTIFY_SPACING, IdentifyPacer, LocalIdentifyGate, bucket_of
from bot.ops.health import GatewayState, ShardState, _gateway
from bot.ops.metrics import Metrics
from bot.sharding import ShardPlan, gateway_refusal


class ManualClock:
    """Time that moves only when the gate sleeps: every wait is recorded, none is real."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def gate_with(clock: ManualClock) -> LocalIdentifyGate:
    return LocalIdentifyGate(clock=clock, sleep=clock.sleep)


def test_buckets_are_the_shard_id_modulo_max_concurrency():
    assert [bucket_of(shard, 1) for shard in range(4)] == [0, 0, 0, 0]
    assert [bucket_of(shard, 16) for shard in (0, 15, 16, 33)] == [0, 15, 0, 1]
    assert bucket_of(3, 0) == 0  # a nonsense limit is the strictest one


async def test_one_bucket_identifies_five_seconds_apart():
    clock = ManualClock()
    gate = gate_with(clock)
    times = []
    for _ in range(3):
        await gate.wait_turn(0)
        times.append(clock.now)
    assert times == [100.0, 100.0 + IDENTIFY_SPACING, 100.0 + 2 * IDENTIFY_SPACING]


async def test_different_buckets_do_not_wait_for_each_other():
    clock = ManualClock()
    gate = gate_with(clock)
    for bucket in range(4):
        await gate.wait_turn(bucket)
    assert clock.slept == []


async def test_a_bucket_idle_for_the_spacing_passes_at_once():
    clock = ManualClock()
    gate = gate_with(clock)
    await gate.wait_turn(0)
    clock.now += 7.0
    await gate.wait_turn(0)
    clock.now += 2.0
    await gate.wait_turn(0)
    assert clock.slept == [3.0]  # only the third waited, for the rest of its 5 s


async def test_concurrent_waiters_of_one_bucket_pass_one_by_one_in_order():
    clock = ManualClock()
    gate = gate_with(clock)
    passed: list[tuple[int, float]] = []

    async def shard(shard_id: int) -> None:
        await gate.wait_turn(0)
        passed.append((shard_id, clock.now))

    await asyncio.gather(*(shard(n) for n in range(3)))
    assert passed == [(0, 100.0), (1, 105.0), (2, 110.0)]


async def test_the_pacer_buckets_by_what_discord_said():
    clock = ManualClock()
    pacer = IdentifyPacer(gate_with(clock), sleep=clock.sleep, pause=lambda: 3.0)
    assert await pacer.wait(1) == 0  # until /gateway/bot answers, one bucket
    pacer.learn(2)
    assert [await pacer.wait(shard) for shard in (2, 3, None)] == [0, 1, 0]
    assert clock.slept == [IDENTIFY_SPACING, IDENTIFY_SPACING]  # shard 2 after shard 1, None (0) after shard 2


async def test_a_shard_identifying_again_pauses_first_then_takes_its_turn():
    clock = ManualClock()
    pacer = IdentifyPacer(gate_with(clock), sleep=clock.sleep, pause=lambda: 2.5)
    pacer.learn(2)
    await pacer.wait(0)
    await pacer.wait(1)
    assert clock.slept == []  # two buckets, first IDENTIFYs: no wait at all
    await pacer.wait(0)  # INVALID_SESSION: Discord's 1-5 s pause, then the rest of bucket 0's 5 s
    assert clock.slept == [2.5, IDENTIFY_SPACING - 2.5]


def test_4011_names_the_setting_and_discords_recommendation():
    text = gateway_refusal(4011, 0, 1, 3)
    assert text is not None
    assert "4011 Sharding required" in text and "TWEEN_SHARD_COUNT" in text
    assert "shard 0 of 1" in text and "recommends 3" in text


def test_4010_names_both_settings_and_other_closes_are_not_ours():
    text = gateway_refusal(4010, 9, 8, None)
    assert text is not None
    assert "TWEEN_SHARD_COUNT" in text and "TWEEN_SHARD_IDS" in text and "shard 9 of 8" in text
    assert gateway_refusal(4004, 0, 1, 1) is None
    assert gateway_refusal(4000, 0, 1, 1) is None


def test_the_plan_describes_what_the_process_runs():
    assert ShardPlan().describe() == "every shard Discord recommends"
    assert ShardPlan().resolved(2).describe() == "shards 0-1 of 2"
    assert ShardPlan.parse(4, "1,3").resolved(9).describe() == "shards 1,3 of 4"


def test_health_lists_each_shard_and_is_down_while_any_is():
    state = GatewayState(False, 0.02, (ShardState(0, True, 0.02), ShardState(1, False, None)))
    report = _gateway(lambda: state)
    assert report == {
        "ok": False,
        "latency_ms": 20.0,
        "shards": [{"id": 0, "ok": True, "latency_ms": 20.0}, {"id": 1, "ok": False, "latency_ms": None}],
    }
    assert "shards" not in _gateway(lambda: GatewayState(True, 0.01))


async def test_metrics_carry_one_series_per_shard():
    metrics = Metrics(process=False)
    shards = (ShardState(2, True, 0.05), ShardState(3, False, float("inf")))
    metrics._set_gateway(GatewayState(False, 0.05, shards))
    value = metrics.registry.get_sample_value
    assert value("tween_shard_up", {"shard": "2"}) == 1
    assert value("tween_shard_up", {"shard": "3"}) == 0
    assert value("tween_shard_latency_seconds", {"shard": "2"}) == 0.05
    assert math.isnan(value("tween_shard_latency_seconds", {"shard": "3"}) or 0.0)
    metrics._set_gateway(None)
    assert value("tween_shard_up", {"shard": "2"}) is None  # a failed probe reports no shard
