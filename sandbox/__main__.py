"""`python -m sandbox [--port 8765] [--smoke]`: the real bot against the fakes, with its page on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
from pathlib import Path

from sandbox import smoke
from sandbox.stage import sandbox
from sandbox.web import serving

DEFAULT_PORT = 8765


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the page's port on 127.0.0.1 (0: any free)")
    parser.add_argument("--smoke", action="store_true", help="run one /tween without a browser, then exit")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="tween-sandbox-") as folder:
        print("Starting the fake Discord, the fake fal and the real bot (python -m bot)…", flush=True)
        async with sandbox(Path(folder)) as world, serving(world, 0 if args.smoke else args.port) as url:
            if args.smoke:
                return await _smoke(url, world.log_path)
            print(f"Tween sandbox: open {url} (Ctrl+C stops it). The bot's log: {world.log_path}", flush=True)
            await _until_stopped()
    return 0


async def _smoke(url: str, log_path: Path) -> int:
    try:
        await asyncio.wait_for(smoke.run(url), smoke.TIMEOUT)
    except (TimeoutError, AssertionError) as failed:
        print(f"demo-smoke FAILED: {failed or 'timed out'}", file=sys.stderr)
        print(log_path.read_text()[-4000:], file=sys.stderr)
        return 1
    return 0


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main(parse_args())))
