"""The fake fal behaves like fal's queue and storage as the reference describes them, checked with plain httpx over
real sockets. Frames are made with Pillow in memory and served from the fake's own storage."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fakes.fal.media import video_chunks
from tests.fakes.fal.queue import STREAM_HEARTBEAT
from tests.fakes.fal_server import MODEL, STANDARD_MODEL, FakeFal, Fault, JobScript
from tests.support.images import image_bytes
from tests.support.waiting import wait_until

KEY = {"Authorization": "Key k"}
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fal() -> AsyncIterator[FakeFal]:
    async with FakeFal(key="k") as fake:
        yield fake


class Clock:
    """The fake's clock, moved only by the test: a timed phase ends when the test says, however busy the machine."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def still(clock: Clock) -> AsyncIterator[FakeFal]:
    """A fake whose job timelines follow `clock`."""
    async with FakeFal(key="k", clock=clock) as fake:
        yield fake


async def fetched(fal: FakeFal, *fields: str) -> None:
    """The runner cannot finish a job before it has fetched the frames (and the fetch runs on real time)."""
    record = fal.submits[-1]
    await wait_until(lambda: set(record.fetched_images) == set(fields), what=f"fal fetching {fields}")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # Plain http on 127.0.0.1; verify=False only spares loading CA certificates for every test.
    async with httpx.AsyncClient(timeout=5, verify=False) as client:
        yield client


async def upload(http: httpx.AsyncClient, fal: FakeFal, data: bytes, name: str = "frame.png") -> str:
    token = await http.post(
        f"{fal.rest_url}/storage/auth/token", params={"storage_type": "fal-cdn-v3"}, json={}, headers=KEY
    )
    body = token.json()
    answer = await http.post(
        f"{body['base_url']}/files/upload",
        content=data,
        headers={
            "Authorization": f"{body['token_type']} {body['token']}",
            "Content-Type": "image/png",
            "X-Fal-File-Name": name,
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_url"]


async def frame(http: httpx.AsyncClient, fal: FakeFal, width: int = 640, height: int = 360) -> str:
    return await upload(http, fal, image_bytes(width, height))


async def submit(http: httpx.AsyncClient, fal: FakeFal, model: str = MODEL, **body: object) -> dict:
    answer = await http.post(f"{fal.queue_url}/{model}", json=body, headers=KEY)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def until_done(http: httpx.AsyncClient, job: dict) -> list[dict]:
    seen, deadline = [], time.monotonic() + 3
    while time.monotonic() < deadline:
        answer = await http.get(job["status_url"], params={"logs": "1"}, headers=KEY)
        seen.append(answer.json() | {"http": answer.status_code})
        if answer.status_code == 200:
            return seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"job never completed; last status {seen[-1]}")


async def test_timed_job_goes_through_the_phases_to_a_video(
    still: FakeFal, clock: Clock, http: httpx.AsyncClient
) -> None:
    fal = still
    fal.script_next(JobScript(queue_seconds=0.1, queue_position=3, run_seconds=0.05, video_size=300_000))
    start, end = image_bytes(640, 360), image_bytes(360, 640)
    job = await submit(
        http,
        fal,
        prompt="@Image1 to @Image2",
        start_image_url=await upload(http, fal, start),
        end_image_url=await upload(http, fal, end),
        duration="5",
    )
    rid = job["request_id"]
    base = f"{fal.queue_url}/fal-ai/kling-video/requests/{rid}"
    assert job == {
        "status": "IN_QUEUE",
        "request_id": rid,
        "response_url": base,
        "status_url": f"{base}/status",
        "cancel_url": f"{base}/cancel",
        "queue_position": 3,
    }
    early = await http.get(job["response_url"], headers=KEY)
    assert (early.status_code, early.json()) == (400, {"detail": "Request is still in progress"})
    await fetched(fal, "start_image_url", "end_image_url")

    # 0.1 s in the queue from position 3 (four equal steps down to 0), then 0.05 s running: a look in each step.
    seen = []
    for offset in (0.0, 0.03, 0.055, 0.08, 0.12, 0.2):
        clock.now = fal.submits[0].received_at + offset
        answer = await http.get(job["status_url"], params={"logs": "1"}, headers=KEY)
        seen.append(answer.json() | {"http": answer.status_code})
    assert [(s["status"], s.get("queue_position"), s["http"]) for s in seen] == [
        ("IN_QUEUE", 3, 202),
        ("IN_QUEUE", 2, 202),
        ("IN_QUEUE", 1, 202),
        ("IN_QUEUE", 0, 202),
        ("IN_PROGRESS", None, 202),
        ("COMPLETED", None, 200),
    ]
    done = seen[-1]
    assert done["logs"][0]["message"] == "Generating..." and done["logs"][0]["timestamp"].endswith("Z")
    assert done["metrics"]["inference_time"] == pytest.approx(0.05, abs=0.001) and "error" not in done

    result = await http.get(job["response_url"], headers=KEY)
    assert result.status_code == 200 and result.headers["x-fal-request-id"] == rid
    video = result.json()["video"]
    assert video == {"url": video["url"], "content_type": "video/mp4", "file_name": "output.mp4", "file_size": 300_000}
    download = await http.get(video["url"])
    assert download.headers["content-type"] == "video/mp4" and download.headers["content-length"] == "300000"
    assert download.content == fal.video_bytes(rid) and len(download.content) == 300_000
    assert download.content[4:8] == b"ftyp" and download.content[28:32] == b"mdat"
    assert fal.submits[0].fetched_images == {"start_image_url": start, "end_image_url": end}
    assert fal.count("submit", rid) == 1 and fal.count("result", rid) == 2 and fal.count("video", rid) == 1


async def test_null_logs_standard_model_and_webhook_recorded(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=None))
    answer = await http.post(
        f"{fal.queue_url}/{STANDARD_MODEL}",
        params={"fal_webhook": "https://example.invalid/hook"},
        json={"prompt": "p", "start_image_url": await frame(http, fal)},
        headers=KEY,
    )
    job = answer.json()
    assert "/fal-ai/kling-video/requests/" in job["status_url"]
    status = await http.get(job["status_url"], params={"logs": "false"}, headers=KEY)
    assert status.json() == {
        "status": "IN_QUEUE",
        "request_id": job["request_id"],
        "response_url": job["response_url"],
        "logs": None,
        "queue_position": 2,
    }
    record = fal.submits[0]
    assert (record.model, record.webhook, record.body["prompt"]) == (
        STANDARD_MODEL,
        "https://example.invalid/hook",
        "p",
    )
    assert record.headers["Authorization"] == "Key k"


