"""Pure rendering of the log channel's line for a settings change, in the server's language: each a whole sentence,
with what the setting was. No I/O."""

from __future__ import annotations

from bot.i18n import tr


def period_word(period: object, locale: str | None) -> str:
    """A budget period as a noun after "per"/"pro"/"por": day, week, month."""
    if period == "day":
        return tr(locale, "message.moderation.period.day", "day")
    if period == "week":
        return tr(locale, "message.moderation.period.week", "week")
    if period == "month":
        return tr(locale, "message.moderation.period.month", "month")
    return str(period)


def none_word(locale: str | None) -> str:
    return tr(locale, "message.moderation.none", "none")


def _secs(value: object, period: object, locale: str | None) -> str:
    if value is None:
        return none_word(locale)
    if period in ("day", "week", "month"):
        return tr(
            locale,
            "message.moderation.seconds_per",
            "{seconds} s a {period}",
            seconds=value,
            period=period_word(period, locale),
        )
    return f"{value} s"


def _channel(value: object, locale: str | None) -> str:
    return none_word(locale) if value is None else f"<#{value}>"


def _approval_words(policy: object, seconds: object, role_id: object, locale: str | None) -> str:
    if policy == "always":
        return tr(locale, "message.moderation.approval.always", "every job needs a moderator's approval")
    if policy == "over":
        return tr(
            locale,
            "message.moderation.approval.over",
            "jobs over {seconds} s need a moderator's approval",
            seconds=seconds,
        )
    if policy == "without_role":
        return tr(
            locale,
            "message.moderation.approval.without_role",
            "members without {role} need a moderator's approval",
            role=f"<@&{role_id}>",
        )
    return tr(locale, "message.moderation.approval.off", "no job needs approval")


def shown_words(seconds_only: object, locale: str | None) -> str:
    if seconds_only:
        return tr(locale, "message.moderation.shown.seconds_only", "seconds only, no dollars")
    return tr(locale, "message.moderation.shown.both", "seconds and dollars")


def setting_line(action: str, detail: dict[str, object], who: str, locale: str | None) -> str | None:
    """The whole log line for a settings or list change, with what it was; None for an action it does not know."""
    raw = detail.get("was")
    was: dict[str, object] = raw if isinstance(raw, dict) else {}
    period = detail.get("period")
    match action:
        case "pause":
            return tr(locale, "message.moderation.log.pause", "🛠️ {who} paused video generation.", who=who)
        case "resume":
            return tr(locale, "message.moderation.log.resume", "🛠️ {who} resumed video generation.", who=who)
        case "budget" if detail.get("reset_hour") is not None:
            return tr(
                locale,
                "message.moderation.log.budget_hour",
                "🛠️ {who} set the server budget to {budget}, resetting at {hour}:00 UTC (was: {was}).",
                who=who,
                budget=_secs(detail.get("guild_seconds"), period, locale),
                hour=detail["reset_hour"],
                was=_secs(was.get("guild_seconds"), was.get("period", period), locale),
            )
        case "budget":
            return tr(
                locale,
                "message.moderation.log.budget",
                "🛠️ {who} set the server budget to {budget} (was: {was}).",
                who=who,
                budget=_secs(detail.get("guild_seconds"), period, locale),
                was=_secs(was.get("guild_seconds"), was.get("period", period), locale),
            )
        case "member_allowance":
            return tr(
                locale,
                "message.moderation.log.member_allowance",
                "🛠️ {who} set each member's allowance to {seconds} (was: {was}).",
                who=who,
                seconds=_secs(detail.get("member_seconds"), period, locale),
                was=_secs(was.get("member_seconds"), period, locale),
            )
        case "tier":
            return tr(
                locale,
                "message.moderation.log.tier",
                "🛠️ {who} switched the model tier to {tier} (was: {was}).",
                who=who,
                tier=detail.get("tier"),
                was=was.get("tier") or tr(locale, "message.moderation.unknown", "unknown"),
            )
    return _more_settings(action, detail, was, who, locale)


