"""fal's word on Tween's key and account, gathered from every answer: after repeated refusals new videos pause
bot-wide, and the next call fal accepts ends the pause."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import FalAccountProblem


@dataclass(frozen=True)
class AccountState:
    """For /health and /metrics."""

    paused: bool
    refusals: int  # refusals in a row since fal last accepted the account
    status: int | None  # 401 (key) or 403 (account) of the last refusal


class AccountWatch:
    def __init__(self, pause_after: int, probe_interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._pause_after = pause_after
        self._probe_interval = probe_interval
        self._clock = clock
        self._refusals = 0
        self._last: FalAccountProblem | None = None
        self._probed_at = -math.inf
        self._alerted: set[int] = set()

    @property
    def paused(self) -> bool:
        return self._refusals >= self._pause_after

    @property
    def problem(self) -> FalAccountProblem | None:
        return self._last

    def refused(self, problem: FalAccountProblem) -> None:
        self._refusals += 1
        self._last = problem

    def accepted(self, *, billable: bool) -> None:
        """A call went through. A locked account (403) still answers status reads, so only a call that a locked
        account is refused proves it works again; any authenticated answer proves a key (401)."""
        if self._last is not None and (billable or self._last.status == 401):
            self._refusals, self._last = 0, None
            self._alerted.clear()

    def probe_due(self) -> bool:
        """While paused: True at most once per probe interval (the caller then makes one harmless call)."""
        now = self._clock()
        if not self.paused or now - self._probed_at < self._probe_interval:
            return False
        self._probed_at = now
        return True

    def first_alert(self, guild_id: int) -> bool:
        """True the first time a guild is affected in this episode: its moderators hear it once."""
        if guild_id in self._alerted:
            return False
        self._alerted.add(guild_id)
        return True

    def state(self) -> AccountState:
        return AccountState(self.paused, self._refusals, self._last.status if self._last else None)
