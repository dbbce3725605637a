"""The fake fal's status stream behaves as fal documents it (tests/fakes/fal/stream.py), and its scripted faults
(refusals on open, drops and stalls mid-stream) do what tests will ask of them. Plain httpx over 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.fal_server import MODEL, FakeFal, Fault, JobScript, StreamScript
from tests.fakes.test_fal_server import KEY, Clock, fetched, frame, submit
from tests.support.sse import SseReader, open_sse
from tests.support.waiting import wait_until


@pytest.fixture
async def fal() -> AsyncIterator[FakeFal]:
    async with FakeFal(key="k") as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def still(clock: Clock) -> AsyncIterator[FakeFal]:
    async with FakeFal(key="k", clock=clock) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5, verify=False) as client:
        yield client


async def queued(http: httpx.AsyncClient, fal: FakeFal, script: JobScript) -> dict:
    """A job under `script` whose frame fal has fetched, so only its timeline decides its status."""
    fal.script_next(script)
    job = await submit(http, fal, prompt="p", start_image_url=await frame(http, fal))
    await fetched(fal, "start_image_url")
    return job


def stream_url(job: dict) -> str:
    return job["status_url"] + "/stream"


def states(events: list[dict]) -> list[tuple[str, int | None]]:
    return [(e["status"], e.get("queue_position")) for e in events]


async def test_events_follow_the_job_and_the_stream_ends_after_completed(
    still: FakeFal, clock: Clock, http: httpx.AsyncClient
) -> None:
    fal = still
    job = await queued(http, fal, JobScript(queue_seconds=0.1, queue_position=2, run_seconds=0.05))
    start = fal.submits[0].received_at
    events = []
    async with open_sse(http, stream_url(job), headers=KEY) as sse:
        assert sse.response.status_code == 200
        assert sse.response.headers["content-type"].startswith("text/event-stream")
        assert sse.response.headers["x-fal-request-id"] == job["request_id"]
        # Each move of the clock is one change of status, so one event: positions 1 and 0, running, completed.
        for moved in (None, 0.04, 0.07, 0.12, 0.2):
            if moved is not None:
                clock.now = start + moved
                fal.streams.wake()
            item = await sse.next_event()
            assert item.kind == "event" and item.fields == {}  # data only: no event name, no id
            events.append(item.json())
        end = await sse.next_event()
    assert states(events) == [
        ("IN_QUEUE", 2),
        ("IN_QUEUE", 1),
        ("IN_QUEUE", 0),
        ("IN_PROGRESS", None),
        ("COMPLETED", None),
    ]
    assert (end.kind, end.error) == ("end", None)  # fal closes the response after COMPLETED
    assert events[-1]["metrics"]["inference_time"] == pytest.approx(0.05, abs=0.001)
    assert all(e["request_id"] == job["request_id"] and e["logs"] is None for e in events)
    (record,) = fal.streams.records
    assert (record.ended, fal.count("stream", job["request_id"]), fal.streams.open()) == ("completed", 1, [])


async def test_the_first_event_is_the_current_status_at_once(fal: FakeFal, http: httpx.AsyncClient) -> None:
    job = await queued(http, fal, JobScript(queue_seconds=None, run_seconds=None))
    fal.release(job["request_id"])
    async with open_sse(http, stream_url(job), headers=KEY) as sse:
        assert (await sse.next_event()).json()["status"] == "IN_PROGRESS"
        fal.release(job["request_id"])
        events, end = await sse.events_to_end()
    assert [e["status"] for e in events] == ["COMPLETED"] and end.error is None
    async with open_sse(http, stream_url(job), headers=KEY) as sse:  # a finished job: one event, then the end
        events, end = await sse.events_to_end()
    assert [e["status"] for e in events] == ["COMPLETED"] and end.error is None


async def test_a_failed_or_cancelled_run_completes_with_its_error_type(fal: FakeFal, http: httpx.AsyncClient) -> None:
    failed = await queued(http, fal, JobScript(outcome="error", error="boom", error_type="runner_server_error"))
    async with open_sse(http, stream_url(failed), headers=KEY) as sse:
        events, _ = await sse.events_to_end()
    assert (events[-1]["status"], events[-1]["error"], events[-1]["error_type"]) == (
        "COMPLETED",
        "boom",
        "runner_server_error",
    )
    held = await queued(http, fal, JobScript(queue_seconds=None))
    async with open_sse(http, stream_url(held), headers=KEY) as sse:
        assert (await sse.next_event()).json()["status"] == "IN_QUEUE"
        assert (await http.put(held["cancel_url"], headers=KEY)).status_code == 202
        events, end = await sse.events_to_end()
    assert states(events) == [("COMPLETED", None)] and events[0]["error_type"] == "client_cancelled"
    assert end.error is None


async def test_logs_come_with_logs_1_and_each_line_only_once(fal: FakeFal, http: httpx.AsyncClient) -> None:
    script = JobScript(queue_seconds=None, run_seconds=None, logs=["loading", "sampling"])
    job = await queued(http, fal, script)
    async with open_sse(http, stream_url(job), headers=KEY, params={"logs": "1"}) as sse:
        assert (await sse.next_event()).json()["logs"] == []
        fal.release(job["request_id"])
        running = (await sse.next_event()).json()
        fal.release(job["request_id"])
        events, _ = await sse.events_to_end()
    assert [line["message"] for line in running["logs"]] == ["loading", "sampling"]
    assert states(events) == [("COMPLETED", None)] and events[0]["logs"] == []  # nothing new since the last event
    async with open_sse(http, stream_url(job), headers=KEY, params={"logs": "0"}) as sse:
        events, _ = await sse.events_to_end()
    assert events[0]["logs"] is None


async def test_an_idle_stream_sends_keep_alive_comments_not_repeats(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.streams.keepalive = 0.05  # fal's is 15 s
    job = await queued(http, fal, JobScript(queue_seconds=None))
    async with open_sse(http, stream_url(job), headers=KEY) as sse:
        assert (await sse.next()).json()["status"] == "IN_QUEUE"
        kinds = [(await sse.next()).kind for _ in range(2)]
        fal.release(job["request_id"])
        events, _ = await sse.events_to_end()
    assert kinds == ["comment", "comment"]
    assert [e["status"] for e in events][-1] == "COMPLETED" and "IN_QUEUE" not in [e["status"] for e in events]
    assert fal.streams.records[0].keepalives >= 2


@pytest.mark.parametrize(
    ("status", "headers"), [(429, {"Retry-After": "2"}), (500, {}), (503, {"Retry-After": "1"})], ids=str
)
async def test_opening_can_be_refused(fal: FakeFal, http: httpx.AsyncClient, status: int, headers: dict) -> None:
    job = await queued(http, fal, JobScript())
    fal.inject(Fault(route="stream", status=status, headers=headers))
    refused = await http.get(stream_url(job), headers=KEY)
    assert (refused.status_code, refused.headers.get("retry-after")) == (status, headers.get("Retry-After"))
    assert refused.headers["content-type"] == "application/json" and fal.streams.records == []
    async with open_sse(http, stream_url(job), headers=KEY) as sse:  # the next open works
        events, _ = await sse.events_to_end()
    assert events[-1]["status"] == "COMPLETED"
    assert fal.count("stream", job["request_id"]) == 2


async def test_opening_can_be_reset_before_any_answer(fal: FakeFal, http: httpx.AsyncClient) -> None:
    job = await queued(http, fal, JobScript())
    fal.inject(Fault(route="stream", drop=True))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await http.get(stream_url(job), headers=KEY)


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_a_stream_drops_after_n_events(fal: FakeFal, http: httpx.AsyncClient, how: str) -> None:
    job = await queued(http, fal, JobScript(queue_seconds=None))
    fal.streams.script(StreamScript(drop_after=1, how=how))
    async with open_sse(http, stream_url(job), headers=KEY) as sse:
        events, end = await sse.events_to_end()
    assert states(events) == [("IN_QUEUE", 2)]  # and never a COMPLETED
    if how == "close":
        assert end.error is None  # a clean end of body: only the missing COMPLETED tells it from a finish
    else:
        assert isinstance(end.error, (httpx.RemoteProtocolError, httpx.ReadError))
    await wait_until(lambda: fal.streams.records[0].ended == "dropped", what="the drop recorded")
    fal.release(job["request_id"])
    async with open_sse(http, stream_url(job), headers=KEY) as sse:  # the script was used up: a new stream runs on
        events, end = await sse.events_to_end()
    assert [e["status"] for e in events][-1] == "COMPLETED" and end.error is None


async def test_a_stream_drops_when_the_job_starts(fal: FakeFal, http: httpx.AsyncClient) -> None:
    job = await queued(http, fal, JobScript(queue_seconds=None, run_seconds=None))
    fal.streams.script(StreamScript(drop_at="IN_PROGRESS"))
    async with open_sse(http, stream_url(job), headers=KEY) as sse:
        assert (await sse.next_event()).json()["status"] == "IN_QUEUE"
        fal.release(job["request_id"])
        events, end = await sse.events_to_end()
    assert (events, end.kind, end.error) == ([], "end", None)
    status = await http.get(job["status_url"], headers=KEY)
    assert status.json()["status"] == "IN_PROGRESS"  # polling still tells the truth


async def test_a_stream_stalls_silently_until_unstalled(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.streams.keepalive = 0.05  # a stall sends no keep-alives either
    job = await queued(http, fal, JobScript(queue_seconds=None, run_seconds=None))
    rid = job["request_id"]
    fal.streams.script(StreamScript(request_id=rid, stall_at="IN_PROGRESS"))
    async with open_sse(http, stream_url(job), headers=KEY) as sse:
        assert (await sse.next_event()).json()["status"] == "IN_QUEUE"
        fal.release(rid)
        await wait_until(lambda: fal.streams.stalled(rid), what="the stream stalling")
        await drain_comments(sse)
        with pytest.raises(TimeoutError):
            await sse.next(timeout=0.3)
        assert fal.streams.open(rid) and fal.streams.unstall(rid) == 1
        assert (await sse.next_event()).json()["status"] == "IN_PROGRESS"
        fal.release(rid)
        events, end = await sse.events_to_end()
    assert [e["status"] for e in events] == ["COMPLETED"] and end.error is None


async def test_a_stall_can_keep_the_connection_looking_alive(fal: FakeFal, http: httpx.AsyncClient) -> None:
    fal.streams.keepalive = 0.05
    job = await queued(http, fal, JobScript(queue_seconds=None, run_seconds=0))
    fal.streams.script(StreamScript(stall_at="COMPLETED", stall_keepalives=True))
    async with open_sse(http, stream_url(job), headers=KEY) as sse:
        assert (await sse.next_event()).json()["status"] == "IN_QUEUE"
        fal.release(job["request_id"])  # runs and completes at once: the stream holds the news back
        await wait_until(lambda: fal.streams.stalled(), what="the stream stalling")
        kinds = [(await sse.next()).kind for _ in range(3)]
        assert fal.history[job["request_id"]].billed and fal.streams.unstall() == 1
        events, end = await sse.events_to_end()
    assert kinds == ["comment"] * 3
    assert [e["status"] for e in events] == ["COMPLETED"] and end.error is None


async def drain_comments(sse: SseReader) -> None:
    """Keep-alives written before the stall may still be on their way; none come after it."""
    while True:
        try:
            item = await sse.next(timeout=0.1)
        except TimeoutError:
            return
        assert item.kind == "comment", item


async def test_a_stalled_stream_ends_when_the_client_leaves(fal: FakeFal, http: httpx.AsyncClient) -> None:
    job = await queued(http, fal, JobScript(queue_seconds=None))
    fal.streams.script(StreamScript(stall_after=1))
    async with open_sse(http, stream_url(job), headers=KEY) as sse:
        assert (await sse.next_event()).json()["status"] == "IN_QUEUE"
        await wait_until(lambda: fal.streams.stalled(), what="the stream stalling")
    await wait_until(lambda: not fal.streams.open(), what="the fake noticing the client left")
    assert fal.streams.records[0].ended == "client_gone"


async def test_cut_drops_every_open_stream_and_a_stop_ends_them(http: httpx.AsyncClient) -> None:
    fal = FakeFal(key="k")
    await fal.start()
    try:
        jobs = [await queued(http, fal, JobScript(queue_seconds=None)) for _ in range(2)]
        async with (
            open_sse(http, stream_url(jobs[0]), headers=KEY) as a,
            open_sse(http, stream_url(jobs[1]), headers=KEY) as b,
        ):
            await wait_until(lambda: sum(bool(r.events) for r in fal.streams.open()) == 2, what="two streams open")
            assert fal.streams.cut(jobs[0]["request_id"], how="reset") == 1
            assert (await a.next_event()).kind == "event" and (await a.next_event()).error is not None
            assert (await b.next_event()).kind == "event"
            await fal.stop()
            assert (await b.next_event()).kind == "end"
    finally:
        await fal.stop()
    assert [r.ended for r in fal.streams.records] == ["dropped", "fake_stopped"]


async def test_the_stream_refuses_what_fal_refuses(fal: FakeFal, http: httpx.AsyncClient) -> None:
    job = await queued(http, fal, JobScript())
    for headers in ({}, {"Authorization": "Key wrong"}, {"Authorization": "Bearer k"}):
        answer = await http.get(stream_url(job), headers=headers)
        assert answer.status_code == 401 and isinstance(answer.json()["detail"], str)
    base = f"{fal.queue_url}/fal-ai/kling-video/requests"
    assert (await http.get(f"{base}/no-such-id/status/stream", headers=KEY)).status_code == 404
    assert (
        await http.get(f"{base}/{job['request_id']}/status/stream".replace("kling-video", "other"), headers=KEY)
    ).status_code == 404
    full = f"{fal.queue_url}/{MODEL}/requests/{job['request_id']}/status/stream"
    assert (await http.get(full, headers=KEY)).status_code == 405
    for method in ("POST", "PUT", "DELETE"):
        answer = await http.request(method, stream_url(job), headers=KEY)
        assert (answer.status_code, answer.headers["allow"]) == (405, "GET")
    assert fal.streams.records == [] and len(fal.submits) == 1


async def test_scripts_apply_to_their_job_only(fal: FakeFal, http: httpx.AsyncClient) -> None:
    first, second = [await queued(http, fal, JobScript()) for _ in range(2)]
    fal.streams.script(StreamScript(request_id=second["request_id"], drop_after=0))
    async with open_sse(http, stream_url(first), headers=KEY) as sse:
        events, _ = await sse.events_to_end()
    assert events[-1]["status"] == "COMPLETED"
    async with open_sse(http, stream_url(second), headers=KEY) as sse:
        events, end = await sse.events_to_end()
    assert (events, end.error) == ([], None)


def test_stream_scripts_refuse_nonsense() -> None:
    for bad in (
        {},
        {"drop_after": 1, "stall_at": "IN_PROGRESS"},
        {"drop_at": "FAILED"},
        {"stall_after": -1},
        {"drop_after": 1, "how": "slam"},
        {"drop_after": 1, "times": 0},
    ):
        with pytest.raises(ValueError):
            StreamScript(**bad)


async def test_200_streams_at_once_each_see_their_job_through(fal: FakeFal, http: httpx.AsyncClient) -> None:
    count = 200
    fal.default_script = JobScript(queue_seconds=None, run_seconds=None)
    url = await frame(http, fal)
    jobs = await asyncio.gather(*(submit(http, fal, prompt="p", start_image_url=url) for _ in range(count)))
    await wait_until(lambda: all(len(s.fetched_images) == 1 for s in fal.submits), what="every frame fetched")
    limits = httpx.Limits(max_connections=count + 10)
    async with httpx.AsyncClient(timeout=30, limits=limits) as many:

        async def follow(job: dict) -> list[str]:
            async with open_sse(many, stream_url(job), headers=KEY) as sse:
                events, end = await sse.events_to_end(timeout=30)
            assert end.error is None
            return [e["status"] for e in events]

        followers = [asyncio.create_task(follow(job)) for job in jobs]
        opened = lambda: sum(bool(r.events) for r in fal.streams.open())  # noqa: E731 - open, with the first event out
        await wait_until(lambda: opened() == count, what=f"{count} streams open", timeout=30)
        for phase in ("IN_PROGRESS", "COMPLETED"):
            for job in jobs:
                fal.release(job["request_id"])
            await wait_until(
                lambda p=phase: all(r.statuses[-1:] == [p] for r in fal.streams.records), what=phase, timeout=30
            )
        seen = await asyncio.gather(*followers)
    assert all(statuses == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"] for statuses in seen)
    assert fal.streams.open() == [] and {r.ended for r in fal.streams.records} == {"completed"}
