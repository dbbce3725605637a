"""Pure rendering for budgets, queues, approvals and the log channel. No I/O."""

from __future__ import annotations

import discord

from bot import i18n
from bot.i18n import tr
from bot.models import FailureReason, Job, JobState, PotScope, PotState
from bot.pricing import cost, format_usd, price_micros
from bot.services import QuotaView
from bot.tiers import Tier
from cogs.render import PREVIEW_NAME, job_cost, jump_url, price_label, quote, stamp, state_line
from cogs.render_log import log_text as log_text  # its callers and tests have always found it here
from cogs.render_settings_log import period_word

BAR_WIDTH = 20


def seconds_and_dollars(seconds: int, price_per_second: float, *, dollars: bool = True) -> str:
    return cost(seconds, price_micros(seconds, price_per_second), dollars=dollars)


def bar(pot: PotState) -> str:
    """A text bar of what is left: █ remaining, ░ used or reserved."""
    total = pot.total_seconds
    left = 0 if total == 0 else round(BAR_WIDTH * pot.remaining_seconds / total)
    return "█" * left + "░" * (BAR_WIDTH - left)


def scope_title(scope: PotScope, locale: str | None = None) -> str:
    if scope is PotScope.GUILD:
        return tr(locale, "message.member.quota.server", "Server budget")
    if scope is PotScope.MEMBER:
        return tr(locale, "message.member.quota.member", "Your allowance")
    return tr(locale, "message.member.quota.channel", "This channel's pot")


def pot_field(pot: PotState, price: float, *, dollars: bool = True, locale: str | None = None) -> str:
    # The words come first and carry everything: a screen reader reads the bar as a row of block characters.
    share = 0 if pot.total_seconds == 0 else round(100 * pot.remaining_seconds / pot.total_seconds)
    left = seconds_and_dollars(pot.remaining_seconds, price, dollars=dollars)
    lines = [
        tr(
            locale,
            "message.member.quota.left",
            "**{left} left** of {total} s ({share} % left)",
            left=left,
            total=pot.total_seconds,
            share=share,
        ),
        f"`{bar(pot)}`",
        tr(
            locale,
            "message.member.quota.spent",
            "spent {spent} s · in flight {reserved} s",
            spent=pot.spent_seconds,
            reserved=pot.reserved_seconds,
        ),
    ]
    if pot.extra_seconds:
        lines.append(
            tr(locale, "message.member.quota.extra", "includes {extra} s extra this period", extra=pot.extra_seconds)
        )
    return "\n".join(lines)


def quota_embed(
    view: QuotaView, tier: Tier, *, paused: bool, dollars: bool = True, locale: str | None = None
) -> discord.Embed:
    price = tier.price_per_second
    embed = discord.Embed(title=tr(locale, "message.member.quota.title", "🎬 Tween budget"), colour=0x5865F2)
    pots = [view.guild, view.member] + ([view.channel] if view.channel else [])
    for pot in pots:
        value = pot_field(pot, price, dollars=dollars, locale=locale)
        embed.add_field(name=scope_title(pot.scope, locale), value=value, inline=False)
    in_flight = tr(
        locale,
        "message.member.quota.in_flight",
        "{count} at fal.ai ({yours} yours)",
        count=view.guild_in_flight,
        yours=view.member_in_flight,
    )
    embed.add_field(name=tr(locale, "message.member.quota.in_flight_title", "In flight"), value=in_flight)
    embed.add_field(name=tr(locale, "message.member.quota.waiting", "Waiting"), value=str(view.guild_waiting))
    pot = view.guild
    resets = tr(
        locale,
        "message.member.quota.resets",
        "{relative} ({moment})\nthis period began {began}",
        relative=stamp(pot.period_end),
        moment=stamp(pot.period_end, "f"),
        began=stamp(pot.period_start, "f"),
    )
    embed.add_field(name=tr(locale, "message.member.quota.resets_title", "Resets"), value=resets)
    each = format_usd(price_micros(1, price))
    notes = [
        tr(locale, "message.member.quota.price", "Price: {each} per second ({tier} tier)", each=each, tier=tier.name)
        if dollars
        else tier.name
    ]
    if paused:
        notes.append(tr(locale, "message.member.quota.paused", "⏸️ Generation is paused by the moderators."))
    embed.set_footer(text=" · ".join(notes))
    return embed


