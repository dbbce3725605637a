"""Command names and descriptions in the member's language: discord.py asks this translator for every locale when
the commands are synced, and Discord shows each member the texts of their own client's language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContext, locale_str
from discord.app_commands import TranslationContextLocation as Where

from bot import i18n

if TYPE_CHECKING:
    from bot.app import TweenBot

NAMES = (Where.command_name, Where.group_name)
DESCRIPTIONS = (Where.command_description, Where.group_description)


def path_of(command: app_commands.Command[Any, ..., Any] | app_commands.Group) -> str:
    """A command's place in the tree as a key: `tween-admin budget set` is `tween-admin.budget.set`."""
    return command.qualified_name.replace(" ", ".")


def key_of(context: TranslationContext[Any, Any]) -> str | None:
    """The catalog key of the text being translated, from where discord.py says it sits; None for other texts."""
    where, data = context.location, context.data
    if where in NAMES:
        return f"{path_of(data)}.name"
    if where in DESCRIPTIONS:
        return f"{path_of(data)}.description"
    if where in (Where.parameter_name, Where.parameter_description):
        field = "name" if where is Where.parameter_name else "description"
        return f"{path_of(data.command)}.option.{data.name}.{field}"
    if where is Where.choice_name:
        return f"choice.{data.value}"
    return None


class CatalogTranslator(app_commands.Translator):
    async def translate(
        self, string: locale_str, locale: discord.Locale, context: TranslationContext[Any, Any]
    ) -> str | None:
        key = key_of(context)
        template = i18n.lookup(locale.value, key) if key else None
        return None if template is None else i18n.fill(template, string.extras)


async def setup(bot: TweenBot) -> None:
    await bot.tree.set_translator(CatalogTranslator())
