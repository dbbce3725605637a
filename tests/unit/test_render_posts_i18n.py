"""The public posts about a job (card, result, one-line ends, thread notices, buttons) in German and Brazilian
Portuguese: every variant renders, stays within Discord's limits, and reads in the server's language."""

from __future__ import annotations

import itertools
from dataclasses import replace
from types import SimpleNamespace

import discord
import pytest

from bot import i18n
from bot.models import FailureReason, JobState
from cogs import render
from cogs.buttons import job_view, link_button_url, result_view, seconds_on_buttons
from tests.unit.test_i18n_messages import ENGLISH
from tests.unit.test_render import JOB, within_discord_limits

LOCALES = ("de", "pt-BR")
LONGEST = "\n".join(["Ein sehr langer Prompt, der die Karte füllt " * 8] * 40)[:2500]
# Texts that are the same words in a language: units, and "Details" in German.
SAME = {"message.posts.elapsed.seconds", "message.posts.elapsed.minutes", "message.posts.button.details"}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_post_text_is_in_the_language_not_english(locale: str):
    posts = {key: english for key, (_, english) in ENGLISH.items() if key.startswith("message.posts.")}
    assert len(posts) > 80
    for key, english in posts.items():
        if key not in SAME:
            assert i18n.catalog(locale)[key] != english, f"{locale} {key} is still English"


VARIANTS = [
    {"decided_by": None, "queue_position": None, "cancel_requested_by": None, "started_at": None},
    {"decided_by": 9, "queue_position": 0, "cancel_requested_by": 3},
    {"decided_by": 9, "queue_position": 4},
]


@pytest.mark.parametrize(("locale", "state"), itertools.product(LOCALES, list(JobState)))
def test_every_state_line_and_card_renders_within_limits(locale: str, state: JobState):
    for changes, usual, failure in itertools.product(VARIANTS, (None, 30, 125), (*FailureReason, None)):
        job = replace(JOB, state=state, prompt=LONGEST, failure=failure, version=3, **changes)
        english, line = render.state_line(job, usual), render.state_line(job, usual, locale=locale)
        assert line != english or state not in (JobState.DELIVERED,)
        embed = render.card_embed(job, usual, locale=locale)
        assert within_discord_limits(embed) and embed.fields[0].value == line
        assert embed.footer.text and embed.footer.text.startswith(render.MARKER.format(id=JOB.id) + " · ")
        assert render.MARKER_RE.search(embed.footer.text)[1] == str(JOB.id)  # type: ignore[index]
    assert render.card_embed(JOB, locale=locale).fields[0].name != "State"


def test_the_german_card_reads_german():
    queued = replace(JOB, decided_by=9)
    assert render.state_line(queued, 125, locale="de") == (
        "✅ Freigegeben · ⏳ In der Warteschlange von fal.ai – 2 davor bei fal, danach dauert es meist etwa 2 Min."
    )
    waiting = render.state_line(replace(JOB, state=JobState.WAITING, queue_position=0), locale="pt-BR")
    assert waiting == "🕒 Esperando uma vaga livre neste servidor — é o próximo da fila aqui"
    assert render.state_line(replace(JOB, state=JobState.DELIVERED), locale="de") == "✅ Fertig in 1 Min. 35 s"
    failed = render.state_line(replace(JOB, state=JobState.FAILED), locale="de")
    assert failed == "❌ Fehlgeschlagen: fal.ai konnte dieses Video nicht erstellen (Out of GPUs). 5 s erstattet."
    card = render.card_embed(JOB, locale="de")
    assert [f.name for f in card.fields] == ["Status", "Länge", "Angefragt von", "Gestartet"]
    assert card.footer.text == "Tween job 7 · Startbild → Endbild"