def reset_schedule(period: str, hour: int, *, locale: str | None = None) -> str:
    """When a budget period starts, in words: "every Monday at 06:00 UTC"."""
    at = f"{hour:02d}:00"
    if period == "day":
        return tr(locale, "message.moderation.schedule.day", "every day at {at} UTC", at=at)
    if period == "week":
        return tr(locale, "message.moderation.schedule.week", "every Monday at {at} UTC", at=at)
    if period == "month":
        return tr(locale, "message.moderation.schedule.month", "on the 1st of each month at {at} UTC", at=at)
    return f"each {period} at {at} UTC"


def period_change_text(
    period: str, hour: int, before: PotState, after: PotState, price: float, *, locale: str | None = None
) -> str:
    """What a budget change did to the current period: when it began, what already counts, when it resets."""
    word = period_word(period, locale)
    schedule = reset_schedule(period, hour, locale=locale)
    lines = [tr(locale, "message.moderation.change.resets", "The budget resets {schedule}.", schedule=schedule)]
    start, was = stamp(after.period_start, "f"), stamp(before.period_start, "f")
    if (before.period_start, before.period_end) == (after.period_start, after.period_end):
        lines.append(
            tr(
                locale,
                "message.moderation.change.kept",
                "This {period} began {start}; that has not moved.",
                period=word,
                start=start,
            )
        )
    else:
        lines.append(
            tr(
                locale,
                "message.moderation.change.moved",
                "This {period} is now counted from {start} (it was counted from {was}).",
                period=word,
                start=start,
                was=was,
            )
        )
    lines.append(
        tr(
            locale,
            "message.moderation.change.counts",
            "Videos charged since then count against it: {spent} so far, {reserved} s in flight, {left} s left of "
            "{total} s.",
            spent=seconds_and_dollars(after.spent_seconds, price),
            reserved=after.reserved_seconds,
            left=after.remaining_seconds,
            total=after.total_seconds,
        )
    )
    lines += _what_counts(period, before, after, locale)
    lines.append(
        tr(
            locale,
            "message.moderation.change.next",
            "Members' allowances follow the same {period}. Next reset: {next} ({date}).",
            period=word,
            next=stamp(after.period_end),
            date=stamp(after.period_end, "f"),
        )
    )
    return "\n".join(lines)


def _what_counts(period: str, before: PotState, after: PotState, locale: str | None) -> list[str]:
    lines = []
    if after.spent_seconds < before.spent_seconds:
        gone = before.spent_seconds - after.spent_seconds
        lines.append(
            tr(
                locale,
                "message.moderation.change.dropped",
                "The {seconds} s charged before that no longer count.",
                seconds=gone,
            )
        )
    elif after.spent_seconds > before.spent_seconds:
        lines.append(
            tr(
                locale,
                "message.moderation.change.taken",
                "That takes in {seconds} s charged earlier in the {period}.",
                seconds=after.spent_seconds - before.spent_seconds,
                period=period_word(period, locale),
            )
        )
    if after.extra_seconds:
        lines.append(
            tr(
                locale,
                "message.moderation.change.extra",
                "The {seconds} s of one-off top-ups stay until the reset.",
                seconds=after.extra_seconds,
            )
        )
    return lines


def queue_embed(jobs: list[Job], *, dollars: bool = True, locale: str | None = None) -> discord.Embed:
    embed = discord.Embed(title=tr(locale, "message.member.queue.title", "🎬 Tween queue"), colour=0x5865F2)
    if not jobs:
        embed.description = tr(locale, "message.member.queue.empty", "Nothing is running or waiting.")
        return embed
    lines = [
        f"**#{j.id}** <@{j.user_id}> · {price_label(j, dollars=dollars)} · {state_line(j, locale=locale)}"
        for j in jobs[:25]
    ]
    if len(jobs) > 25:
        lines.append(tr(locale, "message.member.queue.more", "…and {count} more", count=len(jobs) - 25))
    embed.description = "\n".join(lines)
    footer = tr(
        locale,
        "message.member.queue.footer",
        "Cancel with {command} {job}:<number> (your own; moderators: any)",
        command=i18n.command(locale, "queue.cancel"),
        job=i18n.option(locale, "queue.cancel", "job"),
    )
    embed.set_footer(text=footer)
    return embed


