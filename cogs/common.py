"""Helpers every adapter shares: who is asking, and how to answer privately."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.models import Job, Requester
from cogs import render_answers

if TYPE_CHECKING:
    from bot.app import TweenBot

NO_PINGS = discord.AllowedMentions.none()


def private_locale(interaction: discord.Interaction[TweenBot]) -> str:
    """The language of the member's own Discord client: for answers only they see."""
    return interaction.locale.value


def public_locale(bot: TweenBot, guild_id: int) -> str | None:
    """The server's preferred language: for posts everyone there reads. None (English) if the guild is not cached."""
    guild = bot.get_guild(guild_id)
    return guild.preferred_locale.value if guild is not None else None


def requester_from(interaction: discord.Interaction[TweenBot]) -> Requester:
    """The member, their roles and their moderator flag, read from the interaction itself (never a cache)."""
    user = interaction.user
    roles = frozenset(r.id for r in user.roles) if isinstance(user, discord.Member) else frozenset()
    channel = interaction.channel
    parent = channel.parent_id if isinstance(channel, discord.Thread) else None
    return Requester(
        guild_id=interaction.guild_id or 0,
        user_id=user.id,
        channel_id=interaction.channel_id or 0,
        parent_channel_id=parent,
        role_ids=roles,
        is_moderator=interaction.permissions.manage_guild,
    )


async def submitted(interaction: discord.Interaction[TweenBot], job: Job) -> str:
    """The answer to a submit (/tween, a button, the Remix form), in the member's language: the money said once, from
    the pots the job reserved from, as this server shows money to its members."""
    budget = interaction.client.services.budget
    paid = await budget.paid_from(job.id)
    dollars = await budget.dollars_shown(job.guild_id)
    return render_answers.submitted_text(job, paid, dollars=dollars, locale=private_locale(interaction))


async def cancel_job(interaction: discord.Interaction[TweenBot], job_id: int) -> str:
    """Cancel a job for whoever asked (the card's button or /queue cancel); the answer in their language."""
    services = interaction.client.services
    outcome = await services.moderation.cancel(requester_from(interaction), job_id)
    return render_answers.cancel_text(
        outcome.job,
        refunded=outcome.refunded,
        too_late=outcome.too_late,
        dollars=await services.budget.dollars_shown(outcome.job.guild_id),
        locale=private_locale(interaction),
    )


async def answer(interaction: discord.Interaction[TweenBot], content: str | None = None, **kwargs: object) -> None:
    """Reply privately, whether or not the interaction was already answered or deferred."""
    kwargs.setdefault("allowed_mentions", NO_PINGS)
    if interaction.response.is_done():
        await interaction.followup.send(content, ephemeral=True, **kwargs)  # type: ignore[arg-type]
    else:
        await interaction.response.send_message(content, ephemeral=True, **kwargs)  # type: ignore[arg-type]
