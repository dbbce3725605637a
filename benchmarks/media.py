"""Fitting fal-sized videos to Discord's upload limits with the real VideoFitter and the defaults in
config/default.toml: CPU time, quality against the source, peak extra memory and event-loop lag during the fit.

    .venv/bin/python -m benchmarks.media                        # every case, printed as a Markdown table
    .venv/bin/python -m benchmarks.media --only 5s-10MiB        # some of them
    .venv/bin/python -m benchmarks.media --case 5s-10MiB        # one case in this process, printed as JSON
    .venv/bin/python -m benchmarks.media --drift 40             # 40 fits in one process: RSS between fits

Each case runs in a fresh process (this module with --case), so one case's allocator state and page cache of
libraries do not flatter or burden the next; the parent collects their JSON. Sources are the cached test videos of
tests/support/media.py (1080p24 at about 41 Mbit/s, like fal's Kling O1 output, without sound).

Figures are measured here, in one run; BENCHMARKS.md records them with the machine they came from.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import logging
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter

from benchmarks.probes import LagProbe
from bot.media import VideoFitter, probe
from bot.media.transcode import X264_BOUNDED
from bot.settings import MediaSettings, Settings
from tests.support.media import FULL_BITRATE, VideoSpec, cache_dir, video

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
RSS_INTERVAL = 0.01
LAG_SLEEP = 0.005
# Goals from issue #14.
SSIM_GOAL = 0.95  # luma SSIM, 5 s at 10 MiB
MEMORY_GOAL_MIB = 64.0
LAG_P99_GOAL_MS = 20.0


@dataclass(frozen=True)
class Case:
    name: str
    seconds: int
    limit_mib: int
    preset: str | None = None  # None: media.preset from config/default.toml


CASES = [
    Case("5s-10MiB", 5, 10),
    Case("5s-25MiB", 5, 25),
    Case("10s-10MiB", 10, 10),
    Case("10s-25MiB", 10, 25),
    Case("5s-10MiB-medium", 5, 10, preset="medium"),
]


def full_spec(seconds: int) -> VideoSpec:
    """What tests.support.media.full_video makes: 1080p24 at fal's bitrate."""
    return VideoSpec(seconds, 1920, 1080, bitrate=FULL_BITRATE)


def cached(seconds: int) -> Path:
    """The source, which the parent has made: making it here would leave the encoder's memory in this process."""
    path = cache_dir() / full_spec(seconds).name
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `python -m benchmarks.media` (without --case) to make it first")
    return path


def default_media() -> MediaSettings:
    """config/default.toml's [media] alone: no TWEEN_CONFIG, no environment."""
    return Settings.load({}, require_secrets=False).media


# Measuring, inside the case's own process -------------------------------------------------------------------------


