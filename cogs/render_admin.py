"""Pure rendering for budgets, queues, approvals and the log channel. No I/O."""

from __future__ import annotations

import discord

from bot import i18n
from bot.i18n import tr
from bot.models import FailureReason, Job, JobState, LogEvent, PotScope, PotState
from bot.pricing import cost, format_usd, price_micros
from bot.services import QuotaView
from bot.tiers import Tier
from cogs.render import PREVIEW_NAME, job_cost, jump_url, price_label, quote, stamp, state_line

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


def reset_schedule(period: str, hour: int) -> str:
    """When a budget period starts, in words: "every Monday at 06:00 UTC"."""
    at = f"at {hour:02d}:00 UTC"
    return {"day": f"every day {at}", "week": f"every Monday {at}", "month": f"on the 1st of each month {at}"}.get(
        period, f"each {period} {at}"
    )


def period_change_text(period: str, hour: int, before: PotState, after: PotState, price: float) -> str:
    """What a budget change did to the current period: when it began, what already counts, when it resets."""
    lines = [f"The budget resets {reset_schedule(period, hour)}."]
    if (before.period_start, before.period_end) == (after.period_start, after.period_end):
        lines.append(f"This {period} began {stamp(after.period_start, 'f')}; that has not moved.")
    else:
        moved = f"{stamp(after.period_start, 'f')} (it was counted from {stamp(before.period_start, 'f')})"
        lines.append(f"This {period} is now counted from {moved}.")
    lines.append(
        f"Videos charged since then count against it: {seconds_and_dollars(after.spent_seconds, price)} so far, "
        f"{after.reserved_seconds} s in flight, {after.remaining_seconds} s left of {after.total_seconds} s."
    )
    if after.spent_seconds < before.spent_seconds:
        lines.append(f"The {before.spent_seconds - after.spent_seconds} s charged before that no longer count.")
    elif after.spent_seconds > before.spent_seconds:
        lines.append(f"That takes in {after.spent_seconds - before.spent_seconds} s charged earlier in the {period}.")
    if after.extra_seconds:
        lines.append(f"The {after.extra_seconds} s of one-off top-ups stay until the reset.")
    lines.append(
        f"Members' allowances follow the same {period}. Next reset: {stamp(after.period_end)} "
        f"({stamp(after.period_end, 'f')})."
    )
    return "\n".join(lines)


def queue_embed(jobs: list[Job], *, dollars: bool = True, locale: str | None = None) -> discord.Embed:
    embed = discord.Embed(title=tr(locale, "message.member.queue.title", "🎬 Tween queue"), colour=0x5865F2)
    if not jobs:
        embed.description = tr(locale, "message.member.queue.empty", "Nothing is running or waiting.")
        return embed
    lines = [f"**#{j.id}** <@{j.user_id}> · {price_label(j, dollars=dollars)} · {state_line(j)}" for j in jobs[:25]]
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


def approval_request_text(job: Job, approver_role_id: int | None) -> str:
    """The request's own line: what a notification shows. The approver role, when the server set one, is the only
    mention the publisher lets ping."""
    ping = f"<@&{approver_role_id}> " if approver_role_id else ""
    return (
        f"{ping}🛂 Tween #{job.id} by <@{job.user_id}> in <#{job.channel_id}> waits for approval: "
        f"{job_cost(job)}. Its frames and prompt are below."
    )


