"""What a member reads privately, in German and Brazilian Portuguese: /help, /quota, /history, /queue show and
Details say every sentence in the member's language, name the commands as their client shows them, and keep within
Discord's limits in all three languages."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import discord
import pytest

from bot.models import Approval, JobState, PotScope, Session
from bot.services import QuotaView
from bot.services.sessions import Lineage
from cogs import render, render_answers
from cogs.help import help_embed
from cogs.render_admin import queue_embed, quota_embed
from cogs.sessions import history_embed
from tests.support.settings import make_settings
from tests.unit.test_help import pot, standing
from tests.unit.test_money_texts import PRO
from tests.unit.test_render import JOB, T0, within_discord_limits

LOCALES = ["de", "pt-BR"]
# Texts that carry no words of their own (mentions, prices, versions) or a word German and English share.
SAME_IN = {"de": {"Video", "@Image1 und @Image2"}, "pt-BR": set()}


# Names, mentions, links, versions and units read the same in every language.
NOT_WORDS = re.compile(r"[Tt]ween|fal\.ai|<[^>]*>|https?://[^)\s]*|`[^`]*`|\bv\d+|\b(s|px|MB)\b")
WORD = re.compile(r"[^\W\d_]{2,}")


def texts(embed: discord.Embed) -> list[str]:
    data = embed.to_dict()
    fields = [part for f in data.get("fields", []) for part in (f["name"], f["value"])]
    return [data.get("title", ""), data.get("description", ""), data.get("footer", {}).get("text", ""), *fields]


def assert_translated(english: discord.Embed, translated: discord.Embed, locale: str, *, skip: set[str] = frozenset()):
    """Every text with English words in it reads differently in the member's language, and it all fits Discord."""
    assert within_discord_limits(english) and within_discord_limits(translated)
    en, other = texts(english), texts(translated)
    assert len(en) == len(other)
    for said, read in zip(en, other, strict=True):
        if said in skip or not WORD.search(NOT_WORDS.sub("", said)):
            continue
        assert read != said or read in SAME_IN[locale], f"{locale} left English: {said!r}"


def fields(embed: discord.Embed) -> dict[str, str]:
    return {f.name or "": f.value or "" for f in embed.fields}


EVERYTHING = {
    "tween_channels": frozenset(range(10**17, 10**17 + 60)),  # more channels than a field can name
    "approval": Approval.WITHOUT_ROLE,
    "approval_role_id": 10**18,
    "log_channel_id": 10**18 + 1,
    "paused": True,
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "changes",
    [
        {},
        EVERYTHING,
        {"approval": Approval.OVER, "approval_seconds": 8},
        {"approval": Approval.ALWAYS, "tween_channels": frozenset({5})},
    ],
)
def test_help_reads_in_the_members_language(locale, changes):
    settings = make_settings()
    channel = pot(PotScope.CHANNEL, 20, spent=12)
    english = help_embed(standing(channel, **changes), settings)
    translated = help_embed(standing(channel, **changes), settings, locale=locale)
    assert_translated(english, translated, locale)


def test_help_names_commands_as_the_member_sees_them_and_writes_their_decimals():
    settings = make_settings()
    shown = {locale: str(help_embed(standing(), settings, locale=locale).to_dict()) for locale in [None, *LOCALES]}
    assert "`/tween-again`" in shown[None] and "`/quota`" in shown[None] and "`/queue show`" in shown[None]
    assert "`/tween-nochmal`" in shown["de"] and "`/kontingent`" in shown["de"]
    assert "`/warteschlange anzeigen`" in shown["de"] and "Server verwalten" in shown["de"]
    assert "`/tween-de-novo`" in shown["pt-BR"] and "`/cota`" in shown["pt-BR"] and "`/fila ver`" in shown["pt-BR"]
    assert "from 0.40 (tall) to 2.50 (wide)" in shown[None]
    assert (
        "von 0,40 (Hochformat) bis 2,50 (Querformat)" in shown["de"] and "de 0,40 (vertical) a 2,50" in shown["pt-BR"]
    )
    assert "Du kannst gerade bis zu **25 s** Video machen." in shown["de"]
    assert "Você pode fazer até **25 s** de vídeo agora." in shown["pt-BR"]


def test_many_allowed_channels_are_cut_to_fit_in_every_language():
    crowded = standing(tween_channels=EVERYTHING["tween_channels"])
    for locale in [None, *LOCALES]:
        how = help_embed(crowded, make_settings(), locale=locale).fields[0].value or ""
        assert len(how) <= 1024 and how.endswith("…."), locale


