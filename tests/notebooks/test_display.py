"""The live display: throttled redraws on an injected clock, the final state always drawn."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from adkstream.events import MessageCompleted, MessageDelta, RunCompleted, RunStarted, StreamEvent
from adkstream.notebook import REDRAW_S, LiveDisplay, RunView, Throttle

RUN = "run-1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeHandle:
    """Records each update with the clock's time when it was made."""

    clock: FakeClock
    draws: list[tuple[float, dict[str, str]]] = field(default_factory=list)

    def update(self, obj: Any, **kwargs: Any) -> None:
        assert kwargs == {"raw": True}
        self.draws.append((self.clock.now, obj))


@dataclass
class FakeTimers:
    """`call_later` that runs nothing by itself: the test fires what is due."""

    clock: FakeClock
    pending: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def __call__(self, delay: float, callback: Callable[[], None]) -> FakeTimers.Timer:
        entry = (self.clock.now + delay, callback)
        self.pending.append(entry)
        return FakeTimers.Timer(self, entry)

    def fire_due(self) -> None:
        due = [entry for entry in self.pending if entry[0] <= self.clock.now]
        self.pending = [entry for entry in self.pending if entry not in due]
        for _, callback in due:
            callback()

    @dataclass
    class Timer:
        timers: FakeTimers
        entry: tuple[float, Callable[[], None]]

        def cancel(self) -> None:
            if self.entry in self.timers.pending:
                self.timers.pending.remove(self.entry)


def delta(seq: int, text: str) -> MessageDelta:
    return MessageDelta(seq=seq, run_id=RUN, ts=0, author="assistant", message_id="m1", text=text)


def live(clock: FakeClock, timers: FakeTimers | None = None) -> tuple[LiveDisplay, FakeHandle]:
    view = RunView(run_id=RUN)
    handle = FakeHandle(clock)
    return LiveDisplay(view, handle, clock=clock, call_later=timers), handle


def feed(display: LiveDisplay, event: StreamEvent) -> None:
    display.view.add(event)
    display.changed()


def test_throttle_draws_at_once_then_once_per_interval() -> None:
    throttle = Throttle(0.1)
    assert throttle.offer(5.0)
    assert not throttle.offer(5.05)
    assert throttle.due == pytest.approx(5.1)
    assert throttle.offer(5.1)
    assert throttle.due is None


@pytest.mark.parametrize("step_s", [0.001, 0.013, 0.05, 0.099], ids=lambda s: f"every-{s}s")
def test_live_display_redraws_at_most_once_per_interval(step_s: float) -> None:
    clock = FakeClock()
    timers = FakeTimers(clock)
    display, handle = live(clock, timers)
    feed(
        display,
        RunStarted(seq=1, run_id=RUN, ts=0, session_id="s", user_id="u", app="a", agent="a"),
    )
    words = [f" w{i}" for i in range(200)]
    for seq, word in enumerate(words, start=2):
        clock.now += step_s
        timers.fire_due()
        feed(display, delta(seq, word))
    streaming = [t for t, _ in handle.draws]
    gaps = [b - a for a, b in itertools.pairwise(streaming)]
    assert all(gap >= REDRAW_S - 1e-9 for gap in gaps), gaps
    assert len(streaming) <= clock.now / REDRAW_S + 1
    text = "".join(words)
    feed(
        display,
        MessageCompleted(seq=300, run_id=RUN, ts=0, author="assistant", message_id="m1", text=text),
    )
    feed(display, RunCompleted(seq=301, run_id=RUN, ts=0, final_text=text))
    display.close()
    final = handle.draws[-1][1]
    assert text.strip() in final["text/plain"]
    assert "completed ·" in final["text/html"] and "running…" not in final["text/html"]
    assert not timers.pending, "a timer outlived the display"


def test_live_display_draws_the_final_state_inside_the_interval() -> None:
    clock = FakeClock()
    display, handle = live(clock)
    feed(display, delta(1, "Hello"))
    clock.now = 0.01
    feed(display, delta(2, " world"))
    clock.now = 0.02
    feed(display, RunCompleted(seq=3, run_id=RUN, ts=0, final_text="Hello world"))
    assert len(handle.draws) == 1  # the first delta only: the rest came within 100 ms
    display.close()
    assert len(handle.draws) == 2
    assert "Hello world" in handle.draws[-1][1]["text/html"]
    assert "completed ·" in handle.draws[-1][1]["text/html"]


def test_live_display_draws_a_quiet_change_when_the_interval_ends() -> None:
    clock = FakeClock()
    timers = FakeTimers(clock)
    display, handle = live(clock, timers)
    feed(display, delta(1, "Hello"))
    clock.now = 0.03
    feed(display, delta(2, " world"))  # then nothing for a while (a slow tool, say)
    assert len(handle.draws) == 1
    assert [due for due, _ in timers.pending] == [pytest.approx(REDRAW_S)]
    clock.now = REDRAW_S
    timers.fire_due()
    assert len(handle.draws) == 2
    assert handle.draws[-1][0] == REDRAW_S
    assert "Hello world" in handle.draws[-1][1]["text/plain"]


def test_live_display_shown_counts_as_a_draw() -> None:
    clock = FakeClock()
    clock.now = 10.0
    handle = FakeHandle(clock)
    display = LiveDisplay(RunView(), handle, clock=clock, shown=True)
    clock.now = 10.05
    feed(display, delta(1, "Hi"))
    assert handle.draws == []
    clock.now = 10.1
    feed(display, delta(2, "!"))
    assert len(handle.draws) == 1
