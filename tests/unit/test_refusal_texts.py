"""One text per refusal cause, each saying what would work, as a member reads it (#15 item 4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.errors import BudgetExhausted, Refused
from bot.models import JobState, PotScope, PotState
from cogs import render_answers
from cogs.errors import user_text
from tests.unit.test_render import JOB

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)
RESETS = f"<t:{int(T0.timestamp())}:R> (<t:{int(T0.timestamp())}:f>)"
PRICE = 0.112


def short(scope: str = "member", *, remaining: int = 3, needed: int = 10, **more: int) -> BudgetExhausted:
    details: dict[str, int] = {"fits": remaining, "min_duration": 3, "total": 30} | more
    return BudgetExhausted(needed, remaining, T0, scope, PRICE, **details)


def test_a_role_with_no_seconds_is_named_and_told_to_ask():
    text = user_text(short(remaining=0, total=0, role_id=42))
    assert text == "Your role <@&42> has no video time here; ask a moderator for an allowance. Nothing was charged."


def test_no_seconds_without_a_role_override_still_says_to_ask():
    text = user_text(short(remaining=0, total=0))
    assert text == "You have no video time here; ask a moderator for an allowance. Nothing was charged."


def test_an_allowance_with_some_left_advises_the_duration_that_fits():
    assert user_text(short()) == (
        "This video needs 10 s and your allowance has 3 s ($0.336) left. Run /tween with duration 3, wait until it "
        f"resets {RESETS}, or ask a moderator for a grant. Nothing was charged."
    )


def test_less_than_the_shortest_video_says_when_it_resets_instead():
    assert user_text(short(remaining=2)) == (
        "This video needs 10 s and your allowance has 2 s ($0.224) left. The shortest video is 3 s. It resets "
        f"{RESETS}; until then, ask a moderator for a grant. Nothing was charged."
    )


def test_an_empty_server_budget_says_when_it_resets_and_that_moderators_top_up():
    assert user_text(short("guild", remaining=0, total=60)) == (
        f"This video needs 10 s and the server's budget has 0 s ($0.00) left. It resets {RESETS}; until then, ask a "
        "moderator to top it up. Nothing was charged."
    )


def test_a_channel_pot_names_its_channel():
    text = user_text(short("channel", remaining=4, subject_id=77))
    assert text.startswith("This video needs 10 s and the budget of <#77> has 4 s ($0.448) left. Run /tween with")
    assert "ask a moderator to raise it" in text


@pytest.mark.parametrize(
    ("origin", "advice"),
    [
        ("remix", "This remix needs 10 s and your allowance has 3 s ($0.336) left. Remix with a duration of 3 s"),
        ("reroll", "A re-roll needs 10 s and your allowance has 3 s ($0.336) left. Remix it with a duration of 3 s"),
    ],
)
def test_each_origin_gets_advice_it_can_follow(origin, advice):
    text = user_text(short(), origin)
    assert text.startswith(advice) and "/tween" not in text


def test_a_swap_gets_no_duration_advice():
    text = user_text(short(), "swap")
    assert text == (
        f"A swap needs 10 s and your allowance has 3 s ($0.336) left. It resets {RESETS}; until then, ask a "
        "moderator for a grant. Nothing was charged."
    )


def test_a_reroll_that_no_shorter_remix_would_fit_is_only_told_when_it_resets():
    text = user_text(short(remaining=1), "reroll")
    assert "Remix" not in text and f"It resets {RESETS}" in text


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            Refused("paused"),
            "The moderators have paused video generation on this server for now. Ask a moderator when it comes "
            "back. Nothing was charged.",
        ),
        (
            Refused("blocked", why="spam."),
            "A moderator has blocked you from making videos here. Their reason: spam. Ask a moderator if you think "
            "this is a mistake. Nothing was charged.",
        ),
        (
            Refused("blocked", why=None),
            "A moderator has blocked you from making videos here. Ask a moderator if you think this is a mistake. "
            "Nothing was charged.",
        ),
        (
            Refused("channel", allowed=[5, 6]),
            "Tween makes videos only in <#5>, <#6> on this server; run /tween there. Nothing was charged.",
        ),
    ],
)
def test_guild_rules_say_what_to_do(error, expected):
    assert user_text(error) == expected


def pot(scope: PotScope, subject_id: int, limit: int, reserved: int) -> PotState:
    return PotState(1, 1, scope, subject_id, limit, 0, reserved, 0, T0, T0)


def test_the_submitted_text_says_who_pays_from_which_pots_once():
    job = replace(JOB, duration=10, price_micros=1_120_000, state=JobState.QUEUED, card_message_id=None)
    paid = [pot(PotScope.GUILD, 1, 42, 10), pot(PotScope.MEMBER, 7, 30, 10)]
    assert render_answers.submitted_text(job, paid) == (
        "Your tween is on its way. 10 s ($1.12) from your allowance (20 s left) and the server's budget (32 s left)."
    )
    channel = [*paid, pot(PotScope.CHANNEL, 77, 15, 10)]
    waiting = render_answers.submitted_text(replace(job, state=JobState.WAITING), channel)
    assert waiting.startswith("Your tween is reserved and waits for a free slot; it starts by itself. 10 s ($1.12)")
    assert "from your allowance (20 s left), the budget of <#77> (5 s left) and the server's budget (32 s left)." in (
        waiting
    )
    assert waiting.count("$") == 1
