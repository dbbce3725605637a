"""The fake fal behaves like fal's queue and storage as the reference describes them, checked with plain httpx over
real sockets. Frames are made with Pillow in memory and served from the fake's own storage."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fakes.fal.media import video_chunks
from tests.fakes.fal_server import (
    ADMIN_LOCK,
    EXHAUSTED_BALANCE,
    MODEL,
    STANDARD_MODEL,
    BillLine,
    FakeFal,
    Fault,
    JobScript,
    SubmitRecord,
)
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


async def until_phase(http: httpx.AsyncClient, job: dict, phase: str) -> dict:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        body = (await http.get(job["status_url"], headers=KEY)).json()
        if body["status"] == phase:
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"job never reached {phase}")


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


async def test_initiate_and_put_storage_flow_on_the_v3_cdn(fal: FakeFal, http: httpx.AsyncClient) -> None:
    lifecycle = json.dumps({"expiration_duration_seconds": 3600})
    start = await http.post(
        f"{fal.rest_url}/storage/upload/initiate",
        params={"storage_type": "fal-cdn-v3"},
        json={"file_name": "x.png", "content_type": "image/png"},
        headers=KEY | {"X-Fal-Object-Lifecycle": lifecycle},
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
    stored = fal.uploads[urls["file_url"]]
    assert (stored.file_name, stored.lifecycle_headers) == ("x.png", {"X-Fal-Object-Lifecycle": lifecycle})
    assert fal.uploads_without_lifecycle == []
    bad = await http.post(
        f"{fal.rest_url}/storage/upload/initiate",
        params={"storage_type": "fal-cdn-v3"},
        json={"file_name": 1},
        headers=KEY,
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "params", [{"storage_type": "gcs"}, {}, {"storage_type": "fal-cdn"}], ids=["gcs", "none", "v1"]
)
async def test_initiate_refuses_storage_types_fal_no_longer_serves(
    fal: FakeFal, http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    body = {"file_name": "x.png", "content_type": "image/png"}
    answer = await http.post(f"{fal.rest_url}/storage/upload/initiate", params=params, json=body, headers=KEY)
    assert (answer.status_code, answer.json()) == (400, {"detail": "Invalid storage type"})
    assert fal.uploads == {}


async def test_uploads_without_the_v3_lifecycle_header_are_named(fal: FakeFal, http: httpx.AsyncClient) -> None:
    token = (await http.post(f"{fal.rest_url}/storage/auth/token", json={}, headers=KEY)).json()
    lifecycle = json.dumps({"expiration_duration_seconds": 60})
    sent = {
        "old-only.png": {"X-Fal-Object-Lifecycle-Preference": lifecycle},
        "both.png": {"X-Fal-Object-Lifecycle-Preference": lifecycle, "X-Fal-Object-Lifecycle": lifecycle},
        "none.png": {},
    }
    urls = {}
    for name, headers in sent.items():
        auth = {"Authorization": f"Bearer {token['token']}", "Content-Type": "image/png", "X-Fal-File-Name": name}
        answer = await http.post(f"{token['base_url']}/files/upload", content=b"x", headers=auth | headers)
        urls[name] = answer.json()["access_url"]
    assert sorted(fal.uploads_without_lifecycle) == sorted([urls["old-only.png"], urls["none.png"]])
    assert fal.uploads[urls["both.png"]].lifecycle_headers == sent["both.png"]


async def test_downloads_through_a_redirect(fal: FakeFal, http: httpx.AsyncClient) -> None:
    url = await frame(http, fal)
    fal.redirect_files = fal.redirect_videos = True
    first = await http.get(url)
    assert first.status_code == 302 and first.headers["location"] == url.replace("/files/", "/moved/files/")
    assert (await http.get(url, follow_redirects=True)).content == fal.uploads[url].data
    fal.script_next(JobScript(queue_seconds=0, run_seconds=0))
    job = await submit(http, fal, prompt="p", start_image_url=url)
    await until_done(http, job)
    video = (await http.get(job["response_url"], headers=KEY)).json()["video"]  # fal's runner followed it
    assert (await http.get(video["url"])).status_code == 302
    assert (await http.get(video["url"], follow_redirects=True)).content == fal.video_bytes(job["request_id"])
    assert [r.route for r in fal.requests if r.route.startswith("moved")] == ["moved_file"] * 2 + ["moved_video"]


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


async def test_a_video_maker_makes_each_jobs_video_from_its_fetched_frames(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    made: list[tuple[str, set[str]]] = []

    def maker(record: SubmitRecord) -> Path:
        made.append((record.request_id, set(record.fetched_images)))
        path = tmp_path / f"{record.request_id}.mp4"
        path.write_bytes(b"made from " + record.fetched_images["start_image_url"][:8])
        return path

    async with FakeFal(key="k", video_maker=maker) as fal:
        fal.script_next(JobScript(queue_seconds=0, run_seconds=0))
        url = await frame(http, fal)
        job = await submit(http, fal, prompt="p", start_image_url=url, end_image_url=url)
        await until_done(http, job)
        video = (await http.get(job["response_url"], headers=KEY)).json()["video"]
        body = (await http.get(video["url"])).content
    assert body == b"made from " + fal.uploads[url].data[:8] and video["file_size"] == len(body)
    assert made[0] == (job["request_id"], {"start_image_url", "end_image_url"})


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


async def test_full_model_path_answers_405(fal: FakeFal, http: httpx.AsyncClient) -> None:
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    full = f"{fal.queue_url}/{MODEL}/requests/{job['request_id']}"
    for method, url in (
        ("GET", f"{full}/status"),
        ("GET", f"{full}/status/stream"),
        ("GET", full),
        ("PUT", f"{full}/cancel"),
    ):
        answer = await http.request(method, url, headers=KEY)
        assert answer.status_code == 405, (method, url)
    assert (await http.get(job["status_url"], headers=KEY)).status_code in (200, 202)
    assert fal.history[job["request_id"]].cancel_requested is False


async def test_cancel_of_a_finished_job_is_already_completed(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=0, run_seconds=0))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    await until_done(http, job)
    cancel = await http.put(job["cancel_url"], headers=KEY)
    assert (cancel.status_code, cancel.json()) == (400, {"status": "ALREADY_COMPLETED"})
    assert set(fal.bill) == {job["request_id"]} and not fal.history[job["request_id"]].cancel_requested


async def test_cancel_honoured_while_running_ends_it_unbilled(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=0, run_seconds=None, cancel_honoured=True))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    assert (await until_phase(http, job, "IN_PROGRESS"))["status"] == "IN_PROGRESS"
    cancel = await http.put(job["cancel_url"], headers=KEY)
    assert (cancel.status_code, cancel.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    last = (await until_done(http, job))[-1]
    assert last["error_type"] == "client_cancelled"
    assert (await http.get(job["response_url"], headers=KEY)).status_code == 499
    rid = job["request_id"]
    assert fal.bill == {} and fal.cancelled == {rid}
    assert fal.history[rid].flags == {"queued", "started", "cancel_requested", "cancelled"}


async def test_cancel_of_a_running_job_by_default_runs_on_and_bills(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=0, run_seconds=None))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    await until_phase(http, job, "IN_PROGRESS")
    assert (await http.put(job["cancel_url"], headers=KEY)).status_code == 202
    assert (await http.get(job["status_url"], headers=KEY)).json()["status"] == "IN_PROGRESS"
    fal.release(job["request_id"])
    await until_done(http, job)
    assert (await http.get(job["response_url"], headers=KEY)).status_code == 200
    rid = job["request_id"]
    assert set(fal.bill) == {rid} and fal.history[rid].flags == {"queued", "started", "cancel_requested", "billed"}


async def test_cancel_racing_the_start_is_accepted_yet_the_job_runs_and_bills(
    fal: FakeFal, http: httpx.AsyncClient
) -> None:
    fal.script_next(JobScript(queue_seconds=None, run_seconds=None, cancel_races_start=True))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    assert (await http.get(job["status_url"], headers=KEY)).json()["status"] == "IN_QUEUE"
    cancel = await http.put(job["cancel_url"], headers=KEY)
    assert (cancel.status_code, cancel.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    assert (await http.get(job["status_url"], headers=KEY)).json()["status"] == "IN_PROGRESS"
    assert fal.bill == {}  # not until the result is ready
    fal.release(job["request_id"])
    await until_done(http, job)
    assert (await http.get(job["response_url"], headers=KEY)).status_code == 200
    rid = job["request_id"]
    assert set(fal.bill) == {rid} and fal.cancelled == set()
    assert fal.history[rid].flags == {"queued", "started", "cancel_requested", "billed"}


async def test_cancel_while_queued_is_recorded_and_never_billed(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=None))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    assert (await http.put(job["cancel_url"], headers=KEY)).status_code == 202
    fal.release(job["request_id"])  # too late: fal dropped it from the queue
    assert (await http.get(job["status_url"], headers=KEY)).json()["error_type"] == "client_cancelled"
    rid = job["request_id"]
    assert fal.bill == {} and fal.history[rid].flags == {"queued", "cancel_requested", "cancelled"}


async def test_start_deadline_passing_in_the_queue_ends_the_job_with_504(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=None))
    body = {"prompt": "p", "start_image_url": await frame(http, fal)}
    answer = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY | {"X-Fal-Request-Timeout": "0.5"})
    job = answer.json()
    assert answer.status_code == 200 and (await http.get(job["status_url"], headers=KEY)).status_code == 202
    last = (await until_done(http, job))[-1]
    assert (last["status"], last["error"], last["error_type"]) == ("COMPLETED", "Request timed out", "request_timeout")
    fal.release(job["request_id"])  # fal will not start it now
    result = await http.get(job["response_url"], headers=KEY)
    assert (result.status_code, result.json()) == (
        504,
        {"detail": "Request timed out", "error_type": "request_timeout"},
    )
    assert (
        result.headers["x-fal-request-timeout-type"] == "user"
        and result.headers["x-fal-error-type"] == "request_timeout"
    )
    rid = job["request_id"]
    assert fal.bill == {} and fal.history[rid].flags == {"queued", "timed_out"}


async def test_start_deadline_only_bounds_the_wait_for_a_runner(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.script_next(JobScript(queue_seconds=0.02, run_seconds=0.4))
    body = {"prompt": "p", "start_image_url": await frame(http, fal)}
    answer = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY | {"X-Fal-Request-Timeout": "0.15"})
    job = answer.json()
    last = (await until_done(http, job))[-1]
    assert "error" not in last and (await http.get(job["response_url"], headers=KEY)).status_code == 200
    assert set(fal.bill) == {job["request_id"]}


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("0.5", True),
        ("120", True),
        ("0.1", False),
        ("0", False),
        ("-3", False),
        ("soon", False),
        ("nan", False),
        ("inf", False),
    ],
)
async def test_start_timeout_values_fal_refuses_and_takes(
    fal: FakeFal, http: httpx.AsyncClient, value: str, accepted: bool
) -> None:
    body = {"prompt": "p", "start_image_url": "u"}
    answer = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY | {"X-Fal-Request-Timeout": value})
    if accepted:  # below the SDKs' own 1 s floor, yet fal takes it
        assert answer.status_code == 200 and len(fal.submits) == 1
        return
    assert (answer.status_code, answer.json()["error_type"], answer.headers["x-fal-error-type"]) == (
        400,
        "bad_request",
        "bad_request",
    )
    assert fal.submits == []


@pytest.mark.parametrize(
    ("script", "code"),
    [
        (JobScript(outcome="result_error"), 503),
        (JobScript(outcome="result_error", error="boom", error_type="internal_error"), 500),
        (JobScript(outcome="result_error", error_type="runner_incomplete_response"), 502),
        (JobScript(outcome="result_error", error_type="request_timeout", result_status=504), 504),
        (JobScript(outcome="result_error", error_type="runner_server_error", result_status=501), 501),
    ],
)
async def test_failed_run_shows_only_at_the_result(
    fal: FakeFal, http: httpx.AsyncClient, script: JobScript, code: int
) -> None:
    fal.script_next(dataclasses.replace(script, queue_seconds=0, run_seconds=0))
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    last = (await until_done(http, job))[-1]
    assert last["status"] == "COMPLETED" and "error" not in last and "error_type" not in last
    result = await http.get(job["response_url"], headers=KEY)
    assert result.status_code == code and result.headers["x-fal-error-type"] == script.error_type
    assert result.json() == {"detail": script.error, "error_type": script.error_type}
    assert fal.bill == {} and (await http.get(f"{fal.base_url}/videos/{job['request_id']}.mp4")).status_code == 404


def test_scripts_refuse_what_fal_never_answers() -> None:
    with pytest.raises(ValueError):
        JobScript(error_type="gpu_on_fire")
    with pytest.raises(ValueError):
        JobScript(outcome="result_error", error_type="bad_request")  # a 400 is no failed run
    with pytest.raises(ValueError):
        JobScript(outcome="result_error", result_status=499)
    with pytest.raises(ValueError):
        Fault(route="status", carries_request_id=True)


async def test_submit_5xx_carries_a_request_id_only_from_behind_the_ingress(
    fal: FakeFal, http: httpx.AsyncClient
) -> None:
    fal.script_next(JobScript(queue_seconds=0, run_seconds=0))
    body = {"prompt": "p", "start_image_url": await frame(http, fal)}
    fal.inject(
        Fault(route="submit", status=503, after_effect=True, carries_request_id=True),  # queued
        Fault(route="submit", status=500, carries_request_id=True),  # named, never queued
        Fault(route="submit", status=502, body=b"<html>nginx</html>", headers={"Content-Type": "text/html"}),
    )
    answers = [await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 500, 502]
    queued, named = (a.headers["x-fal-request-id"] for a in answers[:2])
    assert "x-fal-request-id" not in answers[2].headers
    assert [s.request_id for s in fal.submits] == [queued]
    assert [r.request_id for r in fal.requests if r.route == "submit"] == [queued, named, None]
    await until_done(http, {"status_url": f"{fal.queue_url}/fal-ai/kling-video/requests/{queued}/status"})
    assert set(fal.bill) == {queued}
    lookup = await http.get(f"{fal.queue_url}/fal-ai/kling-video/requests/{named}/status", headers=KEY)
    assert lookup.status_code == 404
    assert fal.history[named].flags == set()
    assert fal.history[queued].queued and set(fal.history) == {queued, named}


async def test_submit_answer_lost_after_the_job_was_queued(fal: FakeFal, http: httpx.AsyncClient) -> None:
    body = {"prompt": "p", "start_image_url": await frame(http, fal)}
    fal.inject(
        Fault(route="submit", status=200, body=b'{"request_id": "76', after_effect=True, carries_request_id=True),
        Fault(route="submit", drop=True, after_effect=True),
    )
    garbled = await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY)
    with pytest.raises(ValueError):
        garbled.json()
    with pytest.raises(DROPPED):
        await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers=KEY)
    assert garbled.headers["x-fal-request-id"] == fal.submits[0].request_id
    assert len(fal.submits) == 2 and all(h.queued for h in fal.history.values())
    assert [r.request_id for r in fal.requests if r.route == "submit"] == [s.request_id for s in fal.submits]


async def test_webhook_after_a_retry_at_fal_names_two_ids(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.webhooks.attempts = 1
    fal.script_next(JobScript(queue_seconds=0, run_seconds=0, retried_at_fal=True), JobScript())
    url = await frame(http, fal)
    hook = {"fal_webhook": f"{fal.base_url}/hook"}  # answers 404; the delivery is recorded all the same
    jobs = [
        (
            await http.post(
                f"{fal.queue_url}/{MODEL}", params=hook, json={"prompt": "p", "start_image_url": url}, headers=KEY
            )
        ).json()
        for _ in range(2)
    ]
    await wait_until(lambda: len(fal.webhook_deliveries) == 2, 5, "two webhooks")
    bodies = {d.request_id: d.json for d in fal.webhook_deliveries}
    retried, plain = (bodies[job["request_id"]] for job in jobs)
    assert retried["request_id"] == jobs[0]["request_id"] != retried["gateway_request_id"]
    assert plain["request_id"] == plain["gateway_request_id"] == jobs[1]["request_id"]
    headers = {d.request_id: d.headers for d in fal.webhook_deliveries}
    assert headers[jobs[0]["request_id"]]["X-Fal-Webhook-Request-Id"] == jobs[0]["request_id"]


async def test_key_probe_status_of_an_impossible_id(fal: FakeFal, http: httpx.AsyncClient) -> None:
    probe = f"{fal.queue_url}/fal-ai/kling-video/requests/00000000-0000-0000-0000-000000000000/status"
    bad = await http.get(probe, headers={"Authorization": "Key not-the-key"})
    assert (bad.status_code, bad.json()) == (401, {"detail": "No user found for Key ID and Secret"})
    good = await http.get(probe, headers=KEY)
    assert good.status_code == 404


@pytest.mark.parametrize("reason", [EXHAUSTED_BALANCE, ADMIN_LOCK])
async def test_locked_account_is_refused_billable_calls(fal: FakeFal, http: httpx.AsyncClient, reason: str) -> None:
    url = await frame(http, fal)
    job = await submit(http, fal, prompt="p", start_image_url=url)
    fal.account_lock = reason
    body = {"prompt": "p", "start_image_url": url}
    calls = [
        ("POST", f"{fal.queue_url}/{MODEL}", body),
        ("POST", f"{fal.rest_url}/storage/auth/token", {}),
        (
            "POST",
            f"{fal.rest_url}/storage/upload/initiate?storage_type=fal-cdn-v3",
            {"file_name": "a", "content_type": "b"},
        ),
    ]
    for method, target, payload in calls:
        answer = await http.request(method, target, json=payload, headers=KEY)
        assert (answer.status_code, answer.json()) == (403, {"detail": f"User is locked. Reason: {reason}"}), target
    assert (await http.get(job["status_url"], headers=KEY)).status_code in (200, 202)
    assert (await http.post(f"{fal.queue_url}/{MODEL}", json=body, headers={})).status_code == 401
    fal.account_lock = None
    await submit(http, fal, **body)
    assert len(fal.submits) == 2


async def test_bill_prices_each_run_with_a_video_once_its_result_is_ready(
    fal: FakeFal, http: httpx.AsyncClient
) -> None:
    fal.script_next(
        JobScript(queue_seconds=0, run_seconds=None),
        JobScript(queue_seconds=0, run_seconds=0),
        JobScript(queue_seconds=0, run_seconds=0, outcome="error"),
        JobScript(queue_seconds=0, run_seconds=0, outcome="invalid"),
    )
    url = await frame(http, fal)
    pro = await submit(http, fal, prompt="p", start_image_url=url, duration="5")
    standard = await submit(http, fal, STANDARD_MODEL, prompt="p", start_image_url=url, duration="10")
    failed = [await submit(http, fal, prompt="p", start_image_url=url) for _ in range(2)]
    for job in (standard, *failed):
        await until_done(http, job)
    assert fal.bill == {standard["request_id"]: BillLine(standard["request_id"], STANDARD_MODEL, 10, 840_000)}
    fal.release(pro["request_id"])
    await until_done(http, pro)
    assert fal.bill[pro["request_id"]] == BillLine(pro["request_id"], MODEL, 5, 560_000)
    assert len(fal.bill) == 2


async def test_max_at_fal_counts_queued_and_running_jobs_at_once(fal: FakeFal, http: httpx.AsyncClient) -> None:
    url = await frame(http, fal)
    fal.script_next(*[JobScript(queue_seconds=None, run_seconds=None)] * 3)
    jobs = [await submit(http, fal, prompt="p", start_image_url=url) for _ in range(3)]
    assert (fal.max_at_fal(), fal.max_at_fal(running_only=True)) == (3, 0)
    fal.release(jobs[0]["request_id"])
    fal.release(jobs[1]["request_id"])
    assert (fal.max_at_fal(), fal.max_at_fal(running_only=True)) == (3, 2)
    for job in jobs[:2]:
        fal.release(job["request_id"])
    assert (await http.put(jobs[2]["cancel_url"], headers=KEY)).status_code == 202
    fal.script_next(JobScript(queue_seconds=None))
    await submit(http, fal, prompt="p", start_image_url=url)  # alone at fal now
    assert (fal.max_at_fal(), fal.max_at_fal(running_only=True)) == (3, 2)
