"""The fake fal behaves like fal's queue as the reference describes it (checked with plain httpx over sockets)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.fakes.fal_server import MODEL, FakeFal, Fault, JobScript
from tests.support.images import image_bytes

KEY = {"Authorization": "Key k"}


@pytest.fixture
async def fal():
    async with FakeFal(key="k") as fake:
        yield fake


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def upload(http: httpx.AsyncClient, fal: FakeFal, data: bytes) -> str:
    token = (
        await http.post(
            f"{fal.rest_url}/storage/auth/token", params={"storage_type": "fal-cdn-v3"}, json={}, headers=KEY
        )
    ).json()
    answer = await http.post(
        f"{token['base_url']}/files/upload",
        content=data,
        headers={"Authorization": f"Bearer {token['token']}", "Content-Type": "image/png", "X-Fal-File-Name": "a.png"},
    )
    return answer.json()["access_url"]


async def submit(http, fal, **body) -> dict:
    response = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY)
    assert response.status_code == 200, response.text
    return response.json()


async def until_done(http, status_url: str) -> list[dict]:
    seen = []
    while True:
        answer = await http.get(status_url, params={"logs": "1"}, headers=KEY)
        seen.append(answer.json() | {"http": answer.status_code})
        if answer.status_code == 200:
            return seen
        await asyncio.sleep(0.01)


async def test_submit_status_result_video(fal, http):
    fal.script_next(JobScript(queue_seconds=None, run_seconds=None))
    url = await upload(http, fal, image_bytes(640, 360))
    job = await submit(http, fal, prompt="p", start_image_url=url, duration="5")
    assert job["status"] == "IN_QUEUE" and job["status_url"].endswith("/status")
    assert "/fal-ai/kling-video/requests/" in job["response_url"]
    queued = await http.get(job["status_url"], headers=KEY)
    assert (queued.status_code, queued.json()["status"], queued.json()["queue_position"]) == (202, "IN_QUEUE", 2)
    fal.release(job["request_id"])
    running = await http.get(job["status_url"], params={"logs": "1"}, headers=KEY)
    assert (running.status_code, running.json()["status"]) == (202, "IN_PROGRESS")
    assert running.json()["logs"][0]["message"] == "Generating..."
    fal.release(job["request_id"])
    seen = await until_done(http, job["status_url"])
    assert seen[-1]["status"] == "COMPLETED" and seen[-1]["http"] == 200
    result = (await http.get(job["response_url"], headers=KEY)).json()
    video = await http.get(result["video"]["url"])
    assert video.content == fal.video_bytes(job["request_id"]) and len(video.content) == 4096
    assert video.content[4:8] == b"ftyp"
    assert fal.submits[0].fetched_images["start_image_url"] == image_bytes(640, 360)


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "p"},
        {"prompt": "p", "start_image_url": "u", "duration": 5},
        {"prompt": "p", "start_image_url": "u", "seed": 1},
    ],
)
async def test_bad_body_is_422_without_a_job(fal, http, body):
    response = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY)
    assert response.status_code == 422 and isinstance(response.json()["detail"], list)
    assert fal.submits == []


async def test_key_required(fal, http):
    response = await http.post(f"{fal.queue_url}/{MODEL}", json={})
    assert response.status_code == 401


@pytest.mark.parametrize("image", [image_bytes(200, 200), b"nope"])
async def test_images_fal_cannot_use_fail_at_result(fal, http, image):
    url = await upload(http, fal, image)
    job = await submit(http, fal, prompt="p", start_image_url=url)
    await until_done(http, job["status_url"])
    result = await http.get(job["response_url"], headers=KEY)
    assert result.status_code == 422
    assert result.json()["detail"][0]["loc"] == ["body", "start_image_url"]


async def test_cancel_while_queued_and_after(fal, http):
    fal.script_next(JobScript(queue_seconds=None))
    url = await upload(http, fal, image_bytes())
    job = await submit(http, fal, prompt="p", start_image_url=url)
    cancel = await http.put(job["cancel_url"], headers=KEY)
    assert (cancel.status_code, cancel.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    seen = await until_done(http, job["status_url"])
    assert seen[-1]["error_type"] == "client_cancelled"
    again = await http.put(job["cancel_url"], headers=KEY)
    assert (again.status_code, again.json()) == (400, {"status": "ALREADY_COMPLETED"})


async def test_faults_status_delay_drop_and_after_effect(fal, http):
    url = await upload(http, fal, image_bytes())
    fal.inject(Fault(route="submit", status=429, headers={"Retry-After": "1"}))
    refused = await http.post(f"{fal.queue_url}/{MODEL}", json={"prompt": "p", "start_image_url": url}, headers=KEY)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1" and fal.submits == []
    fal.inject(Fault(route="submit", drop=True, after_effect=True))
    with pytest.raises(httpx.TransportError):
        await http.post(f"{fal.queue_url}/{MODEL}", json={"prompt": "p", "start_image_url": url}, headers=KEY)
    assert len(fal.submits) == 1  # fal took it although the answer was lost
    fal.inject(Fault(route="status", delay=0.5))
    with pytest.raises(httpx.ReadTimeout):
        await http.get(
            f"{fal.queue_url}/fal-ai/kling-video/requests/{fal.submits[0].request_id}/status", headers=KEY, timeout=0.1
        )


async def test_fallback_storage_flow(fal, http):
    start = await http.post(
        f"{fal.rest_url}/storage/upload/initiate",
        params={"storage_type": "gcs"},
        json={"file_name": "x.png", "content_type": "image/png"},
        headers=KEY,
    )
    urls = start.json()
    assert (await http.get(urls["file_url"])).status_code == 404
    assert (await http.put(urls["upload_url"], content=b"bytes")).status_code == 200
    assert (await http.get(urls["file_url"])).content == b"bytes"


async def test_sse_stream_ends_with_completed(fal, http):
    url = await upload(http, fal, image_bytes())
    job = await submit(http, fal, prompt="p", start_image_url=url)
    events = []
    async with http.stream("GET", f"{job['status_url']}/stream", headers=KEY) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert events[0]["status"] == "IN_QUEUE" and events[-1]["status"] == "COMPLETED"


async def test_release_ends_held_phases(fal, http):
    fal.script_next(JobScript(queue_seconds=None, run_seconds=None))
    url = await upload(http, fal, image_bytes())
    job = await submit(http, fal, prompt="p", start_image_url=url)
    status = lambda: http.get(job["status_url"], headers=KEY)  # noqa: E731
    assert (await status()).json()["status"] == "IN_QUEUE"
    fal.release(job["request_id"])
    await asyncio.sleep(0.05)
    assert (await status()).json()["status"] == "IN_PROGRESS"
    fal.release(job["request_id"])
    assert (await status()).json()["status"] == "COMPLETED"
