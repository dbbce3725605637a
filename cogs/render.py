"""Pure functions from domain values to Discord embeds and text. No I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

import discord

from bot.i18n import tr
from bot.models import FailureReason, Job, JobState, PotScope, PotState
from bot.pricing import cost

PREVIEW_NAME = "frames.jpg"
MARKER = "Tween job {id}"
MARKER_RE = re.compile(r"Tween job (\d+)\b")

COLOURS = {
    JobState.QUEUED: 0x5865F2,
    JobState.RUNNING: 0xFEE75C,
    JobState.COMPLETED: 0x57F287,
    JobState.DELIVERING: 0x57F287,
    JobState.DELIVERED: 0x57F287,
    JobState.FAILED: 0xED4245,
    JobState.SUBMIT_UNKNOWN: 0xE67E22,
    JobState.UNDELIVERABLE: 0xE67E22,
    JobState.CANCELLED: 0x99AAB5,
}

FAILURES = {
    FailureReason.FAL_ERROR: "fal.ai couldn't make this video",
    FailureReason.FAL_REJECTED: "fal.ai refused the input",
    FailureReason.FAL_UNREACHABLE: "fal.ai couldn't be reached",
    FailureReason.FAL_ACCOUNT: "Tween's fal.ai account needs attention from whoever runs the bot",
    FailureReason.RESTARTED: "Tween restarted before the job was sent",
    FailureReason.LOST: "fal.ai lost track of the job",
    FailureReason.NO_CARD: "the job card couldn't be posted",
    FailureReason.INTERNAL: "something went wrong on our side",
    FailureReason.DENIED: "a moderator denied it",
    FailureReason.CANCELLED: "it was cancelled",
    FailureReason.STUCK: "fal.ai's queue was too slow, so Tween cancelled it there",
}


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def stamp(moment: datetime, style: str = "R") -> str:
    """A Discord timestamp: every reader sees it in their own time zone, and relative ones tick by themselves."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def price_label(job: Job, *, dollars: bool = True) -> str:
    """`10 s · $1.12`, or `10 s` where the server shows its members seconds only."""
    return cost(job.duration, job.price_micros, dollars=dollars, inline=True)


def job_cost(job: Job, *, dollars: bool = True) -> str:
    """`10 s ($1.12)`, or `10 s` where the server shows its members seconds only."""
    return cost(job.duration, job.price_micros, dollars=dollars)


def state_line(job: Job, usual: float | None = None) -> str:
    """The card's one-line state. `usual`: how many seconds a run of this model and duration usually takes."""
    state = job.state
    if state in (JobState.RESERVED, JobState.UPLOADED, JobState.SUBMITTING):
        return f"{_approved(job)}📤 Sending to fal.ai…"
    if state is JobState.WAITING:
        return (
            f"{_approved(job)}🕒 Waiting for a free slot on this server — {_ahead(job.queue_position, 'in line here')}"
        )
    if state is JobState.AWAITING_APPROVAL:
        return "🛂 Waiting for a moderator's approval; it starts once approved"
    if state is JobState.QUEUED:
        where = f" — {_ahead(job.queue_position, 'at fal')}" if job.queue_position is not None else ""
        then = f", then usually {about(usual)} to make" if usual else ""
        return f"{_approved(job)}⏳ In fal.ai's queue{where}{then}"
    if state is JobState.RUNNING:
        return _running_line(job, usual)
    if state in (JobState.COMPLETED, JobState.DELIVERING):
        return "📦 Done — posting the video…"
    if state is JobState.DELIVERED:
        return f"✅ Done in {elapsed(job)}"
    if state is JobState.FAILED and job.failure is FailureReason.DENIED:
        return f"🚫 Denied by a moderator. {job.duration} s refunded."
    if state is JobState.FAILED:
        return f"❌ Failed: {failure_words(job)}. {job.duration} s refunded."
    if state is JobState.CANCELLED:
        return f"🚫 Cancelled. {job.duration} s refunded."
    if state is JobState.SUBMIT_UNKNOWN:
        return "⚠️ Unknown: the connection to fal.ai broke while sending; a moderator will settle it"
    if state is JobState.UNDELIVERABLE:
        return "⚠️ Made, but Discord wouldn't take the post"
    return "Cancelled"


