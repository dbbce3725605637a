"""Members acting: slash commands, autocomplete while typing, button presses and modal submits, each sent to the
bot as an INTERACTION_CREATE shaped as Discord shapes it. A mixin of FakeDiscord."""

from __future__ import annotations

import io
import secrets
import time
from typing import TYPE_CHECKING, Any

from PIL import Image

from tests.fakes.discord_fake import autocomplete, payloads
from tests.fakes.discord_fake.bodies import Upload
from tests.fakes.discord_fake.state import (
    MEMBER_PERMISSIONS,
    FakeAttachment,
    FakeChannel,
    FakeClock,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    RoleRef,
    Snowflakes,
)

if TYPE_CHECKING:
    from tests.fakes.discord_fake.gateway import Gateway


class Interactions:
    """What FakeDiscord provides to the methods below."""

    guild: FakeGuild
    guilds: dict[int, FakeGuild]
    channels: dict[int, FakeChannel]
    commands: dict[str, dict[str, Any]]
    interactions: dict[int, FakeInteraction]
    by_token: dict[str, FakeInteraction]
    all_messages: dict[int, FakeMessage]
    ids: Snowflakes
    clock: FakeClock
    gateway: Gateway
    bot_user: FakeUser

    def store_upload(self, upload: Upload, content_type: str | None = None) -> FakeAttachment:
        raise NotImplementedError

    def message_json(self, message: FakeMessage) -> dict[str, Any]:
        raise NotImplementedError

    async def slash(
        self,
        name: str,
        *,
        user: FakeUser,
        guild: FakeGuild | None = None,
        channel_id: int | None = None,
        options: dict[str, Any] | None = None,
        attachments: dict[str, tuple[str, bytes, str | None]] | None = None,
        subcommand: tuple[str, ...] = (),
    ) -> FakeInteraction:
        """Run a slash command; `subcommand` names the group and subcommand (("budget", "set")). Option values may
        be FakeUser, FakeChannel or RoleRef, and are resolved as Discord resolves them."""
        guild = guild or self.guild
        channel = self.channels[channel_id] if channel_id else guild.channel
        resolved: dict[str, Any] = {}
        opts = [self._option(guild, k, v, resolved) for k, v in (options or {}).items()]
        for option, (filename, data, content_type) in (attachments or {}).items():
            stored = self.store_upload(Upload(0, filename, data), content_type)
            resolved.setdefault("attachments", {})[str(stored.id)] = payloads.attachment(stored, _dimensions(data)) | {
                "ephemeral": True
            }
            opts.append({"name": option, "type": 11, "value": str(stored.id)})
        _check_options(self.commands.get(name), name, subcommand, [o["name"] for o in opts])
        data = self._command_data(name, guild, _nest(opts, subcommand), resolved)
        return await self._interact(2, user, guild, channel, data)

    async def autocomplete(
        self,
        name: str,
        *,
        user: FakeUser,
        focused: str,
        typed: str = "",
        guild: FakeGuild | None = None,
        options: dict[str, Any] | None = None,
        subcommand: tuple[str, ...] = (),
    ) -> FakeInteraction:
        """The member types `typed` into the option `focused` of a synced command that marks it `autocomplete`:
        Discord sends interaction type 4 with the text so far (a string, whatever the option's type)."""
        guild = guild or self.guild
        definition = autocomplete.focused_option(self.commands, name, subcommand, focused)
        resolved: dict[str, Any] = {}
        opts = [self._option(guild, k, v, resolved) for k, v in (options or {}).items()]
        opts.append({"name": focused, "type": definition["type"], "value": typed, "focused": True})
        data = self._command_data(name, guild, _nest(opts, subcommand), resolved)
        return await self._interact(autocomplete.AUTOCOMPLETE, user, guild, guild.channel, data, focused=definition)

    def _command_data(
        self, name: str, guild: FakeGuild, opts: list[dict[str, Any]], resolved: dict[str, Any]
    ) -> dict[str, Any]:
        command = self.commands.get(name)
        data: dict[str, Any] = {
            "id": command["id"] if command else str(self.ids.next()),
            "name": name,
            "type": 1,
            "guild_id": str(guild.id),
            "options": opts,
        }
        if resolved:
            data["resolved"] = resolved
        return data

    def _option(self, guild: FakeGuild, name: str, value: Any, resolved: dict[str, Any]) -> dict[str, Any]:
        key = str(getattr(value, "id", ""))
        if isinstance(value, FakeUser):
            resolved.setdefault("users", {})[key] = payloads.user(value)
            member = payloads.member(value, with_permissions=True)
            member.pop("user")
            resolved.setdefault("members", {})[key] = member
            return {"name": name, "type": 6, "value": key}
        if isinstance(value, FakeChannel):
            resolved.setdefault("channels", {})[key] = payloads.channel(value) | {
                "permissions": str(MEMBER_PERMISSIONS)
            }
            return {"name": name, "type": 7, "value": key}
        if isinstance(value, RoleRef):
            resolved.setdefault("roles", {})[key] = payloads.role(guild, value.id)
            return {"name": name, "type": 8, "value": key}
        return {"name": name, "type": _option_type(value), "value": value}

    async def click(self, message_id: int, custom_id: str, *, user: FakeUser) -> FakeInteraction:
        message = self.all_messages[message_id]
        channel = self.channels[message.channel_id]
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(3, user, self.guilds[channel.guild_id], channel, data, message)

    async def submit_modal(
        self, interaction: FakeInteraction, values: dict[str, str], *, user: FakeUser
    ) -> FakeInteraction:
        modal = interaction.modal()
        assert modal is not None, "that interaction opened no modal"
        rows = [_fill(row, values) for row in modal.get("components", [])]
        channel = self.channels[interaction.channel_id]
        message = self.all_messages.get(interaction.message_id or 0)
        data = {"custom_id": modal["custom_id"], "components": rows}
        return await self._interact(5, user, self.guilds[channel.guild_id], channel, data, message)

    async def _interact(
        self,
        kind: int,
        user: FakeUser,
        guild: FakeGuild,
        channel: FakeChannel,
        data: dict[str, Any],
        message: FakeMessage | None = None,
        *,
        focused: dict[str, Any] | None = None,
    ) -> FakeInteraction:
        iid = self.ids.next()
        ix = FakeInteraction(
            iid,
            f"tok-{iid}-{secrets.token_hex(4)}",
            kind,
            user,
            guild,
            channel.id,
            created=self.clock.now(),
            dispatched_at=time.monotonic(),
            message_id=message.id if message else None,
            focused=focused,
        )
        self.interactions[iid] = ix
        self.by_token[ix.token] = ix
        payload = payloads.interaction(
            interaction_id=iid,
            kind=kind,
            token=ix.token,
            app_id=self.bot_user.id,
            g=guild,
            chan=channel,
            who=user,
            data=data,
            message_json=self.message_json(message) if message else None,
        )
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return ix


