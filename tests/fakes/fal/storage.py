"""Storage routes (reference §7 and Corrections): the v3 CDN token + upload as fal-client 1.0.3 uses it, initiate + PUT
with storage_type=fal-cdn-v3 as fal-js uses it (the old gcs type is refused), and the public files."""

from __future__ import annotations

import dataclasses
import json
import mimetypes
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from aiohttp import web

from tests.fakes.fal.answers import json_answer, moved, record_of
from tests.fakes.fal.job import iso_now
from tests.fakes.fal.model import StoredFile

if TYPE_CHECKING:
    from tests.fakes.fal.server import FakeFal

Params = Mapping[str, str]
TOKEN_LIFETIME = timedelta(hours=1)
# The v3 CDN reads the first; the second is the old CDN's, accepted and ignored (reference, Corrections).
V3_LIFECYCLE = "X-Fal-Object-Lifecycle"
LIFECYCLE_HEADERS = ("X-Fal-Object-Lifecycle-Preference", V3_LIFECYCLE)
STORAGE_TYPES = frozenset({"fal-cdn-v3"})


def _stored(request: web.Request, data: bytes, content_type: str, name: str) -> StoredFile:
    """A file with the lifecycle headers its upload carried (for initiate + PUT, those of the initiate)."""
    headers = {h: request.headers[h] for h in LIFECYCLE_HEADERS if h in request.headers}
    return StoredFile(data, content_type, name, next(iter(headers.values()), None), headers)


def _file_url(fake: FakeFal, file_id: str, name: str) -> str:
    return f"{fake.base_url}/files/{file_id}/{quote(name, safe='')}"


async def token(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    value = secrets.token_urlsafe(24)
    fake._cdn_tokens[value] = time.time() + TOKEN_LIFETIME.total_seconds()
    return json_answer(
        {
            "token": value,
            "token_type": "Bearer",
            "base_url": f"{fake.base_url}/cdn",
            "expires_at": iso_now(TOKEN_LIFETIME),
        }
    )


async def cdn_upload(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    kind, _, value = request.headers.get("Authorization", "").partition(" ")
    if kind != "Bearer" or fake._cdn_tokens.get(value, 0.0) < time.time():
        return json_answer({"detail": "Invalid or expired token"}, 401)
    content_type = request.headers.get("Content-Type") or "application/octet-stream"
    name = request.headers.get("X-Fal-File-Name") or "file" + (mimetypes.guess_extension(content_type) or ".bin")
    file_id = uuid.uuid4().hex
    url = _file_url(fake, file_id, name)
    fake.uploads[url] = _stored(request, await request.read(), content_type, name)
    return json_answer({"access_url": url})


async def initiate(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    # fal-js says it sends the type so as not to rely on the API's default; the default is not v3, so it is refused.
    if request.query.get("storage_type") not in STORAGE_TYPES:
        return json_answer({"detail": "Invalid storage type"}, 400)
    try:
        body = json.loads(await request.read())
    except ValueError:
        body = None
    missing = [
        {"loc": ["body", name], "msg": "Input should be a valid string", "type": "string_type"}
        for name in ("file_name", "content_type")
        if not isinstance(body, dict) or not isinstance(body.get(name), str)
    ]
    if missing or not isinstance(body, dict):
        return json_answer({"detail": missing}, 422)
    file_id = uuid.uuid4().hex
    fake._pending_puts[file_id] = _stored(request, b"", body["content_type"], body["file_name"])
    return json_answer(
        {"upload_url": f"{fake.base_url}/upload/{file_id}", "file_url": _file_url(fake, file_id, body["file_name"])}
    )


async def put_upload(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    """The presigned URL from initiate: no fal auth; like a signed GCS URL it is bound to the declared type."""
    pending = fake._pending_puts.get(params["fid"])
    if pending is None:
        return json_answer({"detail": "Unknown upload"}, 404)
    declared = pending.content_type.partition(";")[0].strip().lower()
    if "Content-Type" in request.headers and request.content_type.lower() != declared:
        return json_answer({"detail": f"Content-Type must be {pending.content_type!r}, as declared"}, 403)
    stored = dataclasses.replace(pending, data=await request.read())
    fake.uploads[_file_url(fake, params["fid"], pending.file_name)] = stored
    return web.Response(status=200)


async def file(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    if record_of(request).route == "file" and fake.redirect_files:
        return moved(fake.base_url, request)
    stored = fake.uploads.get(_file_url(fake, params["fid"], unquote(params["name"])))
    if stored is None:
        return json_answer({"detail": "Not Found"}, 404)
    return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})
