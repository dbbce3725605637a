"""Per-guild moderation settings and lists, and the audit trail. Every query names its guild."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from bot.db.connection import Database, Row, Transaction
from bot.errors import InputRejected
from bot.models import Approval, GuildPolicy
from bot.periods import to_db
from bot.settings import Settings

log = logging.getLogger(__name__)

SETTING_COLUMNS = frozenset(
    {
        "paused",
        "guild_seconds",
        "member_seconds",
        "period",
        "reset_hour",
        "tier",
        "log_channel_id",
        "approval",
        "approval_seconds",
        "approval_role_id",
        "member_concurrency",
        "guild_concurrency",
        "approver_role_id",
        "seconds_only",
    }
)

# Each list: (table, key column, value column or None).
LISTS: dict[str, tuple[str, str, str | None]] = {
    "role_allowances": ("role_allowances", "role_id", "seconds"),
    "channel_budgets": ("channel_budgets", "channel_id", "seconds"),
    "tween_channels": ("tween_channels", "channel_id", None),
    "banned_words": ("banned_words", "word", None),
}


class GuildRepo:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._warned: set[tuple[int, str]] = set()

    async def policy(self, guild_id: int, conn: Transaction | None = None) -> GuildPolicy:
        """The guild's settings merged with the operator's defaults."""
        row = await self._one(conn, "SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
        values: dict[str, Any] = dict(row) if row else {}
        lists = {name: await self._list(conn, name, guild_id) for name in LISTS}
        defaults, caps = self._settings.budget, self._settings.concurrency
        return GuildPolicy(
            guild_id=guild_id,
            paused=bool(values.get("paused", 0)),
            guild_seconds=_or(values.get("guild_seconds"), defaults.default_seconds),
            member_seconds=_or(values.get("member_seconds"), defaults.member_seconds),
            period=values.get("period") or defaults.period,
            reset_hour=_or(values.get("reset_hour"), defaults.reset_hour_utc),
            tier=self._tier(guild_id, values.get("tier")),
            log_channel_id=values.get("log_channel_id"),
            approval=Approval(values.get("approval") or "off"),
            approval_seconds=values.get("approval_seconds"),
            approval_role_id=values.get("approval_role_id"),
            member_concurrency=_or(values.get("member_concurrency"), caps.per_member),
            guild_concurrency=_or(values.get("guild_concurrency"), caps.per_guild),
            role_allowances=dict(lists["role_allowances"]),
            channel_budgets=dict(lists["channel_budgets"]),
            tween_channels=frozenset(k for k, _ in lists["tween_channels"]),
            banned_words=tuple(sorted(str(k) for k, _ in lists["banned_words"])),
            approver_role_id=values.get("approver_role_id"),
            seconds_only=bool(values.get("seconds_only", 0)),
        )

    async def seconds_only(self, guild_id: int) -> bool:
        """Whether the guild shows its members seconds only: one read, for texts redrawn often (job cards)."""
        row = await self._one(None, "SELECT seconds_only FROM guild_settings WHERE guild_id = ?", (guild_id,))
        return bool(row and row["seconds_only"])

    async def set(self, conn: Transaction, guild_id: int, **values: Any) -> None:
        """Upsert settings columns for the guild."""
        unknown = set(values) - SETTING_COLUMNS
        if unknown:
            raise ValueError(f"not guild settings: {sorted(unknown)}")
        if "tier" in values and values["tier"] not in self._settings.tiers:
            raise InputRejected("unknown_tier", tier=values["tier"], known=list(self._settings.tiers))
        names = list(values)
        await conn.execute(
            "INSERT INTO guild_settings (guild_id) VALUES (?) ON CONFLICT (guild_id) DO NOTHING", (guild_id,)
        )
        assignments = ", ".join(f"{n} = ?" for n in names)
        await conn.execute(f"UPDATE guild_settings SET {assignments} WHERE guild_id = ?", (*values.values(), guild_id))

    def _tier(self, guild_id: int, stored: str | None) -> str:
        """The guild's tier: the one it picked while config still has it, else the operator's default."""
        if stored in self._settings.tiers:
            return stored
        default = self._settings.model.default_tier
        if stored is not None and (guild_id, stored) not in self._warned:
            self._warned.add((guild_id, stored))
            log.warning("guild %d picked tier %r, no longer in the config; it uses %r", guild_id, stored, default)
        return default

    async def put(self, conn: Transaction, name: str, guild_id: int, key: Any, value: Any = None) -> None:
        table, key_col, value_col = LISTS[name]
        if value_col is None:
            await conn.execute(
                f"INSERT INTO {table} (guild_id, {key_col}) VALUES (?, ?) ON CONFLICT DO NOTHING", (guild_id, key)
            )
        else:
            await conn.execute(
                f"INSERT INTO {table} (guild_id, {key_col}, {value_col}) VALUES (?, ?, ?) "
                f"ON CONFLICT (guild_id, {key_col}) DO UPDATE SET {value_col} = excluded.{value_col}",
                (guild_id, key, value),
            )

    async def remove(self, conn: Transaction, name: str, guild_id: int, key: Any) -> bool:
        table, key_col, _ = LISTS[name]
        cursor = await conn.execute(f"DELETE FROM {table} WHERE guild_id = ? AND {key_col} = ?", (guild_id, key))
        return cursor.rowcount == 1

    async def block(
        self, conn: Transaction, guild_id: int, user_id: int, by: int, reason: str | None, at: datetime
    ) -> None:
        await conn.execute(
            "INSERT INTO blocked_members (guild_id, user_id, blocked_by, reason, at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id, user_id) DO UPDATE SET blocked_by = excluded.blocked_by, reason = excluded.reason",
            (guild_id, user_id, by, reason, to_db(at)),
        )

    async def unblock(self, conn: Transaction, guild_id: int, user_id: int) -> bool:
        cursor = await conn.execute(
            "DELETE FROM blocked_members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        return cursor.rowcount == 1

    async def block_reason(self, guild_id: int, user_id: int) -> str | None:
        """None when the member is not blocked; the reason (maybe empty) when they are."""
        row = await self._db.fetch_one(
            "SELECT reason FROM blocked_members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
        return None if row is None else (row["reason"] or "")

    async def audit(
        self,
        conn: Transaction,
        guild_id: int,
        actor_id: int | None,
        action: str,
        detail: dict[str, Any],
        at: datetime,
    ) -> None:
        await conn.execute(
            "INSERT INTO audit (guild_id, actor_id, action, detail, at) VALUES (?, ?, ?, ?, ?)",
            (guild_id, actor_id, action, json.dumps(detail, sort_keys=True), to_db(at)),
        )

    async def audit_log(self, guild_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """The guild's newest audit entries, newest first, as plain column → value mappings."""
        rows = await self._db.fetch_all(
            "SELECT * FROM audit WHERE guild_id = ? ORDER BY id DESC LIMIT ?", (guild_id, limit)
        )
        return [dict(row) for row in rows]

    async def _list(self, conn: Transaction | None, name: str, guild_id: int) -> list[tuple[Any, Any]]:
        table, key_col, value_col = LISTS[name]
        rows = await self._all(
            conn, f"SELECT {key_col}, {value_col or 'NULL'} FROM {table} WHERE guild_id = ?", (guild_id,)
        )
        return [(r[0], r[1]) for r in rows]

    async def _one(self, conn: Transaction | None, sql: str, params: tuple[Any, ...]) -> Row | None:
        if conn is None:
            return await self._db.fetch_one(sql, params)
        async with conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def _all(self, conn: Transaction | None, sql: str, params: tuple[Any, ...]) -> list[Row]:
        if conn is None:
            return await self._db.fetch_all(sql, params)
        async with conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value
