"""Settings for tests: the real default.toml, with fast intervals and the given endpoints."""

from __future__ import annotations

from typing import Any

from bot.settings import DEFAULT_CONFIG, Settings, _merge, _read_toml


def make_settings(**tables: dict[str, Any]) -> Settings:
    data = _read_toml(DEFAULT_CONFIG)
    fast = {
        "fal": {
            "key": "test-fal-key",
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
            "max_reads_per_second": 500.0,
            "connect_timeout": 2.0,
            "read_timeout": 5.0,
        },
        "tracker": {
            "queued_interval": 0.02,
            "running_interval": 0.02,
            "running_sparse_interval": 0.2,
            "error_backoff_cap": 0.1,
        },
        "discord": {"token": "test-discord-token", "card_edit_interval": 0.05},
    }
    _merge(data, fast)
    _merge(data, tables)
    return Settings.from_mapping(data)
