"""Read-only figures for /metrics: jobs by state, and what each guild has been charged according to the ledger; of
the guilds on this process's shards, so that processes sharing a database each report their own and sums add up."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.connection import Database
from bot.db.jobs import owned_sql
from bot.sharding import ShardPlan

_JOBS_BY_STATE = "SELECT state, COUNT(*) AS jobs FROM jobs WHERE {owned} GROUP BY state"
_LAST_LEDGER_ID = "SELECT COALESCE(MAX(id), 0) AS last FROM ledger"

# Charge lines are written once per pot a job held (guild, member, channel), so only the guild pot's line counts;
# lines from before pots existed have no pot and were one per job. A refund undoes spending only when it follows a
# charge of the same job: refunds of jobs that never finished just release reservations. The ledger holds seconds;
# dollars come from the job's price_micros.
_SPENDING_BETWEEN = """
SELECT l.guild_id AS guild_id,
       SUM(CASE l.kind WHEN 'charge' THEN l.seconds ELSE -l.seconds END) AS seconds,
       SUM(CASE l.kind WHEN 'charge' THEN j.price_micros ELSE -j.price_micros END) AS micros
FROM ledger l
JOIN jobs j ON j.id = l.job_id
LEFT JOIN pots p ON p.id = l.pot_id
WHERE l.id > ? AND l.id <= ? AND {owned}
  AND (l.pot_id IS NULL OR p.scope = 'guild')
  AND (l.kind = 'charge' OR (l.kind = 'refund' AND EXISTS (
      SELECT 1 FROM ledger c
      WHERE c.job_id = l.job_id AND c.pot_id IS NOT DISTINCT FROM l.pot_id AND c.kind = 'charge')))
GROUP BY l.guild_id
ORDER BY l.guild_id
"""


@dataclass(frozen=True)
class GuildSpending:
    """Video-seconds and USD micros charged to one guild, net of refunded charges."""

    guild_id: int
    seconds: int
    micros: int


@dataclass(frozen=True)
class SpendingSince:
    """Spending recorded in ledger lines after `after_id` up to and including `last_id`."""

    after_id: int
    last_id: int
    guilds: list[GuildSpending]


async def jobs_by_state(db: Database, owned: ShardPlan | None = None) -> dict[str, int]:
    """How many jobs (of the guilds on `owned`'s shards) are in each state; states with no jobs are absent."""
    rows = await db.fetch_all(_JOBS_BY_STATE.format(owned=owned_sql(owned)))
    return {str(row["state"]): int(row["jobs"]) for row in rows}


async def spending_since(db: Database, after_id: int = 0, owned: ShardPlan | None = None) -> SpendingSince:
    """Per-guild spending in ledger lines newer than `after_id` (0: all of it). The ledger only grows, so a caller
    keeping running totals reads each line once instead of scanning the whole ledger on every scrape. When the
    ledger's newest line is older than `after_id` (a restored backup), the answer covers the whole ledger again and
    says so with after_id 0."""
    row = await db.fetch_one(_LAST_LEDGER_ID)
    last = int(row["last"]) if row else 0
    if last < after_id:
        after_id = 0
    if last == after_id:
        return SpendingSince(after_id, last, [])
    rows = await db.fetch_all(_SPENDING_BETWEEN.format(owned=owned_sql(owned, "l.guild_id")), (after_id, last))
    guilds = [GuildSpending(int(r["guild_id"]), int(r["seconds"] or 0), int(r["micros"] or 0)) for r in rows]
    return SpendingSince(after_id, last, guilds)
