from dataclasses import replace
from io import BytesIO

import pytest
from PIL import Image

from bot.errors import ImageRejected
from bot.images import ImageRules, make_preview, stored_tile, validate_frame
from tests.support.images import animated_png, image_bytes, jpeg_bytes, png_claiming

CAP = 4096 * 4096
RULES = ImageRules(max_bytes=10_000_000, min_side=300, min_aspect=0.40, max_aspect=2.50, max_pixels=CAP)


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
    frame = validate_frame(data, frame="start", rules=RULES).frame
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
    rules = ImageRules(max_bytes=1000, min_side=300, min_aspect=0.4, max_aspect=2.5, max_pixels=4096 * 4096)
    with pytest.raises(ImageRejected) as caught:
        validate_frame(b"\x89PNG" + b"\0" * 2000, frame="start", rules=rules)
    assert caught.value.reason == "too_large"
    assert caught.value.details == {"size": 2004, "limit": 1000}


def test_validate_frame_decompression_bomb_rejected():
    with pytest.raises(ImageRejected) as caught:
        validate_frame(png_claiming(20_000, 20_000), frame="start", rules=RULES)
    assert (caught.value.reason, caught.value.details) == ("too_many_pixels", {"limit": CAP})


def test_make_preview_two_frames_side_by_side():
    from io import BytesIO

    from PIL import Image

    start = validate_frame(image_bytes(640, 360), frame="start", rules=RULES).tile
    end = validate_frame(image_bytes(360, 640, "JPEG"), frame="end", rules=RULES).tile
    preview = make_preview(start, end)
    with Image.open(BytesIO(preview)) as image:
        assert image.format == "JPEG"
        assert image.height == 240
        assert image.width == round(640 * 240 / 360) + 48 + round(360 * 240 / 640)


def refusal(data: bytes, rules: ImageRules = RULES) -> tuple[str, dict]:
    with pytest.raises(ImageRejected) as caught:
        validate_frame(data, frame="start", rules=rules)
    return caught.value.reason, caught.value.details


def test_a_png_above_the_cap_is_refused_from_its_header_before_any_decode():
    # The pixel data after the header could never be decoded: only a refusal that reads nothing more says too big.
    assert refusal(png_claiming(8000, 8000)) == (
        "too_many_pixels",
        {"width": 8000, "height": 8000, "limit": CAP, "advice": "jpeg"},
    )
    assert refusal(png_claiming(4096, 4096))[0] == "corrupt"  # at the cap it is decoded, and found damaged


def test_a_real_8000_px_png_is_refused_and_one_at_the_cap_is_taken_as_it_is():
    assert refusal(image_bytes(8000, 8000))[0] == "too_many_pixels"
    data = image_bytes(4096, 4096)
    checked = validate_frame(data, frame="start", rules=RULES)
    assert checked.frame.data == data and checked.tile.size == (240, 240)


def test_header_rules_come_before_the_pixel_cap():
    assert refusal(png_claiming(20_000, 1_000))[0] == "bad_aspect"
    assert refusal(png_claiming(8000, 250))[0] == "too_small"


def test_a_webp_is_held_to_a_quarter_of_the_cap_as_decoding_it_takes_four_times_the_memory():
    rules = replace(RULES, max_pixels=1920 * 1080)  # a quarter: 518,400 px, 720 by 720
    assert validate_frame(image_bytes(720, 720, "WEBP"), frame="end", rules=rules).frame.width == 720
    reason, details = refusal(image_bytes(721, 721, "WEBP"), rules)
    assert reason == "too_many_pixels"
    assert details == {"width": 721, "height": 721, "limit": 518_400, "kind": "WebP", "advice": "png"}
    assert refusal(image_bytes(2000, 2000, "WEBP"), rules)[1]["advice"] == "jpeg"  # too big as a PNG too


