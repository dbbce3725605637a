"""Screenshots of the pages with headless Chromium (Debian's `chromium` package), cropped to their content and
kept small."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

CHROMIUM = "/usr/bin/chromium"
TALL = 9000  # the window's height; the picture is cropped to the content afterwards
MAX_BYTES = 300_000
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]


def chromium() -> str:
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        raise SystemExit("headless Chromium is needed for the pictures: apt-get install -y chromium")
    return found


def screenshot(page: Path, out: Path, width: int) -> None:
    out.write_bytes(small_png(crop(capture(page.resolve().as_uri(), (width, TALL)))))


def capture(url: str, window: tuple[int, int], *extra: str) -> Image.Image:
    """What headless Chromium shows of `url` in a window of that size."""
    with tempfile.TemporaryDirectory(prefix="tween-chromium-") as profile:
        raw = Path(profile) / "shot.png"
        command = [
            chromium(),
            *FLAGS,
            *extra,
            f"--user-data-dir={profile}/profile",
            f"--screenshot={raw}",
            f"--window-size={window[0]},{window[1]}",
            url,
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        return Image.open(raw).convert("RGB")


def crop(image: Image.Image) -> Image.Image:
    """Cut the empty background below the content (the colour of the bottom row), keeping a small margin."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    background = rgb.getpixel((width - 1, height - 1))
    plain = Image.new("RGB", (width, 1), background)
    bottom = height
    while bottom > 1 and _same_row(rgb, bottom - 1, plain):
        bottom -= 1
    return rgb.crop((0, 0, width, min(height, bottom + 12)))


def _same_row(image: Image.Image, y: int, plain: Image.Image) -> bool:
    return image.crop((0, y, image.width, y + 1)).tobytes() == plain.tobytes()


def small_png(image: Image.Image) -> bytes:
    """The PNG as it is if under MAX_BYTES, else with fewer colours (the flat interface keeps its look)."""
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    if out.tell() <= MAX_BYTES:
        return out.getvalue()
    for colours in (256, 128, 64):
        out = io.BytesIO()
        image.quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, "PNG", optimize=True
        )
        if out.tell() <= MAX_BYTES:
            break
    return out.getvalue()
