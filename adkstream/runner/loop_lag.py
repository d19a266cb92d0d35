"""How late the event loop runs, and the coalescing window that widens with it.

Under load every stream's model yields about one chunk per trip around the event loop,
not one per 10 ms: a window shorter than a trip merges nothing, every chunk then costs
a whole event downstream (ADK's per-event work, hundreds of microseconds, where chunks
still pass through ADK; the log's and the stream's everywhere), and the trips grow
longer still. Measured with 500 streams of 200 chunks at 10 ms on one process
(`bench`'s scenario 4, when every chunk went through ADK): a fixed 30 ms window sent ADK
about 200 events per stream and the burst took 66 s; widened to ten loop trips (at most
1 s), about 15 events and 12-15 s.
Once text bypassed ADK, ten trips still let the frames themselves (about 100 µs of CPU
each) keep a loaded process saturated. Bursts of 200-chunk streams, one process, before
the slow start: 250 streams took 3.3 s at 2.9 s of CPU and 58-68 frames per stream with
ten trips, 2.85 s at 1.9 s and about 40 frames with thirty; 500 streams took 4.5-5.3 s
with ten and 3.8-4.1 s with thirty; 100 streams took 2.4 s either way.
With the slow start and the run log no longer rewriting a page per run on every flush,
a hundred trips brought 500 streams to about 1.5 times the floor: 3.7-3.8 s at 2.7-3.0 s
of CPU and about 20 frames per stream, against 4.0-4.2 s, 3.3-3.6 s and about 30 with
thirty (sixty: 3.8-3.9 s); at 100 streams, 2.35 s either way. So a run's window is its
`coalesce_ms` while the loop keeps time, and a hundred loop trips (up to
`coalesce_max_ms`) while it does not. The first chunk of a message still goes at once,
a young message's window grows from `coalesce_ms` (the coalescer's slow start), and
later text arrives in fewer, larger pieces rather than later.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

TICK_S = 0.025
"""How often the monitor looks at the loop while runs are active."""
TRIPS_PER_WINDOW = 100
"""A widened window spans this many loop trips (lag) past on time."""
ON_TIME_S = 0.002
"""Lateness up to this is on time: uvloop's timers (libuv's) count whole milliseconds, so
an idle loop's ticks run 0 or 1 ms late, and now and then 2 (a collection, a checkpoint
taking the GIL); a hundred trips of that would widen an idle server's windows (the
latency scenario's single stream: a maximum of 100 ms with 1 ms counted on time, 33 ms
with 2)."""
_DECAY = 0.8
"""Weight of the old figure when the lag falls: rises at once, falls over a few ticks."""


class LoopLag:
    """The recent lateness of a periodic timer: how long a trip around the loop takes."""

    def __init__(self) -> None:
        self._lag_s = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    @property
    def seconds(self) -> float:
        return self._lag_s

    @property
    def running(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        """Starts measuring on the running loop (no-op if it already is)."""
        if self._handle is None:
            self._schedule(asyncio.get_running_loop())

    def stop(self) -> None:
        """Stops measuring; the figure drops to 0 (an idle loop is on time)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._lag_s = 0.0

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        self._due = loop.time() + TICK_S
        self._handle = loop.call_at(self._due, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        late = max(loop.time() - self._due, 0.0)
        self._lag_s = late if late >= self._lag_s else _DECAY * self._lag_s + (1 - _DECAY) * late
        self._schedule(loop)


@dataclass(frozen=True)
class AdaptiveWindow:
    """A run's coalescing window: `base_s`, widened to a few loop trips under load.

    Calling it gives the window in seconds now; 0 (coalescing off) stays 0.
    """

    base_s: float
    max_s: float
    lag: LoopLag

    def __call__(self) -> float:
        if self.base_s <= 0:
            return 0.0
        widened = min(TRIPS_PER_WINDOW * max(self.lag.seconds - ON_TIME_S, 0.0), self.max_s)
        return max(self.base_s, widened)
