"""fal's status stream, `GET …/requests/{id}/status/stream` (reference §2), and its test controls (`FakeFal.streams`).

What fal does, as its docs and clients show it (read December 2026):
- Server-sent events, `Content-Type: text/event-stream`. Each event is a single `data:` line holding one JSON status
  object with the fields of `GET …/status`; no `event:` name and no `id:`. The server closes the response after the
  COMPLETED event, and writes an SSE comment line every 15 s to keep an idle connection open. Auth is the status
  route's (`Authorization: Key …`), the URL is the owner/app form with `?logs=1|0` (fal docs, "Stream request
  status": https://fal.ai/docs/inference-api/queue/status-stream).
- fal-js (fal-ai/fal-js, libs/client/src/queue.ts `streamStatus`; libs/client/src/streaming.ts `FalStream`) sends
  GET with `Accept: text/event-stream` and the same `Authorization: Key` header as every call, parses every event's
  data as JSON whatever its name, and treats the end of the body as "done" with the last status it saw, without
  checking that it was COMPLETED: a client that trusts a clean end of stream can be fooled. A non-2xx answer to the
  open is an error (no retry of the stream itself). Its `timeout` (15 s between chunks) matches the keep-alive
  period. `subscribeToStatus` still polls by default "until status streaming is stable and faster" (fal-js PR #72).
  It appends each event's `logs` to the ones before it "to match previous polling behavior", so an event carries
  only the log lines that are new since the last one; the fake does that too.
- The Python client (fal-ai/fal, projects/fal_client/src/fal_client/client.py) never opens the status stream:
  `iter_events` polls `status` every `interval`. It uses httpx-sse (`connect_sse`) only for an app's own output
  stream (`POST fal.run/{app}/stream`), reading each event's data as JSON.
- Silent sources, and what the fake chose (the conservative reading): the current status is sent at once on open
  (a tracker that opens late must learn the state without waiting); an event is sent when the status, the queue
  position or the logs change, never a repeat of an unchanged status; the keep-alive comment text is
  `: keep-alive` (fal does not say what it writes); an unknown id, a wrong key or the full model path are refused
  with the status route's answers (404, 401, 405) before any event; other methods answer 405.

Test controls, on `FakeFal.streams` (a `StreamHub`): `script(StreamScript(...))` makes a future stream drop or stall;
`open()`, `stalled()` and `records` show the streams; `unstall()`, `cut()`, `wake()` act on the open ones;
`keepalive` is the comment period in seconds. Refusals on open (429 with Retry-After, 5xx, a reset) are Faults with
route "stream". With a hand-moved clock, call `wake()` after moving it: streams wait for events, they do not poll.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.fal.answers import flag, json_answer, record_of
from tests.fakes.fal.job import COMPLETED, IN_PROGRESS, IN_QUEUE, Job
from tests.fakes.fal.queue import _job, _rid

if TYPE_CHECKING:
    from tests.fakes.fal.server import FakeFal

KEEPALIVE = 15.0  # fal's documented comment period
KEEPALIVE_LINE = b": keep-alive\n\n"
PHASES = frozenset({IN_QUEUE, IN_PROGRESS, COMPLETED})
# How a drop ends the connection: "close" ends the body cleanly without COMPLETED; "reset" aborts the TCP connection.
DROP_HOW = frozenset({"close", "reset"})
# How a stream ended (StreamRecord.ended).
ENDED_COMPLETED, ENDED_DROPPED, ENDED_CLIENT_GONE, ENDED_STOPPED = "completed", "dropped", "client_gone", "fake_stopped"


@dataclass
class StreamScript:
    """What the next `times` status streams (of `request_id`, or of any job) do after their 200: one action.

    drop_after=N closes the connection right after the Nth event (0: before any); drop_at=PHASE closes it when the
    job reaches PHASE, instead of sending that event. stall_after / stall_at go silent at the same points instead,
    the connection held open (no events; no keep-alives either unless stall_keepalives, a connection that looks
    alive while its events stopped) until `FakeFal.streams.unstall()` or the client leaves; after an unstall the
    stream goes on as normal, starting with the current status if it is new to this stream.
    """

    request_id: str | None = None
    drop_after: int | None = None
    drop_at: str | None = None
    stall_after: int | None = None
    stall_at: str | None = None
    how: str = "close"
    stall_keepalives: bool = False
    times: int = 1

    def __post_init__(self) -> None:
        actions = [a for a in (self.drop_after, self.drop_at, self.stall_after, self.stall_at) if a is not None]
        if len(actions) != 1:
            raise ValueError("a StreamScript takes exactly one of drop_after, drop_at, stall_after, stall_at")
        if any(p is not None and p not in PHASES for p in (self.drop_at, self.stall_at)):
            raise ValueError(f"a phase is one of {sorted(PHASES)}")
        if any(n is not None and n < 0 for n in (self.drop_after, self.stall_after)):
            raise ValueError("an event count cannot be negative")
        if self.how not in DROP_HOW or self.times < 1:
            raise ValueError(f"how is one of {sorted(DROP_HOW)} and times at least 1")

    def action(self, sent: int, phase: str | None) -> str | None:
        """'drop' or 'stall' if the script acts now, with `sent` events out and `phase` about to be sent (or None)."""
        if self.drop_after == sent or (phase is not None and self.drop_at == phase):
            return "drop"
        if self.stall_after == sent or (phase is not None and self.stall_at == phase):
            return "stall"
        return None


@dataclass(eq=False)
class StreamRecord:
    """One status stream fal answered 200, as it went."""

    request_id: str
    logs: bool
    opened_at: float
    script: StreamScript | None
    events: list[dict[str, Any]] = field(default_factory=list)  # every data event sent, in order
    keepalives: int = 0
    stalled: bool = False
    ended: str | None = None  # None while open; else one of the ENDED_* names
    acted: bool = False  # the script's action happened
    cut: str | None = None  # a drop asked for by `StreamHub.cut`, with its `how`
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    resumed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def is_open(self) -> bool:
        return self.ended is None

    @property
    def statuses(self) -> list[str]:
        return [event["status"] for event in self.events]


class StreamHub:
    """The open status streams and the scripts for the next ones."""

    def __init__(self, fake: FakeFal) -> None:
        self._fake = fake
        self.keepalive = KEEPALIVE
        self.records: list[StreamRecord] = []
        self._scripts: list[StreamScript] = []
        self._open: dict[str, dict[StreamRecord, None]] = {}  # by job, in opening order: a wake looks at its own
        self._fetch_watched: set[str] = set()

    # Test controls.

    def script(self, *scripts: StreamScript) -> None:
        self._scripts.extend(scripts)

    def open(self, request_id: str | None = None) -> list[StreamRecord]:
        """Streams still connected, oldest first (all jobs, or one)."""
        if request_id is not None:
            return list(self._open.get(request_id, {}))
        return [r for r in self.records if r.is_open]

    def stalled(self, request_id: str | None = None) -> list[StreamRecord]:
        return [r for r in self.open(request_id) if r.stalled]

    def wake(self, request_id: str | None = None) -> None:
        """Look at the job(s) again now: after a release, a cancel, or a move of a hand-driven clock."""
        for record in self.open(request_id):
            record.changed.set()

    def unstall(self, request_id: str | None = None) -> int:
        """Let stalled streams go on; how many there were."""
        stalled = self.stalled(request_id)
        for record in stalled:
            record.resumed.set()
        return len(stalled)

    def cut(self, request_id: str | None = None, *, how: str = "close") -> int:
        """Drop open streams now, as fal or a proxy in between might; how many there were."""
        if how not in DROP_HOW:
            raise ValueError(f"how is one of {sorted(DROP_HOW)}")
        records = self.open(request_id)
        for record in records:
            record.cut = how
            record.changed.set()
            record.resumed.set()
        return len(records)

    def close(self) -> None:
        """The fake is stopping: every open stream ends at once."""
        for record in self.open():
            record.changed.set()
            record.resumed.set()

    # Used by the route.

    def _opened(self, job: Job, logs: bool) -> StreamRecord:
        record = StreamRecord(job.request_id, logs, self._fake.clock(), self._take_script(job.request_id))
        self.records.append(record)
        self._open.setdefault(job.request_id, {})[record] = None
        # The runner cannot finish before it has the frames, and the fetch ends on its own time: wake on it.
        if job.fetching is not None and not job.fetching.done() and job.request_id not in self._fetch_watched:
            self._fetch_watched.add(job.request_id)
            job.fetching.add_done_callback(lambda _: self.wake(job.request_id))
        return record

    def _closed(self, record: StreamRecord, how: str) -> None:
        record.ended = record.ended or how
        job_streams = self._open.get(record.request_id, {})
        job_streams.pop(record, None)
        if not job_streams:
            self._open.pop(record.request_id, None)

    def _take_script(self, request_id: str) -> StreamScript | None:
        for script in self._scripts:
            if script.request_id in (None, request_id):
                script.times -= 1
                if script.times <= 0:
                    self._scripts.remove(script)
                return script
        return None


async def serve(fake: FakeFal, request: web.Request, params: Mapping[str, str]) -> web.StreamResponse:
    if not isinstance(job := _job(fake, params), Job):
        return job
    answer = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **_rid(job)})
    await answer.prepare(request)
    record_of(request).status = answer.status
    hub = fake.streams
    record = hub._opened(job, flag(request, "logs"))
    ended = ENDED_CLIENT_GONE
    try:
        ended = await _Sender(fake, job, record, answer, request).run()
    except ConnectionResetError:
        pass  # the client went away between two writes
    finally:  # also on cancellation: aiohttp cancels the handler when the client disconnects
        hub._closed(record, ended)
    return answer


async def wrong_method(fake: FakeFal, request: web.Request, params: Mapping[str, str]) -> web.StreamResponse:
    return json_answer({"detail": "Method Not Allowed"}, 405, {"Allow": "GET"})


class _Sender:
    """Writes one stream's events until COMPLETED, a scripted drop, the client leaving, or the fake stopping."""

    def __init__(
        self, fake: FakeFal, job: Job, record: StreamRecord, answer: web.StreamResponse, request: web.Request
    ) -> None:
        self.fake, self.job, self.record, self.answer, self.request = fake, job, record, answer, request
        self.loop = asyncio.get_running_loop()
        self.last: tuple[Any, ...] | None = None
        self.logs_sent = 0
        self.keepalive_due = self.loop.time() + fake.streams.keepalive

    async def run(self) -> str:
        record = self.record
        while True:
            record.changed.clear()  # before looking, so a wake during a write below is not lost
            if self.fake._closing.is_set():
                return await self._end(ENDED_STOPPED)
            if record.cut is not None:
                return await self._drop(record.cut)
            _, body = self.job.status(self.fake.clock(), logs=record.logs)
            key = (body["status"], body.get("queue_position"), len(body["logs"] or ()))
            action = self._action(body["status"] if key != self.last else None)
            if action == "drop":
                return await self._drop(record.script.how if record.script else "close")
            if action == "stall":
                await self._stall()
                continue
            if key != self.last:
                await self._send(body, key)
                if body["status"] == COMPLETED:
                    return await self._end(ENDED_COMPLETED)
                continue  # a count-based action may be due right after this event
            await self._wait()

    def _action(self, phase: str | None) -> str | None:
        record = self.record
        if record.script is None or record.acted:
            return None
        action = record.script.action(len(record.events), phase)
        record.acted = action is not None
        return action

    async def _send(self, body: dict[str, Any], key: tuple[Any, ...]) -> None:
        if self.record.logs:
            logs = body["logs"]
            body["logs"], self.logs_sent = logs[self.logs_sent :], len(logs)
        await self.answer.write(f"data: {json.dumps(body)}\n\n".encode())
        self.record.events.append(body)
        self.last = key
        self.keepalive_due = self.loop.time() + self.fake.streams.keepalive

    async def _wait(self) -> None:
        """Until a wake, the job's next change by the clock, or the keep-alive: no polling in between."""
        change = self.job.next_change(self.fake.clock())
        delay = min(self.keepalive_due - self.loop.time(), math.inf if change is None else change)
        if delay > 0:
            try:
                async with asyncio.timeout(delay):
                    await self.record.changed.wait()
                return
            except TimeoutError:
                pass
        if self.loop.time() >= self.keepalive_due:
            await self._keepalive()

    async def _stall(self) -> None:
        record = self.record
        record.stalled = True
        record.resumed.clear()
        chatty = record.script is not None and record.script.stall_keepalives
        while not record.resumed.is_set():
            try:
                async with asyncio.timeout(self.fake.streams.keepalive if chatty else None):
                    await record.resumed.wait()
            except TimeoutError:
                await self._keepalive()
        record.stalled = False
        self.keepalive_due = self.loop.time() + self.fake.streams.keepalive

    async def _keepalive(self) -> None:
        await self.answer.write(KEEPALIVE_LINE)
        self.record.keepalives += 1
        self.keepalive_due = self.loop.time() + self.fake.streams.keepalive

    async def _drop(self, how: str) -> str:
        if how == "reset":
            if self.request.transport is not None:
                self.request.transport.abort()
            return ENDED_DROPPED
        return await self._end(ENDED_DROPPED)

    async def _end(self, how: str) -> str:
        await self.answer.write_eof()
        return how
