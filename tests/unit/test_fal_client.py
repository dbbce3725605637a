"""The fal client's retry rules over httpx.MockTransport (integration tests use the fake fal server)."""

import httpx
import pytest

from bot.errors import FalApiError, FalUnavailable, SubmitFateUnknown
from bot.fal import Completed, FalClient, InProgress, Queued
from bot.fal.client import redirect_target
from tests.support.settings import make_settings

MODEL = "fal-ai/kling-video/o1/image-to-video"
OK = {
    "request_id": "r1",
    "status_url": "http://q/s",
    "response_url": "http://q/r",
    "cancel_url": "http://q/c",
    "queue_position": 3,
    "status": "IN_QUEUE",
}


def client(handler) -> FalClient:
    settings = make_settings(fal={"queue_url": "http://q", "rest_url": "http://r", "max_attempts": 3})
    return FalClient(settings.fal, transport=httpx.MockTransport(handler))


async def test_submit_sends_key_and_body():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OK)

    async with client(handler) as fal:
        submitted = await fal.submit(MODEL, {"prompt": "p", "start_image_url": "u", "duration": "5"})
    assert submitted.request_id == "r1" and submitted.queue_position == 3
    assert str(seen[0].url) == f"http://q/{MODEL}"
    assert seen[0].headers["authorization"] == "Key test-fal-key"


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        httpx.ReadError("reset"),
        httpx.WriteTimeout("stuck"),
    ],
)
async def test_submit_fate_unknown_is_never_retried(error):
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise error

    async with client(handler) as fal:
        with pytest.raises(SubmitFateUnknown):
            await fal.submit(MODEL, {"prompt": "p"})
    assert calls == 1


async def test_submit_retried_when_connection_never_made():
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json=OK)

    async with client(handler) as fal:
        assert (await fal.submit(MODEL, {})).request_id == "r1"
    assert calls == 3


async def test_submit_server_error_is_final_and_typed():
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, json={"detail": "boom", "error_type": "internal_error"})

    async with client(handler) as fal:
        with pytest.raises(FalApiError) as caught:
            await fal.submit(MODEL, {})
    assert calls == 1
    assert (caught.value.status, caught.value.detail, caught.value.error_type) == (500, "boom", "internal_error")


async def test_submit_422_keeps_field_errors():
    detail = [{"loc": ["body", "duration"], "msg": "not a valid choice", "type": "enum"}]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": detail})

    async with client(handler) as fal:
        with pytest.raises(FalApiError) as caught:
            await fal.submit(MODEL, {})
    assert caught.value.is_validation
    assert caught.value.field_errors[0].loc == ("body", "duration")


async def test_submit_unreadable_success_is_unknown():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>gateway</html>")

    async with client(handler) as fal:
        with pytest.raises(SubmitFateUnknown):
            await fal.submit(MODEL, {})


async def test_status_retries_429_then_parses_each_state():
    answers = [
        httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "slow down"}),
        httpx.Response(202, json={"status": "IN_QUEUE", "queue_position": 1}),
        httpx.Response(202, json={"status": "IN_PROGRESS", "logs": [{"message": "hi"}]}),
        httpx.Response(
            200, json={"status": "COMPLETED", "error": "Runner disconnected", "error_type": "runner_disconnected"}
        ),
    ]

    async with client(lambda request: answers.pop(0)) as fal:
        assert await fal.status("http://q/s") == Queued(position=1)
        assert await fal.status("http://q/s") == InProgress(logs=("hi",))
        done = await fal.status("http://q/s")
    assert isinstance(done, Completed) and done.failed and done.error_type == "runner_disconnected"


async def test_status_unknown_state_is_an_error():
    async with client(lambda request: httpx.Response(200, json={"status": "EXPLODED"})) as fal:
        with pytest.raises(FalApiError, match="unknown queue status"):
            await fal.status("http://q/s")


async def test_status_gives_up_after_max_attempts():
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("down")

    async with client(handler) as fal:
        with pytest.raises(FalUnavailable):
            await fal.status("http://q/s")
    assert calls == 3


async def test_download_refuses_oversized_by_content_length(tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        return httpx.Response(200, content=b"x" * 100)

    async with client(handler) as fal:
        assert await fal.download("http://cdn/v.mp4", tmp_path / "v.mp4", max_bytes=99) is None
        assert not (tmp_path / "v.mp4").exists()
        assert await fal.download("http://cdn/v.mp4", tmp_path / "v.mp4", max_bytes=100) == 100


def test_redirects_are_followed_but_never_down_to_plain_http():
    def moved(location: str) -> httpx.Response:
        return httpx.Response(302, headers={"location": location})

    assert redirect_target("https://v3.fal.media/a.mp4", moved("https://v3b.fal.media/a.mp4")) == (
        "https://v3b.fal.media/a.mp4"
    )
    assert redirect_target("https://v3.fal.media/a.mp4", moved("/b.mp4")) == "https://v3.fal.media/b.mp4"
    with pytest.raises(FalApiError, match="refused redirect"):
        redirect_target("https://v3.fal.media/a.mp4", moved("http://evil.example/a.mp4"))
    with pytest.raises(FalApiError, match="without a Location"):
        redirect_target("https://v3.fal.media/a.mp4", httpx.Response(302))
