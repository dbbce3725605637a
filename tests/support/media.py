"""Real MP4s for the tests, made with PyAV and cached on disk: fal's videos are big H.264 files (its own 5 s example
is 27.6 MB, about 44 Mbit/s), so the delivery tests get files of that size and shape, not a few KiB of noise.

Pictures are a detailed texture panned and zoomed over, so an encoder has real work to do and a re-encode can be
judged against its source. Files are written once per set of parameters (the name carries them) and reused by
later runs; TWEEN_TEST_MEDIA moves the cache."""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFilter

GENERATOR_VERSION = 1
# fal's example: 27,588,984 bytes for 5 s.
FULL_BITRATE = 41_000_000


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tween-test-media"
    folder = Path(os.environ.get("TWEEN_TEST_MEDIA", default))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class VideoSpec:
    seconds: float
    width: int = 640
    height: int = 360
    fps: int = 24
    bitrate: int = 800_000
    audio: bool = False
    seed: int = 1

    @property
    def name(self) -> str:
        key = f"{GENERATOR_VERSION}-{self}".encode()
        audio = "-audio" if self.audio else ""
        digest = hashlib.sha1(key).hexdigest()[:8]
        return f"{self.seconds:g}s-{self.height}p-{self.bitrate // 1000}k{audio}-{digest}.mp4"


FULL_5S = VideoSpec(5, 1920, 1080, bitrate=FULL_BITRATE)
FULL_10S = VideoSpec(10, 1920, 1080, bitrate=FULL_BITRATE)


def small(seconds: float) -> VideoSpec:
    """A real video of modest size (about 100 kB per second), for tests whose subject is not the video."""
    return VideoSpec(seconds)


def small_video(seconds: int) -> Path:
    return video(small(seconds))


def full_video(seconds: int) -> Path:
    """Like fal's own output: 1080p at about 41 Mbit/s (5 s is 27.5 MB)."""
    return video(VideoSpec(seconds, 1920, 1080, bitrate=FULL_BITRATE))


def video(spec: VideoSpec) -> Path:
    """The cached file for `spec`, made now if missing (atomically: parallel runs never see half a file)."""
    path = cache_dir() / spec.name
    if not path.exists():
        fd, temp = tempfile.mkstemp(suffix=".mp4", dir=path.parent)
        os.close(fd)
        try:
            _encode(Path(temp), spec)
            os.replace(temp, path)
        finally:
            Path(temp).unlink(missing_ok=True)
    return path


def noise(size: int, seed: str = "noise") -> Path:
    """`size` bytes that start like an MP4 and are not one: what a broken download or a wrong file looks like."""
    path = cache_dir() / f"noise-{size}-{hashlib.sha1(seed.encode()).hexdigest()[:8]}.bin"
    if not path.exists():
        data = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + random.Random(seed).randbytes(max(size - 24, 0))
        path.write_bytes(data[:size])
    return path


def audio_only(seconds: float) -> Path:
    """An MP4 with sound and no picture."""
    path = cache_dir() / f"audio-only-{seconds:g}s-v{GENERATOR_VERSION}.mp4"
    if not path.exists():
        fd, temp = tempfile.mkstemp(suffix=".mp4", dir=path.parent)
        os.close(fd)
        with av.open(temp, "w") as out:
            _write_audio(out, _audio_stream(out), seconds)
        os.replace(temp, path)
    return path


def _encode(path: Path, spec: VideoSpec) -> None:
    texture = _texture(int(spec.width * 1.3), int(spec.height * 1.3), spec.seed)
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=spec.fps)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.bit_rate = spec.bitrate
        kbps = spec.bitrate // 1000
        stream.options = {"preset": "ultrafast", "x264-params": f"vbv-maxrate={kbps}:vbv-bufsize={kbps}"}
        sound = _audio_stream(out) if spec.audio else None  # every stream is declared before the first packet
        count = round(spec.seconds * spec.fps)
        for index in range(count):
            picture = _pan(texture, index / count, spec.width, spec.height)
            frame = av.VideoFrame.from_image(picture)
            frame.pts, frame.time_base = index, Fraction(1, spec.fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound is not None:
            _write_audio(out, sound, spec.seconds)


def _audio_stream(out: av.container.OutputContainer) -> av.AudioStream:
    stream = out.add_stream("aac", rate=48_000)
    stream.bit_rate = 128_000
    return stream


def _write_audio(out: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    samples = int(seconds * 48_000)
    step = 1024
    for start in range(0, samples, step):
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=min(step, samples - start))
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))  # silence is enough to be a stream
        frame.sample_rate, frame.pts, frame.time_base = 48_000, start, Fraction(1, 48_000)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _texture(width: int, height: int, seed: int) -> Image.Image:
    rnd = random.Random(seed)
    layers = []
    for scale in (64, 16, 4):
        w, h = width // scale + 1, height // scale + 1
        layers.append(Image.frombytes("RGB", (w, h), rnd.randbytes(3 * w * h)).resize((width, height), Image.BICUBIC))
    picture = Image.blend(Image.blend(layers[0], layers[1], 0.35), layers[2], 0.2)
    draw = ImageDraw.Draw(picture)
    for _ in range(150):
        x, y, r = rnd.randrange(width), rnd.randrange(height), rnd.randrange(8, 120)
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        draw.ellipse((x - r, y - r, x + r, y + r), outline=colour, width=rnd.randrange(1, 6))
    grain = Image.frombytes("L", (width, height), rnd.randbytes(width * height)).filter(ImageFilter.GaussianBlur(0.8))
    return Image.merge("RGB", [Image.blend(channel, grain, 0.25) for channel in picture.split()])


def _pan(texture: Image.Image, progress: float, width: int, height: int) -> Image.Image:
    """A slow zoom and pan across the texture, like a camera move."""
    zoom = 1.0 + 0.25 * progress
    crop_w, crop_h = texture.width / zoom, texture.height / zoom
    left = (texture.width - crop_w) * progress
    top = (texture.height - crop_h) * (0.5 + 0.3 * progress) / 1.3
    return texture.resize((width, height), Image.BILINEAR, box=(left, top, left + crop_w, top + crop_h))


@dataclass(frozen=True)
class Seen:
    """A posted video as a player would find it, read by decoding every frame."""

    size: int
    duration: float
    width: int
    height: int
    frames: int
    codec: str
    pix_fmt: str
    has_audio: bool
    faststart: bool


def inspect(data: bytes) -> Seen:
    """Decode the whole file (from bytes the fake Discord received); raises if it is not a playable MP4."""
    with tempfile.NamedTemporaryFile(suffix=".mp4") as file:
        file.write(data)
        file.flush()
        with av.open(file.name) as container:
            stream = container.streams.video[0]
            frames = list(container.decode(stream))
            assert stream.time_base is not None
            last = frames[-1]
            assert last.pts is not None
            step = 1 / float(stream.average_rate or 24)
            return Seen(
                size=len(data),
                duration=float(last.pts * stream.time_base) + step,
                width=frames[0].width,
                height=frames[0].height,
                frames=len(frames),
                codec=stream.codec_context.name,
                pix_fmt=frames[0].format.name,
                has_audio=bool(container.streams.audio),
                faststart=data.find(b"moov") < data.find(b"mdat"),
            )
