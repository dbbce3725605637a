"""FakeFal: the aiohttp server, its test controls, request records and fault injection."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.fakes.fal import queue, storage, stream, webhooks
from tests.fakes.fal.answers import RECORD, fault_answer, json_answer
from tests.fakes.fal.job import Job
from tests.fakes.fal.media import CHUNK, video_chunks
from tests.fakes.fal.model import (
    PRICE_MICROS,
    BillLine,
    Fault,
    JobHistory,
    JobScript,
    RequestRecord,
    StoredFile,
    SubmitRecord,
)
from tests.fakes.fal.storage import V3_LIFECYCLE
from tests.fakes.fal.webhooks import WebhookDelivery, WebhookSender
from tests.support import media

Handler = Callable[["FakeFal", web.Request, Mapping[str, str]], Awaitable[web.StreamResponse]]

_REQ = r"^/queue/(?P<app>.+?)/requests/(?P<rid>[^/]+)"
_FILE = r"/files/(?P<fid>[^/]+)/(?P<name>[^/]+)$"
_VIDEO = r"/videos/(?P<rid>[^/]+)\.mp4$"
# First match wins: the submit pattern would swallow any other POST under /queue.
_ROUTES: list[tuple[frozenset[str], str, re.Pattern[str], Handler]] = [
    (frozenset({"GET"}), "stream", re.compile(_REQ + r"/status/stream$"), stream.serve),
    (frozenset({"POST", "PUT", "DELETE"}), "unknown", re.compile(_REQ + r"/status/stream$"), stream.wrong_method),
    (frozenset({"GET"}), "status", re.compile(_REQ + r"/status$"), queue.status),
    (frozenset({"PUT"}), "cancel", re.compile(_REQ + r"/cancel$"), queue.cancel),
    (frozenset({"GET"}), "result", re.compile(_REQ + r"$"), queue.result),
    (frozenset({"POST"}), "submit", re.compile(r"^/queue/(?P<model>.+)$"), queue.submit),
    (frozenset({"POST"}), "token", re.compile(r"^/rest/storage/auth/token$"), storage.token),
    (frozenset({"POST"}), "initiate", re.compile(r"^/rest/storage/upload/initiate$"), storage.initiate),
    (frozenset({"POST"}), "cdn_upload", re.compile(r"^/cdn/files/upload$"), storage.cdn_upload),
    (frozenset({"PUT"}), "put_upload", re.compile(r"^/upload/(?P<fid>[^/]+)$"), storage.put_upload),
    (frozenset({"GET", "HEAD"}), "file", re.compile("^" + _FILE), storage.file),
    (frozenset({"GET", "HEAD"}), "video", re.compile("^" + _VIDEO), queue.video),
    (frozenset({"GET", "HEAD"}), "moved_file", re.compile("^/moved" + _FILE), storage.file),
    (frozenset({"GET", "HEAD"}), "moved_video", re.compile("^/moved" + _VIDEO), queue.video),
    (frozenset({"GET"}), "jwks", re.compile(r"^/rest/\.well-known/jwks\.json$"), webhooks.jwks),
]
_KEY_ROUTES = frozenset({"submit", "status", "stream", "result", "cancel", "token", "initiate"})
# A locked account is refused every billable call; status looks still answer (live reports).
_LOCKED_ROUTES = frozenset({"submit", "token", "initiate"})
MAX_BODY = 200 * 1024 * 1024
IMAGE_FETCH_TIMEOUT = 20.0  # fal's documented fetch timeout for O1 frames


class FakeFal:
    """fal's queue, storage and CDN on 127.0.0.1, one free port, all under one aiohttp app.

    Steer it with `script_next(JobScript(...))` per job, `inject(Fault(...))` per request, `release(id)`, and the
    knobs `account_lock`, `redirect_files`, `redirect_videos`. Read what fal did from `submits`, `requests`,
    `uploads`, `uploads_without_lifecycle`, `cancelled`, `history`, `bill` and `max_at_fal()`.
    """

    def __init__(
        self,
        *,
        key: str = "test-fal-key",
        default_script: JobScript | None = None,
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        videos: Callable[[int], Path] = media.small_video,
        video_maker: Callable[[SubmitRecord], Path] | None = None,
    ) -> None:
        self.key = key
        # The real MP4 a job of N seconds makes (a test may hand in bigger ones: tests.support.media).
        self.videos = videos
        # Or a video made from the job itself (its body and the frames the runner fetched), e.g. the sandbox's
        # stand-in; called once the job has made a video, where `videos` would be.
        self.video_maker = video_maker
        # Every job timeline and record is read from this clock; a test may move it by hand.
        self.clock = clock
        self.default_script = default_script or JobScript()
        self.submits: list[SubmitRecord] = []
        self.requests: list[RequestRecord] = []
        self.uploads: dict[str, StoredFile] = {}
        # Knobs: answer file (frame) or video downloads with a 302 to the same bytes under /moved.
        self.redirect_files = False
        self.redirect_videos = False
        # A reason (EXHAUSTED_BALANCE, ADMIN_LOCK or any text): billable calls answer 403 "User is locked. …".
        self.account_lock: str | None = None
        self._phantoms: list[str] = []  # ids fal named in a submit answer without queueing a job
        self._port = port
        self._base_url: str | None = None
        self._scripts: deque[JobScript] = deque()
        self._faults: list[Fault] = []
        self._jobs: dict[str, Job] = {}
        self._cdn_tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self._pending_puts: dict[str, StoredFile] = {}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.webhooks = WebhookSender(self)
        self.streams = stream.StreamHub(self)  # status streams: scripts for drops and stalls, the open ones

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeFal already started")
        self._closing.clear()
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # A short shutdown: a test may stop the fake while a status stream waits on a held job.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port, backlog=1024).start()
        self._base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=IMAGE_FETCH_TIMEOUT))

    async def stop(self) -> None:
        self._closing.set()
        self.streams.close()
        fetches = [job.fetching for job in self._jobs.values() if job.fetching and not job.fetching.done()]
        for task in fetches:
            task.cancel()
        await asyncio.gather(*fetches, return_exceptions=True)
        await self.webhooks.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeFal:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeFal is not started")
        return self._base_url

    @property
    def queue_url(self) -> str:
        return f"{self.base_url}/queue"

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/rest"

    @property
    def jwks_url(self) -> str:
        return f"{self.rest_url}/.well-known/jwks.json"

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook POST attempt, in order (see `webhooks` for the signing controls)."""
        return self.webhooks.deliveries

    def video_url(self, request_id: str) -> str:
        return f"{self.base_url}/videos/{request_id}.mp4"

    # What fal did, as of now.

    @property
    def cancelled(self) -> set[str]:
        """Request ids whose cancel ended them: never ran to a video, never billed."""
        return {rid for rid, job in self._jobs.items() if job.cancelled}

    @property
    def bill(self) -> dict[str, BillLine]:
        """What fal charges: every run that completed with a video, by request id."""
        now = self.clock()
        return {rid: _bill_line(job) for rid, job in self._jobs.items() if job.made_video(now)}

    @property
    def history(self) -> dict[str, JobHistory]:
        """Every request id fal named, queued or not, with what became of it."""
        now = self.clock()
        named = {rid: JobHistory(rid, False, False, False, False, False, False) for rid in self._phantoms}
        return named | {rid: job.history(now) for rid, job in self._jobs.items()}

    def max_at_fal(self, *, running_only: bool = False) -> int:
        """The most jobs the account had at fal at one moment: IN_QUEUE + IN_PROGRESS, or IN_PROGRESS only."""
        now = self.clock()
        events: list[tuple[float, int]] = []
        for job in self._jobs.values():
            begin = job.started_at() if running_only else job.record.received_at
            ending = job.ending(now)
            if begin is None or begin > now or (ending is not None and ending[0] <= begin):
                continue
            events.append((begin, 1))
            if ending is not None:
                events.append((ending[0], -1))
        # At a tie the end comes first: a job that ends as another begins never overlaps it.
        peak = level = 0
        for _, step in sorted(events):
            level += step
            peak = max(peak, level)
        return peak

    @property
    def uploads_without_lifecycle(self) -> list[str]:
        """URLs of stored files whose upload lacked X-Fal-Object-Lifecycle, the only retention header the v3 CDN
        reads: they live as long as the account's default, not as long as the uploader asked."""
        return [url for url, stored in self.uploads.items() if V3_LIFECYCLE not in stored.lifecycle_headers]

    # Test controls.

    def script_next(self, *scripts: JobScript) -> None:
        """Scripts for the next submits, in order; after them, default_script."""
        self._scripts.extend(scripts)

    def inject(self, *faults: Fault) -> None:
        self._faults.extend(faults)

    def release(self, request_id: str) -> None:
        """End the phase the job is in now: IN_QUEUE starts running, IN_PROGRESS completes."""
        if request_id not in self._jobs:
            raise KeyError(f"no job {request_id!r} was submitted")
        self._jobs[request_id].release(self.clock())
        self.webhooks.wake(request_id)
        self.streams.wake(request_id)

    def video_file(self, request_id: str) -> Path | None:
        """The file a job's video is, or None when its script asks for noise (video_size)."""
        job = self._jobs[request_id]
        if job.script.video_size is not None:
            return None
        if job.script.video is not None:
            return job.script.video
        if self.video_maker is not None:
            return self.video_maker(job.record)
        return self.videos(int(str(job.record.body.get("duration", "5"))))

    def video_length(self, request_id: str) -> int:
        path = self.video_file(request_id)
        return path.stat().st_size if path is not None else self._jobs[request_id].script.video_size or 0

    def video_chunks(self, request_id: str) -> Iterator[bytes]:
        path = self.video_file(request_id)
        if path is None:
            yield from video_chunks(request_id, self.video_length(request_id))
            return
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk

    def video_bytes(self, request_id: str) -> bytes:
        return b"".join(self.video_chunks(request_id))

    def count(self, route: str, request_id: str | None = None) -> int:
        return sum(1 for r in self.requests if r.route == route and (request_id is None or r.request_id == request_id))

    # Internals used by the route modules.

    def _next_script(self) -> JobScript:
        # A copy, so a test changing default_script later does not rewrite jobs already at fal.
        return dataclasses.replace(self._scripts.popleft() if self._scripts else self.default_script)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("FakeFal is not started")
        return self._session

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        name, handler, params = _route(request)
        record = RequestRecord(
            name, request.method, request.path, dict(request.query), 0, self.clock(), params.get("rid")
        )
        self.requests.append(record)
        request[RECORD] = record
        fault = self._take_fault(name)
        if fault is None:
            answer = await self._answer(name, handler, params, request)
        else:
            if fault.after_effect:
                await self._answer(name, handler, params, request)
            answer = await self._apply(fault, request, self._fault_request_id(fault, record))
        record.status = 0 if fault is not None and fault.drop else answer.status
        return answer

    def _fault_request_id(self, fault: Fault, record: RequestRecord) -> str | None:
        """The x-fal-request-id a submit fault carries: the queued job's, or one fal named and never queued."""
        if not fault.carries_request_id:
            return None
        if record.request_id is None or not fault.after_effect:
            record.request_id = str(uuid.uuid4())
            self._phantoms.append(record.request_id)
        return record.request_id

    async def _answer(
        self, name: str, handler: Handler | None, params: Mapping[str, str], request: web.Request
    ) -> web.StreamResponse:
        if handler is None:
            return json_answer({"detail": "Not Found"}, 404)
        if name in _KEY_ROUTES:
            auth = request.headers.get("Authorization")
            if auth is None:
                return json_answer({"detail": "Missing Authorization header"}, 401)
            if auth != f"Key {self.key}":
                return json_answer({"detail": "No user found for Key ID and Secret"}, 401)
        if name in _LOCKED_ROUTES and self.account_lock is not None:
            return json_answer({"detail": f"User is locked. Reason: {self.account_lock}"}, 403)
        return await handler(self, request, params)

    def _take_fault(self, route: str) -> Fault | None:
        for fault in self._faults:
            if fault.route == route:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _apply(self, fault: Fault, request: web.Request, request_id: str | None) -> web.StreamResponse:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            if request.transport is not None:
                request.transport.abort()
            # aiohttp fails to write this to the closed socket and gives up quietly: the client sees no answer.
            return web.Response(status=fault.status)
        answer = fault_answer(fault)
        if request_id is not None:
            answer.headers["x-fal-request-id"] = request_id
        return answer


def _bill_line(job: Job) -> BillLine:
    model = job.record.model
    seconds = int(str(job.record.body.get("duration", "5")))
    return BillLine(job.request_id, model, seconds, seconds * PRICE_MICROS.get(model, 0))


def _route(request: web.Request) -> tuple[str, Handler | None, dict[str, str]]:
    path = request.rel_url.raw_path  # raw, so an encoded "/" in a file name stays inside its segment
    for methods, name, pattern, handler in _ROUTES:
        if request.method in methods and (match := pattern.match(path)):
            return name, handler, match.groupdict()
    return "unknown", None, {}