def rss_kib(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


class RssSampler:
    """The highest VmRSS seen, read every RSS_INTERVAL from a side thread while the block runs."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, rss_kib())
            self.samples += 1
            self._stop.wait(RSS_INTERVAL)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, rss_kib())


class FitterLog(logging.Handler):
    """The fitter's own account of its attempts: an overshoot is logged as a warning, the success as info."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.overshoots = 0
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if record.levelno == logging.WARNING and "overshot" in record.msg:
            self.overshoots += 1


def cpu_seconds() -> float:
    """User + system CPU time of the whole process, every thread included (the transcode runs in workers)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reset_peak_rss() -> bool:
    """Restart the kernel's own peak (VmHWM) from the current RSS, as a check on the sampled peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


async def measure(case: Case) -> dict[str, Any]:
    media = default_media()
    if case.preset is not None:
        media = dataclasses.replace(media, preset=case.preset)
    source, warm_source = cached(case.seconds), cached(1)
    limit = case.limit_mib * MIB
    log = FitterLog()
    fitter_logger = logging.getLogger("bot.media.fitter")
    fitter_logger.setLevel(logging.INFO)
    fitter_logger.addHandler(log)
    fitter = VideoFitter(media)
    rss_cold = rss_kib()
    with tempfile.TemporaryDirectory() as tmp:
        # The fitter writes beside its input, as it does beside a download: never into the test-media cache.
        warm = Path(tmp) / "warm-up.mp4"
        shutil.copyfile(warm_source, warm)
        # One second at the case's own bitrate: the libraries, encoder and worker threads are then as in a bot
        # that has fitted a video before.
        await fitter.fit(warm, limit=limit // case.seconds, duration=1)
        download = Path(tmp) / "download.mp4"
        shutil.copyfile(source, download)
        gc.collect()
        await asyncio.sleep(1.0)  # at rest, as a running bot between two videos
        log.overshoots, log.lines = 0, []
        rss_idle = rss_kib()
        hwm_reset = reset_peak_rss()
        cpu_before, wall_before = cpu_seconds(), time.perf_counter()
        with RssSampler() as rss:
            async with LagProbe(LAG_SLEEP) as lag:
                fitted = await fitter.fit(download, limit=limit, duration=case.seconds)
        wall = time.perf_counter() - wall_before
        cpu = cpu_seconds() - cpu_before
        rss_hwm = rss_kib("VmHWM") if hwm_reset else None
        fitter.close()
        source_info = probe(source)
        made = probe(fitted.path)
        quality = await asyncio.to_thread(compare, source, fitted.path)
    return {
        "case": case.name,
        "seconds": case.seconds,
        "limit": limit,
        "preset": media.preset,
        "threads": media.threads,
        "x264_params": X264_BOUNDED,
        "source_size": source_info.size,
        "source_duration": source_info.duration,
        "source_height": source_info.height,
        "reencoded": fitted.reencoded,
        "size": fitted.size,
        "height": made.height,
        "width": made.width,
        "duration": made.duration,
        "attempts": log.overshoots + 1 if fitted.reencoded else 0,
        "fitter_log": log.lines,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_per_video_s": cpu / source_info.duration,
        "rss_cold_mib": rss_cold / 1024,
        "rss_idle_mib": rss_idle / 1024,
        "rss_peak_mib": rss.peak_kib / 1024,
        "rss_extra_mib": (rss.peak_kib - rss_idle) / 1024,
        "rss_samples": rss.samples,
        "rss_hwm_extra_mib": None if rss_hwm is None else (rss_hwm - rss_idle) / 1024,
        "lag_samples": len(lag.lags),
        "lag_p50_ms": pct(lag.lags, 0.50) * 1000,
        "lag_p99_ms": pct(lag.lags, 0.99) * 1000,
        "lag_max_ms": max(lag.lags) * 1000,
        **quality,
    }


async def drift(fits: int) -> dict[str, Any]:
    """`fits` fits of 5 s into 10 MiB one after another by one fitter, as a running bot does them: the RSS at rest
    before each and its peak during it. What the allocator keeps between fits shows as a rising idle."""
    fitter = VideoFitter(default_media())
    source = cached(5)
    cold = rss_kib() / 1024
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(1, fits + 1):
            download = Path(tmp) / f"download-{n}.mp4"
            shutil.copyfile(source, download)
            gc.collect()
            await asyncio.sleep(0.3)
            idle = rss_kib()
            with RssSampler() as rss:
                fitted = await fitter.fit(download, limit=10 * MIB, duration=5)
            fitted.path.unlink()
            download.unlink()
            rows.append({"fit": n, "idle_mib": idle / 1024, "peak_mib": rss.peak_kib / 1024})
    fitter.close()
    return {"cold_mib": cold, "fits": rows}


# Quality: FFmpeg's own ssim and psnr filters over every frame -----------------------------------------------------

COMPARE_TIME_BASE = Fraction(1, 24)


def compare(source: Path, made: Path) -> dict[str, Any]:
    """SSIM and PSNR of `made` against `source`, frame by frame in decode order, through FFmpeg's ssim and psnr
    filters. A smaller `made` is scaled back up to the source's size (bicubic) first. SSIM is the mean of the
    per-frame values, as FFmpeg prints it; PSNR is taken from the mean squared error over all frames, as FFmpeg's
    own "average" is."""
    with av.open(str(source)) as ref_file, av.open(str(made)) as out_file:
        ref_stream, out_stream = ref_file.streams.video[0], out_file.streams.video[0]
        ref_frames, out_frames = ref_file.decode(ref_stream), out_file.decode(out_stream)
        first_ref, first_out = next(ref_frames), next(out_frames)
        scaled = (first_out.width, first_out.height) != (first_ref.width, first_ref.height)
        graph, inputs, sink = _quality_graph(first_ref, first_out)
        per_frame: list[dict[str, float]] = []
        counts = [0, 0]
        ref_frame: av.VideoFrame | None = first_ref
        out_frame: av.VideoFrame | None = first_out
        while ref_frame is not None and out_frame is not None:
            # Both sides on one clock (frame numbers), so framesync pairs them in order whatever their time bases.
            for side, frame in enumerate((ref_frame, out_frame)):
                frame.pts, frame.time_base = counts[side], COMPARE_TIME_BASE
                inputs[side].push(frame)
                counts[side] += 1
            per_frame += _drain(sink)
            ref_frame, out_frame = next(ref_frames, None), next(out_frames, None)
        # Whatever one side has beyond the other is counted, not compared.
        counts[0] += sum(1 for _ in ref_frames) + (ref_frame is not None)
        counts[1] += sum(1 for _ in out_frames) + (out_frame is not None)
        for node in inputs:
            node.push(None)
        per_frame += _drain(sink)
        del graph
    n = len(per_frame)
    mse_y = sum(f["lavfi.psnr.mse.y"] for f in per_frame) / n
    mse_all = sum(f["lavfi.psnr.mse_avg"] for f in per_frame) / n
    return {
        "frames_source": counts[0],
        "frames_output": counts[1],
        "frames_compared": n,
        "compared_scaled_up": scaled,
        "ssim_y": sum(f["lavfi.ssim.Y"] for f in per_frame) / n,
        "ssim_all": sum(f["lavfi.ssim.All"] for f in per_frame) / n,
        "ssim_y_min": min(f["lavfi.ssim.Y"] for f in per_frame),
        "psnr_y": _psnr(mse_y),
        "psnr_all": _psnr(mse_all),
        "psnr_y_min": min(f["lavfi.psnr.psnr.y"] for f in per_frame),
    }


def _quality_graph(
    ref: av.VideoFrame, out: av.VideoFrame
) -> tuple[av.filter.Graph, list[av.filter.FilterContext], av.filter.FilterContext]:
    """out → [scale] → ssim(·, ref) → psnr(·, ref) → sink: ssim passes its first input on with its figures in the
    frame's metadata, and psnr adds its own, so one pull gives both for a pair of frames."""
    graph = av.filter.Graph()
    ref_in = graph.add_buffer(
        width=ref.width, height=ref.height, format=ref.format, time_base=COMPARE_TIME_BASE, name="ref"
    )
    out_in = graph.add_buffer(
        width=out.width, height=out.height, format=out.format, time_base=COMPARE_TIME_BASE, name="out"
    )
    ref_split = graph.add("split")
    ssim, psnr, sink = graph.add("ssim"), graph.add("psnr"), graph.add("buffersink")
    main = out_in
    if (out.width, out.height, out.format.name) != (ref.width, ref.height, ref.format.name):
        main = graph.add("scale", f"w={ref.width}:h={ref.height}:flags=bicubic")
        out_in.link_to(main)
        if out.format.name != ref.format.name:
            converted = graph.add("format", ref.format.name)
            main.link_to(converted)
            main = converted
    ref_in.link_to(ref_split)
    main.link_to(ssim, 0, 0)
    ref_split.link_to(ssim, 0, 1)
    ssim.link_to(psnr, 0, 0)
    ref_split.link_to(psnr, 1, 1)
    psnr.link_to(sink)
    graph.configure()
    return graph, [ref_in, out_in], sink


def _drain(sink: av.filter.FilterContext) -> list[dict[str, float]]:
    figures: list[dict[str, float]] = []
    while True:
        try:
            frame = sink.pull()
        except (av.BlockingIOError, av.EOFError):
            return figures
        figures.append({key: float(value) for key, value in frame.metadata.items() if key.startswith("lavfi.")})


def _psnr(mse: float) -> float:
    return float("inf") if mse == 0 else 10 * math.log10(255**2 / mse)


# Running every case, each in its own process ----------------------------------------------------------------------


def run_case(case: Case) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.media", "--case", case.name]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, check=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def machine() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown")
    x264 = av.codec.Codec("libx264", "w")
    return [
        f"cores (nproc): {os.cpu_count()}, CPU: {model}",
        f"load average before the run: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"Python {platform.python_version()}, PyAV {av.__version__}, libavcodec "
        + ".".join(map(str, av.library_versions["libavcodec"]))
        + f", encoder {x264.name} ({x264.long_name})",
    ]


def configuration(media: MediaSettings, *, medium_row: bool) -> list[str]:
    return [
        f"media.preset = {media.preset!r}{' (the last case: medium)' if medium_row else ''}, "
        f"media.threads = {media.threads}, "
        f"media.max_transcodes = {media.max_transcodes}",
        f"x264-params (bot.media.transcode.X264_BOUNDED) = {X264_BOUNDED!r}",
        f"media.size_margin = {media.size_margin}, media.max_attempts = {media.max_attempts}, "
        f"media.min_bits_per_pixel = {media.min_bits_per_pixel}, media.min_height = {media.min_height}",
        # glibc's malloc tunables change what the process keeps between fits, so they are part of the setup.
        "malloc environment: "
        + (", ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")) or "none set"),
    ]