async def test_release_ends_held_phases(still: FakeFal, clock: Clock, http: httpx.AsyncClient) -> None:
    fal = still
    fal.script_next(JobScript(queue_seconds=None, run_seconds=None))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    await fetched(fal, "start_image_url")

    async def phase() -> str:
        return (await http.get(job["status_url"], headers=KEY)).json()["status"]

    clock.now += 3600  # far past the default 0.05 s phases: held ones do not move by themselves
    assert await phase() == "IN_QUEUE"
    fal.release(job["request_id"])
    assert await phase() == "IN_PROGRESS"
    clock.now += 3600
    assert await phase() == "IN_PROGRESS"
    fal.release(job["request_id"])
    assert await phase() == "COMPLETED"
    assert (await http.get(job["response_url"], headers=KEY)).status_code == 200
    with pytest.raises(KeyError):
        fal.release("no-such-job")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_image_url": "u"}, "prompt"),
        ({"prompt": "p"}, "start_image_url"),
        ({"prompt": "p", "start_image_url": "u", "duration": 5}, "duration"),
        ({"prompt": "p", "start_image_url": "u", "duration": "11"}, "duration"),
        ({"prompt": "p", "start_image_url": "u", "seed": 1}, "seed"),
        ({"prompt": 1, "start_image_url": "u"}, "prompt"),
        ({"prompt": "p", "start_image_url": "u", "end_image_url": None}, "end_image_url"),
    ],
)
async def test_bad_body_is_422_with_pydantic_items_and_no_job(
    fal: FakeFal, http: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    fal.script_next(JobScript(queue_position=7))
    answer = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert [item["loc"] for item in detail] == [["body", field]]
    assert all(isinstance(item["msg"], str) and isinstance(item["type"], str) for item in detail)
    assert fal.submits == [] and fal.requests[-1].status == 422
    job = await submit(http, fal, prompt="p", start_image_url="u")
    assert job["queue_position"] == 7  # the script was not spent on the refused body


async def test_non_object_and_non_json_bodies_are_422(fal: FakeFal, http: httpx.AsyncClient) -> None:
    for content in (b"[1, 2]", b"{not json"):
        answer = await http.post(f"{fal.queue_url}/{MODEL}", content=content, headers=KEY)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body"]
    assert fal.submits == []


async def test_key_is_required_everywhere_but_public_files(fal: FakeFal, http: httpx.AsyncClient) -> None:
    url = await frame(http, fal)
    job = await submit(http, fal, prompt="p", start_image_url=url)
    calls = [
        ("POST", f"{fal.queue_url}/{MODEL}"),
        ("GET", job["status_url"]),
        ("GET", job["status_url"] + "/stream"),
        ("GET", job["response_url"]),
        ("PUT", job["cancel_url"]),
        ("POST", f"{fal.rest_url}/storage/auth/token"),
        ("POST", f"{fal.rest_url}/storage/upload/initiate"),
    ]
    for method, target in calls:
        for headers in ({}, {"Authorization": "Key wrong"}, {"Authorization": "Bearer k"}):
            answer = await http.request(method, target, json={}, headers=headers)
            assert answer.status_code == 401 and isinstance(answer.json()["detail"], str), (method, target)
    cdn = await http.post(f"{fal.base_url}/cdn/files/upload", content=b"x", headers=KEY)
    assert cdn.status_code == 401
    assert (await http.get(url)).status_code == 200
    assert len(fal.submits) == 1


async def test_unknown_ids_and_routes_are_404(fal: FakeFal, http: httpx.AsyncClient) -> None:
    base = f"{fal.queue_url}/fal-ai/kling-video/requests/nope"
    assert (await http.get(f"{base}/status", headers=KEY)).json() == {"detail": "Request not found"}
    assert (await http.get(base, headers=KEY)).status_code == 404
    cancel = await http.put(f"{base}/cancel", headers=KEY)
    assert (cancel.status_code, cancel.json()) == (404, {"status": "NOT_FOUND"})
    assert (await http.get(f"{fal.base_url}/videos/nope.mp4")).status_code == 404
    other = await http.get(f"{fal.base_url}/elsewhere")
    assert other.status_code == 404 and "detail" in other.json()
    assert [r.route for r in fal.requests][-1] == "unknown"


async def test_image_fal_cannot_fetch_makes_the_result_422(fal: FakeFal, http: httpx.AsyncClient) -> None:
    missing = f"{fal.base_url}/files/0123/never-uploaded.png"
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal), end_image_url=missing)
    seen = await until_done(http, job)
    assert "error" not in seen[-1]  # a validation failure shows only at the result
    result = await http.get(job["response_url"], headers=KEY)
    assert result.status_code == 422
    [item] = result.json()["detail"]
    assert item["loc"] == ["body", "end_image_url"] and item["type"] == "file_download_error"
    assert set(fal.submits[0].fetched_images) == {"start_image_url"}


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (image_bytes(200, 400), "image_too_small"),
        (image_bytes(1000, 300), "invalid_aspect_ratio"),
        (b"not an image at all", "image_load_error"),
        (b"\x00" * (10 * 1024 * 1024 + 1), "image_too_large"),
    ],
    ids=["small", "too-wide", "not-an-image", "over-10-MB"],
)
async def test_images_against_fals_rules(fal: FakeFal, http: httpx.AsyncClient, data: bytes, kind: str) -> None:
    job = await submit(http, fal, prompt="p", start_image_url=await upload(http, fal, data))
    await until_done(http, job)
    result = await http.get(job["response_url"], headers=KEY)
    assert result.status_code == 422
    [item] = result.json()["detail"]
    assert (item["loc"], item["type"]) == (["body", "start_image_url"], kind)
    assert (await http.get(f"{fal.base_url}/videos/{job['request_id']}.mp4")).status_code == 404


