"""Guild budgets and the ledger. Every change is one conditional statement inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.models import BudgetState
from bot.periods import from_db, to_db

_ENSURE = """
INSERT INTO budgets (guild_id, limit_seconds, period, period_start, period_end)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (guild_id) DO NOTHING
"""
_ROLL = """
UPDATE budgets SET spent_seconds = 0, period_start = ?, period_end = ?
WHERE guild_id = ? AND period_end <= ?
"""
_RESERVE = """
UPDATE budgets SET reserved_seconds = reserved_seconds + :s
WHERE guild_id = :g AND limit_seconds - reserved_seconds - spent_seconds >= :s
"""
_CHARGE = """
UPDATE budgets SET reserved_seconds = reserved_seconds - :s, spent_seconds = spent_seconds + :s
WHERE guild_id = :g AND reserved_seconds >= :s
"""
_REFUND = """
UPDATE budgets SET reserved_seconds = reserved_seconds - :s
WHERE guild_id = :g AND reserved_seconds >= :s
"""
_LEDGER = "INSERT INTO ledger (guild_id, job_id, kind, seconds, created_at) VALUES (?, ?, ?, ?, ?)"
_GET = "SELECT * FROM budgets WHERE guild_id = ?"


async def ensure(
    conn: aiosqlite.Connection, guild_id: int, *, limit: int, period: str, bounds: tuple[datetime, datetime]
) -> None:
    """Create the guild's budget with the defaults if it has none."""
    await conn.execute(_ENSURE, (guild_id, limit, period, to_db(bounds[0]), to_db(bounds[1])))


async def roll_over(
    conn: aiosqlite.Connection, guild_id: int, *, now: datetime, bounds: tuple[datetime, datetime]
) -> bool:
    """Start a new period if the stored one has ended; in-flight reservations carry over."""
    cursor = await conn.execute(_ROLL, (to_db(bounds[0]), to_db(bounds[1]), guild_id, to_db(now)))
    return cursor.rowcount == 1


async def reserve(conn: aiosqlite.Connection, guild_id: int, seconds: int) -> bool:
    """Hold `seconds` if the pot has them; False (and nothing changed) if it has not."""
    cursor = await conn.execute(_RESERVE, {"g": guild_id, "s": seconds})
    return cursor.rowcount == 1


async def charge(conn: aiosqlite.Connection, guild_id: int, seconds: int) -> bool:
    """Turn a reservation into spending."""
    cursor = await conn.execute(_CHARGE, {"g": guild_id, "s": seconds})
    return cursor.rowcount == 1


async def refund(conn: aiosqlite.Connection, guild_id: int, seconds: int) -> bool:
    """Release a reservation."""
    cursor = await conn.execute(_REFUND, {"g": guild_id, "s": seconds})
    return cursor.rowcount == 1


async def record(
    conn: aiosqlite.Connection, *, guild_id: int, job_id: int | None, kind: str, seconds: int, at: datetime
) -> None:
    """Write one ledger line; the unique index refuses a second charge or refund for a job."""
    await conn.execute(_LEDGER, (guild_id, job_id, kind, seconds, to_db(at)))


async def get(conn: aiosqlite.Connection, guild_id: int) -> BudgetState | None:
    async with conn.execute(_GET, (guild_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return BudgetState(
        guild_id=row["guild_id"],
        limit_seconds=row["limit_seconds"],
        reserved_seconds=row["reserved_seconds"],
        spent_seconds=row["spent_seconds"],
        period_start=from_db(row["period_start"]),
        period_end=from_db(row["period_end"]),
    )
