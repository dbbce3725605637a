"""A fake fal.ai queue and storage server (aiohttp) on 127.0.0.1, behaving as ../shared/reference/fal-queue-api.md
describes fal: submit, status (and its SSE stream), result, cancel, the two storage upload flows, and the video CDN.

Jobs follow a scriptable timeline; faults can be injected per route. Runnable on its own for subprocess tests and
benchmarks: `python -m tests.fakes.fal_server --port 0`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import math
import re
import secrets
import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

MODEL = "fal-ai/kling-video/o1/image-to-video"
MODELS = frozenset({MODEL, "fal-ai/kling-video/o1/standard/image-to-video"})
DURATIONS = frozenset(str(n) for n in range(3, 11))
FIELDS = {"prompt", "start_image_url", "end_image_url", "duration"}
MP4_HEADER = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
CHUNK = 64 * 1024


@dataclass
class JobScript:
    queue_seconds: float | None = 0.05
    queue_position: int = 2
    run_seconds: float | None = 0.05
    outcome: str = "ok"  # "ok" | "error" | "invalid"
    error: str = "Runner disconnected"
    error_type: str = "runner_disconnected"
    video_size: int = 4096
    logs: list[str] = field(default_factory=lambda: ["Generating..."])


@dataclass
class Fault:
    route: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    after_effect: bool = False
    times: int = 1


@dataclass
class SubmitRecord:
    request_id: str
    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float
    webhook: str | None = None
    fetched_images: dict[str, bytes] = field(default_factory=dict)


@dataclass
class RequestRecord:
    route: str
    method: str
    path: str
    query: dict[str, str]
    request_id: str | None
    at: float
    status: int = 0


@dataclass
class StoredFile:
    data: bytes
    content_type: str
    file_name: str
    lifecycle: str | None = None


@dataclass
class _Job:
    record: SubmitRecord
    script: JobScript
    queue_end: float | None
    run_end: float | None = None
    cancelled: bool = False
    invalid: list[dict[str, Any]] | None = None
    fetch: asyncio.Task[None] | None = None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json", headers=headers)


_ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    ("GET", "stream", re.compile(r"^/queue/[^/]+/[^/]+/requests/(?P<rid>[^/]+)/status/stream$")),
    ("GET", "status", re.compile(r"^/queue/[^/]+/[^/]+/requests/(?P<rid>[^/]+)/status$")),
    ("PUT", "cancel", re.compile(r"^/queue/[^/]+/[^/]+/requests/(?P<rid>[^/]+)/cancel$")),
    ("GET", "result", re.compile(r"^/queue/[^/]+/[^/]+/requests/(?P<rid>[^/]+)$")),
    ("POST", "submit", re.compile(r"^/queue/(?P<model>.+)$")),
    ("POST", "token", re.compile(r"^/rest/storage/auth/token$")),
    ("POST", "initiate", re.compile(r"^/rest/storage/upload/initiate$")),
    ("POST", "cdn_upload", re.compile(r"^/cdn/files/upload$")),
    ("PUT", "put_upload", re.compile(r"^/upload/(?P<fid>[^/]+)$")),
    ("GET", "file", re.compile(r"^/files/(?P<fid>[^/]+)/(?P<name>[^/]+)$")),
    ("GET", "video", re.compile(r"^/videos/(?P<rid>[^/.]+)\.mp4$")),
]


class FakeFal:
    def __init__(self, *, key: str = "test-fal-key", default_script: JobScript | None = None, port: int = 0) -> None:
        self.key = key
        self.default_script = default_script or JobScript()
        self.submits: list[SubmitRecord] = []
        self.requests: list[RequestRecord] = []
        self.uploads: dict[str, StoredFile] = {}
        self.cancelled: set[str] = set()
        self._port = port
        self._scripts: list[JobScript] = []
        self._faults: list[Fault] = []
        self._jobs: dict[str, _Job] = {}
        self._pending_puts: dict[str, tuple[str, str]] = {}
        self._cdn_tokens: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    # -- life cycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))

    async def stop(self) -> None:
        for job in self._jobs.values():
            if job.fetch:
                job.fetch.cancel()
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeFal:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def queue_url(self) -> str:
        return f"{self.base_url}/queue"

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/rest"

    # -- test controls ---------------------------------------------------------------------------------------

    def script_next(self, *scripts: JobScript) -> None:
        self._scripts.extend(scripts)

    def inject(self, *faults: Fault) -> None:
        self._faults.extend(faults)

    def release(self, request_id: str) -> None:
        """End the phase a job is held in (a phase scripted with None seconds)."""
        job, now = self._jobs[request_id], time.monotonic()
        if job.queue_end is None or now < job.queue_end:
            job.queue_end = now
        else:
            job.run_end = now

    def count(self, route: str, request_id: str | None = None) -> int:
        return sum(1 for r in self.requests if r.route == route and (request_id is None or r.request_id == request_id))

    def video_bytes(self, request_id: str) -> bytes:
        return b"".join(self._video_chunks(request_id, self._jobs[request_id].script.video_size))

    # -- dispatch --------------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        name, params = self._route(request)
        record = RequestRecord(
            name, request.method, request.path, dict(request.query), params.get("rid"), time.monotonic()
        )
        self.requests.append(record)
        fault = self._take_fault(name)
        if fault and not fault.after_effect:
            response = await self._apply(request, fault)
        else:
            response = await self._handle(name, params, request)
            if fault:
                response = await self._apply(request, fault)
        record.status = response.status
        return response

    def _route(self, request: web.Request) -> tuple[str, dict[str, str]]:
        for method, name, pattern in _ROUTES:
            if request.method == method and (match := pattern.match(request.path)):
                return name, match.groupdict()
        return "unknown", {}

    def _take_fault(self, name: str) -> Fault | None:
        for fault in self._faults:
            if fault.route == name:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _apply(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=599)
        body = fault.body if fault.body is not None else {"detail": "Internal Server Error"}
        if isinstance(body, bytes):
            return web.Response(body=body, status=fault.status, headers=fault.headers)
        return _json(body, fault.status, fault.headers)

    async def _handle(self, name: str, params: dict[str, str], request: web.Request) -> web.StreamResponse:
        public = {"file", "video", "put_upload", "cdn_upload"}
        if name not in public and name != "unknown" and request.headers.get("Authorization") != f"Key {self.key}":
            return _json({"detail": "Invalid or missing fal key"}, 401)
        handler = getattr(self, f"_on_{name}", None)
        if handler is None:
            return _json({"detail": f"no route for {request.method} {request.path}"}, 404)
        return await handler(request, **params)

    # -- queue -----------------------------------------------------------------------------------------------

    async def _on_submit(self, request: web.Request, model: str) -> web.Response:
        if model not in MODELS:
            return _json({"detail": f"Application '{model}' not found"}, 404)
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _json({"detail": [{"loc": ["body"], "msg": "Invalid JSON", "type": "value_error.jsondecode"}]}, 422)
        if errors := _input_errors(body):
            return _json({"detail": errors}, 422)
        rid = str(uuid.uuid4())
        script = self._scripts.pop(0) if self._scripts else self.default_script
        now = time.monotonic()
        record = SubmitRecord(rid, model, body, dict(request.headers), now, request.query.get("fal_webhook"))
        queue_end = now + script.queue_seconds if script.queue_seconds is not None else None
        job = _Job(record, script, queue_end)
        job.fetch = asyncio.create_task(self._fetch_images(job))
        self._jobs[rid] = job
        self.submits.append(record)
        base = f"{self.queue_url}/fal-ai/kling-video/requests/{rid}"
        return _json(
            {
                "status": "IN_QUEUE",
                "request_id": rid,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
                "queue_position": script.queue_position,
            }
        )

    def _phase(self, job: _Job) -> tuple[str, int | None]:
        now = time.monotonic()
        if job.cancelled:
            return "COMPLETED", None
        if job.queue_end is None or now < job.queue_end:
            return "IN_QUEUE", self._position(job, now)
        if job.run_end is None and job.script.run_seconds is not None:
            job.run_end = job.queue_end + job.script.run_seconds
        if job.run_end is None or now < job.run_end or (job.fetch and not job.fetch.done()):
            return "IN_PROGRESS", None
        return "COMPLETED", None

    def _position(self, job: _Job, now: float) -> int:
        seconds, start = job.script.queue_seconds, job.script.queue_position
        if not seconds or job.queue_end is None:
            return start
        left = (job.queue_end - now) / seconds
        return max(0, min(start, math.ceil(start * left) - 1))

    def _status_body(self, job: _Job, logs: bool) -> tuple[int, dict[str, Any]]:
        phase, position = self._phase(job)
        rid = job.record.request_id
        body: dict[str, Any] = {
            "status": phase,
            "request_id": rid,
            "response_url": f"{self.queue_url}/fal-ai/kling-video/requests/{rid}",
            "logs": [] if logs else None,
        }
        if phase == "IN_QUEUE":
            body["queue_position"] = position
            return 202, body
        if logs:
            body["logs"] = [
                {"message": m, "level": "INFO", "source": "USER", "timestamp": datetime.now(UTC).isoformat()}
                for m in job.script.logs
            ]
        if phase == "IN_PROGRESS":
            return 202, body
        body["metrics"] = {"inference_time": job.script.run_seconds or 0.0}
        if job.cancelled:
            body |= {"error": "Request was cancelled", "error_type": "client_cancelled"}
        elif job.script.outcome == "error" and not job.invalid:
            body |= {"error": job.script.error, "error_type": job.script.error_type}
        return 200, body

    async def _on_status(self, request: web.Request, rid: str) -> web.Response:
        if (job := self._jobs.get(rid)) is None:
            return _json({"detail": "Request not found"}, 404)
        status, body = self._status_body(job, request.query.get("logs", "0") in ("1", "true"))
        return _json(body, status)

    async def _on_stream(self, request: web.Request, rid: str) -> web.StreamResponse:
        if (job := self._jobs.get(rid)) is None:
            return _json({"detail": "Request not found"}, 404)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        last, sent_at = None, 0.0
        while True:
            _, body = self._status_body(job, request.query.get("logs", "0") in ("1", "true"))
            text = json.dumps(body)
            if text != last or time.monotonic() - sent_at > 0.5:
                await response.write(f"data: {text}\n\n".encode())
                last, sent_at = text, time.monotonic()
            if body["status"] == "COMPLETED":
                break
            await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    async def _on_result(self, request: web.Request, rid: str) -> web.Response:
        if (job := self._jobs.get(rid)) is None:
            return _json({"detail": "Request not found"}, 404)
        if self._phase(job)[0] != "COMPLETED":
            return _json({"detail": "Request is still in progress"}, 400)
        if job.cancelled:
            return _json({"detail": "Request was cancelled", "error_type": "client_cancelled"}, 499)
        if job.invalid or job.script.outcome == "invalid":
            detail = job.invalid or [{"loc": ["body", "prompt"], "msg": "Prompt was rejected", "type": "value_error"}]
            return _json({"detail": detail}, 422)
        if job.script.outcome == "error":
            return _json(
                {"detail": job.script.error, "error_type": job.script.error_type},
                500,
                {"X-Fal-Error-Type": job.script.error_type},
            )
        return _json(
            {
                "video": {
                    "url": f"{self.base_url}/videos/{rid}.mp4",
                    "content_type": "video/mp4",
                    "file_name": "output.mp4",
                    "file_size": job.script.video_size,
                }
            }
        )

    async def _on_cancel(self, request: web.Request, rid: str) -> web.Response:
        if (job := self._jobs.get(rid)) is None:
            return _json({"status": "NOT_FOUND"}, 404)
        phase, _ = self._phase(job)
        if phase == "COMPLETED":
            return _json({"status": "ALREADY_COMPLETED"}, 400)
        if phase == "IN_QUEUE":
            job.cancelled = True
            self.cancelled.add(rid)
        return _json({"status": "CANCELLATION_REQUESTED"}, 202)

    async def _fetch_images(self, job: _Job) -> None:
        assert self._session is not None
        for name in ("start_image_url", "end_image_url"):
            if (url := job.record.body.get(name)) is None:
                continue
            try:
                async with self._session.get(url) as response:
                    data = await response.read() if response.status < 300 else None
            except aiohttp.ClientError:
                data = None
            problem = "Failed to download the file" if data is None else _image_problem(data)
            if data is not None:
                job.record.fetched_images[name] = data
            if problem:
                job.invalid = [
                    {
                        "loc": ["body", name],
                        "msg": problem,
                        "type": "file_download_error" if data is None else "image_load_error",
                    }
                ]
                return

    # -- storage ---------------------------------------------------------------------------------------------

    async def _on_token(self, request: web.Request) -> web.Response:
        token = secrets.token_hex(16)
        self._cdn_tokens.add(token)
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        return _json(
            {"token": token, "token_type": "Bearer", "base_url": f"{self.base_url}/cdn", "expires_at": expires}
        )

    async def _on_cdn_upload(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self._cdn_tokens:
            return _json({"detail": "Invalid token"}, 401)
        name = request.headers.get("X-Fal-File-Name") or "upload.bin"
        url = self._store(
            await request.read(), request.content_type, name, request.headers.get("X-Fal-Object-Lifecycle-Preference")
        )
        return _json({"access_url": url})

    async def _on_initiate(self, request: web.Request) -> web.Response:
        body = await request.json()
        fid = uuid.uuid4().hex
        self._pending_puts[fid] = (body["file_name"], body["content_type"])
        return _json(
            {
                "upload_url": f"{self.base_url}/upload/{fid}",
                "file_url": f"{self.base_url}/files/{fid}/{body['file_name']}",
            }
        )

    async def _on_put_upload(self, request: web.Request, fid: str) -> web.Response:
        if fid not in self._pending_puts:
            return _json({"detail": "Unknown upload"}, 404)
        name, content_type = self._pending_puts.pop(fid)
        self.uploads[f"{self.base_url}/files/{fid}/{name}"] = StoredFile(await request.read(), content_type, name)
        return web.Response(status=200)

    def _store(self, data: bytes, content_type: str, name: str, lifecycle: str | None) -> str:
        url = f"{self.base_url}/files/{uuid.uuid4().hex}/{name}"
        self.uploads[url] = StoredFile(data, content_type, name, lifecycle)
        return url

    async def _on_file(self, request: web.Request, fid: str, name: str) -> web.Response:
        stored = self.uploads.get(f"{self.base_url}/files/{fid}/{name}")
        if stored is None:
            return _json({"detail": "Not found"}, 404)
        return web.Response(body=stored.data, content_type=stored.content_type)

    async def _on_video(self, request: web.Request, rid: str) -> web.StreamResponse:
        if (job := self._jobs.get(rid)) is None:
            return _json({"detail": "Not found"}, 404)
        size = job.script.video_size
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.content_length = size
        await response.prepare(request)
        for chunk in self._video_chunks(rid, size):
            await response.write(chunk)
        await response.write_eof()
        return response

    @staticmethod
    def _video_chunks(request_id: str, size: int) -> Any:
        pattern = (hashlib.sha256(request_id.encode()).digest() * (CHUNK // 32))[:CHUNK]
        head = MP4_HEADER[:size]
        yield head
        left = size - len(head)
        while left > 0:
            yield pattern[: min(CHUNK, left)]
            left -= CHUNK


def _input_errors(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [{"loc": ["body"], "msg": "Input should be an object", "type": "model_type"}]
    errors = [
        {"loc": ["body", k], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
        for k in body
        if k not in FIELDS
    ]
    for name in ("prompt", "start_image_url"):
        if name not in body:
            errors.append({"loc": ["body", name], "msg": "Field required", "type": "missing"})
    for name in ("prompt", "start_image_url", "end_image_url"):
        if name in body and not isinstance(body[name], str):
            errors.append({"loc": ["body", name], "msg": "Input should be a valid string", "type": "string_type"})
    if "duration" in body and body["duration"] not in DURATIONS:
        errors.append({"loc": ["body", "duration"], "msg": "Input should be '3', '4', … or '10'", "type": "enum"})
    return errors


def _image_problem(data: bytes) -> str | None:
    if len(data) > 10 * 1024 * 1024:
        return "Image is larger than 10MB"
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception:
        return "File is not a valid image"
    if min(width, height) < 300:
        return "Image dimensions must be at least 300x300"
    if not 0.4 <= width / height <= 2.5:
        return "Image aspect ratio must be between 0.40 and 2.50"
    return None


async def _serve(args: argparse.Namespace) -> None:
    script = JobScript(queue_seconds=args.queue_seconds, run_seconds=args.run_seconds, video_size=args.video_size)
    async with FakeFal(key=args.key, default_script=script, port=args.port) as fake:
        print(f"FAKE_FAL {fake.base_url} {fake.queue_url} {fake.rest_url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake fal queue + storage server on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default="test-fal-key")
    parser.add_argument("--queue-seconds", type=float, default=0.05)
    parser.add_argument("--run-seconds", type=float, default=0.05)
    parser.add_argument("--video-size", type=int, default=4096)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