async def test_cancel_while_queued_never_runs(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=None))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    cancel = await http.put(job["cancel_url"], headers=KEY)
    assert (cancel.status_code, cancel.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    status = await http.get(job["status_url"], headers=KEY)
    body = status.json()
    assert status.status_code == 200 and body["status"] == "COMPLETED"
    assert (body["error"], body["error_type"]) == ("Request was cancelled", "client_cancelled")
    result = await http.get(job["response_url"], headers=KEY)
    assert result.status_code == 499
    assert result.json() == {"detail": "Request was cancelled", "error_type": "client_cancelled"}
    again = await http.put(job["cancel_url"], headers=KEY)
    assert (again.status_code, again.json()) == (400, {"status": "ALREADY_COMPLETED"})
    assert fal.cancelled == {job["request_id"]}


async def test_cancel_while_running_still_completes(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    cancel = await http.put(job["cancel_url"], headers=KEY)
    assert (cancel.status_code, cancel.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    fal.release(job["request_id"])
    await until_done(http, job)
    assert (await http.get(job["response_url"], headers=KEY)).status_code == 200
    assert fal.cancelled == set()


async def test_error_and_invalid_outcomes(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=0, run_seconds=0, outcome="error"), JobScript(outcome="invalid"))
    url = await frame(http, fal)
    failed, invalid = [await submit(http, fal, prompt="p", start_image_url=url) for _ in range(2)]
    last = (await until_done(http, failed))[-1]
    assert (last["error"], last["error_type"]) == ("Runner disconnected", "runner_disconnected")
    result = await http.get(failed["response_url"], headers=KEY)
    assert result.status_code == 500 and result.headers["x-fal-error-type"] == "runner_disconnected"
    assert result.json() == {"detail": "Runner disconnected", "error_type": "runner_disconnected"}
    last = (await until_done(http, invalid))[-1]
    assert "error" not in last and "error_type" not in last
    result = await http.get(invalid["response_url"], headers=KEY)
    assert result.status_code == 422 and {"loc", "msg", "type"} <= set(result.json()["detail"][0])


async def test_sse_stream_follows_the_job_to_completed(still: FakeFal, clock: Clock, http: httpx.AsyncClient) -> None:
    fal = still
    fal.script_next(JobScript(queue_seconds=0.1, queue_position=2, run_seconds=0.05))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    await fetched(fal, "start_image_url")
    # Each move of the clock is one change of status, so one event: positions 1 and 0, running, completed.
    moves = iter([0.04, 0.07, 0.12, 0.2])
    events = []
    async with http.stream("GET", job["status_url"] + "/stream", params={"logs": "1"}, headers=KEY) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        async for line in answer.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
                clock.now = fal.submits[0].received_at + next(moves, 1.0)
    assert [(e["status"], e.get("queue_position")) for e in events] == [
        ("IN_QUEUE", 2),
        ("IN_QUEUE", 1),
        ("IN_QUEUE", 0),
        ("IN_PROGRESS", None),
        ("COMPLETED", None),
    ]
    assert events[-1]["metrics"]["inference_time"] == pytest.approx(0.05, abs=0.001)


async def test_sse_stream_repeats_itself_while_nothing_changes(
    still: FakeFal, clock: Clock, http: httpx.AsyncClient
) -> None:
    fal = still
    fal.script_next(JobScript(queue_seconds=None))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    await fetched(fal, "start_image_url")
    events = []
    async with http.stream("GET", job["status_url"] + "/stream", headers=KEY) as answer:
        async for line in answer.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
                if len(events) == 1:
                    clock.now += STREAM_HEARTBEAT  # nothing changed: the same status again, as a heartbeat
                elif len(events) == 2:
                    fal.release(job["request_id"])
                    clock.now += 0.1  # past the 0.05 s run
    assert [e["status"] for e in events] == ["IN_QUEUE", "IN_QUEUE", "COMPLETED"]
    assert events[0] == events[1]


async def test_fault_answers_with_status_headers_and_body(fal: FakeFal, http: httpx.AsyncClient) -> None:
    url = await frame(http, fal)
    fal.inject(
        Fault(route="submit", status=429, headers={"Retry-After": "1"}, body={"detail": "slow down"}),
        Fault(route="submit", status=502, body=b"<html>nginx</html>", headers={"Content-Type": "text/html"}),
    )
    body = {"prompt": "p", "start_image_url": url}
    refused = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY)
    assert (refused.status_code, refused.headers["retry-after"], refused.json()) == (429, "1", {"detail": "slow down"})
    gateway = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY)
    assert (gateway.status_code, gateway.text, gateway.headers["content-type"]) == (
        502,
        "<html>nginx</html>",
        "text/html",
    )
    assert fal.submits == [] and [r.status for r in fal.requests[-2:]] == [429, 502]
    job = await submit(http, fal, **body)
    fal.inject(Fault(route="status", status=503, times=2))
    answers = [await http.get(job["status_url"], headers=KEY) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [503, 503] and answers[2].status_code in (200, 202)
    assert answers[0].json() == {"detail": "Internal Server Error"}


async def test_fault_delay_slows_or_times_out(fal: FakeFal, http: httpx.AsyncClient) -> None:
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    fal.inject(Fault(route="status", delay=0.1, status=200, body={"status": "IN_QUEUE"}))
    started = time.monotonic()
    slow = await http.get(job["status_url"], headers=KEY)
    assert slow.json() == {"status": "IN_QUEUE"} and time.monotonic() - started >= 0.1
    fal.inject(Fault(route="result", delay=1.0))
    with pytest.raises(httpx.ReadTimeout):
        await http.get(job["response_url"], headers=KEY, timeout=0.05)


async def test_fault_drop_closes_the_connection_without_an_answer(fal: FakeFal, http: httpx.AsyncClient) -> None:
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    fal.inject(Fault(route="status", drop=True), Fault(route="video", drop=True, delay=0.05))
    with pytest.raises(DROPPED):
        await http.get(job["status_url"], headers=KEY)
    assert [r.status for r in fal.requests if r.route == "status"] == [0]
    await until_done(http, job)
    with pytest.raises(DROPPED):
        await http.get(f"{fal.base_url}/videos/{job['request_id']}.mp4")
    assert (await http.get(f"{fal.base_url}/videos/{job['request_id']}.mp4")).status_code == 200


async def test_after_effect_submit_creates_the_job_but_loses_the_answer(fal: FakeFal, http: httpx.AsyncClient) -> None:
    body = {"prompt": "p", "start_image_url": await frame(http, fal)}
    fal.inject(
        Fault(route="submit", drop=True, after_effect=True), Fault(route="submit", status=500, after_effect=True)
    )
    with pytest.raises(DROPPED):
        await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY)
    lost = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY)
    assert lost.status_code == 500
    assert len(fal.submits) == 2  # fal took both although neither answer arrived
    for record in fal.submits:
        status = await http.get(f"{fal.queue_url}/fal-ai/kling-video/requests/{record.request_id}/status", headers=KEY)
        assert status.status_code in (200, 202)


