"""Back-off: full jitter under a doubling bound, a cap, a bounded count that resets."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adkstream.client.backoff import RetryPolicy


class _Top(random.Random):
    """A random source that always draws the top of the range: delays equal their bounds."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_bounds_double_up_to_the_cap_then_run_out() -> None:
    backoff = RetryPolicy(max_attempts=5, base_s=0.2, max_s=1.0).start(_Top())
    assert [backoff.next_delay() for _ in range(6)] == [0.2, 0.4, 0.8, 1.0, 1.0, None]
    assert backoff.attempts == 5


def test_backoff_reset_starts_again_from_the_base() -> None:
    backoff = RetryPolicy(max_attempts=2, base_s=0.5, max_s=10.0).start(_Top())
    assert backoff.next_delay() == 0.5
    assert backoff.next_delay() == 1.0
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_with_no_attempts_allowed_gives_none() -> None:
    assert RetryPolicy(max_attempts=0).start().next_delay() is None


def test_retry_policy_refuses_negative_limits() -> None:
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(max_attempts=-1)


@given(
    seed=st.integers(),
    base=st.floats(min_value=0.0, max_value=5.0),
    cap=st.floats(min_value=0.0, max_value=30.0),
    attempts=st.integers(min_value=0, max_value=12),
)
def test_backoff_delays_stay_within_full_jitter_bounds(
    seed: int, base: float, cap: float, attempts: int
) -> None:
    backoff = RetryPolicy(max_attempts=attempts, base_s=base, max_s=cap).start(random.Random(seed))
    delays = [backoff.next_delay() for _ in range(attempts)]
    for n, delay in enumerate(delays):
        assert delay is not None
        assert 0.0 <= delay <= min(cap, base * 2**n)
    assert backoff.next_delay() is None
