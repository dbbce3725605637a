"""Which Discord shards, and so which guilds, this process serves."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import ConfigError


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's rule for the shard that receives a guild's events."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class ShardPlan:
    """`count` None: Discord's recommended count; `ids` None: every shard of the count."""

    count: int | None = None
    ids: tuple[int, ...] | None = None

    @classmethod
    def parse(cls, count: int, ids: str) -> ShardPlan:
        """From the config: count 0 means Discord's recommendation; ids like "0-7" or "0,2,5-6", empty for all."""
        if count < 0:
            raise ConfigError(f"discord.shard_count (TWEEN_SHARD_COUNT) must be 0 or more, not {count}")
        chosen = _parse_ids(ids) if ids.strip() else None
        if chosen is not None:
            if not count:
                raise ConfigError("TWEEN_SHARD_IDS needs TWEEN_SHARD_COUNT: every process must agree on the count")
            if max(chosen) >= count:
                raise ConfigError(f"shard {max(chosen)} does not exist with TWEEN_SHARD_COUNT={count} (0-{count - 1})")
        return cls(count or None, chosen)

    def resolved(self, recommended: int) -> ShardPlan:
        """This plan with Discord's recommended count filled in where the config left it open."""
        count = self.count or recommended
        return ShardPlan(count, self.ids or tuple(range(count)))

    def owns(self, guild_id: int) -> bool:
        """Whether this process serves the guild (always, until the count is known or for every shard)."""
        if self.count is None or self.ids is None:
            return True
        return shard_of(guild_id, self.count) in self.ids

    def share(self, account_wide: float) -> float:
        """This process's part of a limit that holds for the whole account (fal reads per second): its fraction of
        the shards. The whole of it for a process that serves every shard."""
        if self.count is None or self.ids is None:
            return account_wide
        return account_wide * len(self.ids) / self.count

    def describe(self) -> str:
        if self.count is None:
            return "every shard Discord recommends"
        ids = self.ids if self.ids is not None else tuple(range(self.count))
        return f"shards {_ranges(ids)} of {self.count}"


# Gateway close codes that no reconnect can cure: the shard settings are wrong for this bot.
SHARDING_REQUIRED = 4011
INVALID_SHARD = 4010


def gateway_refusal(code: int, shard_id: int | None, count: int | None, recommended: int | None) -> str | None:
    """The operator's answer when Discord closes a shard for its shard settings (None for any other close)."""
    which = f"shard {shard_id} of {count}" if shard_id is not None and count else "the connection"
    advice = f" (Discord now recommends {recommended})" if recommended else ""
    if code == SHARDING_REQUIRED:
        return (
            f"Discord refused {which} with 4011 Sharding required: the bot is in too many servers for that many "
            f"shards. Set TWEEN_SHARD_COUNT to 0 to use Discord's recommended count{advice}, or to a count at "
            "least that high."
        )
    if code == INVALID_SHARD:
        return (
            f"Discord refused {which} with 4010 Invalid shard: check TWEEN_SHARD_COUNT and TWEEN_SHARD_IDS "
            f"(every process the same count, each its own ids below it){advice}."
        )
    return None


def _parse_ids(text: str) -> tuple[int, ...]:
    found: set[int] = set()
    for part in text.replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ConfigError(f"TWEEN_SHARD_IDS must look like 0-7 or 0,2,5-6, not {text!r}")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ConfigError(f"TWEEN_SHARD_IDS has a backwards range: {part!r}")
        found.update(range(first, last + 1))
    return tuple(sorted(found))


def _ranges(ids: tuple[int, ...]) -> str:
    parts: list[str] = []
    start = prev = ids[0]
    for shard in (*ids[1:], None):
        if shard is not None and shard == prev + 1:
            prev = shard
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if shard is not None:
            start = prev = shard
    return ",".join(parts)
