"""Logging set-up: readable text or one JSON object per line, quiet libraries, secrets scrubbed from every record."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.errors import ConfigError
from bot.settings import LoggingSettings

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
MASK = "[redacted]"
# Context a record may carry (`log.info(..., extra={"job_id": 7})`); JSON lines include whichever are present.
CONTEXT_FIELDS = ("job_id", "guild_id", "user_id", "request_id", "state")
NOISY = ("discord.gateway", "discord.client", "httpx", "httpcore", "aiosqlite")
# Interaction and webhook tokens are the path segment after the id; discord.py logs these URLs at DEBUG, and aiohttp
# puts them in its errors' text. A token in a JSON or Python-repr payload ("token": "...") is masked too.
_TOKEN_IN_PATH = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?#\s'\"]+")
_TOKEN_FIELD = re.compile(r"""(["']token["']\s*:\s*["'])[^"']+""")
# discord.py warns at every start that voice is unavailable; Tween never joins a voice channel.
VOICE_WARNINGS = frozenset(
    {
        "PyNaCl is not installed, voice will NOT be supported",
        "davey is not installed, voice will NOT be supported",
    }
)


class QuietVoice(logging.Filter):
    """Drops exactly discord.py's two voice warnings; every other discord.client line passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "discord.client" and isinstance(record.msg, str) and record.msg in VOICE_WARNINGS)


class RedactSecrets(logging.Filter):
    """Replaces each secret's text, and every interaction or webhook token, in a record's message (and its
    traceback text) with a mask."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self._scrub(message), None
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self._scrub(record.stack_info)
        return True

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = _TOKEN_IN_PATH.sub(rf"\g<1>{MASK}", text)
        return _TOKEN_FIELD.sub(rf"\g<1>{MASK}", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (ISO 8601, UTC), level, logger, message, context fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def parse_level(name: str) -> int:
    """The logging level called `name` (case-insensitive), or ConfigError naming the choices."""
    level = logging.getLevelNamesMapping().get(name.strip().upper())
    if level is None:
        raise ConfigError(f"logging.level {name!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def make_formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter()
    if kind == "text":
        return logging.Formatter(FORMAT)
    raise ConfigError(f"logging.format {kind!r} is not text or json")


def setup_logging(config: LoggingSettings, secrets: Iterable[str] = (), *, stream: TextIO | None = None) -> None:
    """Configure the root logger: format and level from settings (TWEEN_LOG_FORMAT / TWEEN_LOG_LEVEL override)."""
    level = parse_level(config.level)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(config.format))
    handler.addFilter(QuietVoice())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))
