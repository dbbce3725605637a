import logging

from bot.log import MASK, RedactSecrets


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
