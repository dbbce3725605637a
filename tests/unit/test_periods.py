from datetime import UTC, datetime

import pytest

from bot.periods import period_bounds


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "period", "hour", "start", "end"),
    [
        (at(2026, 11, 24, 6), "day", 0, at(2026, 11, 24), at(2026, 11, 25)),
        (at(2026, 11, 24, 6), "day", 8, at(2026, 11, 23, 8), at(2026, 11, 24, 8)),
        (at(2026, 11, 24, 6), "week", 0, at(2026, 11, 23), at(2026, 11, 30)),
        (at(2026, 11, 24, 6), "month", 0, at(2026, 11, 1), at(2026, 12, 1)),
        (at(2026, 12, 31, 23), "month", 0, at(2026, 12, 1), at(2027, 1, 1)),
        (at(2026, 12, 1, 3), "month", 6, at(2026, 11, 1, 6), at(2026, 12, 1, 6)),
    ],
)
def test_period_bounds(now, period, hour, start, end):
    assert period_bounds(now, period, hour) == (start, end)
