"""Copy every durable table from one store to another of the same schema, and prove the copy whole.

Used by `python -m bot migrate-db` (SQLite → PostgreSQL) and by the tests, which judge a PostgreSQL store with the
same checks as a SQLite file by copying it into one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.types import Database, Transaction

# Every table that holds data worth keeping, parents before children where they are not circular. Leases and the
# schema marker are the running processes' own and stay behind.
TABLES = (
    "guild_settings",
    "role_allowances",
    "channel_budgets",
    "tween_channels",
    "blocked_members",
    "banned_words",
    "jobs",
    "sessions",
    "votes",
    "pots",
    "job_pots",
    "ledger",
    "audit",
)
_IDENTITY = ("jobs", "sessions", "pots", "ledger", "audit")
_LEDGER_SUMS = "SELECT guild_id, kind, SUM(seconds) AS seconds, COUNT(*) AS n FROM ledger GROUP BY guild_id, kind"


@dataclass(frozen=True)
class CopyReport:
    rows: dict[str, int]
    guilds: int

    def describe(self) -> str:
        counts = ", ".join(f"{table} {n:,}" for table, n in self.rows.items() if n)
        total = sum(self.rows.values())
        return f"copied {total:,} rows ({counts or 'no data'}); ledger sums equal for {self.guilds} guild(s)"


class CopyMismatch(RuntimeError):
    """The target does not hold what the source holds; the copy was rolled back or must not be used."""


async def copy_all(source: Database, target: Database) -> CopyReport:
    """Load every table of `source` into the empty `target` in one transaction, then compare the two."""
    if await _has_data(target):
        raise CopyMismatch("the target database already holds data; copy into an empty one")
    async with target.transaction() as tx:
        await _defer_foreign_keys(tx, target.dialect)
        for table in TABLES:
            rows = await source.fetch_all(f"SELECT * FROM {table}")
            if rows:
                columns = list(rows[0].keys())
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                await tx.executemany(sql, [[row[c] for c in columns] for row in rows])
        if target.dialect == "postgresql":
            await _advance_identities(tx)
    return await verify_copy(source, target)


async def verify_copy(source: Database, target: Database) -> CopyReport:
    """Equal row counts in every table and equal ledger sums per guild and kind, or CopyMismatch."""
    counts: dict[str, int] = {}
    for table in TABLES:
        mine, theirs = await _count(source, table), await _count(target, table)
        if mine != theirs:
            raise CopyMismatch(f"{table}: {mine} row(s) in the source, {theirs} in the target")
        counts[table] = mine
    sums = await _ledger_sums(source)
    if sums != await _ledger_sums(target):
        raise CopyMismatch("the ledger's sums per guild differ between source and target")
    return CopyReport(counts, len({guild for guild, _ in sums}))


async def _has_data(db: Database) -> bool:
    for table in ("jobs", "ledger", "pots", "guild_settings"):
        if await _count(db, table):
            return True
    return False


async def _count(db: Database, table: str) -> int:
    row = await db.fetch_one(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row else 0


async def _ledger_sums(db: Database) -> dict[tuple[int, str], tuple[int, int]]:
    return {(int(r[0]), str(r[1])): (int(r[2]), int(r[3])) for r in await db.fetch_all(_LEDGER_SUMS)}


async def _defer_foreign_keys(tx: Transaction, dialect: str) -> None:
    # jobs and sessions point at each other: their keys are checked at COMMIT, when both are in.
    if dialect == "postgresql":
        await tx.execute("SET CONSTRAINTS ALL DEFERRED")
    else:
        await tx.execute("PRAGMA defer_foreign_keys = ON")


async def _advance_identities(tx: Transaction) -> None:
    """Rows came with their ids; the next id PostgreSQL hands out must come after them."""
    for table in _IDENTITY:
        await tx.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
        )
