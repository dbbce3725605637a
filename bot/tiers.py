"""Model tiers as data: each `[tiers.NAME]` table of the config is one fal endpoint with its price, its durations and
the name of the function that turns a job into that endpoint's input. A new endpoint is a new table, plus an input
builder here when its arguments differ from every existing one."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from bot.errors import ConfigError

log = logging.getLogger(__name__)

# (prompt, start frame URL, end frame URL or None, duration in seconds) -> fal's `arguments` for a submit.
InputBuilder = Callable[[str, str | None, str | None, int], dict[str, Any]]


def kling_o1(prompt: str, start_url: str | None, end_url: str | None, duration: int) -> dict[str, Any]:
    """Kling O1 image-to-video (pro and standard): first frame, optional last frame, duration as a string."""
    arguments: dict[str, Any] = {"prompt": prompt, "start_image_url": start_url, "duration": str(duration)}
    if end_url:
        arguments["end_image_url"] = end_url
    return arguments


INPUT_BUILDERS: dict[str, InputBuilder] = {"kling_o1": kling_o1}

# Discord shows a tier name in choices and replies; keep it short and plain.
NAME = re.compile(r"[a-z0-9_-]{1,32}")


@dataclass(frozen=True)
class Tier:
    """One fal endpoint a guild may use, with what fal bills for it and the durations it takes."""

    name: str
    endpoint: str
    price_per_second: float
    min_duration: int
    max_duration: int
    default_duration: int
    input: str

    @property
    def durations(self) -> range:
        return range(self.min_duration, self.max_duration + 1)

    def arguments(self, prompt: str, start_url: str | None, end_url: str | None, duration: int) -> dict[str, Any]:
        """fal's input for one job on this tier's endpoint."""
        return INPUT_BUILDERS[self.input](prompt, start_url, end_url, duration)


def build_tiers(table: Any) -> dict[str, Tier]:
    """The `[tiers]` table as Tier objects, in config order; every value checked."""
    if not isinstance(table, Mapping) or not table:
        raise ConfigError("config table [tiers] is missing: define at least one [tiers.NAME] table")
    tiers = {name: _tier(name, values) for name, values in table.items()}
    endpoints = [t.endpoint for t in tiers.values()]
    if len(set(endpoints)) != len(endpoints):
        raise ConfigError("two [tiers.*] tables share an endpoint; each tier needs its own fal endpoint")
    return tiers


def _tier(name: str, values: Any) -> Tier:
    where = f"[tiers.{name}]"
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where} must be a table")
    if not NAME.fullmatch(name):
        raise ConfigError(f"{where}: a tier name is 1-32 lowercase letters, digits, '-' or '_'")
    known = {f.name for f in fields(Tier)} - {"name"}
    if unknown := set(values) - known:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")
    if missing := known - set(values):
        raise ConfigError(f"{where} is missing {', '.join(sorted(missing))}")
    tier = Tier(name=name, **values)
    if tier.input not in INPUT_BUILDERS:
        raise ConfigError(f"{where}: input must be one of {', '.join(sorted(INPUT_BUILDERS))}, not {tier.input!r}")
    if not isinstance(tier.endpoint, str) or not tier.endpoint.strip("/"):
        raise ConfigError(f"{where}: endpoint must name a fal model, like fal-ai/kling-video/o1/image-to-video")
    if not isinstance(tier.price_per_second, int | float) or tier.price_per_second <= 0:
        raise ConfigError(f"{where}: price_per_second must be a positive number of US dollars")
    durations = (tier.min_duration, tier.default_duration, tier.max_duration)
    if not all(isinstance(d, int) for d in durations) or not 3 <= durations[0] <= durations[1] <= durations[2] <= 10:
        raise ConfigError(f"{where}: durations must be 3 <= min_duration <= default_duration <= max_duration <= 10")
    return tier


# Keys of [model] from before tiers were a table, and where each one lives now.
LEGACY_KEYS = {
    "endpoint": ("pro", "endpoint"),
    "price_per_second": ("pro", "price_per_second"),
    "standard_endpoint": ("standard", "endpoint"),
    "standard_price_per_second": ("standard", "price_per_second"),
}
LEGACY_DURATIONS = ("min_duration", "max_duration", "default_duration")


def adopt_legacy_keys(model: dict[str, Any], tiers: dict[str, Any]) -> None:
    """Move [model] keys of older configs onto the [tiers] table (durations apply to every tier, as they did),
    with one deprecation line naming the new keys."""
    moved = []
    for key in [k for k in model if k in LEGACY_KEYS or k in LEGACY_DURATIONS]:
        value = model.pop(key)
        if key in LEGACY_KEYS:
            tier, new = LEGACY_KEYS[key]
            if not isinstance(tiers.get(tier), dict):
                raise ConfigError(f"model.{key} is deprecated, and there is no [tiers.{tier}] to move it to")
            tiers[tier][new] = value
            moved.append(f"model.{key} -> tiers.{tier}.{new}")
        else:
            for values in tiers.values():
                if isinstance(values, dict):
                    values[key] = value
            moved.append(f"model.{key} -> tiers.*.{key}")
    if moved:
        log.warning(
            "deprecated configuration keys, still honoured (move them; they will be refused in a later release): %s",
            "; ".join(moved),
        )
