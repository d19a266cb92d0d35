"""The event-loop lag monitor and the coalescing window that widens with it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from google.adk.agents import LlmAgent

from adkstream.agents import OfflineModel
from adkstream.agents.registry import HostedAgent
from adkstream.runner.loop_lag import (
    ON_TIME_S,
    TICK_S,
    TRIPS_PER_WINDOW,
    AdaptiveWindow,
    LoopLag,
)
from tests.runner.helpers import make_harness


class FakeHandle:
    def cancel(self) -> None:
        pass


class FakeLoop:
    """Just what LoopLag uses of a loop: a clock it can read and timers it can set."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[tuple[float, Callable[..., None], tuple[Any, ...]]] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> FakeHandle:
        self.timers.append((when, callback, args))
        return FakeHandle()

    def fire_next(self, late_s: float) -> None:
        """Runs the next timer `late_s` after it was due (the loop was busy that long)."""
        when, callback, args = self.timers.pop(0)
        self.now = when + late_s
        callback(*args)


def _monitor(loop: FakeLoop) -> LoopLag:
    lag = LoopLag()
    lag._schedule(loop)  # type: ignore[arg-type]
    return lag


def test_lag_rises_at_once_and_falls_over_a_few_ticks() -> None:
    loop = FakeLoop()
    lag = _monitor(loop)
    loop.fire_next(late_s=0.0)
    assert lag.seconds == 0.0
    loop.fire_next(late_s=0.2)  # a busy loop: the tick ran 200 ms late
    assert lag.seconds == pytest.approx(0.2)
    falling = []
    for _ in range(10):
        loop.fire_next(late_s=0.0)
        falling.append(lag.seconds)
    assert falling == sorted(falling, reverse=True)
    assert 0.0 < falling[0] < 0.2
    assert falling[-1] < 0.05


def test_lag_ticks_every_tick_s_while_running() -> None:
    loop = FakeLoop()
    _monitor(loop)
    first_due = loop.timers[0][0]
    loop.fire_next(late_s=0.03)
    assert loop.timers[0][0] == first_due + 0.03 + TICK_S


def test_window_is_the_runs_own_while_the_loop_is_on_time() -> None:
    loop = FakeLoop()
    lag = _monitor(loop)
    window = AdaptiveWindow(base_s=0.01, max_s=1.0, lag=lag)
    for _ in range(5):
        loop.fire_next(late_s=ON_TIME_S)  # an idle loop's ticks, at the timer's granularity
        assert window() == 0.01


def test_window_is_the_runs_own_until_the_loop_runs_late() -> None:
    loop = FakeLoop()
    lag = _monitor(loop)
    window = AdaptiveWindow(base_s=0.03, max_s=1.0, lag=lag)
    assert window() == 0.03
    loop.fire_next(late_s=ON_TIME_S + 0.0001)  # just past on time: still the run's own
    assert window() == 0.03
    loop.fire_next(late_s=ON_TIME_S + 0.004)  # TRIPS_PER_WINDOW trips of 4 ms
    assert window() == pytest.approx(TRIPS_PER_WINDOW * 0.004)
    loop.fire_next(late_s=0.5)  # capped
    assert window() == 1.0
    off = AdaptiveWindow(base_s=0.0, max_s=1.0, lag=lag)
    assert off() == 0.0  # coalescing off stays off, however late the loop


async def test_run_manager_measures_only_while_runs_are_active() -> None:
    model = OfflineModel(tokens_per_s=0, reply_tokens=5)
    harness = make_harness(HostedAgent.of(LlmAgent(name="talker", model=model)))
    assert not harness.manager.loop_lag.running
    async with asyncio.timeout(10):
        run = await harness.start("talker", "hi", coalesce_ms=30)
        assert harness.manager.loop_lag.running
        await run.done.wait()
    assert not harness.manager.loop_lag.running
    assert harness.manager.loop_lag.seconds == 0.0
