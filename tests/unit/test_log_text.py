"""Every log channel line reads as a sentence: mentions for people, roles and channels, the old value of a setting."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.models import JobState, LogEvent
from cogs.render_admin import log_text
from tests.unit.test_render import JOB

MOD = 900
ROLE = 55
CHANNEL = 77


def line(action: str, detail: dict[str, object] | None = None, **extra: object) -> str:
    return log_text(LogEvent(1, action, MOD, detail=detail, **extra), 0.112)  # type: ignore[arg-type]


SETTINGS: list[tuple[str, dict[str, object], str]] = [
    ("pause", {"paused": 1, "was": {"paused": 0}, "period": "day"}, f"<@{MOD}> paused video generation."),
    ("resume", {"paused": 0, "was": {"paused": 1}, "period": "day"}, f"<@{MOD}> resumed video generation."),
    (
        "budget",
        {"guild_seconds": 3600, "period": "week", "was": {"guild_seconds": 600, "period": "day"}},
        "set the server budget to 3600 s a week (was: 600 s a day)",
    ),
    (
        "budget",
        {"guild_seconds": 900, "reset_hour": 6, "was": {"guild_seconds": 600}, "period": "month"},
        "set the server budget to 900 s a month, resetting at 6:00 UTC (was: 600 s a month)",
    ),
    (
        "member_allowance",
        {"member_seconds": 120, "was": {"member_seconds": 60}, "period": "week"},
        "set each member's allowance to 120 s a week (was: 60 s a week)",
    ),
    ("tier", {"tier": "pro", "was": {"tier": "standard"}}, "switched the model tier to pro (was: standard)"),
    (
        "log_channel",
        {"log_channel_id": CHANNEL, "was": {"log_channel_id": None}},
        f"moved the moderator log to <#{CHANNEL}> (was: none)",
    ),
    (
        "log_channel",
        {"log_channel_id": None, "was": {"log_channel_id": CHANNEL}},
        f"turned off the moderator log (was: <#{CHANNEL}>)",
    ),
    (
        "approval",
        {"approval": "without_role", "approval_seconds": None, "approval_role_id": ROLE, "was": {"approval": "off"}},
        f"changed approvals: members without <@&{ROLE}> need a moderator's approval (was: no job needs approval)",
    ),
    (
        "approval",
        {"approval": "over", "approval_seconds": 5, "approval_role_id": None, "was": {"approval": "always"}},
        "jobs over 5 s need a moderator's approval (was: every job needs a moderator's approval)",
    ),
    (
        "caps",
        {"member_concurrency": 2, "guild_concurrency": 5, "was": {"member_concurrency": 1, "guild_concurrency": 3}},
        "set the concurrency caps to 2 per member and 5 for the server (was: 1 and 3)",
    ),
    ("block", {"member": 3, "reason": "spamming"}, "blocked <@3> from Tween (reason: spamming)"),
    ("unblock", {"member": 3}, "unblocked <@3>; they can use Tween again"),
    (
        "role_allowances.set",
        {"list": "role_allowances", "key": ROLE, "value": 300, "was": None, "period": "week"},
        f"<@{MOD}> gave <@&{ROLE}> 300 s a week (was: none)",
    ),
    (
        "role_allowances.remove",
        {"list": "role_allowances", "key": ROLE, "was": 300, "period": "week"},
        f"removed <@&{ROLE}>'s own allowance; it gets the default share (was: 300 s a week)",
    ),
    (
        "channel_budgets.set",
        {"list": "channel_budgets", "key": CHANNEL, "value": 600, "was": 200, "period": "day"},
        f"gave <#{CHANNEL}> its own pot of 600 s a day (was: 200 s a day)",
    ),
    (
        "channel_budgets.remove",
        {"list": "channel_budgets", "key": CHANNEL, "was": 600, "period": "day"},
        f"removed <#{CHANNEL}>'s own pot; it uses the server budget (was: 600 s a day)",
    ),
    ("tween_channels.set", {"list": "tween_channels", "key": CHANNEL}, f"allowed /tween in <#{CHANNEL}>"),
    ("tween_channels.remove", {"list": "tween_channels", "key": CHANNEL}, f"stopped allowing /tween in <#{CHANNEL}>"),
    ("banned_words.set", {"list": "banned_words", "key": "gore"}, "banned the word “gore” in prompts"),
    ("banned_words.remove", {"list": "banned_words", "key": "gore"}, "unbanned the word “gore” in prompts"),
    (
        "approver",
        {"approver_role_id": ROLE, "was": {"approver_role_id": None}},
        f"changed who is pinged: Tween now pings <@&{ROLE}> with each approval request (was: nobody)",
    ),
    (
        "approver",
        {"approver_role_id": None, "was": {"approver_role_id": ROLE}},
        f"Tween now pings nobody with approval requests (was: <@&{ROLE}>)",
    ),
    (
        "prices",
        {"seconds_only": 1, "was": {"seconds_only": 0}},
        "made Tween show members seconds only, no dollars (was: seconds and dollars)",
    ),
]


@pytest.mark.parametrize(
    ("action", "detail", "words"), SETTINGS, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(SETTINGS)]
)
def test_settings_changes_read_as_sentences(action: str, detail: dict[str, object], words: str):
    text = line(action, detail)
    assert words in text
    assert text.startswith(f"🛠️ <@{MOD}> ")
    assert "=" not in text and "`" not in text


def test_job_decisions_say_who_what_and_the_money():
    approved = line("approve", job=replace(JOB, state=JobState.QUEUED, decided_by=MOD))
    assert approved == f"✅ <@{MOD}> approved job #7 by <@3> (5 s · $0.56)."
    denied = line("deny", job=replace(JOB, state=JobState.FAILED))
    assert "denied job #7 by <@3>" in denied and "5 s were refunded" in denied
    cancelled = line("cancel", job=replace(JOB, state=JobState.CANCELLED))
    assert "cancelled job #7" in cancelled and "refunded" in cancelled
    assert "stays charged" in line("settle", {"billed": True}, job=JOB)
    assert "refunded" in line("settle", {"billed": False}, job=JOB)


def test_grants_topups_and_unknown_actions_have_words_not_keys():
    assert line("grant", {"subject": 3, "seconds": 30}) == f"➕ <@{MOD}> gave <@3> 30 extra seconds for this period."
    assert "gave the server 30 extra seconds" in line("topup", {"subject": 1, "seconds": 30})
    unknown = line("something_new", {"x": 1})
    assert "changed a Tween setting" in unknown and "x=1" not in unknown


def test_no_setting_line_leaks_a_raw_key():
    for action, detail, _ in SETTINGS:
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", line(action, detail).replace("/tween", "")), action