def approval_request_text(job: Job, approver_role_id: int | None, *, locale: str | None = None) -> str:
    """The request's own line: what a notification shows. The approver role, when the server set one, is the only
    mention the publisher lets ping."""
    ping = f"<@&{approver_role_id}> " if approver_role_id else ""
    return ping + tr(
        locale,
        "message.moderation.approval_request",
        "🛂 Tween #{id} by {member} in {channel} waits for approval: {cost}. Its frames and prompt are below.",
        id=job.id,
        member=f"<@{job.user_id}>",
        channel=f"<#{job.channel_id}>",
        cost=job_cost(job),
    )


def approval_embed(job: Job, *, locale: str | None = None) -> discord.Embed:
    """For moderators: who asked, where, the prompt, both frames (the attached preview) and the price in dollars."""
    title = tr(locale, "message.moderation.approval.title", "🛂 Approve Tween #{id}?", id=job.id)
    embed = discord.Embed(title=title, description=quote(job.prompt), colour=0xFEE75C)
    embed.add_field(name=tr(locale, "message.moderation.approval.asked_by", "Asked by"), value=f"<@{job.user_id}>")
    embed.add_field(name=tr(locale, "message.moderation.approval.where", "Where"), value=f"<#{job.channel_id}>")
    embed.add_field(name=tr(locale, "message.moderation.approval.cost", "Duration and price"), value=job_cost(job))
    if card := jump_url(job.guild_id, job.channel_id, job.card_message_id):
        embed.add_field(name=tr(locale, "message.moderation.approval.card", "Card"), value=f"[Tween #{job.id}]({card})")
    embed.set_image(url=f"attachment://{PREVIEW_NAME}")
    if job.end_url:
        footer = tr(
            locale,
            "message.moderation.approval.footer_both",
            "Above: the start frame → end frame · Deny refunds the member",
        )
    else:
        footer = tr(
            locale,
            "message.moderation.approval.footer_start",
            "Above: the start frame (no end frame) · Deny refunds the member",
        )
    embed.set_footer(text=footer)
    if job.state is not JobState.AWAITING_APPROVAL:
        embed.add_field(
            name=tr(locale, "message.moderation.approval.decision", "Decision"),
            value=_verdict(job, locale),
            inline=False,
        )
        embed.colour = discord.Colour(0x99AAB5)
    return embed


def _verdict(job: Job, locale: str | None) -> str:
    denied = job.state in (JobState.FAILED, JobState.CANCELLED)
    if job.decided_by and denied:
        return tr(
            locale,
            "message.moderation.approval.denied_by",
            "🚫 Denied or cancelled by {moderator}",
            moderator=f"<@{job.decided_by}>",
        )
    if job.decided_by:
        return tr(
            locale,
            "message.moderation.approval.approved_by",
            "✅ Approved by {moderator}",
            moderator=f"<@{job.decided_by}>",
        )
    if denied:
        return tr(locale, "message.moderation.approval.denied", "🚫 Denied or cancelled")
    return tr(locale, "message.moderation.approval.approved", "✅ Approved")


def decision_text(job: Job, moderator_id: int, *, approve: bool, locale: str | None = None) -> str:
    """The private answer to the moderator who pressed Approve or Deny."""
    values = {"id": job.id, "member": f"<@{job.user_id}>", "cost": job_cost(job)}
    if job.decided_by != moderator_id or (job.failure is FailureReason.DENIED) == approve:
        return tr(
            locale,
            "message.moderation.decision.nothing",
            "Nothing to decide: Tween #{id} no longer waits for approval. Now: {state}",
            id=job.id,
            state=state_line(job, locale=locale),
        )
    if not approve:
        return tr(
            locale,
            "message.moderation.decision.denied",
            "🚫 Denied Tween #{id} by {member}. Nothing was sent to fal.ai, and {member}'s {cost} were refunded; the "
            "job's card now says so in one line.",
            **values,
        )
    if job.state is JobState.WAITING:
        return tr(
            locale,
            "message.moderation.decision.waiting",
            "✅ Approved Tween #{id} by {member}, {cost}. Every slot is busy right now, so it waits its turn and "
            "starts by itself.",
            **values,
        )
    if job.state in (JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING):
        return tr(
            locale,
            "message.moderation.decision.starting",
            "✅ Approved, starting now: Tween #{id} by {member}, {cost}. Its card shows how it goes.",
            **values,
        )
    return tr(
        locale,
        "message.moderation.decision.other",
        "✅ Approved Tween #{id} by {member}, {cost}. Now: {state}",
        state=state_line(job, locale=locale),
        **values,
    )