def table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| case | preset | attempts | output / limit | height | duration | wall | CPU | CPU s per video-s "
        "| SSIM Y / all | PSNR Y / all | RSS idle → peak | extra | loop lag p50 / p99 / max |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['seconds']} s → {r['limit'] // MIB} MiB | {r['preset']} | {r['attempts']} "
            f"| {r['size'] / MIB:.2f} / {r['limit'] // MIB} MiB ({r['size'] / r['limit']:.1%}) | {r['height']}p "
            f"| {r['duration']:.2f} s | {r['wall_s']:.1f} s | {r['cpu_s']:.1f} s | {r['cpu_per_video_s']:.2f} "
            f"| {r['ssim_y']:.4f} / {r['ssim_all']:.4f} | {r['psnr_y']:.2f} / {r['psnr_all']:.2f} dB "
            f"| {r['rss_idle_mib']:.1f} → {r['rss_peak_mib']:.1f} MiB | {r['rss_extra_mib']:.1f} MiB "
            f"| {r['lag_p50_ms']:.2f} / {r['lag_p99_ms']:.2f} / {r['lag_max_ms']:.2f} ms |"
        )
    return lines


def goals(results: list[dict[str, Any]]) -> list[str]:
    """Each goal against the cases it is about; the medium row is a choice shown, not the default judged."""
    default = [r for r in results if not r["case"].endswith("-medium")]
    lines: list[str] = []
    for r in results:
        if r["seconds"] == 5 and r["limit"] == 10 * MIB:
            verdict = met(r["ssim_y"] >= SSIM_GOAL)
            lines.append(f"SSIM Y >= {SSIM_GOAL} for 5 s at 10 MiB ({r['preset']}): {r['ssim_y']:.4f}, {verdict}")
    memory = max(r["rss_extra_mib"] for r in default)
    lines.append(
        f"peak extra <= {MEMORY_GOAL_MIB:.0f} MiB (worst case): {memory:.1f} MiB, {met(memory <= MEMORY_GOAL_MIB)}"
    )
    lag = max(r["lag_p99_ms"] for r in default)
    lines.append(f"loop lag p99 < {LAG_P99_GOAL_MS:.0f} ms (worst case): {lag:.2f} ms, {met(lag < LAG_P99_GOAL_MS)}")
    return lines