def approval_embed(job: Job) -> discord.Embed:
    """For moderators: who asked, where, the prompt, both frames (the attached preview) and the price in dollars."""
    embed = discord.Embed(title=f"🛂 Approve Tween #{job.id}?", description=quote(job.prompt), colour=0xFEE75C)
    embed.add_field(name="Asked by", value=f"<@{job.user_id}>")
    embed.add_field(name="Where", value=f"<#{job.channel_id}>")
    embed.add_field(name="Duration and price", value=job_cost(job))
    if card := jump_url(job.guild_id, job.channel_id, job.card_message_id):
        embed.add_field(name="Card", value=f"[Tween #{job.id}]({card})")
    embed.set_image(url=f"attachment://{PREVIEW_NAME}")
    frames = "start frame → end frame" if job.end_url else "start frame (no end frame)"
    embed.set_footer(text=f"Above: the {frames} · Deny refunds the member")
    if job.state is not JobState.AWAITING_APPROVAL:
        decided = f" by <@{job.decided_by}>" if job.decided_by else ""
        verdict = "✅ Approved" if job.state not in (JobState.FAILED, JobState.CANCELLED) else "🚫 Denied or cancelled"
        embed.add_field(name="Decision", value=f"{verdict}{decided}", inline=False)
        embed.colour = discord.Colour(0x99AAB5)
    return embed


def decision_text(job: Job, moderator_id: int, *, approve: bool) -> str:
    """The private answer to the moderator who pressed Approve or Deny."""
    member = f"<@{job.user_id}>"
    if job.decided_by != moderator_id or (job.failure is FailureReason.DENIED) == approve:
        return f"Nothing to decide: Tween #{job.id} no longer waits for approval. Now: {state_line(job)}"
    if not approve:
        return (
            f"🚫 Denied Tween #{job.id} by {member}. Nothing was sent to fal.ai, and {member}'s {job_cost(job)} were "
            "refunded; the job's card now says so in one line."
        )
    if job.state is JobState.WAITING:
        return (
            f"✅ Approved Tween #{job.id} by {member}, {job_cost(job)}. Every slot is busy right now, so it waits "
            "its turn and starts by itself."
        )
    if job.state in (JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING):
        return f"✅ Approved, starting now: Tween #{job.id} by {member}, {job_cost(job)}. Its card shows how it goes."
    return f"✅ Approved Tween #{job.id} by {member}, {job_cost(job)}. Now: {state_line(job)}"


def log_text(event: LogEvent, price: float) -> str:
    """One line in words for the log channel. Mentions render as names; the publisher posts them without pings."""
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
        return _job_decision(event, who, event.job, detail)
    words = _setting_words(event.action, detail)
    return f"🛠️ {who} {words}." if words else f"🛠️ {who} changed a Tween setting ({event.action})."


def _job_decision(event: LogEvent, who: str, job: Job, detail: dict[str, object]) -> str:
    whose = f"#{job.id} by <@{job.user_id}> ({price_label(job)})"
    if event.action == "approve":
        return f"✅ {who} approved job {whose}."
    if event.action == "deny":
        return f"🚫 {who} denied job {whose}; the member's {job.duration} s were refunded."
    if event.action == "cancel":
        return f"✖️ {who} cancelled job {whose} before it started; the {job.duration} s were refunded."
    if event.action == "settle":
        verdict = "billed, so it stays charged" if detail.get("billed") else "not billed, so it was refunded"
        return f"🧾 {who} settled job {whose}: fal {verdict}."
    return f"🛂 {who} changed job {whose} ({event.action})."


def _per(period: object) -> str:
    return f" a {period}" if period in ("day", "week", "month") else ""


def _secs(value: object, period: object = None) -> str:
    return "none" if value is None else f"{value} s{_per(period)}"


def _channel(value: object) -> str:
    return "none" if value is None else f"<#{value}>"


def _approval_words(policy: object, seconds: object, role_id: object) -> str:
    if policy == "always":
        return "every job needs a moderator's approval"
    if policy == "over":
        return f"jobs over {seconds} s need a moderator's approval"
    if policy == "without_role":
        return f"members without <@&{role_id}> need a moderator's approval"
    return "no job needs approval"


