"""JSON objects in the shapes discord.py 2.7.1 reads (see ../shared/reference/discord-offline.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.fakes.discord_fake.state import (
    BOT_PERMISSIONS,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMessage,
    FakeUser,
)

JOINED = "2026-11-24T03:55:01.000000+00:00"


def iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat()


def user(u: FakeUser) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "username": u.name,
        "discriminator": "0",
        "global_name": u.name.title(),
        "avatar": None,
        "bot": u.bot,
        "public_flags": 0,
        "flags": 0,
    }


def member(u: FakeUser, *, with_permissions: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "user": user(u),
        "roles": [str(r) for r in u.roles],
        "joined_at": JOINED,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "communication_disabled_until": None,
    }
    if with_permissions:
        data["permissions"] = str(u.permissions)
    return data


def channel(c: FakeChannel) -> dict[str, Any]:
    if c.type == 11:
        return thread(c)
    return {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "name": c.name,
        "position": 0,
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "permission_overwrites": [],
        "flags": 0,
    }


def thread(c: FakeChannel) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "type": 11,
        "guild_id": str(c.guild_id),
        "parent_id": str(c.parent_id),
        "owner_id": str(c.owner_id),
        "name": c.name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": JOINED,
            "locked": False,
            "create_timestamp": JOINED,
        },
    }


def guild(g: FakeGuild, threads: list[FakeChannel]) -> dict[str, Any]:
    roles = [
        _role(g.everyone_role_id, "@everyone", MEMBER_PERMISSIONS, 0),
        _role(g.mod_role_id, "moderator", MEMBER_PERMISSIONS | MANAGE_GUILD, 1),
    ]
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "owner_id": str(g.owner.id),
        "unavailable": False,
        "member_count": len(g.members),
        "large": False,
        "premium_tier": g.premium_tier,
        "features": [],
        "preferred_locale": g.locale,
        "joined_at": JOINED,
        "roles": roles,
        "channels": [channel(g.channel), channel(g.log_channel)],
        "threads": [thread(t) for t in threads],
        "members": [member(u) for u in g.members],
        "emojis": [],
        "stickers": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def role(g: FakeGuild, role_id: int) -> dict[str, Any]:
    if role_id == g.mod_role_id:
        return _role(role_id, "moderator", MEMBER_PERMISSIONS | MANAGE_GUILD, 1)
    return _role(role_id, "@everyone" if role_id == g.id else f"role-{role_id}", MEMBER_PERMISSIONS, 0)


def _role(role_id: int, name: str, permissions: int, position: int) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
        "icon": None,
        "unicode_emoji": None,
    }


def attachment(a: FakeAttachment, width_height: tuple[int, int] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(a.id), "filename": a.filename, "size": a.size, "url": a.url, "proxy_url": a.url}
    if a.content_type:
        data["content_type"] = a.content_type
    if a.description:
        data["description"] = a.description
    if width_height:
        data["width"], data["height"] = width_height
    return data


def message(m: FakeMessage, author: FakeUser, guild_id: int | None, app_id: int) -> dict[str, Any]:
    return {
        "id": str(m.id),
        "type": 0,
        "channel_id": str(m.channel_id),
        **({"guild_id": str(guild_id)} if guild_id else {}),
        "author": user(author),
        "content": m.content,
        "timestamp": iso(),
        "edited_timestamp": iso() if m.edits else None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [attachment(a) for a in m.attachments],
        "embeds": m.embeds,
        "pinned": False,
        "flags": m.flags,
        "components": m.components,
        **({"webhook_id": str(app_id), "application_id": str(app_id)} if m.interaction_id else {}),
    }


def bot_application(bot: FakeUser, owner: FakeUser) -> dict[str, Any]:
    return {
        "id": str(bot.id),
        "name": bot.name,
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": 0,
        "team": None,
        "owner": user(owner),
        "interactions_endpoint_url": None,
    }


def interaction(
    *,
    interaction_id: int,
    kind: int,
    token: str,
    app_id: int,
    g: FakeGuild,
    chan: FakeChannel,
    who: FakeUser,
    data: dict[str, Any],
    message_json: dict[str, Any] | None = None,
) -> dict[str, Any]:
    payload = {
        "id": str(interaction_id),
        "application_id": str(app_id),
        "type": kind,
        "token": token,
        "version": 1,
        "guild_id": str(g.id),
        "guild": {"id": str(g.id), "locale": g.locale, "features": []},
        "channel_id": str(chan.id),
        "channel": channel(chan),
        "member": member(who, with_permissions=True),
        "app_permissions": str(BOT_PERMISSIONS),
        "locale": who.locale,
        "guild_locale": g.locale,
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(g.id)},
        "context": 0,
        "attachment_size_limit": g.upload_limit,
        "data": data,
    }
    if message_json is not None:
        payload["message"] = message_json
    return payload
