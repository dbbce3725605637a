"""The re-encode itself, run in a worker thread (FFmpeg releases the GIL while it works, so the loop keeps going).

Memory is bounded on purpose: libx264 keeps whole frames for its lookahead, B-frames and frame threads, about 12 MB
each at 1080p. No lookahead, no B-frames and sliced (not frame) threads keep a transcode near 60 MB above idle, at
a small cost in size efficiency that the bitrate, not the frame count, pays for."""

from __future__ import annotations

import threading
from pathlib import Path

import av

from bot.errors import MediaUnusable
from bot.media.plan import Plan

X264_BOUNDED = "rc-lookahead=0:sync-lookahead=0:bframes=0:sliced-threads=1"


class Interrupted(Exception):
    """The bot is stopping: the transcode was abandoned between two frames."""


def transcode(src: Path, dst: Path, plan: Plan, *, preset: str, threads: int, stop: threading.Event) -> None:
    """Re-encode `src` into an H.264 (yuv420p, faststart) MP4 at `plan`, AAC audio when the source has sound.
    Frame timestamps are kept, so the frame rate and the duration are the source's."""
    try:
        with av.open(str(src)) as source, av.open(str(dst), "w", options={"movflags": "+faststart"}) as out:
            _copy(source, out, plan, preset, threads, stop)
    except av.FFmpegError as exc:
        dst.unlink(missing_ok=True)
        raise MediaUnusable("undecodable", detail=str(exc)) from exc
    except BaseException:
        dst.unlink(missing_ok=True)
        raise


def _copy(
    source: av.container.InputContainer,
    out: av.container.OutputContainer,
    plan: Plan,
    preset: str,
    threads: int,
    stop: threading.Event,
) -> None:
    video_in = source.streams.video[0]
    video_in.thread_type = "SLICE"  # frame threads would hold extra decoded frames
    video_in.codec_context.thread_count = 1  # decoding is cheap beside encoding; each thread holds its own buffers
    video_out = out.add_stream("libx264", rate=video_in.average_rate or video_in.guessed_rate)
    video_out.width, video_out.height, video_out.pix_fmt = plan.width, plan.height, "yuv420p"
    video_out.bit_rate = plan.video_bps
    video_out.codec_context.time_base = video_in.time_base
    video_out.options = {
        "preset": preset,
        "profile": "high",
        "threads": str(threads),
        # A ceiling on local peaks keeps a hard scene from pushing the whole file over the limit.
        "maxrate": str(int(plan.video_bps * 1.5)),
        "bufsize": str(int(plan.video_bps * 2)),
        "x264-params": X264_BOUNDED,
    }
    audio_in = source.streams.audio[0] if plan.audio_bps and source.streams.audio else None
    audio_out = None
    if audio_in is not None:
        audio_out = out.add_stream("aac", rate=audio_in.rate or 48_000)
        audio_out.bit_rate = plan.audio_bps
    streams = [video_in] + ([audio_in] if audio_in is not None else [])
    for packet in source.demux(*streams):
        if stop.is_set():
            raise Interrupted
        for frame in packet.decode():
            if packet.stream is video_in:
                if (frame.width, frame.height, frame.format.name) != (plan.width, plan.height, "yuv420p"):
                    frame = frame.reformat(plan.width, plan.height, "yuv420p", interpolation="BICUBIC")
                out.mux(video_out.encode(frame))
            elif audio_out is not None:
                frame.pts = None  # the AAC encoder re-times audio in its own frame sizes
                out.mux(audio_out.encode(frame))
    out.mux(video_out.encode(None))
    if audio_out is not None:
        out.mux(audio_out.encode(None))
