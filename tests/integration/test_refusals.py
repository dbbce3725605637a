"""Each refusal cause comes out of the real service path with the details its text needs, and reads as one text
that says what would work (#15 item 4)."""

from __future__ import annotations

import pytest

from bot.errors import BudgetExhausted, Refused
from bot.models import JobState
from cogs import render_answers
from cogs.errors import user_text
from tests.fakes.fal_server import FakeFal
from tests.integration.conftest import CHANNEL, MOD, USER, member, open_stack, settings_for, tween_request
from tests.support.waiting import read_until

LIMIT = 10 * 1024 * 1024
ROLE = 666


async def refusal(settings, *durations: int, **request) -> BudgetExhausted:  # type: ignore[no-untyped-def]
    """Submit `durations` in turn (all but the last must pass) and return the last one's refusal."""
    async with open_stack(settings) as stack:
        for duration in durations[:-1]:
            await stack.services.jobs.submit(tween_request(duration=duration, **request))
        with pytest.raises(BudgetExhausted) as caught:
            await stack.services.jobs.submit(tween_request(duration=durations[-1], **request))
    return caught.value


async def test_a_role_with_no_seconds_is_named(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 100, "member_seconds": 30})
    async with open_stack(settings) as stack:
        await stack.services.moderation.set_entry(MOD, "role_allowances", ROLE, 0)
        with pytest.raises(BudgetExhausted) as caught:
            await stack.services.jobs.submit(tween_request(who=member(roles=frozenset({ROLE}))))
    error = caught.value
    assert (error.scope, error.total, error.role_id) == ("member", 0, ROLE)
    assert user_text(error) == f"Your role <@&{ROLE}> has no video time here; ask a moderator for an allowance. " + (
        "Nothing was charged."
    )


async def test_an_allowance_with_3_s_left_advises_duration_3(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 100, "member_seconds": 8})
    error = await refusal(settings, 5, 5)
    assert (error.scope, error.remaining, error.fits, error.min_duration) == ("member", 3, 3, 3)
    text = user_text(error)
    assert text.startswith("This video needs 5 s and your allowance has 3 s ($0.336) left. Run /tween with duration 3")
    assert "ask a moderator for a grant" in text


async def test_fewer_seconds_than_the_shortest_video_say_when_they_reset(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 100, "member_seconds": 7})
    error = await refusal(settings, 5, 5)
    text = user_text(error)
    assert error.fits == 2 and "duration" not in text
    assert "The shortest video is 3 s. It resets <t:" in text and "ask a moderator for a grant" in text


async def test_an_empty_server_budget_says_when_it_resets_and_that_moderators_top_up(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 5, "member_seconds": 30})
    error = await refusal(settings, 5, 5)
    assert (error.scope, error.remaining, error.fits) == ("guild", 0, 0)
    text = user_text(error)
    assert text.startswith("This video needs 5 s and the server's budget has 0 s ($0.00) left. It resets <t:")
    assert "ask a moderator to top it up" in text and "duration" not in text


async def test_a_channel_pot_is_named_by_its_channel(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 100, "member_seconds": 100})
    async with open_stack(settings) as stack:
        await stack.services.moderation.set_entry(MOD, "channel_budgets", CHANNEL, 4)
        with pytest.raises(BudgetExhausted) as caught:
            await stack.services.jobs.submit(tween_request(duration=5))
    error = caught.value
    assert (error.scope, error.subject_id, error.fits) == ("channel", CHANNEL, 4)
    text = user_text(error)
    assert f"the budget of <#{CHANNEL}> has 4 s" in text and "Run /tween with duration 4" in text


async def test_a_reroll_refused_gets_no_duration_advice_of_its_own(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 100, "member_seconds": 8})
    async with open_stack(settings) as stack:
        sessions = stack.services.sessions
        first = await sessions.tween(
            member(), prompt="p", duration=5, start=tween_request().start, end=tween_request().end, upload_limit=LIMIT
        )
        await read_until(lambda: stack.services.jobs.get(first.id), lambda j: j.state is JobState.DELIVERED)
        with pytest.raises(BudgetExhausted) as caught:
            await sessions.follow_up(member(), first.id, "reroll", upload_limit=LIMIT)
        with pytest.raises(BudgetExhausted) as swapped:
            await sessions.follow_up(member(), first.id, "swap", upload_limit=LIMIT)
    reroll = user_text(caught.value, "reroll")
    assert reroll.startswith("A re-roll needs 5 s and your allowance has 3 s")
    assert "/tween" not in reroll and "Remix it with a duration of 3 s instead" in reroll
    swap = user_text(swapped.value, "swap")
    assert swap.startswith("A swap needs 5 s") and "duration" not in swap and "It resets <t:" in swap


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("paused", "paused video generation on this server for now. Ask a moderator when it comes back."),
        ("blocked", "blocked you from making videos here. Their reason: spam. Ask a moderator"),
        ("channel", "Tween makes videos only in <#777> on this server; run /tween there."),
    ],
)
async def test_guild_rules_say_what_to_do(fake_fal: FakeFal, tmp_path, rule, expected):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 100, "member_seconds": 100})
    async with open_stack(settings) as stack:
        moderation = stack.services.moderation
        if rule == "paused":
            await moderation.configure(MOD, "pause", paused=1)
        elif rule == "blocked":
            await moderation.block(MOD, USER, "spam")
        else:
            await moderation.set_entry(MOD, "tween_channels", 777)
        with pytest.raises(Refused) as caught:
            await stack.services.jobs.submit(tween_request())
    text = user_text(caught.value)
    assert expected in text and text.endswith("Nothing was charged.")


async def test_a_submit_is_answered_with_who_pays_from_which_pots(fake_fal: FakeFal, tmp_path):
    settings = settings_for(fake_fal, tmp_path, budget={"default_seconds": 42, "member_seconds": 30})
    async with open_stack(settings) as stack:
        job = await stack.services.jobs.submit(tween_request(duration=10))
        paid = await stack.services.budget.paid_from(job.id)
    text = render_answers.submitted_text(job, paid)
    assert "10 s ($1.12) from your allowance (20 s left) and the server's budget (32 s left)." in text
