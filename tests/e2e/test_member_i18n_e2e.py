"""A member's private answers in their own Discord client's language, through real discord.py: a German and a
Brazilian member read /help, /quota, /history and /queue show in their language, while an English member in the
same server still reads English."""

from __future__ import annotations

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World
from tests.e2e.test_sessions_e2e import first_video

pytestmark = pytest.mark.e2e

# What each language's answers say: /help's title and its command names, /quota's, /history's and /queue's.
EXPECTED = {
    "en-US": {
        "help": ("🎬 How Tween works", "`/tween-again` makes the next version", "`/queue show` what is running"),
        "quota": ("🎬 Tween budget", "Your allowance", "**25 s ($2.80) left** of 30 s"),
        "history": ("🌳 Versions in this thread", "Re-roll, remix or swap any version"),
        "queue": ("🎬 Tween queue", "Nothing is running or waiting."),
    },
    "de": {
        "help": ("🎬 So funktioniert Tween", "`/tween-nochmal` macht die nächste Version", "`/warteschlange anzeigen`"),
        "quota": ("🎬 Tween-Budget", "Dein Kontingent", "**30 s ($3.36) übrig** von 30 s"),
        "history": ("🌳 Versionen in diesem Thread", "Mit den Buttons unter ihrem Video"),
        "queue": ("🎬 Tween-Warteschlange", "Gerade läuft nichts und nichts wartet."),
    },
    "pt-BR": {
        "help": (
            "🎬 Como o Tween funciona",
            "`/tween-de-novo` faz a próxima versão",
            "`/fila ver`, o que está rodando",
        ),
        "quota": ("🎬 Orçamento do Tween", "Sua cota", "**Restam 30 s ($3.36)** de 30 s"),
        "history": ("🌳 Versões neste tópico", "Role de novo, faça um remix"),
        "queue": ("🎬 Fila do Tween", "Nada está rodando nem aguardando."),
    },
}


async def answer_of(world: World, name: str, user, *, channel_id: int | None = None, subcommand=()) -> str:
    """Run a command as `user` and return its private embed as one text (title, description, fields, footer)."""
    interaction = await world.discord.slash(name, user=user, channel_id=channel_id, subcommand=subcommand)
    embed = await world.discord.wait_for(
        lambda: interaction.original and interaction.original.embeds and interaction.original.embeds[0]
    )
    assert interaction.ephemeral
    fields = [part for f in embed.get("fields", []) for part in (f["name"], f["value"])]
    footer = embed.get("footer", {}).get("text", "")
    return "\n".join([embed.get("title", ""), embed.get("description", ""), *fields, footer])


@pytest.mark.parametrize("locale", ["de", "pt-BR"])
async def test_each_member_reads_their_answers_in_their_own_language(world: World, tween: TweenBot, locale: str):
    guild = world.discord.guild
    thread, _ = await first_video(world)  # guild.member (English) made a 5 s video: 25 of their 30 s are left
    foreign = world.discord.add_member(guild, "Ana")
    foreign.locale = locale
    for user, language in ((foreign, locale), (guild.member, "en-US")):
        said = {
            "help": await answer_of(world, "help", user),
            "quota": await answer_of(world, "quota", user),
            "history": await answer_of(world, "history", user, channel_id=thread.id),
            "queue": await answer_of(world, "queue", user, subcommand=("show",)),
        }
        for command, expected in EXPECTED[language].items():
            assert all(text in said[command] for text in expected), (language, command, said[command])
        if language != "en-US":  # not a sentence of the English answers is left
            english = EXPECTED["en-US"]
            assert not any(text in said[command] for command, texts in english.items() for text in texts)
    assert world.discord.spec_violations == []
