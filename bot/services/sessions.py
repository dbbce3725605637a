"""Sessions: a job's thread is a shared workspace. /tween-again inside it reuses the current frames and prompt; every
result is a numbered version with a parent, and anyone can push it one step further (and pays for it)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.db.sessions import SessionRepo
from bot.errors import InputRejected, JobNotFound
from bot.models import Job, Requester, Session
from bot.periods import utcnow
from bot.services.frames import RawFrame, StoredFrame
from bot.services.jobs import JobService, TweenRequest
from bot.settings import Settings

FOLLOW_UPS = ("reroll", "remix", "swap")


@dataclass(frozen=True)
class Lineage:
    session: Session
    versions: list[Job]
    votes: dict[int, int]

    @property
    def favourite(self) -> Job | None:
        """The most voted version (the earliest on a tie); None before anyone votes."""
        voted = [j for j in self.versions if self.votes.get(j.id)]
        return max(voted, key=lambda j: (self.votes[j.id], -j.id)) if voted else None


class SessionService:
    def __init__(
        self,
        jobs: JobService,
        threads: SessionRepo,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._jobs = jobs
        self._repo = threads
        self._settings = settings
        self._clock = clock

    async def tween(
        self,
        who: Requester,
        *,
        prompt: str | None,
        duration: int | None,
        start: RawFrame | None,
        end: RawFrame | None,
        upload_limit: int,
    ) -> Job:
        """/tween: in a session thread the next version (what is not given comes from the session); elsewhere a new
        session."""
        session = await self._session_here(who)
        if session is not None:
            return await self._next_version(who, session, prompt, duration, start, end, upload_limit)
        if start is None:
            raise InputRejected("missing_start")
        request = TweenRequest(
            who,
            prompt or "",
            self._settings.model.default_duration if duration is None else duration,
            start,
            end,
            upload_limit,
        )
        return await self._record(await self._jobs.submit(request))

    async def again(
        self,
        who: Requester,
        *,
        prompt: str | None,
        duration: int | None,
        start: RawFrame | None,
        end: RawFrame | None,
        upload_limit: int,
    ) -> Job:
        """/tween-again: the next version of the session thread the member is in; refused anywhere else, before any
        money moves."""
        session = await self._session_here(who)
        if session is None:
            raise InputRejected("again_outside_thread")
        return await self._next_version(who, session, prompt, duration, start, end, upload_limit)

    async def _session_here(self, who: Requester) -> Session | None:
        session = await self._repo.by_thread(who.channel_id)
        return session if session is not None and session.guild_id == who.guild_id else None

    async def _next_version(
        self,
        who: Requester,
        session: Session,
        prompt: str | None,
        duration: int | None,
        start: RawFrame | None,
        end: RawFrame | None,
        upload_limit: int,
    ) -> Job:
        request = TweenRequest(
            who,
            prompt or session.prompt,
            session.duration if duration is None else duration,
            start or StoredFrame(session.start_url),
            end or (StoredFrame(session.end_url) if session.end_url else None),
            upload_limit,
            session_id=session.id,
            parent_job_id=session.last_job_id,
        )
        return await self._record(await self._jobs.submit(request))

    async def follow_up(
        self,
        who: Requester,
        job_id: int,
        kind: str,
        *,
        prompt: str | None = None,
        duration: int | None = None,
        upload_limit: int,
    ) -> Job:
        """Re-roll (same inputs), remix (new prompt or duration) or swap (frames reversed) a version."""
        assert kind in FOLLOW_UPS
        parent = await self._job_of(who, job_id)
        if parent.session_id is None or parent.start_url is None:
            raise InputRejected("no_session")
        start, end = parent.start_url, parent.end_url
        if kind == "swap":
            if end is None:
                raise InputRejected("swap_needs_two")
            start, end = end, start
        request = TweenRequest(
            who,
            prompt or parent.prompt,
            parent.duration if duration is None else duration,
            StoredFrame(start),
            StoredFrame(end) if end else None,
            upload_limit,
            session_id=parent.session_id,
            parent_job_id=parent.id,
            origin=kind,
        )
        return await self._record(await self._jobs.submit(request))

    async def lineage(self, who: Requester) -> Lineage:
        """The version tree of the session thread the member is in."""
        session = await self._repo.by_thread(who.channel_id)
        if session is None or session.guild_id != who.guild_id:
            raise InputRejected("not_a_session")
        return Lineage(session, await self._repo.versions(session.id), await self._repo.vote_counts(session.id))

    async def vote(self, who: Requester, job_id: int) -> tuple[bool, int]:
        """Vote for a version, or take the vote back."""
        job = await self._job_of(who, job_id)
        return await self._repo.toggle_vote(job.id, who.user_id, self._clock())

    async def votes(self, job_id: int) -> int:
        return await self._repo.vote_count(job_id)

    async def details(self, who: Requester, job_id: int) -> Job:
        return await self._job_of(who, job_id)

    async def _record(self, job: Job) -> Job:
        if job.session_id is None and job.thread_id is not None:
            await self._repo.create_for(job, job.thread_id, self._clock())
        elif job.session_id is not None:
            await self._repo.set_current(job)
        return await self._jobs.get(job.id)

    async def _job_of(self, who: Requester, job_id: int) -> Job:
        job = await self._jobs.get(job_id)
        if job.guild_id != who.guild_id:
            raise JobNotFound(job_id)  # another guild's job does not exist, as far as this guild can tell
        return job


def prompt_change(parent: str, child: str) -> str:
    """What a version changed in the prompt, as +added / -removed words; '' when unchanged."""
    before, after = parent.split(), child.split()
    added, removed = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after).get_opcodes():
        if op in ("replace", "delete"):
            removed.append(" ".join(before[i1:i2]))
        if op in ("replace", "insert"):
            added.append(" ".join(after[j1:j2]))
    parts = [f'+"{a}"' for a in added] + [f'−"{r}"' for r in removed]
    return " ".join(parts)
