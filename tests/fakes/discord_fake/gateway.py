"""The fake gateway: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, RESUME, shards, and dispatching events.

Sharding as Discord does it: IDENTIFY may carry `shard: [id, count]` (none means [0, 1]); a guild's events go only
to the session of shard `(guild_id >> 22) % count`, DMs and other events without a guild to shard 0; a session
that would hold `sharding_required_at` guilds or more is closed with 4011, a shard id outside its count with 4010.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

HEARTBEAT_MS = 2000
INVALID_SHARD, SHARDING_REQUIRED = 4010, 4011
# Discord refuses an unsharded session at 2,500 guilds (and a shard of a sharded bot at as many).
SHARDING_REQUIRED_AT = 2500

Shard = tuple[int, int]  # (id, count), as in IDENTIFY and READY


def shard_of(guild_id: int | None, count: int) -> int:
    """Discord's rule: a guild's shard; events with no guild go to shard 0."""
    return 0 if guild_id is None else (guild_id >> 22) % count


@dataclass(frozen=True)
class Identified:
    at: float  # monotonic
    shard: Shard


class GatewaySession:
    def __init__(self, ws: web.WebSocketResponse, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self.seq = 0
        self.ready = False
        self.shard: Shard = (0, 1)

    def owns(self, guild_id: int | None) -> bool:
        return shard_of(guild_id, self.shard[1]) == self.shard[0]

    async def send(self, op: int, data: Any = None, event: str | None = None) -> None:
        payload: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
        if op == 0:
            self.seq += 1
            payload["s"] = self.seq
        await self.ws.send_str(json.dumps(payload))


class Gateway:
    """Keeps the live sessions; for each shard the newest ready one receives its guilds' events."""

    def __init__(
        self,
        token: str,
        ready_payload: Callable[[str, Shard], dict[str, Any]],
        guild_payloads: Callable[[Shard], list[dict[str, Any]]],
    ) -> None:
        self._token = token
        self._ready_payload = ready_payload
        self._guild_payloads = guild_payloads
        self._ids = itertools.count(1)
        self._shards_by_session: dict[str, Shard] = {}
        self.sessions: list[GatewaySession] = []
        self.identified = 0
        self.resumed = 0
        self.intents: list[int] = []
        self.identifies: list[Identified] = []  # every accepted IDENTIFY, in order
        self.closes: list[tuple[int, Shard]] = []  # sessions refused for their shard: (close code, shard)
        self.sharding_required_at = SHARDING_REQUIRED_AT
        self.changed = asyncio.Event()

    @property
    def current(self) -> GatewaySession | None:
        return next((s for s in reversed(self.sessions) if s.ready), None)

    def session_for(self, guild_id: int | None) -> GatewaySession | None:
        """The newest ready session of the shard that owns the guild (None: no event has a guild)."""
        return next((s for s in reversed(self.sessions) if s.ready and s.owns(guild_id)), None)

    def ready_shards(self) -> set[Shard]:
        return {s.shard for s in self.sessions if s.ready}

    async def dispatch(self, event: str, data: Any, *, guild_id: int | None = None) -> None:
        """To the one session that would receive it from Discord (the guild from `guild_id` or `data`)."""
        guild_id = guild_id if guild_id is not None else _guild_in(data)
        session = self.session_for(guild_id)
        if session is None:
            where = "any event" if guild_id is None else f"guild {guild_id}"
            raise RuntimeError(f"no bot session on the fake gateway receives {where}")
        await session.send(0, data, event)

    async def broadcast(self, event: str, data: Any, *, guild_id: int | None = None) -> None:
        """To every ready session of the owning shard (an old session and its replacement both hear it)."""
        guild_id = guild_id if guild_id is not None else _guild_in(data)
        for session in [s for s in self.sessions if s.ready and s.owns(guild_id)]:
            await session.send(0, data, event)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, compress=False)
        await ws.prepare(request)
        session = GatewaySession(ws, f"fake-session-{next(self._ids)}")
        self.sessions.append(session)
        await session.send(10, {"heartbeat_interval": HEARTBEAT_MS})
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                await self._on_payload(session, json.loads(message.data))
        finally:
            self.sessions.remove(session)
            self._changed()
        return ws

    async def _on_payload(self, session: GatewaySession, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        if op == 1:
            await session.send(11)
        elif op == 2:
            await self._identify(session, payload["d"])
        elif op == 6:
            session.seq = int(payload["d"].get("seq") or 0)
            session.shard = self._shards_by_session.get(str(payload["d"].get("session_id")), (0, 1))
            session.ready = True
            self.resumed += 1
            await session.send(0, {}, "RESUMED")
            self._changed()

    async def _identify(self, session: GatewaySession, data: dict[str, Any]) -> None:
        if data.get("token") != self._token:
            await session.ws.close(code=4004, message=b"Authentication failed")
            return
        shard = _shard_in(data)
        if (refusal := self._shard_refusal(shard)) is not None:
            self.closes.append((refusal[0], shard or (0, 0)))
            await session.ws.close(code=refusal[0], message=refusal[1])
            return
        assert shard is not None
        session.shard = shard
        self._shards_by_session[session.session_id] = shard
        self.intents.append(int(data.get("intents", 0)))
        self.identifies.append(Identified(time.monotonic(), shard))
        await session.send(0, self._ready_payload(session.session_id, shard), "READY")
        for guild in self._guild_payloads(shard):
            await session.send(0, guild, "GUILD_CREATE")
        session.ready = True
        self.identified += 1
        self._changed()

    def _shard_refusal(self, shard: Shard | None) -> tuple[int, bytes] | None:
        if shard is None or shard[1] < 1 or not 0 <= shard[0] < shard[1]:
            return INVALID_SHARD, b"Invalid shard"
        if len(self._guild_payloads(shard)) >= self.sharding_required_at:
            return SHARDING_REQUIRED, b"Sharding required"
        return None

    async def reconnect(self, *, resume: bool = True) -> None:
        session = self.current
        if session is None:
            return
        if resume:
            await session.send(7)
        else:
            await session.send(9, False)

    def _changed(self) -> None:
        self.changed.set()


def _shard_in(data: dict[str, Any]) -> Shard | None:
    """IDENTIFY's shard: absent means [0, 1]; None for anything but two integers (closed as invalid)."""
    raw = data.get("shard", [0, 1])
    if not isinstance(raw, list) or len(raw) != 2 or not all(type(x) is int for x in raw):
        return None
    return raw[0], raw[1]


def _guild_in(data: Any) -> int | None:
    guild_id = data.get("guild_id") if isinstance(data, dict) else None
    return int(guild_id) if guild_id else None
