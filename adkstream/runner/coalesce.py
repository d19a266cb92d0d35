"""Coalescing of text deltas (answer and reasoning): a pure core, fed events and the time.

Deltas of one message that arrive within the window of the last delta sent are merged.
The first delta of a message, and any delta after a quiet window, goes out at once: no
added time to first token. With a slow start, a young message's window is no longer
than the message is old, so its next pieces follow the first at the base pace even when
a loaded server has just widened the window. A pending merge goes out when its window
expires (the caller asks `hold` or `deadline` and calls `flush`), when a non-delta
event or another message's delta arrives, or at the end of the run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from adkstream.events import DELTA_TYPES, DeltaEvent, StreamEvent


class Coalescer:
    """Merges the deltas of a message within a window.

    Args:
        window: the window in seconds, or a function giving it now (a run's window
            widens while the server is loaded: `loop_lag.AdaptiveWindow`); 0 sends every
            delta as it comes.
        slow_start: the narrowest window (seconds) for a slow start; None: none. A
            message's window is then at most its age at its last delta sent, and at
            least `slow_start`: it doubles from one delta to the next until it reaches
            `window`. After a burst of starts has widened the window to a second, a
            new message's second piece would otherwise come a second after its first.
    """

    def __init__(
        self, window: float | Callable[[], float], *, slow_start: float | None = None
    ) -> None:
        self._window = window if callable(window) else functools.partial(float, window)
        self._slow_start = slow_start
        self._first_sent: dict[str, float] = {}  # with a slow start: when a message began
        self.deltas_in = 0
        self.deltas_out = 0
        self._pending: DeltaEvent | None = None
        self._pending_text: list[str] = []
        self._pending_ts = 0.0
        self._last_sent: dict[str, float] = {}
        self._last_message: str | None = None  # of the last delta sent

    @property
    def deadline(self) -> float | None:
        """When the pending merge must go out, or None when nothing is pending."""
        if self._pending is None:
            return None
        return self._window_end(self._pending.message_id)

    def hold(self, now: float) -> tuple[str, float] | None:
        """The message whose next delta would wait now, and until when; None if none would.

        That is the pending merge's message until its deadline, or else the message of
        the last delta sent until its window is over: a delta of it that came meanwhile
        would only be held (and merged), so its producer need not wake the caller.
        """
        pending = self._pending
        message_id = pending.message_id if pending is not None else self._last_message
        if message_id is None:
            return None
        due = self._window_end(message_id)
        return (message_id, due) if pending is not None or due > now else None

    def _window_end(self, message_id: str) -> float:
        last = self._last_sent[message_id]
        return last + self._window_after(message_id, last)

    def _window_after(self, message_id: str, last_sent: float) -> float:
        """The window of `message_id` after its delta sent at `last_sent`."""
        window = self._window()
        if self._slow_start is None:
            return window
        age = last_sent - self._first_sent[message_id]
        return min(window, max(self._slow_start, age))

    def push(self, event: StreamEvent, now: float) -> list[StreamEvent]:
        """Takes one event; returns the events to send now, in order."""
        if not isinstance(event, DELTA_TYPES):
            out = self.flush(now)
            out.append(event)
            return out
        self.deltas_in += 1
        pending = self._pending
        if pending is not None:
            if pending.message_id == event.message_id:
                self._pending_text.append(event.text)
                self._pending_ts = event.ts
                return []
            out = self.flush(now)
        else:
            out = []
        last = self._last_sent.get(event.message_id)
        if last is None:
            self._first_sent[event.message_id] = now
        if last is None or now - last >= self._window_after(event.message_id, last):
            self._last_sent[event.message_id] = now
            self._last_message = event.message_id
            self.deltas_out += 1
            out.append(event)
        else:
            self._pending = event
            self._pending_text = [event.text]
            self._pending_ts = event.ts
        return out

    def flush(self, now: float) -> list[StreamEvent]:
        """Sends what is pending (at its deadline, or before another event).

        `now` is the coalescer's clock; the merged delta keeps the wall-clock `ts` of
        its last piece.
        """
        pending = self._pending
        if pending is None:
            return []
        self._pending = None
        self._last_sent[pending.message_id] = now
        self._last_message = pending.message_id
        self.deltas_out += 1
        text = "".join(self._pending_text)
        self._pending_text = []
        if text == pending.text:
            return [pending]
        return [pending.model_copy(update={"text": text, "ts": self._pending_ts})]


def merge_adjacent_deltas(events: Iterable[StreamEvent]) -> list[StreamEvent]:
    """Merges runs of adjacent deltas of one message into one, carrying the last seq.

    Used when a subscriber reads a backlog: the frame it gets for a merged run has the
    id of the last event merged, so a resume from that id misses nothing.
    """
    out: list[StreamEvent] = []
    run: list[DeltaEvent] = []

    def close_run() -> None:
        if len(run) == 1:
            out.append(run[0])
        elif run:
            last = run[-1]
            text = "".join(d.text for d in run)
            out.append(last.model_copy(update={"text": text}))
        run.clear()

    for event in events:
        if isinstance(event, DELTA_TYPES) and (not run or run[-1].message_id == event.message_id):
            run.append(event)
            continue
        close_run()
        if isinstance(event, DELTA_TYPES):
            run.append(event)
        else:
            out.append(event)
    close_run()
    return out
