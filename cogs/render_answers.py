"""The private answers about a job: to a submit, to a cancel, and Details. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.i18n import tr
from bot.models import Job, JobState, PotScope, PotState
from cogs.render import attachment_line, full_prompt, job_cost, jump_url, price_label, version_label
from cogs.render_state import elapsed, stamp, state_line


def submitted_text(
    job: Job, paid_from: Sequence[PotState] = (), *, dollars: bool = True, locale: str | None = None
) -> str:
    """The private answer to a submit. With the pots the job reserved from, the money is said once: who pays, from
    which pots, and what each has left. `locale`: the member's (None is English)."""
    link = jump_url(job.guild_id, job.channel_id, job.card_message_id)
    where = " " + tr(locale, "message.answers.submitted.follow", "Follow it here: {link}", link=link) if link else ""
    if job.state in (JobState.FAILED, JobState.SUBMIT_UNKNOWN):
        return f"{state_line(job, locale=locale)}{where}"
    if paid_from:
        paid = " " + tr(
            locale,
            "message.answers.submitted.paid",
            "{cost} from {pots}.",
            cost=job_cost(job, dollars=dollars),
            pots=_pots_left(paid_from, locale),
        )
        if job.state is JobState.AWAITING_APPROVAL:
            said = tr(
                locale,
                "message.answers.submitted.approval",
                "Your tween is reserved and waits for a moderator's approval.",
            )
        elif job.state is JobState.WAITING:
            said = tr(
                locale,
                "message.answers.submitted.waiting",
                "Your tween is reserved and waits for a free slot; it starts by itself.",
            )
        else:
            said = tr(locale, "message.answers.submitted.on_its_way", "Your tween is on its way.")
        return f"{said}{paid}{where}"
    label = price_label(job, dollars=dollars)
    if job.state is JobState.AWAITING_APPROVAL:
        said = tr(
            locale,
            "message.answers.submitted.approval_priced",
            "Your tween ({price}) is reserved and waits for a moderator's approval.",
            price=label,
        )
    elif job.state is JobState.WAITING:
        said = tr(
            locale,
            "message.answers.submitted.waiting_priced",
            "Your tween ({price}) is reserved and waits for a free slot; it starts by itself.",
            price=label,
        )
    else:
        said = tr(
            locale,
            "message.answers.submitted.on_its_way_priced",
            "Your tween is on its way ({price}, reserved from the server's budget).",
            price=label,
        )
    return f"{said}{where}"


# The member's own pot first: it is the one they can do something about.
_PAY_ORDER = {PotScope.MEMBER: 0, PotScope.CHANNEL: 1, PotScope.GUILD: 2}


def _pots_left(paid_from: Sequence[PotState], locale: str | None = None) -> str:
    parts = [_pot_left(p, locale) for p in sorted(paid_from, key=lambda p: _PAY_ORDER[p.scope])]
    if len(parts) == 1:
        return parts[0]
    return tr(
        locale, "message.answers.submitted.and", "{first} and {last}", first=", ".join(parts[:-1]), last=parts[-1]
    )


def _pot_left(pot: PotState, locale: str | None) -> str:
    """One pot a job is paid from, as the submit answer names it after "from"."""
    left = max(0, pot.remaining_seconds)
    if pot.scope is PotScope.MEMBER:
        return tr(locale, "message.answers.paid.member", "your allowance ({seconds} s left)", seconds=left)
    if pot.scope is PotScope.GUILD:
        return tr(locale, "message.answers.paid.guild", "the server's budget ({seconds} s left)", seconds=left)
    return tr(
        locale,
        "message.answers.paid.channel",
        "the budget of <#{channel}> ({seconds} s left)",
        channel=pot.subject_id,
        seconds=left,
    )