def test_a_jpeg_above_the_cap_is_decoded_at_half_scale_and_sent_at_that_size():
    checked = validate_frame(jpeg_bytes(8000, 8000), frame="start", rules=RULES)
    frame = checked.frame
    # Exactly half: the DCT scaling did the work, nothing was decoded at full size and then resized.
    assert (frame.width, frame.height) == (4000, 4000)
    assert (frame.content_type, frame.filename) == ("image/jpeg", "start.jpg")
    assert len(frame.data) <= RULES.max_bytes
    with Image.open(BytesIO(frame.data)) as sent:
        assert (sent.format, sent.size) == ("JPEG", (4000, 4000))
    again = validate_frame(frame.data, frame="start", rules=RULES).frame  # what fal gets passes every rule as it is
    assert again.data == frame.data
    assert checked.tile.size == (240, 240)


@pytest.mark.parametrize(
    ("size", "sent"),
    [
        ((3000, 3000), (750, 750)),  # 1/2 would still be 2.25 MP
        ((3001, 3001), (751, 751)),  # libjpeg rounds a partial block up
        ((6000, 2400), (1500, 600)),
        ((2000, 1000), (2000, 1000)),  # under the cap: as it is
        ((2100, 1000), (1050, 500)),
        ((11_000, 8_000), (1375, 1000)),  # 1/8
    ],
)
def test_a_jpeg_is_reduced_by_the_least_dct_scale_under_the_cap(size, sent):
    rules = replace(RULES, max_pixels=1920 * 1080)
    frame = validate_frame(jpeg_bytes(*size), frame="end", rules=rules).frame
    assert (frame.width, frame.height) == sent
    assert frame.width * frame.height <= rules.max_pixels and min(sent) >= rules.min_side


def test_a_reduced_jpeg_keeps_its_orientation_and_a_cmyk_one_becomes_rgb():
    exif = Image.Exif()
    exif[0x0112] = 6
    turned = validate_frame(jpeg_bytes(5000, 4000, exif=exif.tobytes()), frame="start", rules=RULES).frame
    with Image.open(BytesIO(turned.data)) as sent:
        assert sent.getexif()[0x0112] == 6 and sent.size == (2500, 2000)
    cmyk = validate_frame(jpeg_bytes(5000, 4000, mode="CMYK", colour=(0, 90, 200, 10)), frame="end", rules=RULES)
    with Image.open(BytesIO(cmyk.frame.data)) as sent:
        assert (sent.mode, sent.size) == ("RGB", (2500, 2000))


def test_a_progressive_jpeg_too_dear_to_decode_at_any_scale_is_refused_from_its_header():
    # libjpeg keeps every coefficient of a progressive JPEG, 3 bytes per pixel here, at whatever scale it decodes.
    data = jpeg_bytes(6000, 4000, progressive=True)
    expected = ("too_many_pixels", {"width": 6000, "height": 4000, "limit": CAP, "advice": "baseline"})
    assert refusal(data) == expected
    assert refusal(data[: len(data) // 2]) == expected  # cut off after its header: still refused for its size


def test_a_progressive_jpeg_under_the_cap_is_checked_at_a_reduced_scale_and_sent_unchanged():
    data = jpeg_bytes(4032, 3024, progressive=True)
    checked = validate_frame(data, frame="start", rules=RULES)
    assert checked.frame.data == data and (checked.frame.width, checked.frame.height) == (4032, 3024)
    assert refusal(data[:-2000])[0] == "corrupt"  # the reduced decode still reads every scan


def test_a_4_4_4_progressive_jpeg_costs_twice_the_coefficients():
    assert validate_frame(jpeg_bytes(3000, 3000, progressive=True, subsampling=0), frame="end", rules=RULES)
    assert refusal(jpeg_bytes(4032, 3024, progressive=True, subsampling=0))[1]["advice"] == "baseline"


def test_a_stored_frame_is_tiled_like_a_new_one_or_blank_when_too_big_to_decode():
    assert stored_tile(image_bytes(640, 360), max_pixels=CAP).size == (427, 240)
    blank = stored_tile(png_claiming(8000, 4000), max_pixels=CAP)
    assert blank.size == (480, 240) and blank.getcolors() is not None and len(blank.getcolors()) == 1


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGBA", "I;16"])
def test_every_png_mode_gets_an_rgb_tile(mode):
    out = BytesIO()
    Image.new(mode, (640, 400)).save(out, format="PNG")
    tile = validate_frame(out.getvalue(), frame="start", rules=RULES).tile
    assert (tile.mode, tile.size) == ("RGB", (384, 240))
