"""What moderators read, in German and Brazilian Portuguese: every text renders (no missing placeholder), keeps
Discord's limits, and leaves no English sentence behind; English stays what it was."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import discord
import pytest

from bot.charts import usage_alt
from bot.models import Approval, FailureReason, GuildPolicy, JobState, LogEvent
from cogs.quota import usage_text
from cogs.render import state_line
from cogs.render_admin import approval_embed, approval_request_text, decision_text, log_text, period_change_text
from cogs.render_settings import policy_text
from tests.unit.test_log_text import CHANNEL, MOD, ROLE, SETTINGS
from tests.unit.test_money_texts import WAITING_FOR_APPROVAL
from tests.unit.test_render import JOB
from tests.unit.test_usage import MONDAY, NAMES, pot, weekly

LOCALES = ("de", "pt-BR")
# Words that only an English sentence of these texts has; a translation that left one in forgot a text.
ENGLISH_MARKERS = (" the ", "(was:", " by <@", " updated", " per ", "Approve", "Budget resets", " left ")

EVENTS: list[tuple[str, dict[str, object] | None, dict[str, object]]] = [
    *[(action, detail, {}) for action, detail, _ in SETTINGS],
    ("approve", None, {"job": replace(JOB, state=JobState.QUEUED, decided_by=MOD)}),
    ("deny", None, {"job": replace(JOB, state=JobState.FAILED)}),
    ("cancel", None, {"job": replace(JOB, state=JobState.CANCELLED)}),
    ("settle", {"billed": True}, {"job": JOB}),
    ("settle", {"billed": False}, {"job": JOB}),
    ("job", None, {"job": replace(JOB, state=JobState.DELIVERED, price_micros=560_000)}),
    ("job", None, {"job": replace(JOB, state=JobState.UNDELIVERABLE, price_micros=560_000)}),
    ("grant", {"subject": 3, "seconds": 30}, {}),
    ("topup", {"subject": 1, "seconds": 30}, {}),
    ("fal_account", {"status": 401, "detail": "bad key"}, {}),
    ("fal_account", {"status": 403, "detail": "locked"}, {}),
    ("budget_warning", None, {"pot": pot(MONDAY, 7, spent=500)}),
    ("block", {"member": 3}, {}),
    ("something_new", {"x": 1}, {}),
]


def translated(text: str, english: str) -> None:
    assert text != english
    for marker in ENGLISH_MARKERS:
        assert marker not in text, f"{marker!r} left in {text!r}"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("action", "detail", "extra"), EVENTS, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(EVENTS)])
def test_every_log_line_is_translated_and_fits(locale: str, action: str, detail: dict | None, extra: dict):
    event = LogEvent(1, action, MOD, detail=detail, **extra)  # type: ignore[arg-type]
    english = log_text(event, 0.112)
    text = log_text(event, 0.112, locale=locale)
    translated(text, english)
    assert len(text) <= 2000
    assert english[:2] == text[:2]  # the same emoji leads
    for mention in (f"<@{MOD}>", f"<@&{ROLE}>", f"<#{CHANNEL}>"):
        assert (mention in english) == (mention in text)


def test_german_and_portuguese_log_lines_read_naturally():
    detail = {"guild_seconds": 3600, "period": "week", "was": {"guild_seconds": 600, "period": "day"}}
    event = LogEvent(1, "budget", MOD, detail=detail)
    assert log_text(event, 0.1, locale="de") == (
        f"🛠️ <@{MOD}> hat das Serverbudget auf 3600 s pro Woche gesetzt (vorher: 600 s pro Tag)."
    )
    assert log_text(event, 0.1, locale="pt-BR") == (
        f"🛠️ <@{MOD}> definiu o orçamento do servidor como 3600 s por semana (antes: 600 s por dia)."
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_the_approval_request_is_translated_and_fits(locale: str):
    job = replace(WAITING_FOR_APPROVAL, card_message_id=99)
    line = approval_request_text(job, ROLE, locale=locale)
    translated(line, approval_request_text(job, ROLE))
    assert line.startswith(f"<@&{ROLE}> 🛂 ") and "Tween #7" in line and "5 s ($0.56)" in line
    for state, decided in ((JobState.AWAITING_APPROVAL, None), (JobState.WAITING, MOD), (JobState.CANCELLED, MOD)):
        shown = replace(job, state=state, decided_by=decided)
        embed = approval_embed(shown, locale=locale).to_dict()
        english = approval_embed(shown).to_dict()
        assert len(embed["title"]) <= 256 and len(embed["footer"]["text"]) <= 2048
        assert embed["title"] != english["title"] and embed["footer"]["text"] != english["footer"]["text"]
        for field, original in zip(embed["fields"], english["fields"], strict=True):
            assert field["name"] != original["name"] and len(field["value"]) <= 1024
        assert len(discord.Embed.from_dict(embed)) <= 6000


@pytest.mark.parametrize("locale", LOCALES)
def test_the_deciding_moderator_reads_their_own_language(locale: str):
    started = replace(WAITING_FOR_APPROVAL, state=JobState.SUBMITTING, decided_by=MOD)
    cases = [
        (started, True),
        (replace(started, state=JobState.WAITING), True),
        (replace(started, state=JobState.FAILED, failure=FailureReason.DENIED), False),
        (replace(started, state=JobState.DELIVERED), True),
        (replace(started, decided_by=1), True),
    ]
    for job, approve in cases:
        text = decision_text(job, MOD, approve=approve, locale=locale)
        # The job's state line comes from the card's renderer, which another part of the catalog translates.
        translated(text.replace(state_line(job), ""), decision_text(job, MOD, approve=approve))
        assert len(text) <= 2000


@pytest.mark.parametrize("locale", LOCALES)
def test_a_budget_change_is_explained_in_the_moderators_language(locale: str):
    day = pot(MONDAY + timedelta(days=2), 1, spent=13, extra_seconds=20)
    week = pot(MONDAY, 7, spent=26)
    for before, after, period in ((week, day, "day"), (day, week, "week"), (week, week, "month")):
        text = period_change_text(period, 6, before, after, 0.112, locale=locale)
        translated(text, period_change_text(period, 6, before, after, 0.112))
        assert f"<t:{int(after.period_end.timestamp())}:R>" in text
    german = period_change_text("week", 6, day, week, 0.112, locale="de")
    assert "Das Budget wird jeden Montag um 06:00 UTC zurückgesetzt." in german


def policy(**changes: object) -> GuildPolicy:
    full = GuildPolicy(
        guild_id=1, paused=True, guild_seconds=3600, member_seconds=60, period="week", reset_hour=6, tier="pro",
        log_channel_id=CHANNEL, approval=Approval.OVER, approval_seconds=5, approval_role_id=None,
        member_concurrency=2, guild_concurrency=5, role_allowances={ROLE + i: 300 for i in range(20)},
        channel_budgets={CHANNEL + i: 600 for i in range(20)}, tween_channels=frozenset(range(CHANNEL, CHANNEL + 20)),
        banned_words=tuple(f"word{i}" for i in range(30)), approver_role_id=ROLE, seconds_only=True,
    )  # fmt: skip
    return replace(full, **changes)


@pytest.mark.parametrize("locale", LOCALES)
def test_settings_show_is_translated_and_fits_in_one_message(locale: str):
    for shown in (policy(), policy(approval=Approval.WITHOUT_ROLE, approval_role_id=ROLE, paused=False)):
        text = policy_text(shown, 0.112, locale=locale)
        translated(text, policy_text(shown, 0.112))
        assert len(text) <= 1900  # room for the "✅ …" line above it
    empty = replace(policy(), role_allowances={}, channel_budgets={}, tween_channels=frozenset(), banned_words=())
    assert "jedem Kanal" in policy_text(empty, 0.112, locale="de")
    assert "qualquer canal" in policy_text(empty, 0.112, locale="pt-BR")


@pytest.mark.parametrize("locale", LOCALES)
def test_usage_text_and_alt_text_are_translated(locale: str):
    report = weekly()
    named = report.named(NAMES)
    text = usage_text(report, named, locale=locale)
    translated(text, usage_text(report, named))
    assert len(text) <= 2000
    assert ("/kontingent" if locale == "de" else "/cota") in text
    many = replace(named, members=named.members * 30, channels=named.channels * 30)
    assert len(usage_text(report, many, locale=locale)) <= 2000
    alt = usage_alt("Tween usage: 26 s", named.members * 30, named.slots, hourly=False, locale=locale)
    assert alt.startswith("Diagramm: " if locale == "de" else "Gráfico: ") and len(alt) <= 1024
