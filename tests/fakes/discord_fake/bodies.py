"""Reading what discord.py sends: JSON, or multipart with payload_json and files[n]; and Discord's error answers."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Upload:
    index: int
    filename: str
    data: bytes

    @property
    def content_type(self) -> str | None:
        return mimetypes.guess_type(self.filename)[0]


@dataclass
class Body:
    json: Any = None
    files: list[Upload] = field(default_factory=list)
    size: int = 0


async def read_body(request: web.Request) -> Body:
    if request.content_type.startswith("multipart/"):
        body = Body()
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            data = await part.read()  # type: ignore[union-attr]
            body.size += len(data)
            name = part.name or ""  # type: ignore[union-attr]
            if name == "payload_json":
                body.json = json.loads(data)
            elif name.startswith("files["):
                body.files.append(Upload(int(name[6:-1]), part.filename or "file", bytes(data)))  # type: ignore[union-attr]
        return body
    raw = await request.read()
    return Body(json=json.loads(raw) if raw else None, size=len(raw))


def answer(data: Any, status: int = 200) -> web.Response:
    # discord.py compares Content-Type with "application/json" exactly: no charset.
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def error(status: int, code: int, message: str) -> web.Response:
    return answer({"code": code, "message": message}, status)


def rate_limited(retry_after: float) -> web.Response:
    response = answer({"message": "You are being rate limited.", "retry_after": retry_after, "global": False}, 429)
    response.headers["Via"] = "1.1 fake"
    response.headers["Retry-After"] = str(max(1, round(retry_after)))
    response.headers["X-RateLimit-Scope"] = "user"
    return response


BODY = web.RequestKey("body", Body)
