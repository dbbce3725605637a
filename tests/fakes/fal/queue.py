"""Queue routes (reference §1-4): submit, status, result, cancel; and the output video. The status stream: stream.py."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from tests.fakes.fal.answers import flag, json_answer, moved, record_of
from tests.fakes.fal.checks import IMAGE_FIELDS, MAX_IMAGE_BYTES, download_error, image_error, input_errors
from tests.fakes.fal.job import (
    CANCELLED,
    CANCELLED_ERROR,
    CANCELLED_TYPE,
    COMPLETED,
    IN_QUEUE,
    TIMED_OUT,
    TIMED_OUT_ERROR,
    TIMED_OUT_TYPE,
    Job,
)
from tests.fakes.fal.media import CHUNK
from tests.fakes.fal.model import APP, MODELS, SubmitRecord

if TYPE_CHECKING:
    from tests.fakes.fal.server import FakeFal

Params = Mapping[str, str]
START_TIMEOUT_HEADER = "X-Fal-Request-Timeout"
MIN_START_TIMEOUT = 0.1  # fal takes values above this (reference, PH); the SDKs' own floor of 1 s is theirs
SCRIPTED_INVALID = [
    {
        "loc": ["body", "prompt"],
        "msg": "The content could not be processed because it was flagged by a content checker",
        "type": "content_policy_violation",
    }
]


def _job(fake: FakeFal, params: Params) -> Job | web.Response:
    """The job behind a status, result or cancel URL, or fal's answer when there is none."""
    # Only the owner/app URLs fal hands out work; under the full model path fal answers 405 (reference, Corrections).
    if params["app"] in MODELS:
        return json_answer({"detail": "Method Not Allowed"}, 405, {"Allow": "POST"})
    job = fake._jobs.get(params["rid"])
    if job is None or params["app"] != APP:
        return json_answer({"detail": "Request not found"}, 404)
    return job


def _start_timeout(request: web.Request) -> float | None:
    """Seconds of X-Fal-Request-Timeout, None without one; ValueError for a value fal refuses."""
    text = request.headers.get(START_TIMEOUT_HEADER)
    if text is None:
        return None
    seconds = float(text)
    if not math.isfinite(seconds) or seconds <= MIN_START_TIMEOUT:
        raise ValueError(f"{seconds} is not above {MIN_START_TIMEOUT}")
    return seconds


def _bad_request(detail: str) -> web.Response:
    return json_answer({"detail": detail, "error_type": "bad_request"}, 400, {"X-Fal-Error-Type": "bad_request"})


