"""Moderators in their languages, through real discord.py and the fake Discord: a moderator whose client is German
gets /tween-admin's answers in German while the log channel keeps the server's language; a server whose preferred
language is Brazilian Portuguese gets its log channel lines and approval requests in Portuguese."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import TweenBot
from tests.e2e.conftest import World, run_bot
from tests.e2e.test_approval_e2e import approval_request
from tests.e2e.test_moderation_e2e import admin, log_lines
from tests.e2e.test_tween_e2e import ephemeral_text, run_tween

pytestmark = pytest.mark.e2e


@pytest.fixture
async def brazilian_server(world: World) -> AsyncIterator[TweenBot]:
    world.discord.guild.locale = "pt-BR"  # before the bot starts: it learns it from GUILD_CREATE
    async with run_bot(world) as bot:
        await bot.tree.sync()
        yield bot


async def test_a_german_moderator_reads_admin_answers_in_german(world: World, tween: TweenBot):
    guild = world.discord.guild
    guild.admin.locale = "de"
    await admin(world, "settings", "log", channel=guild.log_channel)
    changed = await admin(world, "budget", "set", seconds=120, period="week", reset_hour=6)
    assert changed.startswith("✅ Budget aktualisiert.\nDas Budget wird jeden Montag um 06:00 UTC zurückgesetzt.")
    assert "**Budget:** 120 s ($13.44) pro Woche (Reset um 06:00 UTC)" in changed
    shown = await admin(world, "settings", "show")
    assert "**Pausiert:** nein" in shown and f"**Protokollkanal:** <#{guild.log_channel.id}>" in shown
    assert "Budget:" in shown and "per week" not in shown and "Paused" not in shown

    # The log channel is for everyone there: it keeps the server's language (English here), not the moderator's.
    lines = await world.discord.wait_for(
        lambda: [line for line in log_lines(world) if "set the server budget to 120 s a week" in line]
    )
    assert lines[0].startswith(f"🛠️ <@{guild.admin.id}> ")
    assert world.discord.spec_violations == []


async def test_a_portuguese_server_gets_its_log_and_approval_requests_in_portuguese(
    world: World, brazilian_server: TweenBot
):
    guild = world.discord.guild
    await admin(world, "settings", "log", channel=guild.log_channel)
    said = await admin(world, "settings", "approval", policy="always")
    assert said.startswith("✅ Approval policy updated.")  # the moderator's own client is English
    await world.discord.wait_for(
        lambda: any(
            "mudou as aprovações: todo pedido precisa da aprovação de um moderador" in x for x in log_lines(world)
        )
    )

    asked = await run_tween(world, duration=7)
    await world.discord.wait_for(lambda: ephemeral_text(asked))
    request = await approval_request(world, 1)
    assert request.content.startswith(f"🛂 O Tween #1 de <@{guild.member.id}> em <#{guild.channel.id}> aguarda")
    embed = request.embeds[0]
    assert embed["title"] == "🛂 Aprovar o Tween #1?"
    assert [f["name"] for f in embed["fields"]] == ["Pedido por", "Onde", "Duração e preço", "Cartão"]
    assert embed["footer"]["text"].startswith("Acima:")

    pressed = await world.discord.click(request.id, "tween:approve:1", user=guild.admin)
    await world.discord.wait_for(lambda: ephemeral_text(pressed))
    decided = await world.discord.wait_for(
        lambda: request.components == [] and [f["value"] for f in request.embeds[0]["fields"] if f["name"] == "Decisão"]
    )
    assert decided == [f"✅ Aprovado por <@{guild.admin.id}>"]
    approved = await world.discord.wait_for(
        lambda: [x for x in log_lines(world) if x.startswith(f"✅ <@{guild.admin.id}> aprovou o pedido #1")]
    )
    assert approved == [f"✅ <@{guild.admin.id}> aprovou o pedido #1 de <@{guild.member.id}> (7 s · $0.784)."]
    assert world.discord.spec_violations == []
