"""Pure rendering for budgets, queues, approvals and the log channel. No I/O."""

from __future__ import annotations

import discord

from bot.models import Job, JobState, LogEvent, PotState
from bot.pricing import format_usd, price_micros
from bot.services import QuotaView
from bot.tiers import Tier
from cogs.render import price_label, quote, stamp, state_line

BAR_WIDTH = 20
SCOPE_TITLES = {"guild": "Server budget", "member": "Your allowance", "channel": "This channel's pot"}


def seconds_and_dollars(seconds: int, price_per_second: float) -> str:
    return f"{seconds} s ({format_usd(price_micros(seconds, price_per_second))})"


def bar(pot: PotState) -> str:
    """A text bar of what is left: █ remaining, ░ used or reserved."""
    total = pot.total_seconds
    left = 0 if total == 0 else round(BAR_WIDTH * pot.remaining_seconds / total)
    return "█" * left + "░" * (BAR_WIDTH - left)


def pot_field(pot: PotState, price: float) -> str:
    # The words come first and carry everything: a screen reader reads the bar as a row of block characters.
    share = 0 if pot.total_seconds == 0 else round(100 * pot.remaining_seconds / pot.total_seconds)
    lines = [
        f"**{seconds_and_dollars(pot.remaining_seconds, price)} left** of {pot.total_seconds} s ({share} % left)",
        f"`{bar(pot)}`",
        f"spent {pot.spent_seconds} s · in flight {pot.reserved_seconds} s",
    ]
    if pot.extra_seconds:
        lines.append(f"includes {pot.extra_seconds} s extra this period")
    return "\n".join(lines)


def quota_embed(view: QuotaView, tier: Tier, *, paused: bool) -> discord.Embed:
    price = tier.price_per_second
    embed = discord.Embed(title="🎬 Tween budget", colour=0x5865F2)
    pots = [view.guild, view.member] + ([view.channel] if view.channel else [])
    for pot in pots:
        embed.add_field(name=SCOPE_TITLES[pot.scope.value], value=pot_field(pot, price), inline=False)
    embed.add_field(name="In flight", value=f"{view.guild_in_flight} at fal.ai ({view.member_in_flight} yours)")
    embed.add_field(name="Waiting", value=str(view.guild_waiting))
    embed.add_field(name="Resets", value=f"{stamp(view.guild.period_end)} ({stamp(view.guild.period_end, 'f')})")
    notes = [f"Price: {format_usd(price_micros(1, price))} per second ({tier.name} tier)"]
    if paused:
        notes.append("⏸️ Generation is paused by the moderators.")
    embed.set_footer(text=" · ".join(notes))
    return embed


def queue_embed(jobs: list[Job]) -> discord.Embed:
    embed = discord.Embed(title="🎬 Tween queue", colour=0x5865F2)
    if not jobs:
        embed.description = "Nothing is running or waiting."
        return embed
    lines = [f"**#{j.id}** <@{j.user_id}> · {price_label(j)} · {state_line(j)}" for j in jobs[:25]]
    if len(jobs) > 25:
        lines.append(f"…and {len(jobs) - 25} more")
    embed.description = "\n".join(lines)
    embed.set_footer(text="Cancel with /queue cancel job:<number> (your own; moderators: any)")
    return embed


def approval_embed(job: Job) -> discord.Embed:
    embed = discord.Embed(title=f"🛂 Approve Tween #{job.id}?", description=quote(job.prompt), colour=0xFEE75C)
    embed.add_field(name="Asked by", value=f"<@{job.user_id}>")
    embed.add_field(name="Duration", value=price_label(job))
    embed.add_field(name="Where", value=f"<#{job.channel_id}>")
    if job.state is not JobState.AWAITING_APPROVAL:
        decided = f" by <@{job.decided_by}>" if job.decided_by else ""
        verdict = "✅ Approved" if job.state not in (JobState.FAILED, JobState.CANCELLED) else "🚫 Denied or cancelled"
        embed.add_field(name="Decision", value=f"{verdict}{decided}", inline=False)
        embed.colour = discord.Colour(0x99AAB5)
    return embed


def log_text(event: LogEvent, price: float) -> str:
    """One line for the log channel."""
    who = f"<@{event.actor_id}>" if event.actor_id else "Tween"
    detail = event.detail or {}
    if event.action == "job" and event.job is not None:
        job = event.job
        return f"🎬 Job #{job.id} by <@{job.user_id}> · {price_label(job)} · {_outcome(job)}"
    if event.action == "budget_warning" and event.pot is not None:
        pot = event.pot
        used = pot.spent_seconds + pot.reserved_seconds
        return (
            f"⚠️ The server has used {used} of {pot.total_seconds} s ({pot.used_fraction:.0%}) this period; "
            f"{seconds_and_dollars(pot.remaining_seconds, price)} left until {stamp(pot.period_end)}."
        )
    if event.action == "fal_account":
        what = "rejected its API key" if detail.get("status") == 401 else "locked its account"
        return (
            f"🔑 fal.ai {what} ({detail.get('detail')}), so Tween can't make videos for now. Members are told "
            "nothing was charged; new videos pause until whoever runs Tween fixes the fal account."
        )
    if event.action in ("topup", "grant"):
        target = "the server" if event.action == "topup" else f"<@{detail.get('subject')}>"
        return f"➕ {who} gave {target} {detail.get('seconds')} extra seconds for this period."
    if event.job is not None:
        return f"🛂 {who}: {event.action} job #{event.job.id} by <@{event.job.user_id}> ({price_label(event.job)})."
    parts = ", ".join(f"{k}={v}" for k, v in detail.items() if v is not None)
    return f"🛠️ {who} changed `{event.action}`" + (f": {parts}" if parts else "")


def _outcome(job: Job) -> str:
    if job.state is JobState.DELIVERED:
        return f"delivered, {format_usd(job.price_micros)} charged"
    if job.state is JobState.UNDELIVERABLE:
        return f"made but not posted, {format_usd(job.price_micros)} charged"
    return state_line(job)
