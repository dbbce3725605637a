"""fal queue and storage client."""

from bot.fal.client import FalClient
from bot.fal.models import Completed, InProgress, Queued, QueueStatus, Submitted

__all__ = ["Completed", "FalClient", "InProgress", "QueueStatus", "Queued", "Submitted"]
