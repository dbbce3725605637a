"""Services: the domain's entry points, built once in bot/__main__.py and handed to the Discord wiring."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.connection import Database
from bot.db.guilds import GuildRepo
from bot.db.jobs import JobRepo
from bot.db.sessions import SessionRepo
from bot.db.usage import UsageRepo
from bot.fal import FalClient
from bot.periods import utcnow
from bot.ratelimit import MemberThrottle
from bot.services.board import Board
from bot.services.budget import BudgetService, QuotaView, Standing
from bot.services.frames import FrameReader, RawFrame, StoredFrame
from bot.services.jobs import JobService, TweenRequest
from bot.services.lifecycle import Lifecycle
from bot.services.moderation import CancelOutcome, ModerationService
from bot.services.ports import CardPlacement, JobPublisher, PublisherSocket
from bot.services.schedule import Schedule
from bot.services.sessions import Lineage, SessionService
from bot.services.tracker import JobTracker
from bot.services.usage import UsageService
from bot.settings import Settings

__all__ = [
    "CancelOutcome",
    "CardPlacement",
    "JobPublisher",
    "Lineage",
    "QuotaView",
    "RawFrame",
    "Services",
    "Standing",
    "StoredFrame",
    "TweenRequest",
    "build_services",
]


@dataclass
class Services:
    settings: Settings
    budget: BudgetService
    jobs: JobService
    frames: FrameReader
    moderation: ModerationService
    tracker: JobTracker
    usage: UsageService
    sessions: SessionService
    throttle: MemberThrottle
    lifecycle: Lifecycle
    publisher: PublisherSocket

    def attach_publisher(self, publisher: JobPublisher | None) -> None:
        """The Discord side plugs in here once it can post."""
        self.publisher.attach(publisher)


def build_services(db: Database, fal: FalClient, settings: Settings) -> Services:
    """Every service, each handed exactly what it uses."""
    clock = utcnow
    guilds, rows, threads = GuildRepo(db, settings), JobRepo(db), SessionRepo(db)
    budget = BudgetService(db, guilds, rows, settings, clock=clock)
    lifecycle = Lifecycle(db, rows, budget, clock)
    socket = PublisherSocket()
    board = Board(socket, rows, guilds)
    schedule = Schedule()
    frames = FrameReader(fal, settings)  # one for the whole bot: its decode slots bound the memory frames use
    jobs = JobService(lifecycle, rows, guilds, budget, board, fal, frames, settings, watch=schedule.watch)
    moderation = ModerationService(
        db, guilds, lifecycle, rows, budget, board, fal, start_waiting=jobs.start_waiting, watch=schedule.watch
    )
    tracker = JobTracker(lifecycle, rows, jobs.start_waiting, budget, board, fal, settings, schedule)
    return Services(
        settings=settings,
        budget=budget,
        jobs=jobs,
        frames=frames,
        moderation=moderation,
        tracker=tracker,
        usage=UsageService(UsageRepo(db), budget),
        sessions=SessionService(jobs, threads, settings, clock=clock),
        throttle=MemberThrottle(settings.abuse.actions, settings.abuse.per_seconds),
        lifecycle=lifecycle,
        publisher=socket,
    )
