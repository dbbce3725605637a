"""Each member is answered in their own Discord client's language, through real discord.py and the fake Discord: a
German and a Brazilian member get the submit answer, their refusals, the duration choices and the Remix form in their
language, while an English member of the same server still reads English."""

from __future__ import annotations

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World, run_bot
from tests.e2e.test_moderation_e2e import admin
from tests.e2e.test_sessions_e2e import first_video, videos
from tests.e2e.test_tween_e2e import ephemeral_text, run_tween
from tests.fakes.discord_fake.state import FakeUser
from tests.fakes.fal_server import JobScript
from tests.support.images import image_bytes

pytestmark = pytest.mark.e2e


def member(world: World, name: str, locale: str) -> FakeUser:
    user = world.discord.add_member(world.discord.guild, name)
    user.locale = locale
    return user


async def answer_to(world: World, interaction) -> str:
    return await world.discord.wait_for(lambda: ephemeral_text(interaction))


async def test_each_member_gets_the_submit_answer_and_a_refusal_in_their_own_language(world: World, tween: TweenBot):
    hans, ana = member(world, "hans", "de"), member(world, "ana", "pt-BR")
    german = await answer_to(world, await run_tween(world, user=hans))
    assert german.startswith("Dein Tween ist unterwegs. 5 s ($0.56) aus deinem Kontingent (noch ")
    assert "Hier kannst du es verfolgen: https://discord.com/channels/" in german
    portuguese = await answer_to(world, await run_tween(world, user=ana, duration=4))
    assert portuguese.startswith("O seu tween está a caminho. 4 s ($0.448) descontados de: a sua cota (restam ")
    english = await answer_to(world, await run_tween(world))
    assert english.startswith("Your tween is on its way. 5 s ($0.56) from your allowance (")

    tiny = {"start": ("s.png", image_bytes(200, 200), "image/png")}
    refused = await answer_to(world, await run_tween(world, user=hans, files=tiny))
    assert refused == (
        "Das Startbild ist 200×200 px groß; beide Seiten müssen mindestens 300 px haben. Es wurde nichts berechnet."
    )
    refused = await answer_to(world, await run_tween(world, user=ana, files=tiny))
    assert refused.startswith("O quadro inicial tem 200×200 px;") and refused.endswith("Nada foi cobrado.")
    refused = await answer_to(world, await run_tween(world, files=tiny))
    assert refused.startswith("The start frame is 200×200 px;") and refused.endswith("Nothing was charged.")
    assert len(world.fal.submits) == 3
    assert world.discord.spec_violations == []


async def test_an_exhausted_budget_is_explained_in_the_members_language(world: World):
    async with run_bot(world, "[budget]\ndefault_seconds = 8\n"):
        await run_tween(world, duration=5)
        await world.discord.wait_for(lambda: len(world.fal.submits) == 1)
        german = await answer_to(world, await run_tween(world, user=member(world, "hans", "de"), duration=5))
        english = await answer_to(world, await run_tween(world, duration=5))
    assert german.startswith("Dieses Video braucht 5 s, und das Budget des Servers hat nur noch 3 s ($0.336).")
    assert "Du kannst /tween mit dauer: 3 nutzen, bis zum Zurücksetzen <t:" in german
    assert german.endswith("einen Moderator bitten, es aufzustocken. Es wurde nichts berechnet.")
    assert english.startswith("This video needs 5 s and the server's budget has 3 s ($0.336) left.")
    assert len(world.fal.submits) == 1


async def test_the_duration_choices_speak_the_typing_members_language(world: World, tween: TweenBot):
    async def choices(user: FakeUser) -> list[dict]:
        typing = await world.discord.autocomplete("tween", user=user, focused="duration", typed="5")
        return await typing.wait_choices()

    assert await choices(member(world, "hans", "de")) == [{"name": "5 Sekunden · $0.56", "value": 5}]
    assert await choices(member(world, "ana", "pt-BR")) == [{"name": "5 segundos · $0.56", "value": 5}]
    assert await choices(world.discord.guild.member) == [{"name": "5 s · $0.56", "value": 5}]


def fields_of(modal: dict) -> dict[str, dict]:
    return {c["custom_id"]: c for row in modal["components"] for c in row.get("components", [row.get("component")])}


async def test_the_remix_form_and_its_refusal_in_german_while_an_english_member_reads_english(
    world: World, tween: TweenBot
):
    thread, video = await first_video(world)
    hans = member(world, "hans", "de")
    opened = await world.discord.click(video.id, "tween:remix:1", user=hans)
    modal = await world.discord.wait_for(lambda: opened.modal())
    assert modal["title"] == "Tween #1 · v1 remixen"
    fields = fields_of(modal)
    assert fields["duration"]["label"] == "Dauer in Sekunden (3–10, je $0.112)"
    assert fields["prompt"]["placeholder"].startswith("Was zwischen den Bildern passiert")

    bad = await world.discord.submit_modal(opened, {"prompt": "bei Sonnenuntergang", "duration": "bald"}, user=hans)
    assert await answer_to(world, bad) == "Wähl eine Dauer von 3 bis 10 Sekunden. Es wurde nichts berechnet."
    good = await world.discord.submit_modal(opened, {"prompt": "bei Sonnenuntergang", "duration": "4"}, user=hans)
    assert (await answer_to(world, good)).startswith("Dein Tween ist unterwegs. 4 s ($0.448) aus deinem Kontingent")
    await world.discord.wait_for(lambda: len(videos(world, thread.id)) == 2, timeout=15)

    other = await world.discord.click(video.id, "tween:remix:1", user=world.discord.guild.member)
    english = await world.discord.wait_for(lambda: other.modal())
    assert english["title"] == "Remix Tween #1 · v1"
    assert fields_of(english)["duration"]["label"] == "Duration in seconds (3–10, $0.112 each)"
    vote = await world.discord.click(video.id, "tween:vote:1", user=hans)
    assert await answer_to(world, vote) == "👍 Stimme gezählt."
    assert world.discord.spec_violations == []


async def test_cancelling_from_the_card_is_answered_in_each_members_language(world: World, tween: TweenBot):
    guild = world.discord.guild
    hans, ana = member(world, "hans", "de"), member(world, "ana", "pt-BR")
    await admin(world, "settings", "caps", per_member=1, per_server=4)
    world.fal.script_next(JobScript(run_seconds=None))
    await run_tween(world, user=hans)
    await world.discord.wait_for(lambda: world.fal.submits)
    waiting = await answer_to(world, await run_tween(world, user=hans))
    assert waiting.startswith("Dein Tween ist reserviert und wartet auf einen freien Platz; es startet von selbst.")

    card = next(m for m in world.discord.messages(guild.channel.id) if m.embeds[0]["title"].startswith("🎬 Tween #2"))
    strangers = [await world.discord.click(card.id, "tween:cancel:2", user=who) for who in (ana, guild.member)]
    assert [await answer_to(world, press) for press in strangers] == [
        "Você só pode cancelar os seus próprios pedidos (moderadores podem cancelar qualquer um).",
        "You can only cancel your own jobs (moderators can cancel any).",
    ]
    mine = await world.discord.click(card.id, "tween:cancel:2", user=hans)
    assert await answer_to(world, mine) == "🚫 Tween #2 ist abgebrochen, und seine 5 s ($0.56) wurden erstattet."
    world.fal.release(world.fal.submits[0].request_id)
    assert len(world.fal.submits) == 1