@pytest.mark.parametrize("locale", LOCALES)
def test_results_and_their_link_notes_render_within_limits(locale: str):
    problems = ("undecodable", "no_video", "wrong_duration", "too_big_to_fetch", "does_not_fit", None)
    for problem, size, late in itertools.product(problems, (None, 23_400_000), (None, 42)):
        job = replace(
            JOB, state=JobState.DELIVERED, prompt=LONGEST, video_problem=problem, video_size=size, version=12,
            cancel_requested_by=late,
        )  # fmt: skip
        embed = render.result_embed(job, link=job.video_url, locale=locale)
        assert within_discord_limits(embed) and embed.footer.text == "Tween job 7"  # what find_delivery looks for
        english = render.result_embed(job, link=job.video_url)
        assert [f.name for f in embed.fields] != [f.name for f in english.fields]
        assert embed.title != english.title and embed.fields[-1].value != english.fields[-1].value
        assert job.video_url in embed.fields[-1].value


@pytest.mark.parametrize("locale", LOCALES)
def test_ends_notices_alt_texts_and_labels(locale: str):
    ends = [
        {"state": JobState.CANCELLED, "cancel_requested_by": 3},
        {"state": JobState.CANCELLED, "cancel_requested_by": None},
        {"state": JobState.FAILED, "failure": FailureReason.DENIED, "decided_by": 9},
        {"state": JobState.FAILED, "failure": FailureReason.DENIED, "decided_by": None},
        {"state": JobState.FAILED, "failure": FailureReason.STUCK},
        {"state": JobState.UNDELIVERABLE, "failure": None},
        {"state": JobState.SUBMIT_UNKNOWN, "failure": None},
        {"state": JobState.FAILED, "failure": None},
    ]
    for changes in ends:
        job = replace(JOB, version=2, **changes)  # type: ignore[arg-type]
        for text, english in (
            (render.ended_line(job, locale=locale), render.ended_line(job)),
            (render.failure_text(job, locale=locale), render.failure_text(job)),
        ):
            assert text != english and len(text) <= 2000 and "<@3>" in text
    for job in (replace(JOB, prompt=LONGEST), replace(JOB, end_url="https://x/e.png", version=None)):
        for alt in (render.preview_alt(job, locale=locale), render.video_alt(job, locale=locale)):
            assert len(alt) <= 1024 and "Tween #7" in alt
            assert alt not in (render.preview_alt(job), render.video_alt(job))
    assert render.watch_label(replace(JOB, version=3), locale=locale) != "▶ Watch v3"
    assert render.watch_label(JOB, locale=locale) != "▶ Watch the video"
    shortened = render.quote(LONGEST, locale=locale).splitlines()[-1]
    assert shortened == i18n.catalog(locale)["message.posts.shortened"] and shortened != render.SHORTENED
    # The note names the Details button as the member sees it.
    assert i18n.catalog(locale)["message.posts.button.details"].split()[-1] in shortened


def as_message(view: discord.ui.View) -> SimpleNamespace:
    """What a vote reads back: the message's components, as discord.py parses them from Discord's JSON."""
    return SimpleNamespace(components=[discord.ActionRow(row) for row in view.to_components()])  # type: ignore[arg-type]


@pytest.mark.parametrize("locale", [None, *LOCALES])
def test_buttons_speak_the_language_and_a_vote_reads_their_cost_and_link_back(locale: str | None):
    view = result_view(7, 3, full_quality="https://v3.fal.media/x.mp4", seconds=15, locale=locale)
    labels = [button["label"] for row in view.to_components() for button in row["components"]]
    assert all(label and len(label) <= 80 for label in labels)
    assert labels[-2] == "👍 3" and labels[0].endswith(" · 15 s")
    if locale:
        assert labels[-1] != "Full quality" and labels[0] != "🔁 Re-roll · 15 s"
    message = as_message(view)
    assert seconds_on_buttons(message) == 15  # type: ignore[arg-type]
    assert link_button_url(message) == "https://v3.fal.media/x.mp4"  # type: ignore[arg-type]
    (cancel,) = job_view(7, "cancel", locale=locale).to_components()[0]["components"]
    assert cancel["label"] == ("Cancel" if locale is None else i18n.catalog(locale)["message.posts.button.cancel"])
