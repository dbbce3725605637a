"""Small helpers to build aiohttp answers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.fakes.fal.model import Fault, RequestRecord

RECORD = web.RequestKey("fake_fal_record", RequestRecord)
TRUTHY = frozenset({"1", "true", "yes", "on"})


def json_answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json", headers=headers)


def fault_answer(fault: Fault) -> web.Response:
    body = fault.body if fault.body is not None else {"detail": "Internal Server Error"}
    if isinstance(body, bytes):
        return web.Response(body=body, status=fault.status, headers=fault.headers)
    answer = json_answer(body, fault.status)
    answer.headers.update(fault.headers)
    return answer


def record_of(request: web.Request) -> RequestRecord:
    return request[RECORD]


def flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in TRUTHY


def moved(base_url: str, request: web.Request) -> web.Response:
    """A 302 to the same file under /moved, as a CDN may answer; the fake serves it there too."""
    return web.Response(status=302, headers={"Location": f"{base_url}/moved{request.rel_url.raw_path}"})
