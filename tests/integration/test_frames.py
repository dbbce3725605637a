"""Frames cost memory only when they may be used: cheap refusals come before a frame is read."""

from __future__ import annotations

import pytest

from bot.errors import BudgetExhausted
from tests.fakes.fal_server import FakeFal
from tests.integration.conftest import open_stack, settings_for, tween_request


async def test_a_member_out_of_seconds_is_refused_before_the_frames_are_checked(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"member_seconds": 4})
    async with open_stack(settings) as stack:
        with pytest.raises(BudgetExhausted) as caught:
            await stack.services.jobs.submit(tween_request(duration=5, start_data=b"\x89PNG\r\n\x1a\n damaged"))
        assert (caught.value.scope, caught.value.needed, caught.value.remaining) == ("member", 5, 4)
        assert await stack.db.fetch_all("SELECT * FROM jobs") == []
    assert fake_fal.requests == []
