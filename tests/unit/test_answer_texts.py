"""The private answers to making and cancelling videos, in German and Brazilian Portuguese: every refusal, the submit
and cancel answers, the duration choices and the Remix form render whole in each language, keep Discord's limits, and
leave no English sentence behind; English stays as it was."""

from __future__ import annotations

from dataclasses import replace

import pytest
from discord import app_commands

from bot.app import ShuttingDown, Throttled
from bot.errors import (
    BudgetExhausted,
    CannotCancel,
    DeliveryFailed,
    FalAccountProblem,
    FalError,
    ImageRejected,
    InputRejected,
    JobNotFound,
    NotModerator,
    Refused,
)
from bot.models import JobState, PotScope, PotState
from cogs import render_answers
from cogs.buttons import RemixModal, duration_label
from cogs.errors import user_text
from cogs.tween import duration_choices
from tests.unit.test_money_texts import PRO
from tests.unit.test_refusal_texts import short
from tests.unit.test_render import JOB, T0

LOCALES = ("de", "pt-BR")
MAX_CONTENT = 2000
MAX_MODAL_TITLE = MAX_LABEL = 45
MAX_PLACEHOLDER = 100
MAX_CHOICE_NAME = 100

ERRORS: list[BaseException] = [
    ImageRejected("start", "empty"),
    ImageRejected("end", "too_large", size=12_000_000, limit=10_000_000),
    ImageRejected("start", "not_an_image"),
    ImageRejected("end", "corrupt"),
    ImageRejected("start", "animated"),
    ImageRejected("stored", "too_small", width=200, height=640, min_side=300),
    ImageRejected("end", "bad_aspect", ratio=2.6, min_ratio=0.4, max_ratio=2.5),
    ImageRejected("end", "bad_aspect", ratio=0.3, min_ratio=0.4, max_ratio=2.5),
    ImageRejected("start", "too_many_pixels", width=8000, height=8000, limit=4096 * 4096, advice="jpeg"),
    ImageRejected("end", "too_many_pixels", width=4096, height=4096, limit=2048**2, kind="WebP", advice="png"),
    ImageRejected("start", "too_many_pixels", width=6000, height=4000, limit=4096**2, advice="baseline"),
    ImageRejected("start", "too_many_pixels", width=6000, height=4000, limit=4096**2, advice="scale"),
    ImageRejected("end", "too_many_pixels", limit=1920 * 1080),
    ImageRejected("start", "something_new"),
    *(
        InputRejected(reason)
        for reason in (
            "empty_prompt",
            "unreadable_attachment",
            "guild_only",
            "empty_word",
            "missing_start",
            "again_outside_thread",
            "no_session",
            "swap_needs_two",
            "not_a_session",
            "approval_needs_seconds",
            "approval_needs_role",
            "something_new",
        )
    ),
    InputRejected("long_prompt", length=2600, limit=2500),
    InputRejected("bad_duration", low=3, high=10),
    InputRejected("unknown_tier", tier="ultra", known=["pro", "standard"]),
    Refused("paused"),
    Refused("blocked"),
    Refused("blocked", why="Spam in #general."),
    Refused("channel", allowed=[11, 12]),
    Refused("banned_word", words=["gore", "blood"]),
    Refused("something_new"),
    short(),
    short(remaining=2),
    short("guild", remaining=0, total=60),
    short("channel", remaining=4, subject_id=77),
    short("channel", remaining=4),
    short(remaining=0, total=0, role_id=42),
    short(remaining=0, total=0),
    BudgetExhausted(needed=5, remaining=3, resets_at=T0),
    NotModerator(),
    *(
        CannotCancel(reason)
        for reason in (
            "not_yours",
            "finished",
            "moved_on",
            "already_requested",
            "unreachable",
            "not_unknown",
            "something_new",
        )
    ),
    DeliveryFailed("no permission"),
    FalAccountProblem(403, "locked"),
    FalError("down"),
    JobNotFound(7),
    app_commands.NoPrivateMessage(),
    ShuttingDown(),
    Throttled(2.4),
    app_commands.CheckFailure(),
]
ORIGINS = ("tween", "remix", "reroll", "swap")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("error", ERRORS, ids=lambda e: f"{type(e).__name__}-{getattr(e, 'reason', '')}")
def test_every_refusal_is_translated_whole(error: BaseException, origin: str, locale: str):
    english = user_text(error, origin)
    translated = user_text(error, origin, locale=locale)
    assert english and translated and translated != english
    assert len(translated) <= MAX_CONTENT
    for sentence in ("Nothing was charged", "needs", "ask a moderator", "Try again", " the "):
        assert sentence not in translated, translated


def test_a_budget_refusal_in_german_reads_as_one_text():
    assert user_text(short(), locale="de") == (
        "Dieses Video braucht 10 s, und dein Kontingent hat nur noch 3 s ($0.336). Du kannst /tween mit dauer: 3 "
        f"nutzen, bis zum Zurücksetzen {_resets()} warten oder einen Moderator um eine Gutschrift bitten. Es wurde "
        "nichts berechnet."
    )


def test_a_reroll_short_of_seconds_in_portuguese_is_advised_a_remix():
    text = user_text(short(remaining=3), "reroll", locale="pt-BR")
    assert text.startswith("Refazer precisa de 10 s, e a sua cota só tem 3 s ($0.336) restantes.")
    assert "fazer um remix com duração de 3 s" in text and "/tween" not in text


