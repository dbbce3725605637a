"""Settings: config/default.toml, an optional TOML layered over it, and secrets from the environment."""

from __future__ import annotations

import copy
import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from bot.errors import ConfigError
from bot.sharding import ShardPlan
from bot.tiers import Tier, adopt_legacy_keys, build_tiers

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "default.toml"
REQUIRED_SECRETS = ("DISCORD_TOKEN", "FAL_KEY")
# A frame brought down to the pixel cap must still be as large as the video Kling O1 makes (1080p).
MIN_FRAME_PIXELS = 1920 * 1080


@dataclass(frozen=True)
class ModelSettings:
    """[model] and the [tiers] table: every tier a guild may use, and the one it uses until its moderators pick."""

    default_tier: str
    tiers: Mapping[str, Tier]

    @property
    def default(self) -> Tier:
        return self.tiers[self.default_tier]

    # The default tier's durations, for code that has no guild at hand. No price here on purpose: a price is always
    # a guild's own tier's (BudgetService.price_for).
    @property
    def min_duration(self) -> int:
        return self.default.min_duration

    @property
    def max_duration(self) -> int:
        return self.default.max_duration

    @property
    def default_duration(self) -> int:
        return self.default.default_duration


@dataclass(frozen=True)
class LimitSettings:
    max_image_bytes: int
    min_image_side: int
    min_aspect_ratio: float
    max_aspect_ratio: float
    max_prompt_chars: int
    default_upload_limit: int


@dataclass(frozen=True)
class FrameSettings:
    max_pixels: int
    max_decodes: int


@dataclass(frozen=True)
class BudgetSettings:
    default_seconds: int
    member_seconds: int
    warn_at: float
    period: str
    reset_hour_utc: int


@dataclass(frozen=True)
class ConcurrencySettings:
    per_member: int
    per_guild: int
    total: int


@dataclass(frozen=True)
class AbuseSettings:
    actions: int
    per_seconds: float


@dataclass(frozen=True)
class FalSettings:
    connect_timeout: float
    read_timeout: float
    upload_timeout: float
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    upload_retention_seconds: int
    output_retention_seconds: int
    max_reads_per_second: float
    account_pause_after: int
    account_probe_interval: float
    status_stream: bool = True
    max_streams: int = 1000
    stream_stall_timeout: float = 45.0
    stream_retry: float = 30.0
    queue_url: str = "https://queue.fal.run"
    rest_url: str = "https://rest.fal.ai"
    key: str = field(default="", repr=False)


@dataclass(frozen=True)
class TrackerSettings:
    queued_interval: float
    queued_interval_cap: float
    running_interval: float
    running_sparse_interval: float
    min_run_samples: int
    early_quantile: float
    early_margin: float
    queue_deadline: float
    longest_run: float
    error_backoff_cap: float
    max_delivery_attempts: int
    usual_run_base: float = 60.0
    usual_run_per_second: float = 12.0


@dataclass(frozen=True)
class MediaSettings:
    max_transcodes: int
    preset: str
    threads: int
    size_margin: float
    min_bits_per_pixel: float
    min_height: int
    audio_bitrate: int
    max_download_bytes: int
    duration_tolerance: float
    max_attempts: int


@dataclass(frozen=True)
class DiscordSettings:
    card_edit_interval: float
    delivery_lookback: int
    thread_auto_archive_minutes: int
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    shard_count: int = 0
    shard_ids: str = ""
    token: str = field(default="", repr=False)

    @property
    def shards(self) -> ShardPlan:
        return ShardPlan.parse(self.shard_count, self.shard_ids)


