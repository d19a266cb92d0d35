"""Reading an SSE body cheaply: split lines, count `data:` frames, spot deltas, the end, errors.

A pure core fed with bytes and the time they arrived; both stream readers use it. It
decodes no JSON and runs no SSE parser, so that the load generator stays cheap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.targets import Target


@dataclass
class StreamResult:
    """What the client saw of one stream.

    Attributes:
        error: why the stream failed (status, transport error, error frame, no end).
        frames: `data:` lines received (one per event sent).
        deltas: model deltas received.
        ttfd_s: seconds from sending the request to the first delta.
        total_s: seconds from sending the request to the end of the body.
        done: the run's final event arrived.
        received: with `record`, every `data:` line and its arrival (unix seconds).
    """

    error: str | None = None
    frames: int = 0
    deltas: int = 0
    ttfd_s: float | None = None
    total_s: float = 0.0
    done: bool = False
    received: list[tuple[float, bytes]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


class FrameCounter:
    """Feeds body bytes into a `StreamResult` for one target's markers.

    Times are `time.perf_counter()` values; with `record`, data lines are kept with their
    arrival converted to unix time, to compare with the model's yields in another process.
    """

    def __init__(self, target: Target, start: float, *, record: bool = False) -> None:
        self.target = target
        self.start = start
        self.result = StreamResult()
        self.record = record
        self._to_unix = time.time() - time.perf_counter()
        self._pending = b""

    def feed(self, data: bytes, now: float) -> None:
        """Counts the complete lines in `data` (plus what an earlier call left over)."""
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()
        target, result = self.target, self.result
        for line in lines:
            if not line:
                continue
            if line.startswith(b"data:"):
                result.frames += 1
                if self.record:
                    result.received.append((now + self._to_unix, line))
            if target.delta in line:
                result.deltas += 1
                if result.ttfd_s is None:
                    result.ttfd_s = now - self.start
            elif target.done in line:
                result.done = True
            elif result.error is None and any(m in line for m in target.errors):
                result.error = "error frame: " + line[:160].decode(errors="replace")

    def finish(self, now: float) -> StreamResult:
        """The result once the body ended; a body without its final event is an error."""
        self.result.total_s = now - self.start
        if self.result.error is None and not self.result.done:
            self.result.error = "stream ended without its final event"
        return self.result