def _check_options(command: dict[str, Any] | None, name: str, subcommand: tuple[str, ...], given: list[str]) -> None:
    """Discord's client sends a synced command only with every required option filled in and no unknown one:
    AssertionError for an invocation no member could make. (A command never synced is not checked here.)"""
    if command is None:
        return
    level = command
    for part in subcommand:
        level = next((o for o in level.get("options", []) if o["name"] == part and o["type"] in (1, 2)), {})
        assert level, f"/{name} has no subcommand {' '.join(subcommand)!r}"
    where = " ".join((name, *subcommand))
    known = {o["name"]: o for o in level.get("options", [])}
    unknown = [g for g in given if g not in known]
    assert not unknown, f"/{where} has no option(s) {unknown}"
    missing = [n for n, o in known.items() if o.get("required") and n not in given]
    assert not missing, f"/{where} needs its required option(s) {missing}: Discord would not send it without them"


def _nest(opts: list[dict[str, Any]], subcommand: tuple[str, ...]) -> list[dict[str, Any]]:
    """Wrap a command's options in its subcommand group and subcommand, as Discord sends them."""
    for level, name in reversed(list(enumerate(subcommand))):
        opts = [{"name": name, "type": 2 if level < len(subcommand) - 1 else 1, "options": opts}]
    return opts


def _option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3


def _dimensions(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None


def _fill(row: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    if row.get("type") == 18:
        inner = row["component"]
        return {
            "type": 18,
            "component": {
                "type": inner["type"],
                "custom_id": inner["custom_id"],
                "value": values.get(inner["custom_id"], ""),
            },
        }
    filled = [
        {"type": c["type"], "custom_id": c["custom_id"], "value": values.get(c["custom_id"], "")}
        for c in row["components"]
    ]
    return {"type": 1, "components": filled}