def _ahead(position: int | None, where: str) -> str:
    """fal's queue is everyone's: "3 ahead at fal" is not a place in this server's line."""
    return f"next {where}" if not position else f"{position} ahead {where}"


def _running_line(job: Job, usual: float | None) -> str:
    line = "🎞️ Generating"
    if job.started_at:
        line += f" since {stamp(job.started_at)}"
        if usual:
            line += f" · usually {about(usual)} · ready {stamp(job.started_at + timedelta(seconds=usual))}"
    elif usual:
        line += f" · usually {about(usual)}"
    if job.cancel_requested_by:
        line += " (cancel requested: fal.ai had started, so it may still be billed)"
    return line


def about(seconds: float) -> str:
    """A run length as people say it: "about 2 min", never a false precision."""
    if seconds < 60:
        return "under a minute"
    minutes = max(1, round(seconds / 60))
    return f"about {minutes} min"


# Ends that leave no doubt fal never made anything. A run that failed at fal may have started unseen between two
# looks (started_at is only what Tween saw), so that one keeps its card and its notice.
_NEVER_STARTED = (FailureReason.DENIED, FailureReason.CANCELLED, FailureReason.STUCK)


def ended_before_fal(job: Job) -> bool:
    """Refused, denied, cancelled or timed out before fal began making it: nothing was made, all refunded."""
    if job.started_at is not None:
        return False
    if job.state is JobState.CANCELLED:
        return True
    return job.state is JobState.FAILED and (job.request_id is None or job.failure in _NEVER_STARTED)


def ended_line(job: Job) -> str:
    """What a card shrinks to when its job ended before fal started: one line, no frames, no buttons."""
    # A first version that never started is just the job: "v1" would promise a video.
    version = version_label(job) if job.version and job.version > 1 else ""
    what = f"Tween #{job.id}{version} by <@{job.user_id}>"
    refund = f"{job.duration} s refunded"
    if job.state is JobState.CANCELLED:
        by = f" by <@{job.cancel_requested_by}>" if job.cancel_requested_by else ""
        return f"-# 🚫 {what} was cancelled{by} before fal.ai started it · {refund}"
    if job.failure is FailureReason.DENIED:
        by = f" by <@{job.decided_by}>" if job.decided_by else ""
        return f"-# 🚫 {what} was denied{by} · {refund}"
    return f"-# ❌ {what} didn't start: {failure_words(job)} · {refund}"


def _approved(job: Job) -> str:
    """Until fal starts it, an approved job's card says it was approved: the member saw it wait for that."""
    return "✅ Approved · " if job.decided_by is not None else ""


