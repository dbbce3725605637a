"""When to retry a fal read, and how long to wait. Pure functions, tested by table."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base: float
    cap: float

    def delay(self, attempt: int, retry_after: float | None = None, *, rand: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based); the server's hint wins, capped."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        jitter = (rand or random).uniform(0.5, 1.5)
        return min(self.base * 2 ** (attempt - 1), self.cap) * jitter


def should_retry_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either a number or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
