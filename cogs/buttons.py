"""Buttons that keep working after a restart: their custom ids carry the job id (discord.py DynamicItem)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.errors import InputRejected
from bot.models import Job
from cogs import render
from cogs.common import answer, requester_from
from cogs.errors import RESTARTING, report_error, slow_down

if TYPE_CHECKING:
    from bot.app import TweenBot


TEMPLATE = r"tween:(?P<action>approve|deny|cancel|reroll|remix|swap|details|vote):(?P<job>\d+)"
STYLES = {"approve": discord.ButtonStyle.success, "deny": discord.ButtonStyle.danger}
LABELS = {
    "approve": "Approve",
    "deny": "Deny",
    "cancel": "Cancel",
    "reroll": "🔁 Re-roll",
    "remix": "✏️ Remix",
    "swap": "⇄ Swap frames",
    "details": "ℹ️ Details",
    "vote": "👍",
}


class JobButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    def __init__(self, action: str, job_id: int, *, count: int | None = None) -> None:
        label = LABELS[action] + (f" {count}" if count is not None else "")
        style = STYLES.get(action, discord.ButtonStyle.secondary)
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"tween:{action}:{job_id}"))
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> JobButton:
        return cls(match["action"], int(match["job"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        bot: TweenBot = interaction.client  # type: ignore[assignment]
        if bot.closing:
            await answer(interaction, RESTARTING)
            return False
        retry = bot.services.throttle.check(interaction.guild_id or 0, interaction.user.id)
        if retry is not None:
            await answer(interaction, slow_down(retry))
            return False
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: TweenBot = interaction.client  # type: ignore[assignment]
        try:
            async with bot.working():
                await self._act(interaction)
        except Exception as error:  # buttons bypass the tree's error handler
            await report_error(interaction, error)

    async def _act(self, interaction: discord.Interaction) -> None:
        bot: TweenBot = interaction.client  # type: ignore[assignment]
        services = bot.services
        who = requester_from(interaction)
        if self.action == "remix":
            job = await services.sessions.details(who, self.job_id)
            await interaction.response.send_modal(RemixModal(job, services.settings.limits.max_prompt_chars))
            return
        if self.action == "vote":
            voted, count = await services.sessions.vote(who, self.job_id)
            await interaction.response.edit_message(view=result_view(self.job_id, count))
            await answer(interaction, "👍 Vote counted." if voted else "Vote taken back.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        if self.action == "details":
            await answer(interaction, embed=render.details_embed(await services.sessions.details(who, self.job_id)))
        elif self.action == "cancel":
            outcome = await services.moderation.cancel(who, self.job_id)
            await answer(interaction, render.cancel_text(outcome.job, outcome.refunded))
        elif self.action in ("reroll", "swap"):
            job = await services.sessions.follow_up(who, self.job_id, self.action, upload_limit=_limit(interaction))
            await answer(interaction, render.submitted_text(job))
        else:
            job = await services.moderation.decide(who, self.job_id, approve=self.action == "approve")
            await answer(interaction, f"Tween #{job.id}: {render.state_line(job)}")


class RemixModal(discord.ui.Modal):
    """The prompt and duration of a version, prefilled, to make the next one from."""

    def __init__(self, job: Job, max_prompt: int) -> None:
        super().__init__(title=f"Remix Tween #{job.id}", custom_id=f"tween:remix-modal:{job.id}")
        self.job_id = job.id
        self.prompt: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
            label="Prompt",
            style=discord.TextStyle.paragraph,
            default=job.prompt,
            max_length=max_prompt,
            custom_id="prompt",
        )
        self.duration: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
            label="Duration in seconds (3-10)", default=str(job.duration), max_length=2, custom_id="duration"
        )
        self.add_item(self.prompt)
        self.add_item(self.duration)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot: TweenBot = interaction.client  # type: ignore[assignment]
        text = self.duration.value.strip()
        if not text.isdigit():
            raise InputRejected(
                "bad_duration",
                low=bot.services.settings.model.min_duration,
                high=bot.services.settings.model.max_duration,
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with bot.working():
            job = await bot.services.sessions.follow_up(
                requester_from(interaction),
                self.job_id,
                "remix",
                prompt=self.prompt.value,
                duration=int(text),
                upload_limit=_limit(interaction),
            )
            await answer(interaction, render.submitted_text(job))

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report_error(interaction, error)


def _limit(interaction: discord.Interaction) -> int:
    bot: TweenBot = interaction.client  # type: ignore[assignment]
    return interaction.filesize_limit or bot.services.settings.limits.default_upload_limit


def result_view(job_id: int, votes: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("reroll", "remix", "swap", "details"):
        view.add_item(JobButton(action, job_id))
    view.add_item(JobButton("vote", job_id, count=votes))
    return view


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


__all__ = ["JobButton", "job_view", "result_view"]