def quota_view(extra: int = 0) -> QuotaView:
    guild = replace(pot(PotScope.GUILD, 60, spent=10), extra_seconds=extra)
    return QuotaView(guild, pot(PotScope.MEMBER, 30, reserved=5), pot(PotScope.CHANNEL, 20, spent=12), 1, 2, 3)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("dollars", [True, False])
def test_quota_reads_in_the_members_language(locale, dollars):
    english = quota_embed(quota_view(extra=15), PRO, paused=True, dollars=dollars)
    translated = quota_embed(quota_view(extra=15), PRO, paused=True, dollars=dollars, locale=locale)
    # The tier's name alone (seconds-only footer) is the same in every language.
    assert_translated(english, translated, locale, skip={"pro"})
    shown = fields(translated)
    assert ("$" in str(translated.to_dict())) is dollars
    if locale == "de":
        assert "Dein Kontingent" in shown and "Budget dieses Kanals" in shown
        assert shown["Serverbudget"].startswith("**65 s") and "% übrig)" in shown["Serverbudget"]
        assert "`█████████████████░░░`" in shown["Serverbudget"]  # the bar is the same picture everywhere
    else:
        assert shown["Em andamento"] == "2 na fal.ai (seus: 1)" and "Sua cota" in shown


def test_queue_reads_in_the_members_language():
    jobs = [replace(JOB, id=i, state=JobState.WAITING, queue_position=i) for i in range(1, 31)]
    for locale in LOCALES:
        assert_translated(queue_embed([]), queue_embed([], locale=locale), locale)
        english, translated = queue_embed(jobs), queue_embed(jobs, locale=locale)
        assert within_discord_limits(translated)
        assert translated.title != english.title and translated.footer.text != english.footer.text
    german = queue_embed(jobs, locale="de")
    assert german.description and german.description.endswith("…und 5 weitere")
    assert (
        german.footer.text
        == "Abbrechen mit /warteschlange abbrechen auftrag:<Nummer> (deine eigenen; Moderatoren: alle)"
    )
    assert "/fila cancelar pedido:<número>" in (queue_embed(jobs, locale="pt-BR").footer.text or "")
    assert queue_embed(jobs).footer.text == "Cancel with /queue cancel job:<number> (your own; moderators: any)"


def lineage() -> Lineage:
    first = replace(JOB, state=JobState.DELIVERED, version=1, origin="tween", result_message_id=11, thread_id=9)
    second = replace(
        first, id=8, version=2, parent_job_id=7, origin="reroll", duration=10, result_message_id=12, prompt="other"
    )
    third = replace(second, id=9, version=3, parent_job_id=8, origin="swap", state=JobState.FAILED)
    session = Session(1, 1, 9, 2, 3, "https://fal/start.png", None, JOB.prompt, 5, 9)
    return Lineage(session, [first, second, third], {8: 2})


@pytest.mark.parametrize("locale", LOCALES)
def test_history_reads_in_the_members_language(locale):
    english, translated = history_embed(lineage()), history_embed(lineage(), locale=locale)
    # The tree's lines hold the members' own prompt changes: they differ in their words, not all of them.
    assert_translated(english, translated, locale, skip={english.description or ""})
    assert translated.description != english.description
    words = {"de": ("neu gewürfelt", "Bilder getauscht", "[hinspringen]("), "pt-BR": ("rolada de novo", "[ir até lá](")}
    assert all(word in (translated.description or "") for word in words[locale])


@pytest.mark.parametrize("locale", LOCALES)
def test_details_read_in_the_members_language(locale):
    done = replace(
        JOB, state=JobState.DELIVERED, origin="swap", request_id="req-1", submitted_at=T0 + timedelta(seconds=2)
    )
    for job in (done, replace(JOB, request_id=None, video_url=None, finished_at=None, prompt="x" * 2500)):
        english, translated = render_answers.details_embed(job), render_answers.details_embed(job, locale=locale)
        # The state and attachment lines are the card's and the result's, translated with them: here they may still be
        # English. The prompt is the member's own.
        assert_translated(
            english,
            translated,
            locale,
            skip={render.state_line(job), render.attachment_line(job) or "", english.description or ""},
        )
    timings = fields(render_answers.details_embed(done, locale="de"))["Zeiten"]
    assert timings.startswith("angefragt um <t:") and "dauerte 1 Min. 35 s" in timings  # the duration in German too
