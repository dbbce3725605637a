"""Services: the domain's entry points, built once in bot/__main__.py and handed to the Discord wiring."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.connection import Database
from bot.db.guilds import GuildRepo
from bot.fal import FalClient
from bot.ratelimit import MemberThrottle
from bot.services.budget import BudgetService, QuotaView
from bot.services.jobs import JobService, RawFrame, TweenRequest
from bot.services.moderation import CancelOutcome, ModerationService
from bot.services.ports import CardPlacement, JobPublisher
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
    "TweenRequest",
    "build_services",
]


@dataclass
class Services:
    settings: Settings
    budget: BudgetService
    jobs: JobService
    moderation: ModerationService
    tracker: JobTracker
    usage: UsageService
    sessions: SessionService
    throttle: MemberThrottle

    def attach_publisher(self, publisher: JobPublisher | None) -> None:
        """The Discord side registers itself here once it can post."""
        self.jobs.publisher = publisher


def build_services(db: Database, fal: FalClient, settings: Settings) -> Services:
    guilds = GuildRepo(db, settings)
    budget = BudgetService(db, guilds, settings)
    jobs = JobService(db, fal, budget, guilds, settings)
    moderation = ModerationService(db, guilds, jobs, budget, fal)
    tracker = JobTracker(jobs, fal, settings)
    return Services(
        settings=settings,
        budget=budget,
        jobs=jobs,
        moderation=moderation,
        tracker=tracker,
        usage=UsageService(db, budget),
        sessions=SessionService(jobs, settings),
        throttle=MemberThrottle(settings.abuse.actions, settings.abuse.per_seconds),
    )
