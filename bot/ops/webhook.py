"""The HTTP side of fal webhooks: POST /fal/webhook reads the raw body and hands it to the receiver."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.fal.webhook import WebhookOutcome, WebhookReceiver

log = logging.getLogger(__name__)

PATH = "/fal/webhook"
MAX_BODY = 1024 * 1024  # fal's completion bodies are small; a video is sent as a URL


def webhook_routes(receiver: WebhookReceiver, *, max_body: int = MAX_BODY) -> list[web.RouteDef]:
    """The route to mount on the bot's HTTP server when webhooks are on."""

    async def handle(request: web.Request) -> web.Response:
        body = await _read_capped(request, max_body)
        if body is None:
            log.warning("fal webhook refused: body larger than %d bytes", max_body)
            return _answer(WebhookOutcome(413, None, "body too large"))
        try:
            outcome = await receiver.receive(body, request.headers)
        except Exception:  # the receiver answers every case itself; this is the last line
            log.exception("fal webhook: the receiver failed")
            outcome = WebhookOutcome(500, None, "internal error")
        return _answer(outcome)

    return [web.post(PATH, handle)]


async def _read_capped(request: web.Request, max_body: int) -> bytes | None:
    """The whole body, or None as soon as it is known to exceed max_body."""
    if request.content_length is not None and request.content_length > max_body:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > max_body:
            return None
    return bytes(body)


def _answer(outcome: WebhookOutcome) -> web.Response:
    return web.json_response({"ok": outcome.ok, "result": outcome.result}, status=outcome.status)
