import io
import json
import logging
from datetime import datetime, timedelta

import pytest

from bot.errors import ConfigError
from bot.log import MASK, RedactSecrets, setup_logging
from bot.settings import LoggingSettings, Settings

SECRETS = ("fal-secret-123", "discord-token-456")


def test_secrets_are_masked_in_messages_arguments_and_tracebacks(caplog):
    logger = logging.getLogger("tests.redact")
    logger.addFilter(RedactSecrets(["fal-secret-123", "discord-token-456"]))
    try:
        with caplog.at_level(logging.INFO, logger="tests.redact"):
            logger.info("calling with Key %s", "fal-secret-123")
            try:
                raise RuntimeError("token discord-token-456 refused")
            except RuntimeError:
                logger.exception("failed")
    finally:
        logger.filters.clear()
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "fal-secret-123" not in text and "discord-token-456" not in text
    assert text.count(MASK) >= 2


def configure(fmt: str, level: str = "INFO", secrets=SECRETS) -> io.StringIO:
    stream = io.StringIO()
    setup_logging(LoggingSettings(format=fmt, level=level), secrets, stream=stream)
    return stream


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_text_format_is_the_readable_line(root_logging):
    stream = configure("text")
    logging.getLogger("bot.jobs").info("job %d queued", 7, extra={"job_id": 7})
    (line,) = lines(stream)
    assert line.endswith("INFO    bot.jobs: job 7 queued")
    assert datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")


def test_json_format_is_one_object_per_line_with_context(root_logging):
    stream = configure("json")
    log = logging.getLogger("bot.tracker")
    context = {"job_id": 7, "guild_id": 42, "user_id": 9, "request_id": "req-1", "state": "running"}
    log.info("job %d is %s", 7, "running", extra=context)
    log.warning("plain")
    first, second = (json.loads(line) for line in lines(stream))
    assert first == {
        "time": first["time"],
        "level": "INFO",
        "logger": "bot.tracker",
        "message": "job 7 is running",
        **context,
    }
    moment = datetime.fromisoformat(first["time"])
    assert moment.utcoffset() == timedelta(0)
    assert set(second) == {"time", "level", "logger", "message"} and second["level"] == "WARNING"


def test_json_format_carries_the_exception_as_one_string(root_logging):
    stream = configure("json", secrets=())
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("bot").exception("failed on job %d", 3, extra={"job_id": 3})
    (line,) = lines(stream)  # the traceback stays inside the one line
    entry = json.loads(line)
    assert entry["message"] == "failed on job 3" and entry["job_id"] == 3
    assert entry["exception"].startswith("Traceback") and "ValueError: boom" in entry["exception"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_scrubbed_in_both_formats(root_logging, fmt):
    stream = configure(fmt)
    log = logging.getLogger("bot.fal")
    log.info("Authorization: Key %s", "fal-secret-123")
    try:
        raise RuntimeError("token discord-token-456 refused")
    except RuntimeError:
        log.exception("login failed with discord-token-456")
    text = stream.getvalue()
    assert "fal-secret-123" not in text and "discord-token-456" not in text
    assert text.count(MASK) >= 3
    if fmt == "json":
        entries = [json.loads(line) for line in lines(stream)]
        assert len(entries) == 2 and MASK in entries[1]["exception"]


def test_level_comes_from_settings_and_libraries_stay_quiet(root_logging):
    stream = configure("text", level="warning")
    logging.getLogger("bot").info("hidden")
    logging.getLogger("bot").warning("shown")
    logging.getLogger("httpx").info("request sent")
    assert [line.split(": ", 1)[1] for line in lines(stream)] == ["shown"]
    assert logging.getLogger().level == logging.WARNING


def test_debug_level_shows_debug_but_not_library_chatter(root_logging):
    stream = configure("json", level="DEBUG")
    logging.getLogger("bot").debug("detail")
    logging.getLogger("discord.gateway").info("heartbeat")
    assert [json.loads(line)["message"] for line in lines(stream)] == ["detail"]


def test_an_unknown_level_or_format_is_a_config_error(root_logging):
    with pytest.raises(ConfigError, match=r"logging\.level"):
        configure("text", level="chatty")
    with pytest.raises(ConfigError, match=r"logging\.format"):
        configure("xml")


def test_log_level_from_the_environment_reaches_settings():
    env = {"DISCORD_TOKEN": "x", "FAL_KEY": "y", "TWEEN_LOG_LEVEL": "DEBUG", "TWEEN_LOG_FORMAT": "json"}
    assert Settings.load(env).logging == LoggingSettings(format="json", level="DEBUG")


APP_ID = 1312345678901234567
TOKEN = "aW50ZXJhY3Rpb246MTMxMjM0NTY3ODkwMTIzNDU2Nzo-x_Y"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_interaction_and_webhook_tokens_are_masked_at_every_level_and_in_tracebacks(root_logging, fmt):
    stream = configure(fmt, level="DEBUG", secrets=())
    hook = logging.getLogger("discord.webhook.async_")
    hook.debug(
        "Webhook ID %s with %s %s has returned status code %s",
        APP_ID,
        "POST",
        f"https://discord.com/api/v10/interactions/99/{TOKEN}/callback?with_response=true",
        200,
    )
    hook.info("PATCH https://discord.com/api/v10/webhooks/%d/%s/messages/@original", APP_ID, TOKEN)
    logging.getLogger("bot").warning("payload {'id': '99', 'token': '%s', 'type': 2}", TOKEN)
    try:
        raise RuntimeError(f"404, message='Not Found', url='http://127.0.0.1:1/api/v10/webhooks/{APP_ID}/{TOKEN}'")
    except RuntimeError:
        logging.getLogger("bot").exception("followup failed")
    text = stream.getvalue()
    assert TOKEN not in text
    assert "/interactions/99/[redacted]/callback?with_response=true" in text
    assert f"/webhooks/{APP_ID}/[redacted]/messages/@original" in text
    assert text.count(MASK) == 4


def test_urls_without_a_token_are_left_alone(root_logging):
    stream = configure("text", secrets=())
    logging.getLogger("bot").info("GET /api/v10/webhooks/%d and /channels/5/messages", APP_ID)
    assert lines(stream)[0].endswith(f"GET /api/v10/webhooks/{APP_ID} and /channels/5/messages")


def test_only_discord_pys_two_voice_warnings_are_silenced(root_logging):
    stream = configure("text", secrets=())
    client = logging.getLogger("discord.client")
    client.warning("PyNaCl is not installed, voice will NOT be supported")
    client.warning("davey is not installed, voice will NOT be supported")
    client.warning("Shard ID %s heartbeat blocked for more than %s seconds.", None, 10)
    logging.getLogger("bot").warning("PyNaCl is not installed, voice will NOT be supported")
    assert [line.split(" ", 3)[3] for line in lines(stream)] == [
        "discord.client: Shard ID None heartbeat blocked for more than 10 seconds.",
        "bot: PyNaCl is not installed, voice will NOT be supported",
    ]
