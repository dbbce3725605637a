"""The sandbox's stand-in video: a real MP4 from the two frames, of the duration asked for, labelled on every frame."""

from __future__ import annotations

from pathlib import Path

import av

from sandbox.standin import make
from tests.support import media
from tests.support.images import image_bytes

RED, BLUE = (200, 40, 40), (40, 40, 200)


def test_a_cross_fade_of_the_requested_length_with_the_label_on_every_frame(tmp_path: Path):
    path = tmp_path / "v.mp4"
    make(image_bytes(800, 600, colour=RED), image_bytes(640, 360, colour=BLUE), 3, path)

    seen = media.inspect(path.read_bytes())
    assert (seen.codec, seen.duration, seen.height, seen.width) == ("h264", 3.0, 360, 480)  # the start frame's shape
    with av.open(str(path)) as container:
        pictures = [frame.to_image() for frame in container.decode(video=0)]
    first, last = pictures[0].getpixel((240, 100)), pictures[-1].getpixel((240, 100))
    assert first[0] > first[2] + 80 and last[2] > last[0] + 80  # from red to blue
    for picture in (pictures[0], pictures[-1]):
        label = picture.crop((0, 300, 240, 360)).getcolors(240 * 60) or []
        assert any(r > 180 and g > 150 and b < 140 for _, (r, g, b) in label)  # the yellow "stand-in" text


def test_an_unreadable_frame_still_makes_a_video(tmp_path: Path):
    path = tmp_path / "v.mp4"
    make(b"not an image", b"", 3, path)
    assert media.inspect(path.read_bytes()).duration == 3.0
