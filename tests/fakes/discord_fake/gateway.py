"""The fake gateway: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, RESUME, and dispatching events."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

HEARTBEAT_MS = 2000


class GatewaySession:
    def __init__(self, ws: web.WebSocketResponse, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self.seq = 0
        self.ready = False

    async def send(self, op: int, data: Any = None, event: str | None = None) -> None:
        payload: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
        if op == 0:
            self.seq += 1
            payload["s"] = self.seq
        await self.ws.send_str(json.dumps(payload))


class Gateway:
    """Keeps the live sessions; the newest ready one receives interactions."""

    def __init__(
        self,
        token: str,
        ready_payload: Callable[[str], dict[str, Any]],
        guild_payloads: Callable[[], list[dict[str, Any]]],
    ) -> None:
        self._token = token
        self._ready_payload = ready_payload
        self._guild_payloads = guild_payloads
        self._ids = itertools.count(1)
        self.sessions: list[GatewaySession] = []
        self.identified = 0
        self.resumed = 0
        self.intents: list[int] = []
        self.changed = asyncio.Event()

    @property
    def current(self) -> GatewaySession | None:
        return next((s for s in reversed(self.sessions) if s.ready), None)

    async def dispatch(self, event: str, data: Any) -> None:
        session = self.current
        if session is None:
            raise RuntimeError("no bot is connected to the fake gateway")
        await session.send(0, data, event)

    async def broadcast(self, event: str, data: Any) -> None:
        for session in [s for s in self.sessions if s.ready]:
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
            session.ready = True
            self.resumed += 1
            await session.send(0, {}, "RESUMED")
            self._changed()

    async def _identify(self, session: GatewaySession, data: dict[str, Any]) -> None:
        if data.get("token") != self._token:
            await session.ws.close(code=4004, message=b"Authentication failed")
            return
        self.intents.append(int(data.get("intents", 0)))
        await session.send(0, self._ready_payload(session.session_id), "READY")
        for guild in self._guild_payloads():
            await session.send(0, guild, "GUILD_CREATE")
        session.ready = True
        self.identified += 1
        self._changed()

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
