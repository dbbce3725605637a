"""The pacer: few looks while nothing can change, a look every running_interval once a finish may come."""

from __future__ import annotations

import pytest

from bot.services.pacing import Pacer, RunSample, RunTimes
from tests.support.settings import make_settings

MODEL = "fal-ai/kling-video/o1/image-to-video"


def pacer(*, fallback: float | None = None, samples: list[float] = ()) -> Pacer:
    settings = make_settings(
        tracker={
            "queued_interval": 5.0,
            "queued_interval_cap": 30.0,
            "running_interval": 2.5,
            "running_sparse_interval": 20.0,
            "min_run_samples": 8,
            "early_quantile": 0.05,
            "early_margin": 0.8,
        }
    ).tracker
    runs = RunTimes(settings)
    runs.extend(RunSample(MODEL, 5, s) for s in samples)
    return Pacer(settings, runs, fallback=fallback)


@pytest.mark.parametrize(("position", "interval"), [(None, 5.0), (0, 5.0), (1, 10.0), (4, 25.0), (50, 30.0)])
def test_queued_interval_grows_with_the_position_up_to_the_cap(position: int | None, interval: float):
    assert pacer().queued(position) == interval


def test_without_history_a_running_job_is_looked_at_every_running_interval():
    assert pacer(samples=[100.0] * 7).running(MODEL, 5, elapsed=0.0) == 2.5


def test_with_history_looks_are_sparse_until_the_earliest_likely_finish():
    p = pacer(samples=[200.0, *[105.0] * 99])  # 5th percentile 105 s, earliest 84 s
    assert p.runs.earliest(MODEL, 5) == pytest.approx(84.0)
    assert p.running(MODEL, 5, elapsed=0.0) == 20.0
    assert p.running(MODEL, 5, elapsed=70.0) == pytest.approx(14.0)
    assert p.running(MODEL, 5, elapsed=82.0) == 2.5
    assert p.running(MODEL, 5, elapsed=500.0) == 2.5


def test_history_is_per_model_and_duration():
    p = pacer(samples=[100.0] * 20)
    assert p.running(MODEL, 10, elapsed=0.0) == 2.5
    assert p.running("another/model", 5, elapsed=0.0) == 2.5


def test_history_keeps_only_recent_runs():
    p = pacer(samples=[10.0] * 300 + [100.0] * 200)
    assert p.runs.earliest(MODEL, 5) == pytest.approx(80.0)


def test_with_webhooks_running_jobs_are_only_a_fallback():
    assert pacer(fallback=30.0).running(MODEL, 5, elapsed=0.0) == 30.0


def test_nonsense_samples_are_ignored():
    p = pacer(samples=[0.0, -3.0] * 10)
    assert p.runs.earliest(MODEL, 5) is None


def test_a_new_run_moves_the_earliest_finish():
    p = pacer(samples=[100.0] * 8)
    assert p.runs.earliest(MODEL, 5) == pytest.approx(80.0)
    p.runs.extend(RunSample(MODEL, 5, 50.0) for _ in range(8))
    assert p.runs.earliest(MODEL, 5) == pytest.approx(40.0)


def test_the_usual_run_starts_from_the_prior_and_moves_to_the_median_of_real_runs():
    runs = pacer().runs
    assert runs.usual(MODEL, 5) == 60 + 12 * 5  # the defaults: 2 min for 5 s before any run was seen
    assert runs.usual(MODEL, 10) == 60 + 12 * 10
    runs.add(RunSample(MODEL, 5, 300.0))
    assert runs.usual(MODEL, 5) == (3 * 120 + 300) / 4  # one odd run moves the guess, it does not make it
    runs.extend(RunSample(MODEL, 5, 90.0) for _ in range(40))
    assert 90 < runs.usual(MODEL, 5) < 95
    assert runs.usual(MODEL, 10) == 180  # other durations learn on their own


def test_recent_runs_weigh_more_so_a_slower_day_moves_the_earliest_finish_soon():
    # The 200 runs kept: 100 older ones of 100 s, then 100 of 200 s. Counted alike, the old runs would hold the
    # 5th percentile at 100 s (earliest 80 s) until almost all of them were gone.
    p = pacer(samples=[100.0] * 200 + [200.0] * 100)
    assert p.runs.earliest(MODEL, 5) == pytest.approx(160.0)
    assert p.runs.usual(MODEL, 5) > 190.0


def test_a_run_that_ends_before_the_earliest_finish_brings_the_others_of_its_kind_forward():
    p = pacer(samples=[100.0] * 20)  # earliest 80 s
    assert p.running(MODEL, 5, elapsed=10.0, job_id=1) == 20.0
    assert p.running(MODEL, 5, elapsed=10.0, job_id=2) == 20.0
    assert p.running(MODEL, 10, elapsed=10.0, job_id=3) == 2.5  # another duration: no history yet
    assert p.learn(2, RunSample(MODEL, 5, 50.0)) == [1]  # job 1 may be about to finish too: look soon
    assert p.learn(1, RunSample(MODEL, 5, 95.0)) == []  # as expected: nothing to bring forward
    p.left(3)
    assert p.learn(4, RunSample(MODEL, 10, 1.0)) == []


def test_with_webhooks_an_early_finish_brings_nothing_forward():
    p = pacer(fallback=30.0, samples=[100.0] * 20)
    p.running(MODEL, 5, elapsed=10.0, job_id=1)
    assert p.learn(2, RunSample(MODEL, 5, 10.0)) == []