def test_numbers_take_the_readers_decimal_mark_but_money_stays_as_the_helpers_make_it():
    pixels = ImageRejected("start", "too_many_pixels", width=8000, height=8000, limit=4096 * 4096, advice="jpeg")
    assert "(64,0 Megapixel)" in user_text(pixels, locale="de")
    assert "16,8 megapixels" in user_text(pixels, locale="pt-BR")
    assert "(64.0 megapixels)" in user_text(pixels)
    assert "$0.336" in user_text(short(), locale="de")


def test_commands_are_named_as_the_member_sees_them():
    assert "/tween-nochmal" in user_text(InputRejected("again_outside_thread"), locale="de")
    assert "/tween-de-novo" in user_text(InputRejected("missing_start"), locale="pt-BR")
    assert "/verlauf" in user_text(InputRejected("not_a_session"), locale="de")
    assert "“sem o cargo”" in user_text(InputRejected("approval_needs_role"), locale="pt-BR")


def _resets() -> str:
    return f"<t:{int(T0.timestamp())}:R> (<t:{int(T0.timestamp())}:f>)"


MEMBER = PotState(1, 1, PotScope.MEMBER, 3, 8, 0, 5, 0, T0, T0)
CHANNEL = PotState(2, 1, PotScope.CHANNEL, 77, 60, 5, 5, 0, T0, T0)
GUILD = PotState(3, 1, PotScope.GUILD, 1, 600, 0, 0, 0, T0, T0)
CARDED = replace(JOB, card_message_id=99)


def _submitted(locale: str | None) -> list[str]:
    states = (JobState.QUEUED, JobState.WAITING, JobState.AWAITING_APPROVAL)
    return [
        *(
            render_answers.submitted_text(replace(CARDED, state=s), [MEMBER, CHANNEL, GUILD], locale=locale)
            for s in states
        ),
        *(
            render_answers.submitted_text(replace(CARDED, state=s), [GUILD], dollars=False, locale=locale)
            for s in states
        ),
        *(render_answers.submitted_text(replace(JOB, state=s), locale=locale) for s in states),
    ]


def _cancelled(locale: str | None) -> list[str]:
    return [
        render_answers.cancel_text(replace(JOB, state=JobState.CANCELLED), refunded=True, locale=locale),
        render_answers.cancel_text(JOB, refunded=False, too_late=True, locale=locale),
        render_answers.cancel_text(replace(JOB, state=JobState.SUBMITTING), refunded=False, locale=locale),
        render_answers.cancel_text(replace(JOB, state=JobState.RUNNING), refunded=False, dollars=False, locale=locale),
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_submit_and_cancel_answers_are_translated(locale: str):
    english_texts, translations = _submitted(None) + _cancelled(None), _submitted(locale) + _cancelled(locale)
    for english, translated in zip(english_texts, translations, strict=True):
        assert translated != english and len(translated) <= MAX_CONTENT
        assert "Your tween" not in translated and "refunded" not in translated and " left)" not in translated


def test_the_submit_answer_names_every_pot_in_the_readers_grammar():
    paid = [MEMBER, CHANNEL, GUILD]
    assert render_answers.submitted_text(CARDED, paid, locale="de") == (
        "Dein Tween ist unterwegs. 5 s ($0.56) aus deinem Kontingent (noch 3 s), dem Budget von <#77> (noch 60 s) "
        "und dem Budget des Servers (noch 600 s). Hier kannst du es verfolgen: https://discord.com/channels/1/2/99"
    )
    assert render_answers.submitted_text(CARDED, [MEMBER], locale="pt-BR").startswith(
        "O seu tween está a caminho. 5 s ($0.56) descontados de: a sua cota (restam 3 s). Acompanhe aqui:"
    )
    assert render_answers.submitted_text(CARDED, paid) == (
        "Your tween is on its way. 5 s ($0.56) from your allowance (3 s left), the budget of <#77> (60 s left) and "
        "the server's budget (600 s left). Follow it here: https://discord.com/channels/1/2/99"
    )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("dollars", [True, False])
def test_duration_choices_are_named_in_the_typing_members_language(locale: str, dollars: bool):
    english = duration_choices(PRO, dollars=dollars)
    translated = duration_choices(PRO, dollars=dollars, locale=locale)
    assert [c.value for c in translated] == [c.value for c in english]
    for before, after in zip(english, translated, strict=True):
        assert after.name != before.name and len(after.name) <= MAX_CHOICE_NAME
        assert ("$" in after.name) is dollars
    assert duration_choices(PRO, "5", locale="de")[0].name == "5 Sekunden · $0.56"
    assert duration_choices(PRO, "5", dollars=False, locale="pt-BR")[0].name == "5 segundos"


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_remix_form_is_translated_within_discords_limits(locale: str):
    job = replace(JOB, id=123_456, duration=7, version=99)
    dear = replace(PRO, price_per_second=12.345)
    english = RemixModal(job, 2500, dear).to_components()
    modal = RemixModal(job, 2500, dear, locale=locale)
    assert modal.title != f"Remix Tween #{job.id} · v99" and len(modal.title) <= MAX_MODAL_TITLE
    prompt, duration = (row["components"][0] for row in modal.to_components())
    assert prompt["value"] == job.prompt and duration["value"] == "7"
    assert duration["label"] != english[1]["components"][0]["label"] and len(duration["label"]) <= MAX_LABEL
    assert len(prompt["label"]) <= MAX_LABEL and len(prompt["placeholder"]) <= MAX_PLACEHOLDER
    assert prompt["placeholder"] != english[0]["components"][0]["placeholder"]
    assert len(duration_label(dear, dollars=False, locale=locale)) <= MAX_LABEL
    assert len(english[0]["components"][0]["placeholder"]) <= MAX_PLACEHOLDER
