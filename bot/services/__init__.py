"""Services: the domain's entry points, built once in bot/__main__.py and handed to the Discord wiring."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.budget import BudgetService
from bot.services.jobs import JobService, RawFrame, TweenRequest
from bot.services.ports import CardPlacement, JobPublisher
from bot.services.tracker import JobTracker
from bot.settings import Settings

__all__ = ["CardPlacement", "JobPublisher", "RawFrame", "Services", "TweenRequest"]


@dataclass
class Services:
    settings: Settings
    budget: BudgetService
    jobs: JobService
    tracker: JobTracker

    def attach_publisher(self, publisher: JobPublisher | None) -> None:
        """The Discord side registers itself here once it can post."""
        self.jobs.publisher = publisher
