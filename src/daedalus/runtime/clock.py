"""Clocks: the runtime's only source of time.

Campaign time is in seconds. `VirtualClock` jumps straight to the next moment anything happens,
so a simulated campaign of days runs in seconds; with `pace` it sleeps `dt / pace` real seconds
for every `dt` of campaign time, so a person can watch (pace=60: one simulated minute a second).
`WallClock` is real time, for real machines.
"""

from __future__ import annotations

import asyncio
import math
import time


class VirtualClock:
    """Simulated time starting at `start` seconds."""

    virtual = True

    def __init__(self, start: float = 0.0, *, pace: float | None = None) -> None:
        if pace is not None and not pace > 0:
            raise ValueError(f"pace must be > 0 (campaign seconds per real second), got {pace}")
        self._now = float(start)
        self.pace = pace

    def now(self) -> float:
        return self._now

    def campaign_seconds(self, real_s: float) -> float:
        """How much campaign time passes in `real_s` real seconds."""
        return math.inf if self.pace is None else real_s * self.pace

    def resume_at(self, t: float) -> None:
        """Continue from campaign time `t` (the journal's last event) after a restart."""
        self._now = max(self._now, float(t))

    async def sleep_until(self, t: float) -> None:
        if t <= self._now:
            return
        if self.pace is not None:
            await asyncio.sleep((t - self._now) / self.pace)
        self._now = float(t)


class WallClock:
    """Unix time. `resume_at` is a no-op: real time moves on by itself."""

    virtual = False
    pace = None

    def now(self) -> float:
        return time.time()

    def campaign_seconds(self, real_s: float) -> float:
        return real_s

    def resume_at(self, t: float) -> None:
        return None

    async def sleep_until(self, t: float) -> None:
        delay = t - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


Clock = VirtualClock | WallClock
