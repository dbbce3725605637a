"""Thirty-plus kinds of bad input, through the real job service: each is refused with its own reason, and
nothing is reserved, uploaded or submitted."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.errors import ImageRejected, InputRejected, Refused
from bot.services import RawFrame
from tests.fakes.fal_server import FakeFal
from tests.integration.conftest import MOD, open_stack, settings_for, tween_request
from tests.support.images import animated_png, image_bytes, png_claiming


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (400, 400), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def corrupt_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + b"\xff" * 64 + data[middle + 64 :]


def image_of(fmt: str, size: tuple[int, int] = (400, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (9, 9, 9)).save(out, format=fmt)
    return out.getvalue()


FRAME_CASES = [
    ("empty file", b"", "empty"),
    ("over 10 MB", b"\x89PNG" + b"\0" * 10_000_001, "too_large"),
    ("HTML named .png", b"<!doctype html><html></html>", "not_an_image"),
    ("PDF", b"%PDF-1.7\n1 0 obj", "not_an_image"),
    ("ZIP", b"PK\x03\x04" + b"\0" * 100, "not_an_image"),
    ("plain text", b"hello, this is not a picture", "not_an_image"),
    ("SVG", b'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"/>', "not_an_image"),
    ("GIF", image_of("GIF"), "not_an_image"),
    ("BMP", image_of("BMP"), "not_an_image"),
    ("TIFF", image_of("TIFF"), "not_an_image"),
    ("PNG header only", image_bytes(800, 800)[:60], "corrupt"),
    ("truncated PNG", image_bytes(800, 800)[:400], "corrupt"),
    ("truncated JPEG", image_of("JPEG", (800, 800))[:-300], "corrupt"),
    ("truncated WebP", image_of("WEBP", (800, 800))[:-200], "corrupt"),
    ("decompression bomb", png_claiming(20_000, 20_000), "too_many_pixels"),
    ("huge dimensions", png_claiming(12_000, 9_000), "too_many_pixels"),
    ("8000×8000 PNG", png_claiming(8000, 8000), "too_many_pixels"),
    ("WebP over a quarter of the cap", image_of("WEBP", (2100, 2100)), "too_many_pixels"),
    ("animated PNG", animated_png(), "animated"),
    ("animated WebP", animated_webp(), "animated"),
    ("299 px wide", image_bytes(299, 600), "too_small"),
    ("299 px tall", image_bytes(600, 299), "too_small"),
    ("tiny", image_bytes(16, 16), "too_small"),
    ("too wide (2.51)", image_bytes(1004, 400), "bad_aspect"),
    ("too tall (0.39)", image_bytes(390, 1000), "bad_aspect"),
    ("panorama", image_bytes(3000, 300), "bad_aspect"),
]


@pytest.fixture
def settings(fake_fal, tmp_path):
    return settings_for(fake_fal, tmp_path)


async def assert_nothing_spent(stack, fake_fal: FakeFal) -> None:
    assert await stack.db.fetch_all("SELECT * FROM ledger") == []
    assert await stack.db.fetch_all("SELECT * FROM jobs") == []
    assert fake_fal.requests == []


@pytest.mark.parametrize(("label", "data", "reason"), FRAME_CASES, ids=[c[0] for c in FRAME_CASES])
@pytest.mark.parametrize("frame", ["start", "end"])
async def test_bad_frames(fake_fal: FakeFal, settings, label, data, reason, frame):
    good = tween_request()
    request = tween_request()
    bad = RawFrame.of(data, "frame.png")
    request = type(request)(**{**request.__dict__, frame: bad, ("end" if frame == "start" else "start"): good.start})
    async with open_stack(settings) as stack:
        with pytest.raises(ImageRejected) as caught:
            await stack.services.jobs.submit(request)
        assert (caught.value.reason, caught.value.frame) == (reason, frame)
        await assert_nothing_spent(stack, fake_fal)


PROMPT_CASES = [
    ("empty prompt", {"prompt": ""}, "empty_prompt"),
    ("whitespace prompt", {"prompt": " \t  "}, "empty_prompt"),
    ("newlines only", {"prompt": "\n\n\n"}, "empty_prompt"),
    ("2,501 characters", {"prompt": "x" * 2501}, "long_prompt"),
    ("10,000 characters", {"prompt": "word " * 2000}, "long_prompt"),
    ("duration 2", {"duration": 2}, "bad_duration"),
    ("duration 11", {"duration": 11}, "bad_duration"),
    ("duration 0", {"duration": 0}, "bad_duration"),
]


@pytest.mark.parametrize(("label", "kwargs", "reason"), PROMPT_CASES, ids=[c[0] for c in PROMPT_CASES])
async def test_bad_prompts_and_durations(fake_fal: FakeFal, settings, label, kwargs, reason):
    async with open_stack(settings) as stack:
        with pytest.raises(InputRejected) as caught:
            await stack.services.jobs.submit(tween_request(**kwargs))
        assert caught.value.reason == reason
        await assert_nothing_spent(stack, fake_fal)


@pytest.mark.parametrize("prompt", ["a BANANA dance", "bananas everywhere", "Banana"])
async def test_banned_words_whatever_their_case(fake_fal: FakeFal, settings, prompt):
    async with open_stack(settings) as stack:
        await stack.services.moderation.set_entry(MOD, "banned_words", "banana")
        with pytest.raises(Refused) as caught:
            await stack.services.jobs.submit(tween_request(prompt=prompt))
        assert caught.value.details["words"] == ["banana"]
        assert await stack.db.fetch_all("SELECT * FROM jobs") == []


async def test_mentions_and_markdown_in_a_prompt_are_accepted_as_text(fake_fal: FakeFal, settings):
    prompt = "@everyone @here <@123> <@&456> **bold** `code` from @Image1 to @Image2"
    async with open_stack(settings) as stack:
        job = await stack.services.jobs.submit(tween_request(prompt=prompt))
    assert job.prompt == prompt and fake_fal.submits[0].body["prompt"] == prompt
