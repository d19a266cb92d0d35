"""The in-memory moving window: at most N hits per key in any period, keys apart."""

from __future__ import annotations

from adkstream.api.ratelimit import MovingWindows


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_windows_allow_n_per_period_then_say_how_long_to_wait() -> None:
    clock = FakeClock()
    windows = MovingWindows(3, 60.0, clock=clock)
    assert [windows.hit("ann") for _ in range(3)] == [None, None, None]
    clock.now += 20
    assert windows.hit("ann") == 40.0  # the oldest hit leaves the window in 40 s
    assert windows.hit("bob") is None  # another key has its own window
    clock.now += 40  # the first three hits are 60 s old: out of the window
    assert [windows.hit("ann") for _ in range(3)] == [None, None, None]
    assert windows.hit("ann") == 60.0


def test_windows_forget_idle_keys_after_a_period() -> None:
    clock = FakeClock()
    windows = MovingWindows(1, 10.0, clock=clock)
    for user in ("a", "b", "c"):
        windows.hit(user)
    clock.now += 11
    windows.hit("d")
    assert set(windows._hits) == {"d"}
