"""REST routes of the fake Discord, under /api/v10, answering as Discord does where bots go wrong."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.discord_fake import payloads
from tests.fakes.discord_fake.autocomplete import callback_problem
from tests.fakes.discord_fake.bodies import BODY, Body, answer, error
from tests.fakes.discord_fake.commands import sync_problem
from tests.fakes.discord_fake.state import FakeChannel, FakeInteraction, FakeMessage

if TYPE_CHECKING:
    from tests.fakes.discord_fake.server import FakeDiscord

REQUEST_CAP = 25 * 1024 * 1024
ACK_DEADLINE = 3.0
TOKEN_LIFE = 15 * 60.0
EPHEMERAL, LOADING = 64, 128
SESSION_STARTS, DAY_MS = 1000, 24 * 3600 * 1000


class Rest:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def routes(self) -> list[web.RouteDef]:
        api = "/api/v10"
        return [
            web.get(f"{api}/users/@me", self.me),
            web.get(f"{api}/oauth2/applications/@me", self.application),
            web.get(f"{api}/gateway", self.gateway),
            web.get(f"{api}/gateway/bot", self.bot_gateway),
            web.put(f"{api}/applications/{{app}}/commands", self.sync_commands),
            web.put(f"{api}/applications/{{app}}/guilds/{{gid}}/commands", self.sync_commands),
            web.get(f"{api}/applications/{{app}}/commands", self.list_commands),
            web.get(f"{api}/applications/{{app}}/guilds/{{gid}}/commands", self.list_commands),
            web.post(f"{api}/interactions/{{iid}}/{{token}}/callback", self.callback),
            web.post(f"{api}/webhooks/{{app}}/{{token}}", self.followup),
            web.route("*", f"{api}/webhooks/{{app}}/{{token}}/messages/{{mid}}", self.webhook_message),
            web.get(f"{api}/guilds/{{gid}}/members/{{uid}}", self.guild_member),
            web.get(f"{api}/channels/{{cid}}", self.get_channel),
            web.delete(f"{api}/channels/{{cid}}", self.remove_channel),
            web.get(f"{api}/channels/{{cid}}/messages", self.history),
            web.post(f"{api}/channels/{{cid}}/messages", self.create_message),
            web.route("*", f"{api}/channels/{{cid}}/messages/{{mid}}", self.one_message),
            web.post(f"{api}/channels/{{cid}}/messages/{{mid}}/threads", self.thread_from_message),
            web.post(f"{api}/channels/{{cid}}/threads", self.thread_in_channel),
            web.get("/cdn/{aid}/{filename}", self.cdn),
        ]

    # -- identity and commands ----------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bot {self.fake.token}":
            return error(401, 0, "401: Unauthorized")
        return answer(payloads.user(self.fake.bot_user) | {"verified": True, "mfa_enabled": False})

    async def application(self, request: web.Request) -> web.Response:
        return answer(payloads.bot_application(self.fake.bot_user, self.fake.guild.owner))

    async def gateway(self, request: web.Request) -> web.Response:
        return answer({"url": self.fake.gateway_url})

    async def bot_gateway(self, request: web.Request) -> web.Response:
        """The recommended shard count and the session start limit (a day's 1000 IDENTIFYs, less those made)."""
        if request.headers.get("Authorization") != f"Bot {self.fake.token}":
            return error(401, 0, "401: Unauthorized")
        used = len(self.fake.gateway.identifies)
        limit = {
            "total": SESSION_STARTS,
            "remaining": max(0, SESSION_STARTS - used),
            "reset_after": DAY_MS if used else 0,
            "max_concurrency": self.fake.max_concurrency,
        }
        return answer(
            {"url": self.fake.gateway_url, "shards": self.fake.recommended_shards, "session_start_limit": limit}
        )

    def _not_ours(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bot {self.fake.token}":
            return error(401, 0, "401: Unauthorized")
        if request.match_info["app"] != str(self.fake.bot_user.id):
            return error(403, 50001, "Missing Access")
        return None

    async def sync_commands(self, request: web.Request) -> web.Response:
        if refused := self._not_ours(request):
            return refused
        body = request[BODY].json or []
        if problem := sync_problem(body):
            return error(400, 50035, f"Invalid Form Body: {problem}")
        gid = request.match_info.get("gid")
        synced = []
        for command in body:
            # Discord fills in what the bot left out or sent as null: its answer always has these.
            stored = {"type": 1, "default_member_permissions": None} | command
            if stored.get("integration_types") is None:
                stored["integration_types"] = [0]  # guild install
            stored |= {
                "id": str(self.fake.ids.next()),
                "application_id": str(self.fake.bot_user.id),
                "version": str(self.fake.ids.next()),
            }
            if gid:
                stored["guild_id"] = gid
            self.fake.commands[command["name"]] = stored
            synced.append(stored)
        # A bulk overwrite: commands left out of the list are deleted.
        self.fake.registered[int(gid) if gid else None] = synced
        return answer(synced)

    async def list_commands(self, request: web.Request) -> web.Response:
        if refused := self._not_ours(request):
            return refused
        gid = request.match_info.get("gid")
        return answer(self.fake.registered.get(int(gid) if gid else None, []))

    # -- interactions -------------------------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        ix = self.fake.interactions.get(int(request.match_info["iid"]))
        if ix is None or ix.token != request.match_info["token"]:
            return error(404, 10062, "Unknown interaction")
        if ix.responses:
            return error(400, 40060, "Interaction has already been acknowledged.")
        if self.fake.clock.now() - ix.created > ACK_DEADLINE:
            return error(404, 10062, "Unknown interaction")
        body: Body = request[BODY]
        kind, data = body.json["type"], body.json.get("data") or {}
        if problem := callback_problem(ix.type, ix.focused, kind, data):
            self.fake.spec_violations.append(f"POST {request.path}: {problem}")
            return error(400, 50035, f"Invalid Form Body: {problem}")
        ix.responses.append(body.json)
        ix.acked_after = time.monotonic() - ix.dispatched_at
        message = None
        if kind in (4, 5):
            ix.ephemeral = bool(data.get("flags", 0) & EPHEMERAL)
            ix.deferred = kind == 5
            message = self._new_message(ix.channel_id, data, body, interaction=ix)
            message.flags = (data.get("flags", 0) & EPHEMERAL) | (LOADING if kind == 5 else 0)
            ix.original = message
        elif kind == 7 and ix.message_id is not None:
            message = self.fake.find_message(ix.message_id)
            if message:
                self._apply_edit(message, data, body)
        result: dict[str, Any] = {
            "interaction": {
                "id": str(ix.id),
                "type": ix.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": ix.ephemeral,
            }
        }
        if message is not None and kind in (4, 7):
            result["resource"] = {"type": kind, "message": self.fake.message_json(message)}
        return answer(result)

    def _token(self, request: web.Request) -> FakeInteraction | web.Response:
        ix = self.fake.by_token.get(request.match_info["token"])
        if ix is None:
            return error(404, 10015, "Unknown Webhook")
        if self.fake.clock.now() - ix.created > TOKEN_LIFE:
            return error(401, 50027, "Invalid Webhook Token")
        return ix

    async def followup(self, request: web.Request) -> web.Response:
        ix = self._token(request)
        if isinstance(ix, web.Response):
            return ix
        body: Body = request[BODY]
        data = body.json or {}
        if ix.original is not None and ix.deferred and ix.original.flags & LOADING:
            # The first followup after a defer fills the "thinking" message.
            self._apply_edit(ix.original, data, body)
            ix.original.flags &= ~LOADING
            return answer(self.fake.message_json(ix.original))
        message = self._new_message(ix.channel_id, data, body, interaction=ix)
        message.flags = data.get("flags", 0) & EPHEMERAL
        ix.followups.append(message)
        return answer(self.fake.message_json(message))

    async def webhook_message(self, request: web.Request) -> web.Response:
        ix = self._token(request)
        if isinstance(ix, web.Response):
            return ix
        mid = request.match_info["mid"]
        message = ix.original if mid == "@original" else self.fake.find_message(int(mid))
        if message is None:
            return error(404, 10008, "Unknown Message")
        if request.method == "DELETE":
            message.deleted = True
            return web.Response(status=204)
        if request.method == "PATCH":
            self._apply_edit(message, request[BODY].json or {}, request[BODY])
            message.flags &= ~LOADING
        return answer(self.fake.message_json(message))

    # -- members ------------------------------------------------------------------------------------------

    async def guild_member(self, request: web.Request) -> web.Response:
        guild = self.fake.guilds.get(int(request.match_info["gid"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        found = next((u for u in guild.members if u.id == int(request.match_info["uid"])), None)
        if found is None:
            return error(404, 10007, "Unknown Member")
        return answer(payloads.member(found))

    # -- channels and messages ----------------------------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self.fake.channels.get(int(request.match_info["cid"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        return answer(payloads.channel(channel))

    async def remove_channel(self, request: web.Request) -> web.Response:
        """Deleting a thread takes Manage Threads (a channel, Manage Channels, which a bot never gets here); its
        messages go with it, and the gateway says THREAD_DELETE."""
        channel = self.fake.channels.get(int(request.match_info["cid"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if channel.type != 11 or "manage_threads" in self.fake.guilds[channel.guild_id].forbidden:
            return error(403, 50013, "Missing Permissions")
        self.fake.delete_channel(channel.id)
        gone = {"id": str(channel.id), "guild_id": str(channel.guild_id), "parent_id": str(channel.parent_id)}
        gone["type"] = 11
        await self.fake.gateway.broadcast("THREAD_DELETE", gone)
        return answer(payloads.thread(channel))

    async def history(self, request: web.Request) -> web.Response:
        cid = int(request.match_info["cid"])
        if cid not in self.fake.channels:
            return error(404, 10003, "Unknown Channel")
        limit = min(int(request.query.get("limit", 50)), 100)
        found = [m for m in reversed(self.fake.messages(cid))]
        if before := request.query.get("before"):
            found = [m for m in found if m.id < int(before)]
        if after := request.query.get("after"):
            found = [m for m in found if m.id > int(after)]
        return answer([self.fake.message_json(m) for m in found[:limit]])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self.fake.channels.get(int(request.match_info["cid"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if problem := self._refuse(channel, request[BODY]):
            return problem
        message = self._new_message(channel.id, request[BODY].json or {}, request[BODY])
        return answer(self.fake.message_json(message))

    async def one_message(self, request: web.Request) -> web.Response:
        message = self.fake.find_message(int(request.match_info["mid"]))
        if message is None or message.channel_id != int(request.match_info["cid"]):
            return error(404, 10008, "Unknown Message")
        if request.method == "DELETE":
            message.deleted = True
            return web.Response(status=204)
        if request.method == "PATCH":
            channel = self.fake.channels.get(message.channel_id)
            if channel is None:
                return error(404, 10003, "Unknown Channel")
            if problem := self._refuse(channel, request[BODY], creating=False):
                return problem
            self._apply_edit(message, request[BODY].json or {}, request[BODY])
        return answer(self.fake.message_json(message))

    async def thread_from_message(self, request: web.Request) -> web.Response:
        parent = self.fake.channels.get(int(request.match_info["cid"]))
        message = self.fake.find_message(int(request.match_info["mid"]))
        if parent is None or message is None:
            return error(404, 10008, "Unknown Message")
        guild = self.fake.guilds[parent.guild_id]
        if "create_thread" in guild.forbidden or parent.type == 11:
            return error(403, 50013, "Missing Permissions")
        return await self._open_thread(parent, request[BODY].json or {}, message.id)

    async def thread_in_channel(self, request: web.Request) -> web.Response:
        parent = self.fake.channels.get(int(request.match_info["cid"]))
        if parent is None:
            return error(404, 10003, "Unknown Channel")
        if "create_thread" in self.fake.guilds[parent.guild_id].forbidden or parent.type == 11:
            return error(403, 50013, "Missing Permissions")
        return await self._open_thread(parent, request[BODY].json or {}, None)

    async def _open_thread(self, parent: FakeChannel, body: dict[str, Any], message_id: int | None) -> web.Response:
        thread = FakeChannel(
            message_id or self.fake.ids.next(),
            parent.guild_id,
            body.get("name", "thread"),
            type=11,
            parent_id=parent.id,
            message_id=message_id,
            owner_id=self.fake.bot_user.id,
        )
        self.fake.channels[thread.id] = thread
        await self.fake.gateway.broadcast("THREAD_CREATE", payloads.thread(thread) | {"newly_created": True})
        return answer(payloads.thread(thread), 201)

    async def cdn(self, request: web.Request) -> web.Response:
        stored = self.fake.cdn.get(request.path)
        if stored is None:
            return error(404, 0, "404: Not Found")
        return web.Response(body=stored.data, content_type=stored.content_type or "application/octet-stream")

    # -- helpers ------------------------------------------------------------------------------------------

    def _refuse(self, channel: FakeChannel, body: Body, *, creating: bool = True) -> web.Response | None:
        guild = self.fake.guilds[channel.guild_id]
        if creating and "send_messages" in guild.forbidden:
            return error(403, 50013, "Missing Permissions")
        if body.files and "attach_files" in guild.forbidden:
            return error(403, 50013, "Missing Permissions")
        # Boosted guilds may send one file larger than the usual 25 MiB request cap (plus its JSON).
        cap = max(REQUEST_CAP, guild.upload_limit + 1024 * 1024)
        if any(len(f.data) > guild.upload_limit for f in body.files) or body.size > cap:
            return error(413, 40005, "Request entity too large")
        return None

    def _new_message(
        self, channel_id: int, data: dict[str, Any], body: Body, interaction: FakeInteraction | None = None
    ) -> FakeMessage:
        author = self.fake.bot_user.id
        message = FakeMessage(
            self.fake.ids.next(), channel_id, author, interaction_id=interaction.id if interaction else None
        )
        message.ephemeral = bool(data.get("flags", 0) & EPHEMERAL)
        self._apply_edit(message, data, body, new=True)
        message.edits = 0
        if not message.ephemeral:
            self.fake.store_message(message)
        else:
            self.fake.all_messages[message.id] = message
        return message

    def _apply_edit(self, message: FakeMessage, data: dict[str, Any], body: Body, *, new: bool = False) -> None:
        for key in ("content", "embeds", "components"):
            if key in data and data[key] is not None:
                setattr(message, key, data[key])
        if "allowed_mentions" in data or new:
            message.allowed_mentions = data.get("allowed_mentions")
        if "attachments" in data or body.files:
            keep = {str(a.get("id")) for a in data.get("attachments") or []}
            kept = (
                [a for a in message.attachments if str(a.id) in keep] if "attachments" in data else message.attachments
            )
            # A new file's entry in payload_json names it by its files[n] index and may carry its alt text.
            described = {str(a.get("id")): a.get("description") for a in data.get("attachments") or []}
            message.attachments = kept + [
                self.fake.store_upload(f, description=described.get(str(f.index))) for f in body.files
            ]
        message.edits += 1
