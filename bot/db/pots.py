"""Budget pots and the ledger. Each change is one conditional statement inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from bot.db.connection import Row, Transaction
from bot.models import PotScope, PotState
from bot.periods import from_db, to_db

_ENSURE = """
INSERT INTO pots (guild_id, scope, subject_id, limit_seconds, period_start, period_end) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (guild_id, scope, subject_id) DO NOTHING
"""
# What a pot has spent in the period [start, end): its charge lines in the ledger (for a guild pot also the lines
# from before pots existed, which name no pot). Whenever a pot's bounds move, its spending is read from here, so a
# pot always holds what was charged inside the period it shows, the same figure /usage adds up from the ledger.
_SPENT_IN = """
(SELECT COALESCE(SUM(l.seconds), 0) FROM ledger l
 WHERE l.guild_id = pots.guild_id AND l.kind = 'charge' AND l.created_at >= :start AND l.created_at < :end
   AND (l.pot_id = pots.id OR (l.pot_id IS NULL AND pots.scope = 'guild')))
"""
# A new period: one-off extras and the warning start afresh; in-flight reservations carry over. Spending is what
# was charged since the new start, which is nothing unless a job was charged after the old period ended and before
# anyone looked at the pot (its charge landed on the old period's row).
_ROLL = f"""
UPDATE pots SET spent_seconds = {_SPENT_IN}, extra_seconds = 0, warned = 0, period_start = :start, period_end = :end
WHERE id = :id AND period_end <= :now
"""
# The period's bounds moved (a new reset hour or period kind) before it ended: the same budget, anchored anew. Its
# extras stay, and its spending becomes what was charged within the new bounds: a switch from day to week counts
# the whole week's videos, a later reset hour leaves out those made before it.
_REANCHOR = f"""
UPDATE pots SET spent_seconds = {_SPENT_IN}, period_start = :start, period_end = :end
WHERE id = :id AND period_start != :start
"""
_LIMIT = "UPDATE pots SET limit_seconds = ? WHERE id = ?"
_RESERVE = """
UPDATE pots SET reserved_seconds = reserved_seconds + :s
WHERE id = :p AND limit_seconds + extra_seconds - reserved_seconds - spent_seconds >= :s
"""
_CHARGE = """
UPDATE pots SET reserved_seconds = reserved_seconds - :s, spent_seconds = spent_seconds + :s
WHERE id = :p AND reserved_seconds >= :s
"""
_REFUND = "UPDATE pots SET reserved_seconds = reserved_seconds - :s WHERE id = :p AND reserved_seconds >= :s"
_EXTRA = "UPDATE pots SET extra_seconds = extra_seconds + :s WHERE id = :p"
_WARN = "UPDATE pots SET warned = 1 WHERE id = ? AND warned = 0"
_GET = "SELECT * FROM pots WHERE guild_id = ? AND scope = ? AND subject_id = ?"
_LEDGER = """
INSERT INTO ledger (guild_id, job_id, pot_id, actor_id, kind, seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
"""
_OF_JOB = "SELECT pots.* FROM pots JOIN job_pots ON job_pots.pot_id = pots.id WHERE job_id = ? ORDER BY pots.id"
_JOB_POTS = "SELECT pot_id, seconds FROM job_pots WHERE job_id = ?"


def _state(row: Row) -> PotState:
    return PotState(
        id=row["id"],
        guild_id=row["guild_id"],
        scope=PotScope(row["scope"]),
        subject_id=row["subject_id"],
        limit_seconds=row["limit_seconds"],
        extra_seconds=row["extra_seconds"],
        reserved_seconds=row["reserved_seconds"],
        spent_seconds=row["spent_seconds"],
        period_start=from_db(row["period_start"]),
        period_end=from_db(row["period_end"]),
    )


async def current(
    conn: Transaction,
    guild_id: int,
    scope: PotScope,
    subject_id: int,
    *,
    limit: int,
    now: datetime,
    bounds: tuple[datetime, datetime],
) -> PotState:
    """The pot for this period, created or rolled over as needed, with its limit brought up to date."""
    start, end = to_db(bounds[0]), to_db(bounds[1])
    await conn.execute(_ENSURE, (guild_id, scope.value, subject_id, limit, start, end))
    async with conn.execute(_GET, (guild_id, scope.value, subject_id)) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    moved = {"start": start, "end": end, "id": row["id"]}
    await conn.execute(_ROLL, {**moved, "now": to_db(now)})
    await conn.execute(_REANCHOR, moved)
    if row["limit_seconds"] != limit:
        await conn.execute(_LIMIT, (limit, row["id"]))
    async with conn.execute("SELECT * FROM pots WHERE id = ?", (row["id"],)) as cursor:
        fresh = await cursor.fetchone()
    assert fresh is not None
    return _state(fresh)


async def peek(conn: Transaction, guild_id: int, scope: PotScope, subject_id: int) -> PotState | None:
    async with conn.execute(_GET, (guild_id, scope.value, subject_id)) as cursor:
        row = await cursor.fetchone()
    return _state(row) if row else None


async def reserve(conn: Transaction, pot_id: int, seconds: int) -> bool:
    """Hold `seconds` if the pot has them; False (and nothing changed) if not."""
    cursor = await conn.execute(_RESERVE, {"p": pot_id, "s": seconds})
    return cursor.rowcount == 1


async def of_job(conn: Transaction, job_id: int) -> list[PotState]:
    """The pots a job holds or spent seconds in, as they stand now."""
    async with conn.execute(_OF_JOB, (job_id,)) as cursor:
        return [_state(row) for row in await cursor.fetchall()]


async def charge(conn: Transaction, pot_id: int, seconds: int) -> bool:
    cursor = await conn.execute(_CHARGE, {"p": pot_id, "s": seconds})
    return cursor.rowcount == 1


async def refund(conn: Transaction, pot_id: int, seconds: int) -> bool:
    cursor = await conn.execute(_REFUND, {"p": pot_id, "s": seconds})
    return cursor.rowcount == 1


async def add_extra(conn: Transaction, pot_id: int, seconds: int) -> None:
    """A one-off top-up or grant, for this period only."""
    await conn.execute(_EXTRA, {"p": pot_id, "s": seconds})


async def mark_warned(conn: Transaction, pot_id: int) -> bool:
    """True the first time in a period, so the warning is posted once."""
    cursor = await conn.execute(_WARN, (pot_id,))
    return cursor.rowcount == 1


async def link_job(conn: Transaction, job_id: int, pot_id: int, seconds: int) -> None:
    await conn.execute("INSERT INTO job_pots (job_id, pot_id, seconds) VALUES (?, ?, ?)", (job_id, pot_id, seconds))


async def job_pots(conn: Transaction, job_id: int) -> list[tuple[int, int]]:
    async with conn.execute(_JOB_POTS, (job_id,)) as cursor:
        return [(r["pot_id"], r["seconds"]) for r in await cursor.fetchall()]


async def record(
    conn: Transaction,
    *,
    guild_id: int,
    kind: str,
    seconds: int,
    at: datetime,
    job_id: int | None = None,
    pot_id: int | None = None,
    actor_id: int | None = None,
) -> None:
    """One ledger line; the unique index refuses a second charge or refund of a job from a pot."""
    await conn.execute(_LEDGER, (guild_id, job_id, pot_id, actor_id, kind, seconds, to_db(at)))
