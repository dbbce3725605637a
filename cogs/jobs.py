"""Job cards, threads and delivery: the Discord side of the tracker (implements JobPublisher)."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.coalesce import Coalescer
from bot.errors import DeliveryFailed
from bot.models import GuildPolicy, Job, JobState, LogEvent
from bot.services import CardPlacement
from cogs import render, render_admin
from cogs.buttons import job_view, result_view
from cogs.common import NO_PINGS, public_locale

if TYPE_CHECKING:
    from bot.app import TweenBot

log = logging.getLogger(__name__)


def approvers_only(role_id: int | None) -> discord.AllowedMentions:
    """Ping the server's approver role, if it set one, and nobody else the request names."""
    if role_id is None:
        return NO_PINGS
    return discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False)


def requester_only(job: Job) -> discord.AllowedMentions:
    """Ping the member who asked, and nobody their prompt names."""
    return discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(job.user_id)], replied_user=False)


TOO_LARGE = 40005


def in_place(job: Job) -> bool:
    """The card sits where the result goes (a version inside a session thread, or a channel with no thread): it is
    edited into the result instead of a second message beside it."""
    return job.card_message_id is not None and job.thread_id is None


def watch_view(label: str, url: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=label, url=url))
    return view


class DiscordPublisher:
    """Posts job cards and results to channels and threads by id, never through interaction tokens."""

    def __init__(self, bot: TweenBot) -> None:
        self._bot = bot
        settings = bot.services.settings.discord
        self._archive = settings.thread_auto_archive_minutes
        self._lookback = settings.delivery_lookback
        self._cards: Coalescer[Job] = Coalescer(self._edit_card, settings.card_edit_interval)

    async def _dollars(self, job: Job) -> bool:
        """Whether the member-facing texts of this job's guild show dollars beside seconds."""
        return await self._bot.services.budget.dollars_shown(job.guild_id)

    def _locale(self, job: Job) -> str | None:
        """The server's preferred language: every post about a job is public."""
        return public_locale(self._bot, job.guild_id)

    async def open_card(self, job: Job, preview: bytes) -> CardPlacement:
        channel = self._bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        locale = self._locale(job)
        alt = render.preview_alt(job, locale=locale)
        try:
            card = await channel.send(
                embed=render.card_embed(job, dollars=await self._dollars(job), locale=locale),
                file=discord.File(io.BytesIO(preview), filename=render.PREVIEW_NAME, description=alt),
                view=job_view(job.id, "cancel", locale=locale),
                allowed_mentions=NO_PINGS,
            )
        except discord.HTTPException as exc:
            raise DeliveryFailed(f"cannot post the job card: {exc}", permanent=True) from exc
        thread_id = None
        if job.session_id is not None:
            # A new version inside a session thread: the thread already is the place for its result.
            return CardPlacement(card_message_id=card.id, thread_id=None)
        try:
            # Straight to REST: the message's guild may not be cached yet, and the thread needs none of it.
            thread = await self._bot.http.start_thread_with_message(
                job.channel_id,
                card.id,
                name=render.thread_name(job),
                auto_archive_duration=self._archive,
                rate_limit_per_user=None,
            )
            thread_id = int(thread["id"])
        except discord.HTTPException as exc:
            # Threads may be off here (or we are already inside one): results go to the channel instead.
            log.info("job %d: no thread (%s); results go to channel %d", job.id, exc, job.channel_id)
        return CardPlacement(card_message_id=card.id, thread_id=thread_id)

    async def update_card(self, job: Job) -> None:
        if job.card_message_id is not None:
            await self._cards.push(job.id, job, final=job.state.terminal)

    async def _edit_card(self, job: Job) -> None:
        assert job.card_message_id is not None
        card = self._bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id).get_partial_message(
            job.card_message_id
        )
        if render.ended_before_fal(job):
            # Nothing was made: the card shrinks to a line, and a thread that holds nothing goes away.
            await card.edit(
                content=render.ended_line(job, locale=self._locale(job)),
                embeds=[],
                attachments=[],
                view=None,
                allowed_mentions=NO_PINGS,
            )
            if job.thread_id is not None:
                await self._remove_empty_thread(job)
            return
        if in_place(job) and job.state in (JobState.DELIVERING, JobState.DELIVERED):
            return  # the card has become the result: deliver() wrote it, and a card must not cover it again
        usual = self._bot.services.tracker.usual_run(job.model, job.duration) if job.state.at_fal else None
        embed = render.card_embed(job, usual, dollars=await self._dollars(job), locale=self._locale(job))
        await card.edit(embed=embed, view=self._card_view(job))

    def _card_view(self, job: Job) -> discord.ui.View | None:
        if job.state is JobState.DELIVERED and job.thread_id is not None:
            url = render.jump_url(job.guild_id, job.thread_id, job.result_message_id)
            return watch_view(render.watch_label(job, locale=self._locale(job)), url) if url else None
        if job.state.terminal or job.state is JobState.COMPLETED:
            return None
        return job_view(job.id, "cancel", locale=self._locale(job))

    async def _remove_empty_thread(self, job: Job) -> None:
        assert job.thread_id is not None
        thread = self._bot.get_partial_messageable(job.thread_id, guild_id=job.guild_id)
        try:
            async for _ in thread.history(limit=1):
                return  # members talked in it: theirs to keep
            await self._bot.http.delete_channel(job.thread_id, reason=f"Tween #{job.id} ended before it started")
        except discord.NotFound:
            return
        except discord.HTTPException as exc:
            # Deleting a thread takes Manage Threads; without it the empty thread archives by itself.
            log.info("job %d: could not remove its empty thread %d: %r", job.id, job.thread_id, exc)

    async def find_delivery(self, job: Job) -> int | None:
        channel = self._bot.get_partial_messageable(job.destination_id, guild_id=job.guild_id)
        marker = render.MARKER.format(id=job.id)
        me = self._bot.user.id if self._bot.user else None
        try:
            async for message in channel.history(limit=self._lookback):
                if message.author.id == me and any(marker == (e.footer.text or "") for e in message.embeds):
                    return message.id
        except discord.NotFound:
            return None  # the thread is gone, and with it anything posted there; deliver() tries the channel
        except discord.HTTPException as exc:
            raise DeliveryFailed(f"cannot read the thread back: {exc}") from exc
        return None

    async def deliver(self, job: Job, video: Path | None) -> int:
        if in_place(job):
            try:
                return await self._deliver_in_place(job, video)
            except discord.NotFound as exc:
                log.warning("job %d: its card is gone (%s); posting the result anew", job.id, exc)
            except discord.HTTPException as exc:
                raise DeliveryFailed(f"cannot turn the card into the result: {exc}") from exc
        for place in self._places(job):
            try:
                return await self._deliver_to(place, job, video)
            except discord.NotFound as exc:
                log.warning("job %d: %d is gone (%s); trying the next place", job.id, place, exc)
            except discord.HTTPException as exc:
                raise DeliveryFailed(f"cannot post the video: {exc}") from exc
        raise DeliveryFailed("the thread and the channel are both gone", permanent=True)

    async def _deliver_in_place(self, job: Job, video: Path | None) -> int:
        """One message per version: the card, edited from progress into the result (no ping: the member asked
        for it right here)."""
        assert job.card_message_id is not None
        await self._cards.forget(job.id)
        card = self._bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id).get_partial_message(
            job.card_message_id
        )
        view = await self._result_view(job, video)
        dollars, locale = await self._dollars(job), self._locale(job)
        if video is not None:
            try:
                file = discord.File(
                    video, filename=f"tween-{job.id}.mp4", description=render.video_alt(job, locale=locale)
                )
                embed = render.result_embed(job, link=None, dollars=dollars, locale=locale)
                await card.edit(embed=embed, attachments=[file], view=view)
                return card.id
            except discord.HTTPException as exc:
                if exc.code != TOO_LARGE:
                    raise
                log.info("job %d: Discord refused the file as too large; showing a link", job.id)
                view = await self._result_view(job, None)
        assert job.video_url is not None
        embed = render.result_embed(job, link=job.video_url, dollars=dollars, locale=locale)
        await card.edit(embed=embed, attachments=[], view=view)
        return card.id

    def _places(self, job: Job) -> list[int]:
        """Where a result may go: its thread, and if that was deleted, the channel the job came from."""
        return list(dict.fromkeys([job.destination_id, job.channel_id]))

    async def _deliver_to(self, place: int, job: Job, video: Path | None) -> int:
        channel = self._bot.get_partial_messageable(place, guild_id=job.guild_id)
        content = f"<@{job.user_id}>"
        dollars, locale = await self._dollars(job), self._locale(job)
        if video is not None:
            view = await self._result_view(job, video) if place == job.destination_id else None
            try:
                file = discord.File(
                    video, filename=f"tween-{job.id}.mp4", description=render.video_alt(job, locale=locale)
                )
                embed = render.result_embed(job, link=None, dollars=dollars, locale=locale)
                message = await channel.send(
                    content, embed=embed, file=file, view=view, allowed_mentions=requester_only(job)
                )
                return message.id
            except discord.HTTPException as exc:
                if exc.code != TOO_LARGE:
                    raise
                log.info("job %d: Discord refused the file as too large; posting a link", job.id)
        assert job.video_url is not None
        view = await self._result_view(job, None) if place == job.destination_id else None
        embed = render.result_embed(job, link=job.video_url, dollars=dollars, locale=locale)
        message = await channel.send(content, embed=embed, view=view, allowed_mentions=requester_only(job))
        return message.id

    async def _result_view(self, job: Job, video: Path | None) -> discord.ui.View | None:
        in_session = job.session_id is not None or job.thread_id is not None  # else no session to iterate in
        full_quality = job.video_url if video is not None and job.reencoded else None
        if not in_session and full_quality is None:
            return None
        votes = await self._bot.services.sessions.votes(job.id) if in_session else None
        return result_view(job.id, votes, full_quality=full_quality, seconds=job.duration, locale=self._locale(job))

    async def notify(self, job: Job) -> None:
        if render.ended_before_fal(job) or in_place(job):
            return  # the card itself says how it ended: one message per version
        mentions = NO_PINGS if job.cancel_requested_by == job.user_id else requester_only(job)
        text = render.failure_text(job, dollars=await self._dollars(job), locale=self._locale(job))
        for place in self._places(job):
            channel = self._bot.get_partial_messageable(place, guild_id=job.guild_id)
            try:
                await channel.send(text, allowed_mentions=mentions)
                return
            except discord.HTTPException as exc:
                log.warning("job %d: could not post the notice in %d: %r", job.id, place, exc)

    async def request_approval(self, job: Job, policy: GuildPolicy, preview: bytes) -> int:
        channel = self._bot.get_partial_messageable(policy.log_channel_id or job.channel_id, guild_id=job.guild_id)
        frames = discord.File(io.BytesIO(preview), filename=render.PREVIEW_NAME, description=render.preview_alt(job))
        locale = public_locale(self._bot, job.guild_id)
        try:
            message = await channel.send(
                render_admin.approval_request_text(job, policy.approver_role_id, locale=locale),
                embed=render_admin.approval_embed(job, locale=locale),
                file=frames,
                view=job_view(job.id, "approve", "deny", locale=self._locale(job)),
                allowed_mentions=approvers_only(policy.approver_role_id),
            )
        except discord.HTTPException as exc:
            raise DeliveryFailed(f"cannot post the approval request: {exc}") from exc
        return message.id

    async def close_approval(self, job: Job) -> None:
        if job.approval_message_id is None:
            return
        policy = await self._bot.services.moderation.policy(job.guild_id)
        channel = self._bot.get_partial_messageable(policy.log_channel_id or job.channel_id, guild_id=job.guild_id)
        try:
            await channel.get_partial_message(job.approval_message_id).edit(
                embed=render_admin.approval_embed(job, locale=public_locale(self._bot, job.guild_id)), view=None
            )
        except discord.HTTPException as exc:
            log.warning("job %d: could not close the approval request: %r", job.id, exc)

    async def post_log(self, channel_id: int, event: LogEvent) -> None:
        tier = await self._bot.services.budget.price_for(event.guild_id)
        channel = self._bot.get_partial_messageable(channel_id, guild_id=event.guild_id)
        text = render_admin.log_text(event, tier.price_per_second, locale=public_locale(self._bot, event.guild_id))
        await channel.send(text, allowed_mentions=NO_PINGS)

    async def close(self) -> None:
        await self._cards.close()


class JobsCog(commands.Cog):
    def __init__(self, bot: TweenBot) -> None:
        self.bot = bot
        self.publisher = DiscordPublisher(bot)

    async def cog_load(self) -> None:
        self.bot.services.attach_publisher(self.publisher)

    async def cog_unload(self) -> None:
        self.bot.services.attach_publisher(None)
        await self.publisher.close()


async def setup(bot: TweenBot) -> None:
    await bot.add_cog(JobsCog(bot))
