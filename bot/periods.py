"""Budget periods: day, week (from Monday) or month (from the 1st), each starting at a UTC hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def period_bounds(now: datetime, period: str, reset_hour: int) -> tuple[datetime, datetime]:
    """The period that contains `now`: its start (inclusive) and end (exclusive)."""
    shifted = now.astimezone(UTC) - timedelta(hours=reset_hour)
    day = shifted.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start, end = day, day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    offset = timedelta(hours=reset_hour)
    return start + offset, end + offset


def to_db(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)