async def test_fault_on_the_file_route_makes_fals_image_fetch_fail(fal: FakeFal, http: httpx.AsyncClient) -> None:
    url = await frame(http, fal)
    fal.inject(Fault(route="file", status=403))
    job = await submit(http, fal, prompt="p", start_image_url=url)
    await until_done(http, job)
    result = await http.get(job["response_url"], headers=KEY)
    assert result.json()["detail"][0]["type"] == "file_download_error"


def test_faults_and_scripts_refuse_typos() -> None:
    with pytest.raises(ValueError):
        Fault(route="statuss")
    with pytest.raises(ValueError):
        Fault(route="stream", after_effect=True)
    with pytest.raises(ValueError):
        JobScript(outcome="failed")


async def test_cdn_storage_flow(fal: FakeFal, http: httpx.AsyncClient) -> None:
    token = await http.post(
        f"{fal.rest_url}/storage/auth/token", params={"storage_type": "fal-cdn-v3"}, json={}, headers=KEY
    )
    body = token.json()
    assert (body["token_type"], body["base_url"]) == ("Bearer", f"{fal.base_url}/cdn")
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert abs(expires - datetime.now(UTC) - timedelta(hours=1)) < timedelta(seconds=5)
    lifecycle = json.dumps({"expiration_duration_seconds": 86400})
    answer = await http.post(
        f"{body['base_url']}/files/upload",
        content=b"\x89PNG data",
        headers={
            "Authorization": f"Bearer {body['token']}",
            "Content-Type": "image/png",
            "X-Fal-File-Name": "my frame.png",
            "X-Fal-Object-Lifecycle-Preference": lifecycle,
        },
    )
    url = answer.json()["access_url"]
    assert url.startswith(f"{fal.base_url}/files/")
    stored = fal.uploads[url]
    assert (stored.data, stored.content_type, stored.file_name, stored.lifecycle) == (
        b"\x89PNG data",
        "image/png",
        "my frame.png",
        lifecycle,
    )
    served = await http.get(url)
    assert (served.content, served.headers["content-type"]) == (b"\x89PNG data", "image/png")
    assert [r.route for r in fal.requests] == ["token", "cdn_upload", "file"]


