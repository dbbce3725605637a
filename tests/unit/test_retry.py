import random
from datetime import UTC, datetime

import pytest

from bot.fal.retry import RetryPolicy, parse_retry_after, should_retry_status

POLICY = RetryPolicy(max_attempts=5, base=0.5, cap=20.0)


RETRIED = [(408, True), (429, True), (500, True), (502, True), (503, True), (504, True)]
FINAL = [(400, False), (401, False), (404, False), (422, False)]


@pytest.mark.parametrize(("status", "retry"), RETRIED + FINAL)
def test_should_retry_status(status, retry):
    assert should_retry_status(status) is retry


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 0.25, 0.75), (2, 0.5, 1.5), (3, 1.0, 3.0), (10, 10.0, 30.0)])
def test_delay_grows_with_jitter_and_cap(attempt, low, high):
    rand = random.Random(1)
    for _ in range(50):
        assert low <= POLICY.delay(attempt, rand=rand) <= min(high, 30.0)


def test_delay_retry_after_wins_but_is_capped():
    assert POLICY.delay(1, 3.0) == 3.0
    assert POLICY.delay(1, 999.0) == 20.0
    assert POLICY.delay(4, 0.0) == 0.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("2", 2.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("soon", None),
        ("Tue, 24 Nov 2026 06:00:10 GMT", 10.0),
    ],
)
def test_parse_retry_after(header, seconds):
    now = datetime(2026, 11, 24, 6, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == seconds
