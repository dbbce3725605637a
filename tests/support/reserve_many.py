"""One OS process's side of a reservation race on a shared PostgreSQL store, as a second `python -m bot` would
reserve: `python -m tests.support.reserve_many URL FIRST_USER COUNT`. Prints READY once its pool is open, reserves
COUNT jobs at once when a line arrives on stdin, and prints how many the budget let through."""

from __future__ import annotations

import asyncio
import sys

from bot.db.connection import Database, open_database
from bot.db.guilds import GuildRepo
from bot.db.jobs import JobRepo
from bot.errors import BudgetExhausted
from bot.models import Requester
from bot.periods import utcnow
from bot.services.budget import BudgetService
from bot.services.lifecycle import Draft, Lifecycle
from tests.support.settings import make_settings

GUILD = 4_194_304 * 7  # any guild: the store does not care about shards


def lifecycle_on(db: Database, guild_seconds: int = 500) -> tuple[Lifecycle, GuildRepo]:
    settings = make_settings(budget={"default_seconds": guild_seconds, "member_seconds": 10_000})
    guilds = GuildRepo(db, settings)
    return Lifecycle(db, JobRepo(db), BudgetService(db, guilds, JobRepo(db), settings), utcnow), guilds


async def reserve(lifecycle: Lifecycle, guilds: GuildRepo, user: int) -> bool:
    draft = Draft(Requester(GUILD, user, 2), "p", 5, price_micros=560_000, model="m", upload_limit=1)
    try:
        await lifecycle.open(draft, await guilds.policy(GUILD))
    except BudgetExhausted:
        return False
    return True


async def race(url: str, first_user: int, count: int) -> int:
    async with open_database(url) as db:
        lifecycle, guilds = lifecycle_on(db)
        print("READY", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # the starting gun, given to every process at once
        results = await asyncio.gather(*(reserve(lifecycle, guilds, first_user + n) for n in range(count)))
    return sum(results)


if __name__ == "__main__":
    url, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(asyncio.run(race(url, first, count)), flush=True)
