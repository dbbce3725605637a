"""python -m scripts.story [--out docs/story] [--html DIR] [--no-pictures]: play the story, write the transcript
and take the screenshots."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from scripts.story import pages, shots, transcript
from scripts.story.run import record, save

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.story", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "story", help="where the PNGs and transcript go")
    parser.add_argument("--html", type=Path, default=None, help="keep the HTML pages here (default: a temp folder)")
    parser.add_argument("--no-pictures", action="store_true", help="only the transcript (no Chromium needed)")
    args = parser.parse_args()
    if not args.no_pictures:
        shots.chromium()  # before the story, not after it: says how to install it if it is missing
    with tempfile.TemporaryDirectory(prefix="tween-story-") as temp:
        build = args.html or Path(temp)
        build.mkdir(parents=True, exist_ok=True)
        recording = asyncio.run(record())
        save(recording, build / "recording.json")
        files = pages.save_files(recording, build)
        args.out.mkdir(parents=True, exist_ok=True)
        pictures = []
        for page in pages.build(recording, files):
            source = build / f"{page.name}.html"
            source.write_text(pages.document(page))
            if not args.no_pictures:
                shots.screenshot(source, args.out / f"{page.name}.png", page.width)
                pictures.append(f"{page.name}.png")
                print(f"{args.out / page.name}.png")
        (args.out / "transcript.md").write_text(transcript.write(recording, pictures))
        print(args.out / "transcript.md")


if __name__ == "__main__":
    main()