@dataclass(frozen=True)
class StorageSettings:
    db_path: str
    # postgresql://user:password@host/db: empty keeps the SQLite file. May hold a password, so never printed.
    database_url: str = field(default="", repr=False)
    # How long a process's lease on its shards lasts unrenewed (renewed every third of it): bot/db/leases.py.
    lease_seconds: float = 30.0

    @property
    def secrets(self) -> tuple[str, ...]:
        """The database password, for the log filter that masks secrets."""
        password = urlsplit(self.database_url).password if self.database_url else None
        return (password,) if password else ()

    @property
    def target(self) -> str:
        """What open_database opens: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.database_url or self.db_path


@dataclass(frozen=True)
class LoggingSettings:
    format: str
    level: str


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    metrics: bool

    @property
    def enabled(self) -> bool:
        return self.port > 0


@dataclass(frozen=True)
class WebhookSettings:
    public_url: str
    jwks_urls: list[str]
    jwks_cache_seconds: float
    max_skew_seconds: float
    fallback_interval: float

    @property
    def enabled(self) -> bool:
        return bool(self.public_url)

    @property
    def target(self) -> str | None:
        """The URL fal posts completions to, or None when webhooks are off."""
        return f"{self.public_url.rstrip('/')}/fal/webhook" if self.public_url else None


@dataclass(frozen=True)
class Settings:
    model: ModelSettings
    limits: LimitSettings
    frames: FrameSettings
    budget: BudgetSettings
    concurrency: ConcurrencySettings
    abuse: AbuseSettings
    fal: FalSettings
    tracker: TrackerSettings
    media: MediaSettings
    discord: DiscordSettings
    storage: StorageSettings
    logging: LoggingSettings
    server: ServerSettings
    webhooks: WebhookSettings

    @classmethod
    def load(cls, env: Mapping[str, str], *, require_secrets: bool = True) -> Settings:
        """Build settings from the default TOML, TWEEN_CONFIG and the environment."""
        if require_secrets:
            for name in REQUIRED_SECRETS:
                if not env.get(name, "").strip():
                    raise ConfigError(f"{name} is not set; export it in the environment and start again.")
        data = _read_toml(DEFAULT_CONFIG)
        if extra := env.get("TWEEN_CONFIG"):
            _merge(data, _read_toml(Path(extra)))
        _apply_env(data, env)
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        """Build settings from an already merged mapping of TOML tables."""
        try:
            settings = cls(
                model=_model(data),
                limits=_section(LimitSettings, data, "limits"),
                frames=_section(FrameSettings, data, "frames"),
                budget=_section(BudgetSettings, data, "budget"),
                concurrency=_section(ConcurrencySettings, data, "concurrency"),
                abuse=_section(AbuseSettings, data, "abuse"),
                fal=_section(FalSettings, data, "fal"),
                tracker=_section(TrackerSettings, data, "tracker"),
                media=_section(MediaSettings, data, "media"),
                discord=_section(DiscordSettings, data, "discord"),
                storage=_section(StorageSettings, data, "storage"),
                logging=_section(LoggingSettings, data, "logging"),
                server=_section(ServerSettings, data, "server"),
                webhooks=_section(WebhookSettings, data, "webhooks"),
            )
        except TypeError as exc:
            raise ConfigError(f"configuration is incomplete or has unknown keys: {exc}") from None
        settings.check()
        return settings

    @property
    def fal_here(self) -> FalSettings:
        """[fal] as this process uses it: the reads per second are the whole account's, so a process serving some
        of the shards reads at its share of them."""
        return replace(self.fal, max_reads_per_second=self.discord.shards.share(self.fal.max_reads_per_second))

    @property
    def tiers(self) -> Mapping[str, Tier]:
        """Every configured tier by name, in config order."""
        return self.model.tiers

    def tier(self, name: str | None) -> Tier:
        """The named tier; the default tier for None or for a name the config no longer has."""
        return self.model.tiers.get(name or "", self.model.default)

    def tier_for_endpoint(self, endpoint: str) -> Tier:
        """The tier a job's stored endpoint belongs to, for building its fal input at submit time."""
        for tier in self.model.tiers.values():
            if tier.endpoint == endpoint:
                return tier
        # The table changed while the job waited: its endpoint stays, and the default tier's input is the best guess.
        log.warning("no tier has endpoint %s; building its input as tier %s", endpoint, self.model.default_tier)
        return self.model.default

    def check(self) -> None:
        """Refuse values that would make the bot misbehave."""
        if self.budget.period not in ("day", "week", "month"):
            raise ConfigError("budget.period must be day, week or month")
        if not 0 <= self.budget.reset_hour_utc <= 23:
            raise ConfigError("budget.reset_hour_utc must be 0..23")
        if self.frames.max_pixels < MIN_FRAME_PIXELS:
            raise ConfigError(f"frames.max_pixels must be at least {MIN_FRAME_PIXELS} (1920×1080, the video fal makes)")
        if self.frames.max_decodes < 1:
            raise ConfigError("frames.max_decodes must be at least 1")
        self.discord.shards  # noqa: B018 - parsing is the check: a bad shard range stops the start
        url = self.storage.database_url
        if url and urlsplit(url).scheme not in ("postgresql", "postgres"):
            raise ConfigError("TWEEN_DATABASE_URL must start with postgresql:// (empty keeps the SQLite file)")
        if self.storage.lease_seconds < 3:
            raise ConfigError("storage.lease_seconds must be at least 3")
        c = self.concurrency
        if min(c.per_member, c.per_guild, c.total) < 1:
            raise ConfigError("concurrency caps must be at least 1")
        if self.fal.max_reads_per_second <= 0:
            raise ConfigError("fal.max_reads_per_second must be positive")
        if self.fal.account_pause_after < 1 or self.fal.account_probe_interval < 0:
            raise ConfigError("fal.account_pause_after must be at least 1 and fal.account_probe_interval not negative")
        if self.fal.max_streams < 0 or min(self.fal.stream_stall_timeout, self.fal.stream_retry) <= 0:
            raise ConfigError("fal.max_streams must not be negative, stream_stall_timeout and stream_retry positive")
        t = self.tracker
        if not (0 <= t.early_quantile < 1 and 0 < t.early_margin <= 1 and t.min_run_samples >= 1):
            raise ConfigError("tracker: early_quantile must be in [0, 1), early_margin in (0, 1], min_run_samples >= 1")
        self._check_media()
        if self.logging.format not in ("text", "json"):
            raise ConfigError("logging.format must be text or json")
        if self.logging.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("logging.level must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        if not 0 <= self.server.port <= 65535:
            raise ConfigError("server.port must be 0 (off) or a TCP port")
        if self.webhooks.enabled and not _secure_or_local(self.webhooks.public_url):
            raise ConfigError("webhooks.public_url must be an https:// URL that reaches this bot")
        if self.webhooks.enabled and not self.server.enabled:
            raise ConfigError("webhooks need the HTTP server: set server.port (or TWEEN_HTTP_PORT)")

    def _check_media(self) -> None:
        m = self.media
        if m.preset not in X264_PRESETS:
            raise ConfigError(f"media.preset must be one of {', '.join(X264_PRESETS)}")
        if min(m.max_transcodes, m.threads, m.max_attempts) < 1 or not 0 <= m.size_margin < 0.5:
            raise ConfigError("media: max_transcodes, threads and max_attempts >= 1; size_margin in [0, 0.5)")
        if m.min_bits_per_pixel <= 0 or m.min_height < 2 or m.audio_bitrate < 32_000 or m.duration_tolerance < 0:
            raise ConfigError("media: min_bits_per_pixel > 0, min_height >= 2, audio_bitrate >= 32000")
        if m.max_download_bytes < self.limits.default_upload_limit:
            raise ConfigError("media.max_download_bytes must be at least limits.default_upload_limit")


_ENV_KEYS = {
    "DISCORD_TOKEN": ("discord", "token"),
    "DISCORD_API_BASE": ("discord", "api_base"),
    "DISCORD_GATEWAY_URL": ("discord", "gateway_url"),
    "FAL_KEY": ("fal", "key"),
    "FAL_QUEUE_URL": ("fal", "queue_url"),
    "FAL_REST_URL": ("fal", "rest_url"),
    "TWEEN_DB_PATH": ("storage", "db_path"),
    "TWEEN_DATABASE_URL": ("storage", "database_url"),
    "TWEEN_SHARD_COUNT": ("discord", "shard_count"),
    "TWEEN_SHARD_IDS": ("discord", "shard_ids"),
    "TWEEN_LOG_FORMAT": ("logging", "format"),
    "TWEEN_LOG_LEVEL": ("logging", "level"),
    "TWEEN_HTTP_HOST": ("server", "host"),
    "TWEEN_HTTP_PORT": ("server", "port"),
    "TWEEN_PUBLIC_URL": ("webhooks", "public_url"),
}
_INT_KEYS = {"TWEEN_HTTP_PORT", "TWEEN_SHARD_COUNT"}


_BASE_URLS = {"DISCORD_API_BASE", "FAL_QUEUE_URL", "FAL_REST_URL"}


def _secure_or_local(url: str) -> bool:
    """https, or plain http to this machine (a reverse proxy on the same host, or tests)."""
    parsed = urlsplit(url)
    return parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost"))


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, (table, key) in _ENV_KEYS.items():
        value = env.get(name, "").strip()
        if value:
            if name in _INT_KEYS:
                if not value.isdigit():
                    raise ConfigError(f"{name} must be a whole number, not {value!r}")
                data.setdefault(table, {})[key] = int(value)
                continue
            data.setdefault(table, {})[key] = value.rstrip("/") if name in _BASE_URLS else value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _model(data: Mapping[str, Any]) -> ModelSettings:
    model = copy.deepcopy(dict(data.get("model") or {}))
    tiers = copy.deepcopy(data.get("tiers"))
    if isinstance(tiers, dict):
        adopt_legacy_keys(model, tiers)
    built = build_tiers(tiers)
    unknown = set(model) - {"default_tier"}
    if unknown:
        raise ConfigError(f"unknown key(s) in [model]: {', '.join(sorted(unknown))}")
    default = model.get("default_tier")
    if default not in built:
        raise ConfigError(f"model.default_tier must name a [tiers.*] table ({', '.join(built)}), not {default!r}")
    return ModelSettings(default_tier=default, tiers=MappingProxyType(built))


X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


def _section(kind: type[Any], data: Mapping[str, Any], name: str) -> Any:
    table = data.get(name)
    if not isinstance(table, Mapping):
        raise ConfigError(f"config table [{name}] is missing")
    known = {f.name for f in fields(kind)}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
    return kind(**table)
