"""/help's text, rendered from a member's standing: what they can spend, the rules of the server, whom to ask."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import Approval, GuildPolicy, PotScope, PotState
from bot.services import QuotaView, Standing
from cogs.help import allowance, frame_rules, help_embed, whom_to_ask
from tests.support.settings import make_settings

END = datetime(2026, 12, 4, tzinfo=UTC)


def pot(scope: PotScope, limit: int, spent: int = 0, reserved: int = 0) -> PotState:
    return PotState(1, 1, scope, 1, limit, 0, reserved, spent, datetime(2026, 12, 3, tzinfo=UTC), END)


def policy(**changes) -> GuildPolicy:
    base = GuildPolicy(
        guild_id=1,
        paused=False,
        guild_seconds=60,
        member_seconds=30,
        period="day",
        reset_hour=0,
        tier="pro",
        log_channel_id=None,
        approval=Approval.OFF,
        approval_seconds=None,
        approval_role_id=None,
        member_concurrency=2,
        guild_concurrency=4,
        role_allowances={},
        channel_budgets={},
        tween_channels=frozenset(),
        banned_words=(),
    )
    return GuildPolicy(**{**base.__dict__, **changes})


def standing(channel: PotState | None = None, **changes) -> Standing:
    settings = make_settings()
    view = QuotaView(pot(PotScope.GUILD, 60, spent=10), pot(PotScope.MEMBER, 30, reserved=5), channel, 1, 1, 0)
    return Standing(view, policy(**changes), settings.tier("pro"))


def test_the_allowance_is_the_tightest_pot():
    assert "up to **25 s**" in allowance(standing())
    tight = allowance(standing(pot(PotScope.CHANNEL, 20, spent=12)))
    assert "up to **8 s**" in tight and "this channel: 8 of 20 s" in tight
    assert "paused" in allowance(standing(paused=True))


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"approval": Approval.OVER, "approval_seconds": 6}, "videos longer than 6 s wait"),
        ({"approval": Approval.WITHOUT_ROLE, "approval_role_id": 77}, "videos by members without <@&77> wait"),
        ({"approval": Approval.ALWAYS}, "every video waits for a moderator's approval"),
    ],
)
def test_approvals_are_named_only_when_they_apply(changes, said):
    assert said in whom_to_ask(policy(**changes))
    assert "approval" not in whom_to_ask(policy())


def test_the_frame_rules_come_from_the_settings():
    settings = make_settings(limits={"max_image_bytes": 8_000_000, "min_image_side": 512})
    rules = frame_rules(settings)
    assert "8 MB" in rules and "at least 512 px a side" in rules and "4096×4096 px" in rules
    assert "0.40" in rules and "2.50" in rules


def test_the_embed_fits_discords_limits_and_lists_allowed_channels():
    embed = help_embed(standing(tween_channels=frozenset({5, 6})), make_settings()).to_dict()
    assert len(embed["fields"]) == 6
    assert all(len(f["value"]) <= 1024 and len(f["name"]) <= 256 for f in embed["fields"])
    assert "/tween works in <#5>, <#6>." in embed["fields"][0]["value"]
