"""Standalone fake fal for subprocess tests and benchmarks: prints one `FAKE_FAL …` line, serves until a signal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from tests.fakes.fal.model import JobScript
from tests.fakes.fal.server import FakeFal
from tests.support import media


def _seconds(text: str) -> float | None:
    """A phase length; "none" holds the phase for ever (there is no release() from outside the process)."""
    return None if text.lower() == "none" else float(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.fal_server", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--key", default="test-fal-key")
    parser.add_argument("--queue-seconds", type=_seconds, default=0.05)
    parser.add_argument("--queue-position", type=int, default=2)
    parser.add_argument("--run-seconds", type=_seconds, default=0.05)
    parser.add_argument(
        "--video-size", type=int, default=None, help="serve this many bytes of noise instead of a real MP4"
    )
    parser.add_argument(
        "--video", choices=("small", "full"), default="small",
        help="real MP4s of the duration asked for: small (360p) or full (1080p at fal's 44 Mbit/s, made once)",
    )  # fmt: skip
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    script = JobScript(
        queue_seconds=args.queue_seconds,
        queue_position=args.queue_position,
        run_seconds=args.run_seconds,
        video_size=args.video_size,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    videos = media.small_video if args.video == "small" else media.full_video
    async with FakeFal(key=args.key, default_script=script, port=args.port, videos=videos) as fake:
        print(f"FAKE_FAL {fake.base_url} {fake.queue_url} {fake.rest_url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
