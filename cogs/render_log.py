"""Pure rendering of the moderator log channel's lines, in the server's language. No I/O."""

from __future__ import annotations

from bot.i18n import tr
from bot.models import Job, JobState, LogEvent
from bot.pricing import cost, format_usd, price_micros
from cogs.render import price_label, stamp, state_line
from cogs.render_settings_log import setting_line


def log_text(event: LogEvent, price: float, *, locale: str | None = None) -> str:
    """One line in words for the log channel. Mentions render as names; the publisher posts them without pings."""
    who = f"<@{event.actor_id}>" if event.actor_id else "Tween"
    detail = event.detail or {}
    if event.action == "job" and event.job is not None:
        return _job_line(event.job, locale)
    if event.action == "budget_warning" and event.pot is not None:
        pot = event.pot
        left = cost(pot.remaining_seconds, price_micros(pot.remaining_seconds, price))
        return tr(
            locale,
            "message.moderation.log.budget_warning",
            "⚠️ The server has used {used} of {total} s ({share}) this period; {left} left until {end}.",
            used=pot.spent_seconds + pot.reserved_seconds,
            total=pot.total_seconds,
            share=f"{pot.used_fraction:.0%}",
            left=left,
            end=stamp(pot.period_end),
        )
    if event.action == "fal_account":
        return _fal_account(detail, locale)
    if event.action == "topup":
        return tr(
            locale,
            "message.moderation.log.topup",
            "➕ {who} gave the server {seconds} extra seconds for this period.",
            who=who,
            seconds=detail.get("seconds"),
        )
    if event.action == "grant":
        return tr(
            locale,
            "message.moderation.log.grant",
            "➕ {who} gave {member} {seconds} extra seconds for this period.",
            who=who,
            member=f"<@{detail.get('subject')}>",
            seconds=detail.get("seconds"),
        )
    if event.job is not None:
        return _job_decision(event, who, event.job, detail, locale)
    line = setting_line(event.action, detail, who, locale)
    if line is not None:
        return line
    return tr(
        locale,
        "message.moderation.log.setting_unknown",
        "🛠️ {who} changed a Tween setting ({action}).",
        who=who,
        action=event.action,
    )


def _job_line(job: Job, locale: str | None) -> str:
    values = {"id": job.id, "member": f"<@{job.user_id}>", "price": price_label(job)}
    if job.state is JobState.DELIVERED:
        return tr(
            locale,
            "message.moderation.log.job_delivered",
            "🎬 Job #{id} by {member} · {price} · delivered, {charged} charged",
            charged=format_usd(job.price_micros),
            **values,
        )
    if job.state is JobState.UNDELIVERABLE:
        return tr(
            locale,
            "message.moderation.log.job_undeliverable",
            "🎬 Job #{id} by {member} · {price} · made but not posted, {charged} charged",
            charged=format_usd(job.price_micros),
            **values,
        )
    return tr(
        locale,
        "message.moderation.log.job",
        "🎬 Job #{id} by {member} · {price} · {state}",
        state=state_line(job, locale=locale),
        **values,
    )


def _fal_account(detail: dict[str, object], locale: str | None) -> str:
    if detail.get("status") == 401:
        return tr(
            locale,
            "message.moderation.log.fal_key",
            "🔑 fal.ai rejected its API key ({detail}), so Tween can't make videos for now. Members are told nothing "
            "was charged; new videos pause until whoever runs Tween fixes the fal account.",
            detail=detail.get("detail"),
        )
    return tr(
        locale,
        "message.moderation.log.fal_locked",
        "🔑 fal.ai locked its account ({detail}), so Tween can't make videos for now. Members are told nothing "
        "was charged; new videos pause until whoever runs Tween fixes the fal account.",
        detail=detail.get("detail"),
    )


def _job_decision(event: LogEvent, who: str, job: Job, detail: dict[str, object], locale: str | None) -> str:
    values = {"who": who, "id": job.id, "member": f"<@{job.user_id}>", "price": price_label(job)}
    if event.action == "approve":
        return tr(
            locale, "message.moderation.log.approve", "✅ {who} approved job #{id} by {member} ({price}).", **values
        )
    if event.action == "deny":
        return tr(
            locale,
            "message.moderation.log.deny",
            "🚫 {who} denied job #{id} by {member} ({price}); the member's {seconds} s were refunded.",
            seconds=job.duration,
            **values,
        )
    if event.action == "cancel":
        return tr(
            locale,
            "message.moderation.log.cancel",
            "✖️ {who} cancelled job #{id} by {member} ({price}) before it started; the {seconds} s were refunded.",
            seconds=job.duration,
            **values,
        )
    if event.action == "settle" and detail.get("billed"):
        return tr(
            locale,
            "message.moderation.log.settle_billed",
            "🧾 {who} settled job #{id} by {member} ({price}): fal billed, so it stays charged.",
            **values,
        )
    if event.action == "settle":
        return tr(
            locale,
            "message.moderation.log.settle_refunded",
            "🧾 {who} settled job #{id} by {member} ({price}): fal not billed, so it was refunded.",
            **values,
        )
    return tr(
        locale,
        "message.moderation.log.job_other",
        "🛂 {who} changed job #{id} by {member} ({price}) ({action}).",
        action=event.action,
        **values,
    )
