"""Pure rendering of a server's Tween settings for /tween-admin answers, in the moderator's language. No I/O."""

from __future__ import annotations

from bot.i18n import tr
from bot.models import GuildPolicy
from cogs.render_admin import seconds_and_dollars
from cogs.render_settings_log import none_word, period_word, shown_words


def _approval(policy: GuildPolicy, locale: str | None) -> str:
    """The approval rule by the names the command's choices use ("over 5 s")."""
    match policy.approval.value:
        case "over":
            return tr(
                locale, "message.moderation.settings.approval_over", "over {seconds} s", seconds=policy.approval_seconds
            )
        case "without_role":
            role = f"<@&{policy.approval_role_id}>"
            return tr(locale, "message.moderation.settings.approval_without_role", "without_role {role}", role=role)
        case "always":
            return tr(locale, "message.moderation.settings.approval_always", "always")
    return tr(locale, "message.moderation.settings.approval_off", "off")


def policy_text(policy: GuildPolicy, price: float, *, locale: str | None = None) -> str:
    none = none_word(locale)
    roles = ", ".join(f"<@&{r}> {s} s" for r, s in policy.role_allowances.items()) or none
    channels = ", ".join(f"<#{c}> {s} s" for c, s in policy.channel_budgets.items()) or none
    anywhere = tr(locale, "message.moderation.settings.any_channel", "any channel")
    where = ", ".join(f"<#{c}>" for c in sorted(policy.tween_channels)) or anywhere
    nobody = tr(locale, "message.moderation.nobody", "nobody")
    yes, no = tr(locale, "message.moderation.yes", "yes"), tr(locale, "message.moderation.no", "no")
    log_channel = f"<#{policy.log_channel_id}>" if policy.log_channel_id else none
    lines = [
        tr(
            locale,
            "message.moderation.settings.budget",
            "**Budget:** {budget} per {period} (resets {hour}:00 UTC) · **member default:** {member} s",
            budget=seconds_and_dollars(policy.guild_seconds, price),
            period=period_word(policy.period, locale),
            hour=f"{policy.reset_hour:02d}",
            member=policy.member_seconds,
        ),
        tr(locale, "message.moderation.settings.roles", "**Role allowances:** {roles}", roles=roles),
        tr(locale, "message.moderation.settings.channels", "**Channel pots:** {channels}", channels=channels),
        tr(locale, "message.moderation.settings.where", "**/tween allowed in:** {where}", where=where),
        tr(
            locale,
            "message.moderation.settings.state",
            "**Paused:** {paused} · **tier:** {tier} · **approval:** {approval}",
            paused=yes if policy.paused else no,
            tier=policy.tier,
            approval=_approval(policy, locale),
        ),
        tr(
            locale,
            "message.moderation.settings.approver",
            "**Approval requests ping:** {approver} · **members see:** {money}",
            approver=f"<@&{policy.approver_role_id}>" if policy.approver_role_id else nobody,
            money=shown_words(policy.seconds_only, locale),
        ),
        tr(
            locale,
            "message.moderation.settings.caps",
            "**Caps:** {member} per member, {server} per server",
            member=policy.member_concurrency,
            server=policy.guild_concurrency,
        ),
        tr(locale, "message.moderation.settings.log", "**Log channel:** {channel}", channel=log_channel),
        tr(
            locale,
            "message.moderation.settings.words",
            "**Banned words:** {words}",
            words=", ".join(f"`{w}`" for w in policy.banned_words) or none,
        ),
    ]
    return "\n".join(lines)