async def submit(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    model = params["model"]
    if model not in MODELS:
        return json_answer({"detail": f"Application '{model}' not found"}, 404)
    try:
        start_timeout = _start_timeout(request)
    except ValueError:
        return _bad_request(f"{START_TIMEOUT_HEADER} must be a number of seconds greater than {MIN_START_TIMEOUT}")
    try:
        body = json.loads(await request.read())
    except ValueError:
        return json_answer({"detail": [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]}, 422)
    if errors := input_errors(body):
        return json_answer({"detail": errors}, 422)
    job = _create(fake, model, body, request, start_timeout)
    return json_answer({"status": IN_QUEUE, **job.urls, "queue_position": job.script.queue_position}, 200, _rid(job))


def _create(
    fake: FakeFal, model: str, body: dict[str, object], request: web.Request, start_timeout: float | None
) -> Job:
    rid = str(uuid.uuid4())
    base = f"{fake.queue_url}/{APP}/requests/{rid}"
    urls = {"request_id": rid, "response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}
    record = SubmitRecord(
        rid, model, body, dict(request.headers), fake.clock(), webhook=request.query.get("fal_webhook")
    )
    job = Job(record, fake._next_script(), urls, datetime.now(UTC))
    if start_timeout is not None:
        job.deadline = record.received_at + start_timeout
    job.fetching = asyncio.create_task(_fetch_images(fake, job), name=f"fake-fal-fetch-{rid}")
    job.fetching.add_done_callback(lambda _: job.fetch_done(fake.clock()))
    fake._jobs[rid] = job
    fake.submits.append(record)
    if record.webhook:
        fake.webhooks.watch(job, record.webhook)
    record_of(request).request_id = rid
    return job


async def _fetch_images(fake: FakeFal, job: Job) -> None:
    """What fal's runner does with the frame URLs: fetch them without auth and check them."""
    for field in IMAGE_FIELDS:
        url = job.record.body.get(field)
        if not isinstance(url, str):
            continue
        try:
            data = await _download(fake._client(), url)
        except Exception as exc:  # any failure to fetch is the same answer from fal
            job.problems.append(download_error(field, url, str(exc) or type(exc).__name__))
            continue
        if len(data) <= MAX_IMAGE_BYTES:
            job.record.fetched_images[field] = data
        if problem := image_error(field, url, data):
            job.problems.append(problem)


async def _download(client: aiohttp.ClientSession, url: str) -> bytes:
    async with client.get(url) as response:
        if response.status >= 300:
            raise ValueError(f"HTTP {response.status}")
        data = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            data += chunk
            if len(data) > MAX_IMAGE_BYTES:
                break  # enough to know it is too large
        return bytes(data)


def _rid(job: Job) -> dict[str, str]:
    return {"x-fal-request-id": job.request_id}


async def status(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    if not isinstance(job := _job(fake, params), Job):
        return job
    code, body = job.status(fake.clock(), logs=flag(request, "logs"))
    return json_answer(body, code, _rid(job))


async def result(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    if not isinstance(job := _job(fake, params), Job):
        return job
    if job.phase(fake.clock()) != COMPLETED:
        return json_answer({"detail": "Request is still in progress"}, 400, _rid(job))
    code, body, headers = final_answer(fake, job)
    return json_answer(body, code, headers)


def _request_error(job: Job, code: int, detail: str, error_type: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """fal's flat shape for a failed request (reference §3, RE): detail, error_type and the same in a header."""
    return code, {"detail": detail, "error_type": error_type}, _rid(job) | {"X-Fal-Error-Type": error_type}


def final_answer(fake: FakeFal, job: Job) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers of a completed job's result; a webhook carries the same body as its payload."""
    headers = _rid(job)
    ending = job.ending(fake.clock())
    how = ending[1] if ending is not None else None
    if how == CANCELLED:
        return _request_error(job, 499, CANCELLED_ERROR, CANCELLED_TYPE)
    if how == TIMED_OUT:
        code, body, headers = _request_error(job, 504, TIMED_OUT_ERROR, TIMED_OUT_TYPE)
        return code, body, headers | {"X-Fal-Request-Timeout-Type": "user"}
    if job.problems:
        return 422, {"detail": job.problems}, headers
    script = job.script
    if script.outcome == "invalid":
        return 422, {"detail": SCRIPTED_INVALID}, headers
    if script.outcome == "error":
        return _request_error(job, 500, script.error, script.error_type)
    if script.outcome == "result_error":
        return _request_error(job, script.failed_result_status, script.error, script.error_type)
    video = {
        "url": fake.video_url(job.request_id),
        "content_type": "video/mp4",
        "file_name": "output.mp4",
        "file_size": fake.video_length(job.request_id),
    }
    return 200, {"video": video}, headers


async def cancel(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    job = _job(fake, params)
    if not isinstance(job, Job):
        return json_answer({"status": "NOT_FOUND"}, 404) if job.status == 404 else job
    now = fake.clock()
    if job.phase(now) == COMPLETED:
        return json_answer({"status": "ALREADY_COMPLETED"}, 400, _rid(job))
    # Only a request (reference, Corrections): queued, the job is dropped unless its start crosses the cancel;
    # running, the model app decides (JobScript.cancel_honoured).
    job.cancel(now)
    if job.cancelled and job.fetching is not None:
        job.fetching.cancel()
    fake.webhooks.wake(job.request_id)
    fake.streams.wake(job.request_id)
    return json_answer({"status": "CANCELLATION_REQUESTED"}, 202, _rid(job))


async def video(fake: FakeFal, request: web.Request, params: Params) -> web.StreamResponse:
    if record_of(request).route == "video" and fake.redirect_videos:
        return moved(fake.base_url, request)
    job = fake._jobs.get(params["rid"])
    # The CDN holds a file only for a job that produced one.
    if job is None or not job.made_video(fake.clock()):
        return json_answer({"detail": "Not Found"}, 404)
    answer = web.StreamResponse(headers={"Content-Type": "video/mp4"})
    answer.content_length = fake.video_length(job.request_id)
    await answer.prepare(request)
    record_of(request).status = answer.status
    if request.method == "GET":
        for chunk in fake.video_chunks(job.request_id):
            await answer.write(chunk)
    await answer.write_eof()
    return answer
