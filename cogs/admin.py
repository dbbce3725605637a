"""/tween-admin: budgets, access rules and settings for members with Manage Server.

Discord hides the group from others (default permissions), and the moderation service checks again at run time,
because server admins can change who sees a command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import InputRejected, NotModerator
from bot.i18n import tr
from bot.models import GuildPolicy, PotScope
from bot.pricing import format_usd, price_micros
from bot.tiers import Tier
from cogs.common import answer, private_locale, requester_from
from cogs.render_admin import period_change_text
from cogs.render_settings import policy_text, shown_words

if TYPE_CHECKING:
    from bot.app import TweenBot

Seconds = app_commands.Range[int, 0, 1_000_000]
MANAGE = discord.Permissions(manage_guild=True)


def tier_choices(tiers: list[Tier], typed: str = "") -> list[app_commands.Choice[str]]:
    """Every configured tier with its price per second; those whose name starts with what was typed, or all."""
    choices = [
        app_commands.Choice(name=f"{t.name} ({format_usd(price_micros(1, t.price_per_second))}/s)", value=t.name)
        for t in tiers
    ]
    matching = [c for c in choices if c.value.startswith(typed.strip().casefold())]
    return (matching or choices)[:25]


class AdminCog(commands.Cog):
    admin = app_commands.Group(
        name="tween-admin",
        description="Tween budgets and moderation (Manage Server)",
        guild_only=True,
        default_permissions=MANAGE,
    )
    budget = app_commands.Group(name="budget", description="Video-second budgets", parent=admin)
    access = app_commands.Group(
        name="access", description="Who may make videos, where and with which words", parent=admin
    )
    settings = app_commands.Group(
        name="settings", description="Tier, approvals, caps and the log channel", parent=admin
    )

    def __init__(self, bot: TweenBot) -> None:
        self.bot = bot
        self.moderation = bot.services.moderation

    async def _done(self, interaction: discord.Interaction[TweenBot], policy: GuildPolicy, what: str) -> None:
        """`what` is already in the moderator's language; the settings follow it in the same language."""
        tier = await self.bot.services.budget.price_for(policy.guild_id)
        settings = policy_text(policy, tier.price_per_second, locale=private_locale(interaction))
        await answer(interaction, f"✅ {what}\n\n{settings}")

    # -- budget ------------------------------------------------------------------------------------------

    @budget.command(name="set", description="Set the server's video-seconds per period")
    @app_commands.describe(
        seconds="Video-seconds per period", period="How often it resets", reset_hour="UTC hour the period starts (0-23)"
    )
    async def budget_set(
        self,
        interaction: discord.Interaction[TweenBot],
        seconds: Seconds,
        period: Literal["day", "week", "month"] | None = None,
        reset_hour: app_commands.Range[int, 0, 23] | None = None,
    ) -> None:
        values: dict[str, object] = {"guild_seconds": seconds}
        if period:
            values["period"] = period
        if reset_hour is not None:
            values["reset_hour"] = reset_hour
        change = await self.moderation.configure_budget(requester_from(interaction), **values)
        policy = change.policy
        locale = private_locale(interaction)
        words = period_change_text(
            policy.period, policy.reset_hour, change.before, change.after, change.price_per_second, locale=locale
        )
        done = tr(locale, "message.moderation.done.budget", "Budget updated.\n{change}", change=words)
        await self._done(interaction, policy, done)

    @budget.command(name="topup", description="Add one-off seconds to the server's budget for this period")
    @app_commands.describe(seconds="Video-seconds to add; they last until the period resets")
    async def budget_topup(
        self, interaction: discord.Interaction[TweenBot], seconds: app_commands.Range[int, 1, 100_000]
    ) -> None:
        who = requester_from(interaction)
        pot = await self.moderation.add_seconds(who, PotScope.GUILD, who.guild_id, seconds)
        text = tr(
            private_locale(interaction),
            "message.moderation.done.topup",
            "✅ Added {seconds} s. The server now has {left} s left this period.",
            seconds=seconds,
            left=pot.remaining_seconds,
        )
        await answer(interaction, text)

    @budget.command(name="member", description="Set each member's default allowance per period")
    @app_commands.describe(seconds="Video-seconds each member may use per period, unless a role gives more")
    async def budget_member(self, interaction: discord.Interaction[TweenBot], seconds: Seconds) -> None:
        policy = await self.moderation.configure(
            requester_from(interaction), "member_allowance", member_seconds=seconds
        )
        await self._done(
            interaction,
            policy,
            tr(private_locale(interaction), "message.moderation.done.member", "Member allowance updated."),
        )

    @budget.command(name="role", description="Give a role its own allowance (leave seconds empty to remove it)")
    @app_commands.describe(
        role="The role whose members get this allowance",
        seconds="Video-seconds per period for its members; leave empty to remove the role's allowance",
    )
    async def budget_role(
        self, interaction: discord.Interaction[TweenBot], role: discord.Role, seconds: Seconds | None = None
    ) -> None:
        who = requester_from(interaction)
        if seconds is None:
            policy = await self.moderation.remove_entry(who, "role_allowances", role.id)
        else:
            policy = await self.moderation.set_entry(who, "role_allowances", role.id, seconds)
        done = tr(
            private_locale(interaction),
            "message.moderation.done.role",
            "Allowance for {role} updated.",
            role=role.mention,
        )
        await self._done(interaction, policy, done)

    @budget.command(name="grant", description="Give a member extra seconds for this period")
    @app_commands.describe(member="Who gets the extra seconds", seconds="Extra video-seconds, for this period only")
    async def budget_grant(
        self,
        interaction: discord.Interaction[TweenBot],
        member: discord.Member,
        seconds: app_commands.Range[int, 1, 100_000],
    ) -> None:
        pot = await self.moderation.add_seconds(requester_from(interaction), PotScope.MEMBER, member.id, seconds)
        text = tr(
            private_locale(interaction),
            "message.moderation.done.grant",
            "✅ {member} got {seconds} s extra; {left} s left this period.",
            member=member.mention,
            seconds=seconds,
            left=pot.remaining_seconds,
        )
        await answer(interaction, text)

    @budget.command(name="channel", description="Give a channel its own pot (leave seconds empty to remove it)")
    @app_commands.describe(
        channel="The channel that gets its own pot",
        seconds="Video-seconds per period for videos made there; leave empty to remove the pot",
    )
    async def budget_channel(
        self, interaction: discord.Interaction[TweenBot], channel: discord.TextChannel, seconds: Seconds | None = None
    ) -> None:
        who = requester_from(interaction)
        if seconds is None:
            policy = await self.moderation.remove_entry(who, "channel_budgets", channel.id)
        else:
            policy = await self.moderation.set_entry(who, "channel_budgets", channel.id, seconds)
        done = tr(
            private_locale(interaction),
            "message.moderation.done.pot",
            "Pot for {channel} updated.",
            channel=channel.mention,
        )
        await self._done(interaction, policy, done)

    # -- access ------------------------------------------------------------------------------------------

    @access.command(name="pause", description="Stop new videos (running ones finish)")
    async def access_pause(self, interaction: discord.Interaction[TweenBot]) -> None:
        policy = await self.moderation.configure(requester_from(interaction), "pause", paused=1)
        await self._done(
            interaction, policy, tr(private_locale(interaction), "message.moderation.done.pause", "Generation paused.")
        )

    @access.command(name="resume", description="Allow new videos again")
    async def access_resume(self, interaction: discord.Interaction[TweenBot]) -> None:
        policy = await self.moderation.configure(requester_from(interaction), "resume", paused=0)
        await self._done(
            interaction,
            policy,
            tr(private_locale(interaction), "message.moderation.done.resume", "Generation resumed."),
        )

    @access.command(name="block", description="Stop a member from making videos")
    @app_commands.describe(member="Who may no longer make videos", reason="Shown to the member when they try")
    async def access_block(
        self,
        interaction: discord.Interaction[TweenBot],
        member: discord.Member,
        reason: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        policy = await self.moderation.block(requester_from(interaction), member.id, reason)
        done = tr(
            private_locale(interaction),
            "message.moderation.done.block",
            "{member} is blocked from /tween.",
            member=member.mention,
        )
        await self._done(interaction, policy, done)

    @access.command(name="unblock", description="Let a blocked member make videos again")
    @app_commands.describe(member="The blocked member")
    async def access_unblock(self, interaction: discord.Interaction[TweenBot], member: discord.Member) -> None:
        policy = await self.moderation.unblock(requester_from(interaction), member.id)
        done = tr(
            private_locale(interaction),
            "message.moderation.done.unblock",
            "{member} may use /tween again.",
            member=member.mention,
        )
        await self._done(interaction, policy, done)

    @access.command(name="channel", description="Allow /tween in a channel (or stop allowing it)")
    @app_commands.describe(
        channel="The channel to allow or stop allowing",
        allowed="True to allow /tween there (the default), False to stop allowing it",
    )
    async def access_channel(
        self, interaction: discord.Interaction[TweenBot], channel: discord.TextChannel, allowed: bool = True
    ) -> None:
        who = requester_from(interaction)
        if allowed:
            policy = await self.moderation.set_entry(who, "tween_channels", channel.id)
        else:
            policy = await self.moderation.remove_entry(who, "tween_channels", channel.id)
        done = tr(
            private_locale(interaction),
            "message.moderation.done.channels",
            "Channels updated (no channels listed means any channel).",
        )
        await self._done(interaction, policy, done)

    @access.command(name="word", description="Ban a word in prompts (or lift the ban)")
    @app_commands.describe(
        word="The word, in any letter case", banned="True to ban it (the default), False to lift the ban"
    )
    async def access_word(
        self, interaction: discord.Interaction[TweenBot], word: app_commands.Range[str, 1, 50], banned: bool = True
    ) -> None:
        clean = word.strip().casefold()
        if not clean:
            raise InputRejected("empty_word")
        who = requester_from(interaction)
        if banned:
            policy = await self.moderation.set_entry(who, "banned_words", clean)
        else:
            policy = await self.moderation.remove_entry(who, "banned_words", clean)
        await self._done(
            interaction,
            policy,
            tr(private_locale(interaction), "message.moderation.done.words", "Banned words updated."),
        )

    # -- settings ----------------------------------------------------------------------------------------

    @settings.command(name="show", description="Show every Tween setting for this server")
    async def settings_show(self, interaction: discord.Interaction[TweenBot]) -> None:
        who = requester_from(interaction)
        if not who.is_moderator:
            raise NotModerator()
        policy = await self.moderation.policy(who.guild_id)
        tier = await self.bot.services.budget.price_for(who.guild_id)
        await answer(interaction, policy_text(policy, tier.price_per_second, locale=private_locale(interaction)))

    @settings.command(name="tier", description="Pick the model tier (the list shows each tier's price per second)")
    @app_commands.describe(tier="A tier from the bot's configuration")
    async def settings_tier(
        self, interaction: discord.Interaction[TweenBot], tier: app_commands.Range[str, 1, 32]
    ) -> None:
        policy = await self.moderation.configure(requester_from(interaction), "tier", tier=tier)
        done = tr(
            private_locale(interaction), "message.moderation.done.tier", "Model tier set to {tier}.", tier=policy.tier
        )
        await self._done(interaction, policy, done)

    @settings_tier.autocomplete("tier")
    async def _tier_suggestions(
        self, interaction: discord.Interaction[TweenBot], typed: str
    ) -> list[app_commands.Choice[str]]:
        return tier_choices(list(self.bot.services.settings.tiers.values()), str(typed))

    @settings.command(name="log", description="Where audits, approvals and warnings go (empty: none)")
    @app_commands.describe(channel="The channel for the log; leave empty to turn the log off")
    async def settings_log(
        self, interaction: discord.Interaction[TweenBot], channel: discord.TextChannel | None = None
    ) -> None:
        channel_id = channel.id if channel else None
        policy = await self.moderation.configure(requester_from(interaction), "log_channel", log_channel_id=channel_id)
        await self._done(
            interaction, policy, tr(private_locale(interaction), "message.moderation.done.log", "Log channel updated.")
        )

    @settings.command(name="approval", description="Which jobs need a moderator's approval")
    @app_commands.describe(
        policy="off, jobs over N seconds, members without a role, or always",
        seconds="For 'over': jobs longer than this",
        role="For 'without_role': members with it skip approval",
    )
    async def settings_approval(
        self,
        interaction: discord.Interaction[TweenBot],
        policy: Literal["off", "over", "without_role", "always"],
        seconds: app_commands.Range[int, 3, 10] | None = None,
        role: discord.Role | None = None,
    ) -> None:
        if policy == "over" and seconds is None:
            raise InputRejected("approval_needs_seconds")
        if policy == "without_role" and role is None:
            raise InputRejected("approval_needs_role")
        updated = await self.moderation.configure(
            requester_from(interaction),
            "approval",
            approval=policy,
            approval_seconds=seconds,
            approval_role_id=role.id if role else None,
        )
        await self._done(
            interaction,
            updated,
            tr(private_locale(interaction), "message.moderation.done.approval", "Approval policy updated."),
        )

    @settings.command(name="approver", description="A role pinged with each approval request (empty: nobody)")
    @app_commands.describe(role="Pinged, and only it, when a job waits for approval")
    async def settings_approver(
        self, interaction: discord.Interaction[TweenBot], role: discord.Role | None = None
    ) -> None:
        role_id = role.id if role else None
        policy = await self.moderation.configure(requester_from(interaction), "approver", approver_role_id=role_id)
        locale = private_locale(interaction)
        if role:
            done = tr(
                locale, "message.moderation.done.approver", "Approval requests now ping {role}.", role=role.mention
            )
        else:
            done = tr(locale, "message.moderation.done.approver_none", "Approval requests now ping nobody.")
        await self._done(interaction, policy, done)

    @settings.command(name="prices", description="Whether members see dollars beside seconds (moderators always do)")
    @app_commands.describe(dollars="Off: members see seconds only, on buttons, cards, answers and /quota")
    async def settings_prices(self, interaction: discord.Interaction[TweenBot], dollars: bool) -> None:
        who = requester_from(interaction)
        policy = await self.moderation.configure(who, "prices", seconds_only=int(not dollars))
        locale = private_locale(interaction)
        shown = shown_words(not dollars, locale)
        await self._done(
            interaction, policy, tr(locale, "message.moderation.done.prices", "Members now see {shown}.", shown=shown)
        )

    @settings.command(name="caps", description="How many jobs may run at fal at once")
    @app_commands.describe(
        per_member="Jobs one member may have running at once", per_server="Jobs the whole server may have running"
    )
    async def settings_caps(
        self,
        interaction: discord.Interaction[TweenBot],
        per_member: app_commands.Range[int, 1, 20],
        per_server: app_commands.Range[int, 1, 50],
    ) -> None:
        policy = await self.moderation.configure(
            requester_from(interaction), "caps", member_concurrency=per_member, guild_concurrency=per_server
        )
        await self._done(
            interaction,
            policy,
            tr(private_locale(interaction), "message.moderation.done.caps", "Concurrency caps updated."),
        )

    @settings.command(name="settle", description="Settle a job whose submit fate was unknown (check fal first)")
    @app_commands.describe(job="The job number", billed="Did fal bill it? (see your fal dashboard)")
    async def settings_settle(
        self, interaction: discord.Interaction[TweenBot], job: app_commands.Range[int, 1], billed: bool
    ) -> None:
        settled = await self.moderation.settle(requester_from(interaction), job, billed=billed)
        values = {"id": settled.id, "seconds": settled.duration}
        if billed:
            text = tr(
                private_locale(interaction),
                "message.moderation.done.charged",
                "✅ Tween #{id} settled: {seconds} s charged.",
                **values,
            )
        else:
            text = tr(
                private_locale(interaction),
                "message.moderation.done.refunded",
                "✅ Tween #{id} settled: {seconds} s refunded.",
                **values,
            )
        await answer(interaction, text)


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(AdminCog(bot))
