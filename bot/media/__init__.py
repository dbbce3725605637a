"""Fitting fal's videos to what Discord will take: probe, plan and re-encode (PyAV, in a worker thread)."""

from bot.media.fitter import Fitted, VideoFitter
from bot.media.plan import Plan, plan_fit
from bot.media.probe import VideoInfo, probe

__all__ = ["Fitted", "Plan", "VideoFitter", "VideoInfo", "plan_fit", "probe"]
