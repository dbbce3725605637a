"""Tracking many jobs at once: Tween's tracker in each of its configurations beside the way a typical bot does it
(one coroutine per job asking fal's status at a fixed interval, fal_client's `subscribe` loop), in one run.

    .venv/bin/python -m benchmarks.tracking --jobs 1000 --scale 2 --scaling 100 1000 3000 10000
    .venv/bin/python -m benchmarks.tracking --jobs 100 --scale 10 --columns polling stream --scaling   # a quick look

Columns, each a run of its own with its side in a process of its own (and its fake fal in another):
  fal_client-0.1  the typical loop at fal_client's default 0.1 s, 20 jobs on short phases, in real time (how often
                  it asks does not depend on the phases; more jobs saturate its one process)
  fal_client-2.5  the same loop every 2.5 s, finishes seen about as late as Tween's polling sees them, on the
                  realistic phases run `--scale` times faster like Tween's, `--fal-client-jobs` jobs
  polling         Tween with fal.status_stream = false
  stream          Tween as shipped (fal's status stream, polling as its fallback)
  webhooks        Tween with fal webhooks on and the status stream off: the alternative to the stream
  cold            Tween polling with no earlier runs in its database
  slow, fast      Tween polling whose 200 earlier runs took twice / half as long as the live ones
`--scaling` adds a table of Tween polling and Tween stream at each job count.

Tween's runs use realistic phases (queue 10-60 s at position 5, runs 60-240 s) shortened by `--scale`, and the
settings of config/default.toml with every duration divided by `--scale` (and fal's keep-alive period), the fal
read cap raised to `--reads-per-second` (real time, times the scale) and the concurrency caps to the job count.
Tween starts with the run lengths of 200 earlier jobs in its database, drawn from the same distribution with another
seed, as a bot that has been running for a while has. Durations are in the phases' time (real seconds times the scale; a
delay that is really CPU time is thus overstated `scale` times), except the event-loop lag and CPU, which are real.

How the figures are taken. Requests are what the fake fal answered, by route: status reads, stream opens (the first
per job; later ones, reconnects after a break or stall, are a row of their own and left out of "fal requests per
job"), result fetches and cancels; the video's download from the CDN is not counted. Per job-minute divides the
status reads by the jobs' lives (submit to finish noticed). A finish is noticed when Tween moves the job to
completed (after its result fetch), and when the typical loop's status read says COMPLETED (before its fetch).
"Every job looked at once" is measured in Tween's process from just before the tracker starts (its start loads the
history and every open job) to the end of the last job's first look: a look that knew the job's status, from the
first event of its stream or from a status read (being scheduled, or a stream still opening, does not count). Look
lateness is how late each look started against its plan (the tracker's own figure): quantiles over every look of the
run, and the worst p99 of the last 1,000 looks that /health reported, read twice a second. CPU is the process's user
+ system time (all threads) from that start to the last finish noticed; memory is the process's peak resident size
(VmHWM). The CPU includes handing each finished job to the delivery (the fake's video is 1 KiB of noise, posted as a
link).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace

from benchmarks.tracking_baseline import BaselineRun, baseline
from benchmarks.tracking_common import REALISTIC, SHORT
from benchmarks.tracking_runs import DEFAULTS, PACED, TweenRun, run_tween

Figures = dict[str, float]
ROWS = (
    ("jobs", "{:.0f}"),
    ("jobs noticed finished", "{:.0f}"),
    ("status reads per job", "{:.1f}"),
    ("stream opens per job (first)", "{:.2f}"),
    ("stream reopens per job", "{:.2f}"),
    ("fal requests per job, reconnects excluded", "{:.1f}"),
    ("status reads per job-minute", "{:.1f}"),
    ("finish noticed after p50 (s)", "{:.2f}"),
    ("finish noticed after p95 (s)", "{:.2f}"),
    ("finish noticed after max (s)", "{:.2f}"),
    ("every job looked at once after (s)", "{:.2f}"),
    ("every job looked at once after, real (s)", "{:.2f}"),
    ("look lateness p50 (s)", "{:.3f}"),
    ("look lateness p99 (s)", "{:.3f}"),
    ("look lateness p99, worst /health sample (s)", "{:.3f}"),
    ("event-loop lag p99 (ms)", "{:.1f}"),
    ("CPU seconds", "{:.1f}"),
    ("CPU ms per job", "{:.1f}"),
    ("resident memory peak (MB)", "{:.1f}"),
    ("webhooks accepted", "{:.0f}"),
    ("status reads that failed", "{:.0f}"),
)
COLUMNS = ("fal_client-0.1", "fal_client-2.5", "polling", "stream", "webhooks", "cold", "slow", "fast")
HEADS = {
    "fal_client-0.1": "fal_client 0.1 s",
    "fal_client-2.5": "fal_client 2.5 s",
    "polling": "Tween polling",
    "stream": "Tween stream",
    "webhooks": "Tween webhooks (stream off)",
    "cold": "cold DB (polling)",
    "slow": "history 2× slow (polling)",
    "fast": "history 2× fast (polling)",
}


def plans(args: argparse.Namespace) -> dict[str, Callable[[], Figures]]:
    """What each column runs: exactly the configuration its heading names."""
    shipped = TweenRun(args.jobs, args.scale, args.reads_per_second, limit=args.limit, max_streams=args.max_streams)
    polling = replace(shipped, stream=False)
    return {
        "fal_client-0.1": lambda: baseline(BaselineRun(args.baseline_jobs, 0.1, SHORT, 1.0)),
        # The same timelines as the first jobs of Tween's runs.
        "fal_client-2.5": lambda: baseline(BaselineRun(args.fal_client_jobs, 2.5, REALISTIC, args.scale, seed=7)),
        "polling": lambda: run_tween(polling),
        "stream": lambda: run_tween(shipped),
        "webhooks": lambda: run_tween(replace(polling, webhooks=True)),
        "cold": lambda: run_tween(replace(polling, history=None)),
        "slow": lambda: run_tween(replace(polling, history=2.0)),
        "fast": lambda: run_tween(replace(polling, history=0.5)),
    }


def measured(name: str, run: Callable[[], Figures], jobs: int) -> Figures:
    start = time.monotonic()
    result = run()
    result["jobs"] = jobs
    print(f"# {name}: done in {time.monotonic() - start:.0f} s wall", file=sys.stderr, flush=True)
    return result


def cell(value: float, fmt: str) -> str:
    return "—" if value != value else fmt.format(value)  # NaN: not measured for this side


def table(columns: dict[str, Figures]) -> str:
    lines = ["| measure | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for key, fmt in ROWS:
        lines.append(f"| {key} | " + " | ".join(cell(c.get(key, float("nan")), fmt) for c in columns.values()) + " |")
    return "\n".join(lines)


def verdict(ok: bool, column: Figures) -> str:
    seen, jobs = column["jobs noticed finished"], column["jobs"]
    if seen < jobs:  # cut off by --limit: per-job counts miss the unseen jobs' last requests
        return f"INCOMPLETE ({seen:.0f} of {jobs:.0f} finishes seen)"
    return "PASS" if ok else "FAIL"


def goals(columns: dict[str, Figures], scaling: dict[str, Figures]) -> list[str]:
    lines = []
    runs = [columns.get(HEADS["stream"]), *(c for head, c in scaling.items() if head.startswith("stream"))]
    streams = [c for c in runs if c is not None]
    at = next((c for c in streams if c["jobs"] == 1000), streams[0] if streams else None)
    if at is not None:
        where = f"at {at['jobs']:.0f} jobs" + ("" if at["jobs"] == 1000 else " (not the goal's 1,000)")
        requests, p95 = at["fal requests per job, reconnects excluded"], at["finish noticed after p95 (s)"]
        lines.append(f"- stream {where}: {requests:.2f} fal requests per job (≤ 3): {verdict(requests <= 3, at)}")
        lines.append(f"- stream {where}: finish noticed p95 {p95:.2f} s (≤ 0.5 s): {verdict(p95 <= 0.5, at)}")
    fc, polling = columns.get(HEADS["fal_client-2.5"]), columns.get(HEADS["polling"])
    if fc is not None and polling is not None:
        key = "status reads per job-minute"
        ratio = fc[key] / max(polling[key], 1e-9)
        lines.append(
            f"- polling: fal_client 2.5 s makes {ratio:.2f}× its status reads per job-minute "
            f"({fc[key]:.1f} against {polling[key]:.1f}; ≥ 2.5×): {verdict(ratio >= 2.5, polling)}; finish noticed p95 "
            f"{polling['finish noticed after p95 (s)']:.2f} s against {fc['finish noticed after p95 (s)']:.2f} s"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000, help="jobs each Tween column tracks at once")
    parser.add_argument("--scale", type=float, default=2.0, help="how much faster than real the phases run")
    parser.add_argument("--reads-per-second", type=float, default=500.0, help="Tween's fal read cap (real time)")
    parser.add_argument("--columns", nargs="+", choices=COLUMNS, default=list(COLUMNS), help="columns to run")
    parser.add_argument(
        "--limit", type=float, default=400.0, help="longest a Tween run waits for every finish (phases' seconds)"
    )
    parser.add_argument(
        "--max-streams", type=int, help="fal.max_streams of the Tween runs (default: as shipped); more jobs are polled"
    )
    parser.add_argument("--baseline-jobs", type=int, default=20, help="jobs of the fal_client 0.1 s column")
    parser.add_argument("--fal-client-jobs", type=int, default=200, help="jobs of the fal_client 2.5 s column")
    parser.add_argument(
        "--scaling",
        type=int,
        nargs="*",
        default=[100, 1000, 3000, 10000],
        help="job counts for Tween polling and stream side by side (none: no scaling table)",
    )
    parser.add_argument(
        "--scaling-scale",
        type=float,
        help="--scale of the scaling runs (default: --scale); CPU per real second grows with the scale, so a "
        "large count saturates sooner than it would in real time",
    )
    args = parser.parse_args()
    wall = time.monotonic()
    print(configuration(args) + "\n", flush=True)
    plan = plans(args)
    columns = {HEADS[name]: measured(HEADS[name], plan[name], jobs(name, args)) for name in args.columns}
    print(table(columns), flush=True)
    scaling = scaling_runs(args, columns)
    if scaling:
        print(f"\nTween polling and stream by job count (scale {args.scaling_scale or args.scale:g})\n")
        print(table(scaling))
    print()
    print("\n".join(goals(columns, scaling)))
    print(f"\n(wall time {time.monotonic() - wall:.0f} s)")


def configuration(args: argparse.Namespace) -> str:
    """The settings Tween's columns ran with, as the phases' time reads them (real = these / scale)."""
    tracker, fal, hooks = DEFAULTS["tracker"], DEFAULTS["fal"], DEFAULTS["webhooks"]
    paced = ", ".join(f"{key} {tracker[key]:g}" for key in PACED)
    streams = ", ".join(f"{key} {fal[key]:g}" for key in ("stream_stall_timeout", "stream_retry"))
    streams += f", max_streams {args.max_streams or fal['max_streams']}"
    return (
        f"Tween: config/default.toml, durations run {args.scale:g}× faster. tracker: {paced}. fal: {streams}, "
        f"max_reads_per_second {args.reads_per_second:g} (raised from {fal['max_reads_per_second']:g}), "
        f"status_stream per column. webhooks column: fallback_interval {hooks['fallback_interval']:g}. "
        f"Concurrency caps = jobs; Tween jobs {args.jobs}, scale {args.scale:g}."
    )


def jobs(name: str, args: argparse.Namespace) -> int:
    return {"fal_client-0.1": args.baseline_jobs, "fal_client-2.5": args.fal_client_jobs}.get(name, args.jobs)


def scaling_runs(args: argparse.Namespace, columns: dict[str, Figures]) -> dict[str, Figures]:
    """Polling and stream at each job count; a count equal to --jobs reuses the main table's run."""
    out: dict[str, Figures] = {}
    scale = args.scaling_scale or args.scale
    for count in args.scaling:
        for stream in (False, True):
            head = f"{'stream' if stream else 'polling'} × {count}"
            main_run = columns.get(HEADS["stream" if stream else "polling"])
            if count == args.jobs and scale == args.scale and main_run is not None:
                out[head] = main_run
                continue
            run = TweenRun(
                count, scale, args.reads_per_second, stream=stream, limit=args.limit, max_streams=args.max_streams
            )
            out[head] = measured(head, lambda run=run: run_tween(run), count)
    return out


if __name__ == "__main__":
    main()
