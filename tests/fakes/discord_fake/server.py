"""FakeDiscord: REST, gateway and CDN on 127.0.0.1 for the real discord.py client, plus the test-facing API."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from tests.fakes.discord_fake import payloads, spec
from tests.fakes.discord_fake.bodies import BODY, Body, Upload, error, rate_limited, read_body
from tests.fakes.discord_fake.gateway import Gateway, Shard, shard_of
from tests.fakes.discord_fake.interactions import Interactions
from tests.fakes.discord_fake.rest import Rest
from tests.fakes.discord_fake.state import (
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    TIER_LIMITS,
    FakeAttachment,
    FakeChannel,
    FakeClock,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    Snowflakes,
)
from tests.support.waiting import wait_until

T = TypeVar("T")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[tuple[str, str, int]]
    headers: dict[str, str]
    at: float
    status: int = 0


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    code: int
    message: str
    retry_after: float | None
    times: int = 1
    hits: list[float] = field(default_factory=list)


class FakeDiscord(Interactions):
    def __init__(
        self,
        *,
        token: str = "fake-token",
        upload_limit: int = 10 * 1024 * 1024,
        validate_spec: bool = True,
        shards: int = 1,
        max_concurrency: int = 1,
    ) -> None:
        self.token = token
        # What GET /gateway/bot answers: the recommended shard count and IDENTIFYs allowed per 5 s.
        self.recommended_shards = shards
        self.max_concurrency = max_concurrency
        self.validate_spec = validate_spec and spec.available()
        self.ids = Snowflakes()
        self.clock = FakeClock()
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.all_messages: dict[int, FakeMessage] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.by_token: dict[str, FakeInteraction] = {}
        self.cdn: dict[str, FakeAttachment] = {}
        self.commands: dict[str, dict[str, Any]] = {}  # by name, the last synced anywhere (for interactions)
        self.registered: dict[int | None, list[dict[str, Any]]] = {}  # by guild id (None: global), as listed
        self.requests: list[RecordedRequest] = []
        self.spec_violations: list[str] = []
        self.errors: list[str] = []
        self._messages: dict[int, list[FakeMessage]] = {}
        self._failures: list[_Failure] = []
        self._default_limit = upload_limit
        self.bot_user = FakeUser(self.ids.next(), "tween", bot=True)
        self.guild = self.add_guild("Test Guild", upload_limit=upload_limit)
        self.gateway = Gateway(token, self._ready_payload, self._guild_payloads)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- life cycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=200 * 1024 * 1024)
        app.add_routes(
            [web.get("/", self.gateway.handle), *Rest(self).routes(), web.route("*", "/{tail:.*}", self._unknown)]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    async def stop(self) -> None:
        for session in list(self.gateway.sessions):
            await session.ws.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"{self.base_url.replace('http://', 'ws://')}/"

    # -- the world ----------------------------------------------------------------------------------------

    def add_guild(
        self, name: str, *, premium_tier: int = 0, upload_limit: int | None = None, shard: Shard | None = None
    ) -> FakeGuild:
        """A guild with an owner, an admin and a member; `shard` (id, count) picks an id that shard receives."""
        gid = self.ids.next() if shard is None else self._id_on(shard)
        mod_role = self.ids.next()
        channel = FakeChannel(self.ids.next(), gid, "general")
        log_channel = FakeChannel(self.ids.next(), gid, "mod-log")
        people = [FakeUser(self.ids.next(), f"{name.split()[0].lower()}-{who}") for who in ("owner", "admin", "member")]
        people[1].permissions |= MANAGE_GUILD
        people[1].roles.append(mod_role)
        limit = upload_limit or (self._default_limit if premium_tier < 2 else TIER_LIMITS[premium_tier])
        guild = FakeGuild(
            gid,
            name,
            premium_tier,
            limit,
            channel,
            log_channel,
            mod_role,
            *people,
            bot_user=self.bot_user,
            members=[self.bot_user, *people],
        )
        self.guilds[gid] = guild
        self.channels[channel.id] = channel
        self.channels[log_channel.id] = log_channel
        if getattr(self, "gateway", None) and self.gateway.current:
            announce = self.gateway.broadcast("GUILD_CREATE", self._guild_json(guild), guild_id=gid)
            asyncio.get_running_loop().create_task(announce)
        return guild

    def _id_on(self, shard: Shard) -> int:
        # The shard comes from the id's millisecond part: move it up to count-1 ms ahead, keep the counter bits.
        fresh = self.ids.next()
        ms = fresh >> 22
        ms += (shard[0] - shard_of(fresh, shard[1])) % shard[1]
        return (ms << 22) | (fresh & 0x3FFFFF)

    def add_member(
        self, guild: FakeGuild, name: str, *, permissions: int = MEMBER_PERMISSIONS, roles: list[int] | None = None
    ) -> FakeUser:
        user = FakeUser(self.ids.next(), name, permissions=permissions, roles=list(roles or []))
        guild.members.append(user)
        return user

    def forbid(self, guild: FakeGuild, action: str) -> None:
        guild.forbidden.add(action)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int,
        code: int = 0,
        message: str = "",
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        self._failures.append(
            _Failure(method.upper(), re.compile(path_regex), status, code, message, retry_after, times)
        )

    def delete_channel(self, channel_id: int) -> None:
        """As if a moderator deleted the channel or thread: later calls to it get 404 Unknown Channel."""
        self.channels.pop(channel_id, None)

    async def disconnect_gateway(self, *, resume: bool = True) -> None:
        await self.gateway.reconnect(resume=resume)

    async def wait_ready(self, timeout: float = 10.0, sessions: int = 1) -> None:
        await wait_until(
            lambda: self.gateway.identified >= sessions and self.gateway.current,
            timeout,
            what=f"{sessions} bot session(s) on the fake gateway",
        )

    async def wait_shards(self, *shards: Shard, timeout: float = 10.0) -> None:
        """Until a ready session serves each of these (id, count) shards."""
        await wait_until(
            lambda: set(shards) <= self.gateway.ready_shards(), timeout, what=f"sessions for shards {shards}"
        )

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        return await wait_until(predicate, timeout, what="the fake Discord to show it")

    def messages(self, channel_id: int) -> list[FakeMessage]:
        return [m for m in self._messages.get(channel_id, []) if not m.deleted]

    def threads(self, parent_id: int | None = None) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.type == 11 and parent_id in (None, c.parent_id)]

    # -- storage used by the routes ---------------------------------------------------------------------------

    def store_message(self, message: FakeMessage) -> None:
        self._messages.setdefault(message.channel_id, []).append(message)
        self.all_messages[message.id] = message

    def find_message(self, message_id: int) -> FakeMessage | None:
        message = self.all_messages.get(message_id)
        return message if message and not message.deleted else None

    def store_upload(
        self, upload: Upload, content_type: str | None = None, *, description: str | None = None
    ) -> FakeAttachment:
        aid = self.ids.next()
        path = f"/cdn/{aid}/{upload.filename}"
        stored = FakeAttachment(
            aid,
            upload.filename,
            content_type or upload.content_type,
            upload.data,
            f"{self.base_url}{path}",
            description=description,
        )
        self.cdn[path] = stored
        return stored

    def message_json(self, message: FakeMessage) -> dict[str, Any]:
        channel = self.channels.get(message.channel_id)
        author = next((u for g in self.guilds.values() for u in g.members if u.id == message.author_id), self.bot_user)
        return payloads.message(message, author, channel.guild_id if channel else None, self.bot_user.id)

    # -- plumbing -----------------------------------------------------------------------------------------

    def _ready_payload(self, session_id: str, shard: Shard) -> dict[str, Any]:
        return {
            "v": 10,
            "user": payloads.user(self.bot_user),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds if shard_of(g, shard[1]) == shard[0]],
            "session_id": session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.bot_user.id), "flags": 0},
            "shard": list(shard),
        }

    def _guild_payloads(self, shard: Shard) -> list[dict[str, Any]]:
        return [self._guild_json(g) for g in self.guilds.values() if shard_of(g.id, shard[1]) == shard[0]]

    def _guild_json(self, guild: FakeGuild) -> dict[str, Any]:
        return payloads.guild(guild, [c for c in self.threads() if c.guild_id == guild.id])

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        body = await read_body(request) if request.method in ("POST", "PATCH", "PUT") else Body()
        request[BODY] = body
        record = RecordedRequest(
            request.method,
            request.path,
            dict(request.query),
            body.json,
            [(f"files[{f.index}]", f.filename, len(f.data)) for f in body.files],
            dict(request.headers),
            time.monotonic(),
        )
        self.requests.append(record)
        response = self._injected(request) or self._spec_refusal(request, body) or await self._run(handler, request)
        record.status = response.status
        return response

    def _injected(self, request: web.Request) -> web.Response | None:
        for failure in self._failures:
            if failure.method == request.method and failure.pattern.search(request.path):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                if failure.status == 429:
                    return rate_limited(failure.retry_after or 0.1)
                return error(failure.status, failure.code, failure.message or f"{failure.status}: injected")
        return None

    def _spec_refusal(self, request: web.Request, body: Body) -> web.Response | None:
        if body.json is None or not request.path.startswith("/api/v10"):
            return None
        if not self.validate_spec:
            return None
        problems = spec.check(request.method, request.path, body.json)
        self.spec_violations.extend(problems)
        if problems:
            return error(400, 50035, "Invalid Form Body: " + "; ".join(problems)[:500])
        return None

    async def _run(self, handler: Callable[..., Any], request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            # Never a 500: discord.py would retry it for ~25 s and hide the bug.
            self.errors.append(f"{request.method} {request.path}: {exc!r}")
            return error(400, 0, f"fake Discord error: {exc!r}")

    async def _unknown(self, request: web.Request) -> web.Response:
        return error(404, 0, "404: Not Found")
