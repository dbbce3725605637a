"""How the cast acts: slash commands, button presses and the Remix form through the fake Discord, each answer
waited for (never slept for), each step written into the recording. A command or button this version of the bot
does not have is skipped with a note, so the story runs against any main."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from discord import app_commands

from bot.app import TweenBot
from bot.models import JobState
from scripts.story.record import LOADING, Recording
from scripts.story.transcript import thread_name
from scripts.story.world import Stage
from tests.fakes.discord_fake import FakeChannel, FakeInteraction, FakeMessage, FakeUser, RoleRef
from tests.support.waiting import read_until, wait_until

UPDATE_MESSAGE = 7
# A job waiting for a moderator is settled as far as the story goes: the moderator acts in a later step.
STILL_MOVING = [s for s in JobState if not s.terminal and s is not JobState.AWAITING_APPROVAL]
SETTLE_TIMEOUT = 30.0
QUIET = 0.4  # the bot is idle once the fake Discord has had no request for this long (after every state holds)


class Player:
    def __init__(self, stage: Stage, tween: TweenBot) -> None:
        self.stage = stage
        self.tween = tween
        self.fake = stage.discord
        self.rec: Recording = stage.discord.recording
        self.started: list[FakeInteraction] = []

    # -- the story's structure ----------------------------------------------------------------------------------

    def step(self, title: str, story: str) -> None:
        self.rec.add("step", title=title, story=story)

    def note(self, text: str) -> None:
        self.rec.add("note", text=text)

    # -- acting -------------------------------------------------------------------------------------------------

    def has_command(self, *path: str) -> bool:
        return self.command(*path) is not None

    def cannot_run(self, name: str, subcommand: tuple[str, ...], given: set[str]) -> str | None:
        """Why Discord's client would not send this command (the fake would, and the bot would fail to parse it)."""
        found = self.command(name, *subcommand)
        if found is None:
            return "does not exist in this version of Tween"
        if missing := [p.name for p in found.parameters if p.required and p.name not in given]:
            return f"here needs {', '.join(missing)}, which this step does not give"
        return None

    def command(self, *path: str) -> app_commands.Command[Any, ..., Any] | None:
        found: Any = self.tween.tree.get_command(path[0])
        for name in path[1:]:
            if not isinstance(found, app_commands.Group):
                return None
            found = found.get_command(name)
        return found if isinstance(found, app_commands.Command) else None

    async def slash(
        self,
        who: FakeUser,
        name: str,
        *,
        subcommand: tuple[str, ...] = (),
        options: dict[str, Any] | None = None,
        attachments: dict[str, tuple[str, bytes, str | None]] | None = None,
        channel: FakeChannel | None = None,
    ) -> FakeInteraction | None:
        command = " ".join(("/" + name, *subcommand))
        if (why := self.cannot_run(name, subcommand, {*(options or {}), *(attachments or {})})) is not None:
            self.note(f"{command} {why}: step skipped.")
            return None
        where = channel or self.fake.guild.channel
        shown = [f"{k}:{self._option_text(v)}" for k, v in (options or {}).items()]
        shown += [f"{k}:{filename}" for k, (filename, _, _) in (attachments or {}).items()]
        action = self.rec.add("action", who=who.name, what=" ".join([command, *shown]), where=self._where(where))
        ix = await self.fake.slash(
            name, user=who, options=options, attachments=attachments, subcommand=subcommand, channel_id=where.id
        )
        action["interaction"] = str(ix.id)
        return await self._answered(ix, command)

    async def press(self, who: FakeUser, message: FakeMessage | None, action: str) -> FakeInteraction | None:
        """Press the button whose custom id is `tween:<action>:…` on the message (labels change; ids do not)."""
        custom_id = next((c for c in button_ids(message) if c.startswith(f"tween:{action}:")), None)
        if message is None or custom_id is None:
            self.note(f"No `tween:{action}:` button to press here in this version of Tween: step skipped.")
            return None
        label = button_label(message, custom_id)
        where = self._where(self.fake.channels[message.channel_id])
        action = self.rec.add("action", who=who.name, what=f"presses [ {label} ]", where=where, message=str(message.id))
        ix = await self.fake.click(message.id, custom_id, user=who)
        action["interaction"] = str(ix.id)
        answered = await self._answered(ix, None)
        if modal := ix.modal():
            self.rec.add("modal", who=who.name, modal=copy.deepcopy(modal))
        return answered

    async def fill_in(
        self, who: FakeUser, opened: FakeInteraction | None, change: Callable[[dict[str, str]], dict[str, str]]
    ) -> FakeInteraction | None:
        """Submit the form `opened` showed, its prefilled values changed by `change` (custom id -> value)."""
        modal = opened.modal() if opened else None
        if opened is None or modal is None:
            self.note("No form opened: step skipped.")
            return None
        values = change(modal_values(modal))
        typed = "; ".join(f"{k} = {v}" for k, v in values.items())
        action = self.rec.add("action", who=who.name, what=f"submits the form: {typed}")
        ix = await self.fake.submit_modal(opened, values, user=who)
        action["interaction"] = str(ix.id)
        return await self._answered(ix, None)

    async def _answered(self, ix: FakeInteraction, command: str | None) -> FakeInteraction:
        self.started.append(ix)
        if command:
            self.rec.add("invoked", interaction=str(ix.id), command=command)
        await wait_until(lambda: answered(ix), 15, what=f"an answer to interaction {ix.id}")
        return ix

    # -- waiting for the bot ------------------------------------------------------------------------------------

    async def settled(self) -> None:
        """Every job finished (or waiting for a moderator), every interaction answered, and the bot idle."""
        guild_id, timeout = self.fake.guild.id, SETTLE_TIMEOUT
        jobs = self.tween.services.jobs
        await read_until(lambda: jobs.queue(guild_id, STILL_MOVING), lambda moving: not moving, timeout, "jobs")
        await wait_until(lambda: all(answered(ix) for ix in self.started), timeout, what="every answer")
        await wait_until(self._quiet(), timeout, what="the bot to go idle")

    def _quiet(self) -> Callable[[], bool]:
        seen = {"count": -1, "since": 0.0}

        def check() -> bool:
            count, now = len(self.fake.requests), time.monotonic()
            busy = any(r.status == 0 and r.path != "/" for r in self.fake.requests[-20:])  # "/": the gateway
            if count != seen["count"] or busy:
                seen.update(count=count, since=now)
                return False
            return now - seen["since"] >= QUIET

        return check

    # -- finding things -----------------------------------------------------------------------------------------

    def thread(self, nth: int = 0) -> FakeChannel | None:
        threads = self.fake.threads(self.fake.guild.channel.id)
        return threads[nth] if len(threads) > nth else None

    def with_button(self, channel: FakeChannel | None, action: str, nth: int = 0) -> FakeMessage | None:
        """The nth message in the channel that has a `tween:<action>:` button (in posting order)."""
        if channel is None:
            return None
        messages = self.fake.messages(channel.id)
        if channel.message_id and (starter := self.fake.find_message(channel.message_id)):
            messages = [starter, *messages]  # a thread's first message is the one in the channel it grew from
        found = [m for m in messages if any(c.startswith(f"tween:{action}:") for c in button_ids(m))]
        return found[nth] if len(found) > nth else None

    def _option_text(self, value: Any) -> str:
        if isinstance(value, FakeUser):
            return "@" + value.name
        if isinstance(value, FakeChannel):
            return "#" + value.name
        if isinstance(value, RoleRef):
            return "@" + self.fake.extra_roles.get(value.id, "role")
        text = str(value)
        return f"“{text}”" if " " in text else text

    def _where(self, channel: FakeChannel) -> str:
        return thread_name(channel.name) if channel.type == 11 else f"#{channel.name}"


def answered(ix: FakeInteraction) -> bool:
    if ix.modal() or ix.followups:
        return True
    if ix.original is not None and not ix.original.flags & LOADING:
        return True
    return any(r.get("type") == UPDATE_MESSAGE for r in ix.responses)


def button_ids(message: FakeMessage | None) -> list[str]:
    rows = message.components if message else []
    return [c.get("custom_id", "") for row in rows for c in row.get("components", [])]


def button_label(message: FakeMessage, custom_id: str) -> str:
    for row in message.components:
        for c in row.get("components", []):
            if c.get("custom_id") == custom_id:
                return " ".join(x for x in ((c.get("emoji") or {}).get("name"), c.get("label")) if x)
    return custom_id


def modal_values(modal: dict[str, Any]) -> dict[str, str]:
    """Each text input's prefilled value, by custom id (rows of inputs, or labels wrapping one)."""
    inputs = [c for row in modal.get("components", []) for c in row.get("components", [row.get("component") or {}])]
    return {c["custom_id"]: c.get("value") or "" for c in inputs if c.get("custom_id")}
