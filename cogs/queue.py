"""/queue: what runs and waits in this server, and cancelling a job."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import JobState
from cogs.common import answer, cancel_job, private_locale, requester_from
from cogs.render_admin import queue_embed

if TYPE_CHECKING:
    from bot.app import TweenBot

SHOWN = [JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING, JobState.WAITING, JobState.AWAITING_APPROVAL]


class QueueCog(commands.Cog):
    queue = app_commands.Group(name="queue", description="Tween jobs running and waiting here", guild_only=True)

    def __init__(self, bot: TweenBot) -> None:
        self.bot = bot

    @queue.command(name="show", description="Jobs at fal.ai and in Tween's own queue, with their places")
    async def queue_show(self, interaction: discord.Interaction[TweenBot]) -> None:
        who = requester_from(interaction)
        jobs = await self.bot.services.jobs.queue(who.guild_id, SHOWN)
        dollars = await self.bot.services.budget.dollars_shown(who.guild_id)
        await answer(interaction, embed=queue_embed(jobs, dollars=dollars, locale=private_locale(interaction)))

    @queue.command(name="cancel", description="Cancel a job: your own, or any as a moderator")
    @app_commands.describe(job="The job number, as on its card (#12)")
    async def queue_cancel(self, interaction: discord.Interaction[TweenBot], job: app_commands.Range[int, 1]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await answer(interaction, await cancel_job(interaction, job))


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(QueueCog(bot))
