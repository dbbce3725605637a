"""A sync sends Discord every command in German and Brazilian Portuguese too, and the fake Discord, strict as the
real one, takes it."""

from __future__ import annotations

import discord
import pytest

from bot import i18n
from bot.app import TweenBot
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


async def test_the_bulk_overwrite_carries_the_localizations(world: World, tween: TweenBot):
    synced = {c["name"]: c for c in world.discord.registered[None]}
    assert synced["help"]["name_localizations"] == {"de": "hilfe", "pt-BR": "ajuda"}
    assert synced["tween-again"]["description_localizations"]["de"].startswith("In einem Tween-Thread")
    options = {o["name"]: o for o in synced["tween"]["options"]}
    assert options["duration"]["name_localizations"] == {"de": "dauer", "pt-BR": "duração"}
    assert "5 s" in options["duration"]["description_localizations"]["pt-BR"]
    admin = {o["name"]: o for o in synced["tween-admin"]["options"]}
    budget_set = next(o for o in admin["budget"]["options"] if o["name"] == "set")
    period = next(o for o in budget_set["options"] if o["name"] == "period")
    assert [c["name_localizations"]["de"] for c in period["choices"]] == ["Tag", "Woche", "Monat"]
    assert world.discord.spec_violations == []


async def test_discord_refuses_a_localized_name_that_breaks_its_rule(world: World, tween: TweenBot, monkeypatch):
    broken = dict(i18n.catalog("de")) | {"help.name": "Hilfe bitte"}
    monkeypatch.setattr(i18n, "catalog", lambda locale: broken if locale == "de" else {})
    with pytest.raises(discord.HTTPException) as refused:
        await tween.tree.sync()
    assert refused.value.code == 50035 and "naming rule" in refused.value.text
