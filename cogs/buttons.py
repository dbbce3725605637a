"""Buttons that keep working after a restart: their custom ids carry the job id (discord.py DynamicItem)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.errors import TweenError
from cogs import render
from cogs.common import answer, requester_from
from cogs.errors import report_error

if TYPE_CHECKING:
    from bot.app import TweenBot


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"tween:(?P<action>approve|deny|cancel):(?P<job>\d+)"
):
    def __init__(self, action: str, job_id: int) -> None:
        styles = {
            "approve": discord.ButtonStyle.success,
            "deny": discord.ButtonStyle.danger,
            "cancel": discord.ButtonStyle.secondary,
        }
        labels = {"approve": "Approve", "deny": "Deny", "cancel": "Cancel"}
        super().__init__(
            discord.ui.Button(label=labels[action], style=styles[action], custom_id=f"tween:{action}:{job_id}")
        )
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> JobButton:
        return cls(match["action"], int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self._act(interaction)
        except Exception as error:  # buttons bypass the tree's error handler
            await report_error(interaction, error)

    async def _act(self, interaction: discord.Interaction) -> None:
        bot: TweenBot = interaction.client  # type: ignore[assignment]
        moderation = bot.services.moderation
        who = requester_from(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if self.action == "cancel":
            outcome = await moderation.cancel(who, self.job_id)
            await answer(interaction, render.cancel_text(outcome.job, outcome.refunded))
            return
        job = await moderation.decide(who, self.job_id, approve=self.action == "approve")
        await answer(interaction, f"Tween #{job.id}: {render.state_line(job)}")


def job_view(job_id: int, *actions: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(JobButton(action, job_id))
    return view


class ButtonsCog(commands.Cog):
    def __init__(self, bot: TweenBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(JobButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(JobButton)


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(ButtonsCog(bot))


__all__ = ["JobButton", "TweenError", "job_view"]