def _setting_words(action: str, detail: dict[str, object]) -> str | None:
    """The sentence (after the moderator's mention) for a settings or list change, with what it was."""
    raw = detail.get("was")
    was: dict[str, object] = raw if isinstance(raw, dict) else {}
    period = detail.get("period")
    if action == "pause":
        return "paused video generation"
    if action == "resume":
        return "resumed video generation"
    if action == "budget":
        text = f"set the server budget to {_secs(detail.get('guild_seconds'), period)}"
        if detail.get("reset_hour") is not None:
            text += f", resetting at {detail['reset_hour']}:00 UTC"
        return text + f" (was: {_secs(was.get('guild_seconds'), was.get('period', period))})"
    if action == "member_allowance":
        old = _secs(was.get("member_seconds"), period)
        return f"set each member's allowance to {_secs(detail.get('member_seconds'), period)} (was: {old})"
    if action == "tier":
        return f"switched the model tier to {detail.get('tier')} (was: {was.get('tier', 'unknown')})"
    if action == "log_channel":
        old = _channel(was.get("log_channel_id"))
        if detail.get("log_channel_id") is None:
            return f"turned off the moderator log (was: {old})"
        return f"moved the moderator log to {_channel(detail.get('log_channel_id'))} (was: {old})"
    if action == "approval":
        new = _approval_words(detail.get("approval"), detail.get("approval_seconds"), detail.get("approval_role_id"))
        old = _approval_words(was.get("approval"), was.get("approval_seconds"), was.get("approval_role_id"))
        return f"changed approvals: {new} (was: {old})"
    if action == "approver":
        role = detail.get("approver_role_id")
        old = was.get("approver_role_id")
        now = f"pings <@&{role}> with each approval request" if role else "pings nobody with approval requests"
        return f"changed who is pinged: Tween now {now} (was: {f'<@&{old}>' if old else 'nobody'})"
    if action == "prices":
        shown = "seconds only, no dollars" if detail.get("seconds_only") else "seconds and dollars"
        old = "seconds only" if was.get("seconds_only") else "seconds and dollars"
        return f"made Tween show members {shown} (was: {old})"
    if action == "caps":
        return (
            f"set the concurrency caps to {detail.get('member_concurrency')} per member and "
            f"{detail.get('guild_concurrency')} for the server "
            f"(was: {was.get('member_concurrency')} and {was.get('guild_concurrency')})"
        )
    if action in ("block", "unblock"):
        if action == "unblock":
            return f"unblocked <@{detail.get('member')}>; they can use Tween again"
        reason = detail.get("reason")
        return f"blocked <@{detail.get('member')}> from Tween" + (f" (reason: {reason})" if reason else "")
    return _list_words(action, detail)


def _list_words(action: str, detail: dict[str, object]) -> str | None:
    key, value, was, period = detail.get("key"), detail.get("value"), detail.get("was"), detail.get("period")
    match action:
        case "role_allowances.set":
            return f"gave <@&{key}> {_secs(value, period)} (was: {_secs(was, period)})"
        case "role_allowances.remove":
            return f"removed <@&{key}>'s own allowance; it gets the default share (was: {_secs(was, period)})"
        case "channel_budgets.set":
            return f"gave {_channel(key)} its own pot of {_secs(value, period)} (was: {_secs(was, period)})"
        case "channel_budgets.remove":
            return f"removed {_channel(key)}'s own pot; it uses the server budget (was: {_secs(was, period)})"
        case "tween_channels.set":
            return f"allowed /tween in {_channel(key)}"
        case "tween_channels.remove":
            return f"stopped allowing /tween in {_channel(key)}"
        case "banned_words.set":
            return f"banned the word “{key}” in prompts"
        case "banned_words.remove":
            return f"unbanned the word “{key}” in prompts"
    return None


def _outcome(job: Job) -> str:
    if job.state is JobState.DELIVERED:
        return f"delivered, {format_usd(job.price_micros)} charged"
    if job.state is JobState.UNDELIVERABLE:
        return f"made but not posted, {format_usd(job.price_micros)} charged"
    return state_line(job)