async def test_initiate_and_put_storage_flow(fal: FakeFal, http: httpx.AsyncClient) -> None:
    start = await http.post(
        f"{fal.rest_url}/storage/upload/initiate",
        params={"storage_type": "gcs"},
        json={"file_name": "x.png", "content_type": "image/png"},
        headers=KEY,
    )
    urls = start.json()
    assert urls["upload_url"].startswith(f"{fal.base_url}/upload/") and urls["file_url"].endswith("/x.png")
    assert (await http.get(urls["file_url"])).status_code == 404
    wrong = await http.put(urls["upload_url"], content=b"bytes", headers={"Content-Type": "image/jpeg"})
    assert wrong.status_code == 403
    put = await http.put(urls["upload_url"], content=b"bytes", headers={"Content-Type": "image/png"})
    assert put.status_code == 200
    served = await http.get(urls["file_url"])
    assert (served.content, served.headers["content-type"]) == (b"bytes", "image/png")
    assert fal.uploads[urls["file_url"]].file_name == "x.png"
    bad = await http.post(f"{fal.rest_url}/storage/upload/initiate", json={"file_name": 1}, headers=KEY)
    assert bad.status_code == 422


async def test_video_is_streamed_deterministic_and_per_job(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(*[JobScript(queue_seconds=0, run_seconds=0, video_size=1_000_003)] * 2)
    url = await frame(http, fal)
    jobs = [await submit(http, fal, prompt="p", start_image_url=url) for _ in range(2)]
    bodies = []
    for job in jobs:
        await until_done(http, job)
        video = (await http.get(job["response_url"], headers=KEY)).json()["video"]
        bodies.append((await http.get(video["url"])).content)
    assert [len(b) for b in bodies] == [1_000_003, 1_000_003] and bodies[0] != bodies[1]
    assert bodies[0] == fal.video_bytes(jobs[0]["request_id"])
    head = await http.head(f"{fal.base_url}/videos/{jobs[0]['request_id']}.mp4")
    assert head.headers["content-length"] == "1000003" and head.content == b""


def test_video_chunks_are_lazy_and_exact_for_100_mib() -> None:
    size = 100 * 1024 * 1024 + 7
    chunks = video_chunks("r", size)
    first = next(chunks)
    assert first[4:8] == b"ftyp" and len(first) <= 64 * 1024
    assert len(first) + sum(len(c) for c in chunks) == size


async def test_standalone_process_prints_its_urls_and_stops_on_sigterm(http: httpx.AsyncClient) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.fal_server",
        "--queue-seconds",
        "none",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        tag, base_url, queue_url, rest_url = line.split()
        assert (tag, queue_url, rest_url) == ("FAKE_FAL", f"{base_url}/queue", f"{base_url}/rest")
        body = {"prompt": "p", "start_image_url": "u"}
        assert (await http.post(f"{queue_url}/{MODEL}", json=body, headers=KEY)).status_code == 401
        standalone_key = {"Authorization": "Key test-fal-key"}
        answer = await http.post(f"{queue_url}/{MODEL}", json=body, headers=standalone_key)
        status = await http.get(answer.json()["status_url"], headers=standalone_key)
        assert status.json()["status"] == "IN_QUEUE"  # --queue-seconds none holds every job
    finally:
        if process.returncode is None:
            process.terminate()
    assert await asyncio.wait_for(process.wait(), 10) == 0
