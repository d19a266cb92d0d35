"""When to try again: exponential back-off with full jitter, bounded consecutive attempts.

Full jitter (a delay drawn uniformly from [0, min(max, base * 2**n)]) spreads the
reconnects of many clients that lost one server at the same moment ("Exponential
Backoff And Jitter", AWS Architecture Blog, 2015). A pure object: the random source is
passed in, and nothing here sleeps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff", "RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many consecutive attempts, and how long to wait before each.

    Attributes:
        max_attempts: consecutive attempts allowed after a failure (0: none).
        base_s: the first attempt's delay bound; each next one doubles it.
        max_s: the largest delay bound.
    """

    max_attempts: int = 5
    base_s: float = 0.2
    max_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 0 or self.base_s < 0 or self.max_s < 0:
            raise ValueError("retry limits must not be negative")

    def start(self, rng: random.Random | None = None) -> Backoff:
        """A fresh count of attempts under this policy."""
        return Backoff(self, rng or random.Random())


@dataclass
class Backoff:
    """The attempts made since the last success, and the delay before the next one."""

    policy: RetryPolicy
    rng: random.Random
    attempts: int = field(default=0)

    def reset(self) -> None:
        """Progress was made (an event arrived): the next failure starts from zero."""
        self.attempts = 0

    def next_delay(self) -> float | None:
        """Counts one more attempt and returns the delay before it; None when none is left."""
        if self.attempts >= self.policy.max_attempts:
            return None
        bound = min(self.policy.max_s, self.policy.base_s * 2**self.attempts)
        self.attempts += 1
        return self.rng.uniform(0.0, bound)
