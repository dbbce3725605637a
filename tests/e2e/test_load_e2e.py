"""A small version of the load run (the full one is `python -m benchmarks.load`): every job accounted for."""

from __future__ import annotations

import pytest

from benchmarks.load import run_load

pytestmark = pytest.mark.e2e


async def test_a_burst_of_tweens_is_answered_and_delivered_without_errors():
    result = await run_load(per_minute=900, minutes=0.05, members=15)
    assert result.asked == 45
    assert (result.answered, result.delivered) == (45, 45)
    assert result.errors == []