def elapsed(job: Job) -> str:
    end = job.finished_at or job.updated_at
    seconds = max(0, int((end - job.created_at).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def failure_words(job: Job) -> str:
    words = FAILURES.get(job.failure, "it failed") if job.failure else "it failed"
    if job.failure_detail and job.failure in (FailureReason.FAL_ERROR, FailureReason.FAL_REJECTED):
        words += f" ({job.failure_detail[:200]})"
    return words


def card_embed(job: Job, usual: float | None = None, *, dollars: bool = True) -> discord.Embed:
    embed = discord.Embed(
        title=f"🎬 Tween #{job.id}{version_label(job)}",
        description=quote(job.prompt),
        colour=COLOURS.get(job.state, 0x5865F2),
    )
    embed.add_field(name="State", value=state_line(job, usual), inline=False)
    embed.add_field(name="Duration", value=price_label(job, dollars=dollars))
    embed.add_field(name="Asked by", value=f"<@{job.user_id}>")
    embed.add_field(name="Started", value=stamp(job.created_at))
    embed.set_image(url=f"attachment://{PREVIEW_NAME}")
    embed.set_footer(text=f"{MARKER.format(id=job.id)} · start → end frames")
    return embed


def result_embed(job: Job, *, link: str | None, dollars: bool = True) -> discord.Embed:
    embed = discord.Embed(
        title=f"🎬 Tween #{job.id}{version_label(job)} is ready", description=quote(job.prompt), colour=0x57F287
    )
    embed.add_field(name="Duration", value=price_label(job, dollars=dollars))
    embed.add_field(name="Asked by", value=f"<@{job.user_id}>")
    embed.add_field(name="Took", value=elapsed(job))
    if job.cancel_requested_by is not None:
        embed.add_field(
            name="Cancel came too late",
            value="fal.ai was already making this video when the cancel arrived, so it was made and charged.",
            inline=False,
        )
    if link:
        name, words = link_note(job)
        embed.add_field(name=name, value=f"{words} [Watch or download it here]({link}).", inline=False)
    embed.set_footer(text=MARKER.format(id=job.id))
    return embed


# Discord shows an attachment's description as its alt text (screen readers say it); it takes up to 1,024 characters.
ALT_PROMPT_CHARS = 300


def preview_alt(job: Job) -> str:
    frames = "The start frame, an arrow, and the end frame" if job.end_url else "The start frame"
    return f"{frames} of Tween #{job.id}. Prompt: {_alt_prompt(job.prompt)}"


def video_alt(job: Job) -> str:
    version = f", version {job.version}" if job.version else ""
    return f"Tween #{job.id}{version}, a {job.duration} second video. Prompt: {_alt_prompt(job.prompt)}"


def _alt_prompt(prompt: str) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= ALT_PROMPT_CHARS else flat[: ALT_PROMPT_CHARS - 1] + "…"


def file_size(size: int) -> str:
    """Sizes of videos and upload limits as Discord itself shows them: MB of 1,048,576 bytes (10 MiB is "10 MB")."""
    return f"{size / 1_048_576:.1f}".removesuffix(".0") + " MB"


def link_note(job: Job) -> tuple[str, str]:
    """Why a result is a link and not a video in the thread, honestly: fal's file, or the server's limit."""
    limit = file_size(job.upload_limit)
    match job.video_problem:
        case "undecodable" | "no_video":
            return "Could not attach the video", (
                "fal.ai's file did not open as a playable video here, so it is not attached. It is fal's file as it "
                "came; it may still play in your browser."
            )
        case "wrong_duration":
            return "Not the length asked for", (
                f"fal.ai sent a video that is not {job.duration} s long, so it is not attached as if it were."
            )
        case "too_big_to_fetch" | "does_not_fit":
            return "Too big to attach", f"The video could not be made to fit this server's {limit} upload limit."
        case _:
            size = f"The video is {file_size(job.video_size)}, and " if job.video_size else ""
            return "Not attached", f"{size}Discord would not take it as a file here ({limit} upload limit)."


def attachment_line(job: Job) -> str | None:
    """For Details: what members got in the thread, when it is not simply fal's file."""
    if job.reencoded and job.video_size and job.posted_size:
        height = f" at {job.posted_height}p" if job.posted_height else ""
        return (
            f"Re-encoded from {file_size(job.video_size)} to {file_size(job.posted_size)}{height} to fit this "
            f"server's {file_size(job.upload_limit)} upload limit. **Full quality** opens fal.ai's original."
        )
    if job.state is JobState.DELIVERED and job.posted_size is None and job.video_url:
        return "Posted as a link: " + link_note(job)[1]
    return None


def failure_text(job: Job, *, dollars: bool = True) -> str:
    """The notice in a job's thread when it ends without a video. Names pinged: the member only (the publisher's
    allowed mentions), so a moderator's name here does not ping them."""
    money = job_cost(job, dollars=dollars)
    if job.failure is FailureReason.DENIED:
        who = f"<@{job.decided_by}>" if job.decided_by else "a moderator"
        return (
            f"🚫 <@{job.user_id}>, Tween #{job.id} was denied by {who}, so it was not made and nothing was "
            f"charged: your {money} were refunded."
        )
    if job.state is JobState.CANCELLED:
        who = f"<@{job.cancel_requested_by}>" if job.cancel_requested_by else "a moderator"
        return (
            f"🚫 Tween #{job.id} was cancelled by {who} before fal.ai started it. "
            f"<@{job.user_id}>, your {money} were refunded."
        )
    if job.state is JobState.UNDELIVERABLE:
        return (
            f"⚠️ <@{job.user_id}>, fal.ai made Tween #{job.id} but no longer hands the video out, so I can't post "
            f"it. fal billed it, so its {money} were charged."
        )
    if job.state is JobState.SUBMIT_UNKNOWN:
        return (
            f"⚠️ <@{job.user_id}>, the connection to fal.ai broke while Tween #{job.id} was being sent, so I "
            f"can't tell whether fal received it. I won't send it twice. Its {job.duration} s stay reserved "
            "until a moderator checks; if a video arrives on fal's side it was billed."
        )
    return f"❌ <@{job.user_id}>, Tween #{job.id} failed: {failure_words(job)}. Your {money} were refunded."


def jump_url(guild_id: int, channel_id: int, message_id: int | None) -> str | None:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}" if message_id else None


def submitted_text(
    job: Job, paid_from: Sequence[PotState] = (), *, dollars: bool = True, locale: str | None = None
) -> str:
    """The private answer to a submit. With the pots the job reserved from, the money is said once: who pays, from
    which pots, and what each has left. `locale`: the member's (None is English)."""
    link = jump_url(job.guild_id, job.channel_id, job.card_message_id)
    where = " " + tr(locale, "message.answers.submitted.follow", "Follow it here: {link}", link=link) if link else ""
    if job.state in (JobState.FAILED, JobState.SUBMIT_UNKNOWN):
        return f"{state_line(job)}{where}"
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


def thread_name(job: Job) -> str:
    words = " ".join(job.prompt.split())
    name = f"Tween #{job.id} · {words}"
    return name if len(name) <= 90 else name[:89] + "…"


# A card shows the start of a prompt: a few lines read at a glance, and Discord caps an embed's description at 4,096
# characters (a 1,250-line prompt, quoted line by line, was refused outright).
CARD_PROMPT_LINES = 8
CARD_PROMPT_CHARS = 1000
SHORTENED = "-# shortened: **Details** shows the whole prompt"


def quote(text: str, limit: int = CARD_PROMPT_CHARS, max_lines: int = CARD_PROMPT_LINES) -> str:
    """A member's prompt as a block quote that shows it as typed: no masked link, heading, list or mention from the
    prompt itself takes effect. Long or many-lined prompts are cut, and say so."""
    lines = [safe_text(line) for line in text.splitlines() if line.strip()] or [""]
    kept: list[str] = []
    cut = False
    for line in lines[:max_lines]:
        room = limit - sum(len(k) + 1 for k in kept) - 2
        if room <= 1:
            break
        cut = len(line) > room
        kept.append("> " + (line[: room - 1] + "…" if cut else line))
    shortened = cut or len(kept) < len(lines)
    return "\n".join(kept + ([SHORTENED] if shortened else []))


def full_prompt(text: str) -> str:
    """The whole prompt for Details: a code block keeps every line and character as typed, with no markdown and
    no per-line prefix eating into the 4,096 characters (prompts are at most limits.max_prompt_chars = 2,500)."""
    return "```\n" + text.replace("```", "`\u200b``")[:4000] + "\n```"


def safe_text(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


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


def watch_label(job: Job) -> str:
    return f"▶ Watch v{job.version}" if job.version else "▶ Watch the video"


def version_label(job: Job) -> str:
    return f" · v{job.version}" if job.version else ""


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
    embed.add_field(name=tr(locale, "message.member.details.state", "State"), value=state_line(job), inline=False)
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
        timings.append(tr(locale, "message.member.details.took", "took {elapsed}", elapsed=elapsed(job)))
    return " · ".join(timings)