def cancel_text(
    job: Job, *, refunded: bool, too_late: bool = False, dollars: bool = True, locale: str | None = None
) -> str:
    """The private answer to a cancel, in the locale of whoever pressed or typed it (None is English)."""
    values = {"id": job.id, "cost": job_cost(job, dollars=dollars)}
    if refunded:
        return tr(
            locale,
            "message.answers.cancelled.refunded",
            "🚫 Tween #{id} is cancelled and its {cost} refunded.",
            **values,
        )
    if too_late:
        return tr(
            locale,
            "message.answers.cancelled.too_late",
            "Too late: fal.ai had already finished Tween #{id}, so it will be posted and its {cost} charged.",
            **values,
        )
    if job.state is JobState.SUBMITTING:
        return tr(
            locale,
            "message.answers.cancelled.sending",
            "Tween #{id} is being sent to fal.ai right now; I'll ask fal to stop it the moment it arrives. If fal "
            "stops it, its {cost} are refunded; if fal was already making the video, it will be posted and charged. "
            "Its card shows how it ends.",
            **values,
        )
    return tr(
        locale,
        "message.answers.cancelled.asked",
        "Asked fal.ai to stop Tween #{id}. If fal stops it, its {cost} are refunded; if fal was already making the "
        "video, it will be posted and charged. Its card shows how it ends.",
        **values,
    )


ORIGINS = {"tween": "/tween", "reroll": "re-roll", "remix": "remix", "swap": "swapped frames"}


def origin_words(origin: str, locale: str | None = None) -> str:
    """How a version was made, as /history and Details name it."""
    match origin:
        case "reroll":
            return tr(locale, "message.member.origin.reroll", "re-roll")
        case "remix":
            return tr(locale, "message.member.origin.remix", "remix")
        case "swap":
            return tr(locale, "message.member.origin.swap", "swapped frames")
    return ORIGINS.get(origin, origin)


def details_embed(job: Job, *, dollars: bool = True, locale: str | None = None) -> discord.Embed:
    embed = discord.Embed(title=f"ℹ️ Tween #{job.id}{version_label(job)}", description=full_prompt(job.prompt))
    embed.add_field(name=tr(locale, "message.member.details.price", "Price"), value=price_label(job, dollars=dollars))
    asked_by = f"<@{job.user_id}> ({origin_words(job.origin, locale)})"
    embed.add_field(name=tr(locale, "message.member.details.asked_by", "Asked by"), value=asked_by)
    embed.add_field(
        name=tr(locale, "message.member.details.state", "State"), value=state_line(job, locale=locale), inline=False
    )
    embed.add_field(name=tr(locale, "message.member.details.model", "Model"), value=f"`{job.model}`", inline=False)
    request = f"`{job.request_id}`" if job.request_id else tr(locale, "message.member.details.not_sent", "not sent yet")
    embed.add_field(name=tr(locale, "message.member.details.request", "fal request"), value=request)
    embed.add_field(
        name=tr(locale, "message.member.details.timings", "Timings"), value=_timings(job, locale), inline=False
    )
    if job.video_url:
        link = tr(locale, "message.member.details.link", "[fal.ai link]({url})", url=job.video_url)
        embed.add_field(name=tr(locale, "message.member.details.video", "Video"), value=link, inline=False)
    if line := attachment_line(job):
        embed.add_field(name=tr(locale, "message.member.details.attachment", "Attachment"), value=line, inline=False)
    return embed


def _timings(job: Job, locale: str | None) -> str:
    """When Details' job was asked for, sent, started and finished, each in the reader's own time zone."""
    timings = [tr(locale, "message.member.details.asked", "asked {time}", time=stamp(job.created_at, "T"))]
    if job.submitted_at is not None:
        timings.append(tr(locale, "message.member.details.sent", "sent {time}", time=stamp(job.submitted_at, "T")))
    if job.started_at is not None:
        timings.append(tr(locale, "message.member.details.started", "started {time}", time=stamp(job.started_at, "T")))
    if job.finished_at is not None:
        timings.append(
            tr(locale, "message.member.details.finished", "finished {time}", time=stamp(job.finished_at, "T"))
        )
        timings.append(tr(locale, "message.member.details.took", "took {elapsed}", elapsed=elapsed(job, locale=locale)))
    return " · ".join(timings)