def met(passed: bool) -> str:
    return "met" if passed else "NOT met"


def details(results: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for r in results:
        hwm = r["rss_hwm_extra_mib"]
        lines.append(
            f"{r['case']}: source {r['source_size']:,} bytes, output {r['size']:,} bytes {r['width']}×{r['height']}; "
            f"frames {r['frames_source']} / {r['frames_output']}, {r['frames_compared']} compared"
            f"{' (output scaled up to the source size first)' if r['compared_scaled_up'] else ''}; "
            f"min per-frame SSIM Y {r['ssim_y_min']:.4f}, PSNR Y {r['psnr_y_min']:.2f} dB; "
            f"RSS cold {r['rss_cold_mib']:.1f} MiB, {r['rss_samples']} samples"
            f"{f', kernel peak (VmHWM) {hwm:.1f} MiB above idle' if hwm is not None else ''}; "
            f"{r['lag_samples']} lag samples"
        )
        lines += [f"    {line}" for line in r["fitter_log"]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = [c.name for c in CASES]
    parser.add_argument("--case", choices=names, help="run one case in this process and print its JSON")
    parser.add_argument("--only", nargs="+", choices=names, help="which cases to run (default: all)")
    parser.add_argument("--drift", type=int, metavar="N", help="instead: N fits of 5 s → 10 MiB in one process")
    parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)  # the --drift child
    args = parser.parse_args()
    if args.drift and args.here:
        print(json.dumps(asyncio.run(drift(args.drift))))
        return
    if args.drift:
        video(full_spec(5))
        command = [sys.executable, "-m", "benchmarks.media", "--drift", str(args.drift), "--here"]
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, check=True, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print("\n".join([*machine(), *configuration(default_media(), medium_row=False), ""]))
        print(f"RSS before the first fit: {result['cold_mib']:.1f} MiB\n")
        print("| fit | RSS idle | peak | extra |\n| ---: | ---: | ---: | ---: |")
        for row in result["fits"]:
            extra = row["peak_mib"] - row["idle_mib"]
            print(f"| {row['fit']} | {row['idle_mib']:.1f} MiB | {row['peak_mib']:.1f} MiB | {extra:.1f} MiB |")
        return
    if args.case:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        print(json.dumps(asyncio.run(measure(next(c for c in CASES if c.name == args.case)))))
        return
    chosen = [c for c in CASES if not args.only or c.name in args.only]
    for seconds in sorted({c.seconds for c in chosen} | {1}):
        video(full_spec(seconds))  # made (and cached) before any case is measured
    header = machine() + configuration(default_media(), medium_row=any(c.preset for c in chosen))
    results: list[dict[str, Any]] = []
    for case in chosen:
        print(f"running {case.name} …", file=sys.stderr, flush=True)
        results.append(run_case(case))
    for line in [*header, "", *table(results), "", *goals(results), "", *details(results)]:
        print(line)


if __name__ == "__main__":
    main()
