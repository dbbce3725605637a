import pytest

from bot.errors import ImageRejected
from bot.images import ImageRules, make_preview, validate_frame
from tests.support.images import animated_png, image_bytes

RULES = ImageRules(max_bytes=10_000_000, min_side=300, min_aspect=0.40, max_aspect=2.50)


@pytest.mark.parametrize(
    ("data", "content_type", "size"),
    [
        (image_bytes(640, 360), "image/png", (640, 360)),
        (image_bytes(300, 300, "JPEG"), "image/jpeg", (300, 300)),
        (image_bytes(1200, 480, "WEBP"), "image/webp", (1200, 480)),  # aspect 2.50 exactly
        (image_bytes(400, 1000), "image/png", (400, 1000)),  # aspect 0.40 exactly
    ],
)
def test_validate_frame_good_image_accepted(data, content_type, size):
    frame = validate_frame(data, frame="start", rules=RULES)
    assert frame.content_type == content_type
    assert (frame.width, frame.height) == size
    assert frame.data == data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a not really", "not_an_image"),
        (b"%PDF-1.7 hello", "not_an_image"),
        (image_bytes(400, 400, "GIF"), "not_an_image"),
        (image_bytes(299, 600), "too_small"),
        (image_bytes(600, 299), "too_small"),
        (image_bytes(1300, 500), "bad_aspect"),  # 2.6
        (image_bytes(390, 1000), "bad_aspect"),  # 0.39
        (image_bytes(800, 800, "JPEG")[:-400], "corrupt"),
        (image_bytes(800, 800)[:200], "corrupt"),
        (animated_png(), "animated"),
    ],
)
def test_validate_frame_bad_image_rejected_with_reason(data, reason):
    with pytest.raises(ImageRejected) as caught:
        validate_frame(data, frame="end", rules=RULES)
    assert caught.value.reason == reason
    assert caught.value.frame == "end"


def test_validate_frame_over_byte_limit_rejected_before_decoding():
    rules = ImageRules(max_bytes=1000, min_side=300, min_aspect=0.4, max_aspect=2.5)
    with pytest.raises(ImageRejected) as caught:
        validate_frame(b"\x89PNG" + b"\0" * 2000, frame="start", rules=rules)
    assert caught.value.reason == "too_large"
    assert caught.value.details == {"size": 2004, "limit": 1000}


def test_validate_frame_decompression_bomb_rejected():
    # A tiny PNG whose header claims 20000x20000 pixels.
    import io
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    )
    with pytest.raises(ImageRejected) as caught:
        validate_frame(io.BytesIO(data).getvalue(), frame="start", rules=RULES)
    assert caught.value.reason == "too_many_pixels"


def test_make_preview_two_frames_side_by_side():
    from io import BytesIO

    from PIL import Image

    preview = make_preview(image_bytes(640, 360), image_bytes(360, 640))
    with Image.open(BytesIO(preview)) as image:
        assert image.format == "JPEG"
        assert image.height == 240
        assert image.width == round(640 * 240 / 360) + 48 + round(360 * 240 / 640)
