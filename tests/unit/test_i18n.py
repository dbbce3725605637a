"""The command catalog: every text of the English command tree is translated into every shipped language, every
translated name is one Discord takes, placeholders match, and the translator hands discord.py what the files say."""

from typing import Any

import discord
import pytest
from discord import app_commands

from bot import i18n
from bot.app import TweenBot
from cogs.i18n import CatalogTranslator, key_of

SHIPPED = {"de", "pt-BR"}
SUBCOMMAND, GROUP = 1, 2


class Recorder(app_commands.Translator):
    """Notes every English text discord.py asks about, by catalog key, with the values it carries."""

    def __init__(self) -> None:
        self.english: dict[str, tuple[str, dict[str, Any]]] = {}

    async def translate(self, string, locale, context):
        key = key_of(context)
        assert key is not None, context.location
        self.english[key] = (string.message, dict(string.extras))
        return None


async def payloads(bot: TweenBot, translator: app_commands.Translator) -> list[dict[str, Any]]:
    return [await c.get_translated_payload(bot.tree, translator) for c in bot.tree.get_commands()]


@pytest.fixture
async def english(bot) -> dict[str, tuple[str, dict[str, Any]]]:
    recorder = Recorder()
    await payloads(bot, recorder)
    return recorder.english


def test_the_shipped_languages_are_discord_locales():
    assert set(i18n.locales()) >= SHIPPED
    assert set(i18n.locales()) <= {locale.value for locale in discord.Locale}


async def test_every_english_text_is_translated_and_nothing_else(english):
    assert len(english) > 100 and "tween.option.start.description" in english
    for locale in i18n.locales():
        catalog = i18n.catalog(locale)
        assert sorted(set(english) - set(catalog)) == [], f"{locale} lacks these"
        commands = {k for k in catalog if not k.startswith(i18n.MESSAGES)}
        assert sorted(commands - set(english)) == [], f"{locale} has texts no command uses"


async def test_translated_names_and_descriptions_obey_discords_rules(english):
    for locale in i18n.locales():
        for key, text in i18n.catalog(locale).items():
            if key.startswith(i18n.MESSAGES):
                continue
            if key.endswith(".name"):
                assert i18n.valid_name(text), f"{locale} {key}: {text!r}"
            else:
                assert 1 <= len(text) <= i18n.MAX_DESCRIPTION, f"{locale} {key}: {len(text)} characters"
            assert text == text.strip() and "…" not in text, f"{locale} {key}"


async def test_placeholders_match_the_values_the_code_passes_and_each_other(english):
    catalogs = [i18n.catalog(locale) for locale in i18n.locales()]
    for key in set().union(*catalogs):
        found = {locale: i18n.placeholders(c.get(key, "")) for locale, c in zip(i18n.locales(), catalogs, strict=True)}
        assert len({frozenset(p) for p in found.values()}) == 1, f"{key}: {found}"
        if key in english:
            assert next(iter(found.values())) == set(english[key][1]), key
    start = i18n.fill(i18n.lookup("de", "tween.option.start.description"), english["tween.option.start.description"][1])
    assert "300 px" in start and "10 MB" in start


def test_the_name_rule():
    for good in ("dauer", "duração", "histórico", "pro_mitglied", "tween-nochmal", "o'clock", "नाम", "ชื่อ"):
        assert i18n.valid_name(good), good
    for bad in ("Dauer", "zwei wörter", "x" * 33, "", "startbild!", "dauer/länge"):
        assert not i18n.valid_name(bad), bad


async def test_the_translator_fills_every_shipped_locale_and_leaves_english_alone(bot):
    [tween] = [p for p in await payloads(bot, CatalogTranslator()) if p["name"] == "tween"]
    assert tween["name_localizations"] == {"de": "tween", "pt-BR": "tween"}
    start = next(o for o in tween["options"] if o["name"] == "start")
    assert start["name_localizations"] == {"de": "startbild", "pt-BR": "início"}
    assert set(start["description_localizations"]) == SHIPPED
    assert "300 px" in start["description_localizations"]["de"]


async def test_no_two_siblings_share_a_name_in_any_language(bot):
    def check(items: list[dict[str, Any]], where: str) -> None:
        for locale in ["", *sorted(SHIPPED)]:
            shown = [(i.get("name_localizations") or {}).get(locale, i["name"]) for i in items]
            assert len(shown) == len(set(shown)), f"{where} in {locale or 'English'}: {shown}"
        for item in items:
            if item.get("type", SUBCOMMAND) in (SUBCOMMAND, GROUP) and item.get("options"):
                check(item["options"], f"{where} {item['name']}")

    check(await payloads(bot, CatalogTranslator()), "/")


async def test_the_bot_installs_the_translator(bot):
    # load_extension imports the module anew, so the class is compared by where it lives.
    installed = type(bot.tree.translator)
    assert (installed.__module__, installed.__qualname__) == ("cogs.i18n", "CatalogTranslator")


def test_text_falls_back_to_the_english_the_code_passes():
    english = "Length in seconds ({default} s if you pick none); the list shows the prices"
    key = "tween.option.duration.description"
    assert i18n.text("de", key, english, default=7).startswith("Länge in Sekunden (ohne Auswahl 7 s)")
    assert i18n.text("en-US", key, english, default=7).startswith("Length in seconds (7 s if")
    assert i18n.text(None, "message.nothing.yet", "Hi {name}", name="Ana") == "Hi Ana"