def _more_settings(
    action: str, detail: dict[str, object], was: dict[str, object], who: str, locale: str | None
) -> str | None:
    match action:
        case "log_channel" if detail.get("log_channel_id") is None:
            return tr(
                locale,
                "message.moderation.log.log_off",
                "🛠️ {who} turned off the moderator log (was: {was}).",
                who=who,
                was=_channel(was.get("log_channel_id"), locale),
            )
        case "log_channel":
            return tr(
                locale,
                "message.moderation.log.log_moved",
                "🛠️ {who} moved the moderator log to {channel} (was: {was}).",
                who=who,
                channel=_channel(detail.get("log_channel_id"), locale),
                was=_channel(was.get("log_channel_id"), locale),
            )
        case "approval":
            return tr(
                locale,
                "message.moderation.log.approval",
                "🛠️ {who} changed approvals: {now} (was: {was}).",
                who=who,
                now=_approval_words(
                    detail.get("approval"), detail.get("approval_seconds"), detail.get("approval_role_id"), locale
                ),
                was=_approval_words(
                    was.get("approval"), was.get("approval_seconds"), was.get("approval_role_id"), locale
                ),
            )
        case "approver":
            return _approver(detail.get("approver_role_id"), was.get("approver_role_id"), who, locale)
        case "prices":
            return tr(
                locale,
                "message.moderation.log.prices",
                "🛠️ {who} made Tween show members {shown} (was: {was}).",
                who=who,
                shown=shown_words(detail.get("seconds_only"), locale),
                was=tr(locale, "message.moderation.shown.seconds", "seconds only")
                if was.get("seconds_only")
                else shown_words(False, locale),
            )
        case "caps":
            return tr(
                locale,
                "message.moderation.log.caps",
                "🛠️ {who} set the concurrency caps to {member} per member and {server} for the server "
                "(was: {was_member} and {was_server}).",
                who=who,
                member=detail.get("member_concurrency"),
                server=detail.get("guild_concurrency"),
                was_member=was.get("member_concurrency"),
                was_server=was.get("guild_concurrency"),
            )
    return _access(action, detail, who, locale)


def _approver(role: object, old: object, who: str, locale: str | None) -> str:
    nobody = tr(locale, "message.moderation.nobody", "nobody")
    was = f"<@&{old}>" if old else nobody
    if role:
        return tr(
            locale,
            "message.moderation.log.approver_set",
            "🛠️ {who} changed who is pinged: Tween now pings {role} with each approval request (was: {was}).",
            who=who,
            role=f"<@&{role}>",
            was=was,
        )
    return tr(
        locale,
        "message.moderation.log.approver_none",
        "🛠️ {who} changed who is pinged: Tween now pings nobody with approval requests (was: {was}).",
        who=who,
        was=was,
    )


def _access(action: str, detail: dict[str, object], who: str, locale: str | None) -> str | None:
    member = f"<@{detail.get('member')}>"
    match action:
        case "unblock":
            return tr(
                locale,
                "message.moderation.log.unblock",
                "🛠️ {who} unblocked {member}; they can use Tween again.",
                who=who,
                member=member,
            )
        case "block" if detail.get("reason"):
            return tr(
                locale,
                "message.moderation.log.block_reason",
                "🛠️ {who} blocked {member} from Tween (reason: {reason}).",
                who=who,
                member=member,
                reason=detail.get("reason"),
            )
        case "block":
            return tr(
                locale, "message.moderation.log.block", "🛠️ {who} blocked {member} from Tween.", who=who, member=member
            )
    return _list_line(action, detail, who, locale)


def _list_line(action: str, detail: dict[str, object], who: str, locale: str | None) -> str | None:
    key, period = detail.get("key"), detail.get("period")
    v = {"who": who, "was": _secs(detail.get("was"), period, locale)}
    role, channel, seconds = f"<@&{key}>", _channel(key, locale), _secs(detail.get("value"), period, locale)
    match action:
        case "role_allowances.set":
            return tr(
                locale,
                "message.moderation.log.role_set",
                "🛠️ {who} gave {role} {seconds} (was: {was}).",
                role=role,
                seconds=seconds,
                **v,
            )
        case "role_allowances.remove":
            return tr(
                locale,
                "message.moderation.log.role_remove",
                "🛠️ {who} removed {role}'s own allowance; it gets the default share (was: {was}).",
                role=role,
                **v,
            )
        case "channel_budgets.set":
            return tr(
                locale,
                "message.moderation.log.channel_set",
                "🛠️ {who} gave {channel} its own pot of {seconds} (was: {was}).",
                channel=channel,
                seconds=seconds,
                **v,
            )
        case "channel_budgets.remove":
            return tr(
                locale,
                "message.moderation.log.channel_remove",
                "🛠️ {who} removed {channel}'s own pot; it uses the server budget (was: {was}).",
                channel=channel,
                **v,
            )
    return _word_line(action, key, who, channel, locale)


def _word_line(action: str, key: object, who: str, channel: str, locale: str | None) -> str | None:
    match action:
        case "tween_channels.set":
            return tr(
                locale,
                "message.moderation.log.tween_channel_set",
                "🛠️ {who} allowed /tween in {channel}.",
                who=who,
                channel=channel,
            )
        case "tween_channels.remove":
            return tr(
                locale,
                "message.moderation.log.tween_channel_remove",
                "🛠️ {who} stopped allowing /tween in {channel}.",
                who=who,
                channel=channel,
            )
        case "banned_words.set":
            return tr(
                locale,
                "message.moderation.log.word_ban",
                "🛠️ {who} banned the word “{word}” in prompts.",
                who=who,
                word=key,
            )
        case "banned_words.remove":
            return tr(
                locale,
                "message.moderation.log.word_unban",
                "🛠️ {who} unbanned the word “{word}” in prompts.",
                who=who,
                word=key,
            )
    return None
