"""Remembers that ADK's optional A2A support is not installed, so ADK stops asking.

ADK 2.13's `build_node` (called for every run) tries `from ...agents.remote_a2a_agent
import RemoteA2aAgent`. Without the `a2a` package that import fails, and a failed import
is not cached: Python executes the module again on every run, about 0.5 ms of CPU each
(measured with `timeit` on `build_node`: 0.52 ms, 0.026 ms once the failure is cached).
With `a2a` absent, a `None` entry in `sys.modules` makes the same import fail at once,
with the same ImportError ADK already handles. With `a2a` installed nothing changes.
"""

from __future__ import annotations

import importlib.util
import sys

REMOTE_A2A_MODULE = "google.adk.agents.remote_a2a_agent"


def remember_missing_a2a() -> bool:
    """Caches the failed import if `a2a` is missing; True if it did."""
    if REMOTE_A2A_MODULE in sys.modules or importlib.util.find_spec("a2a") is not None:
        return False
    sys.modules[REMOTE_A2A_MODULE] = None  # type: ignore[assignment]
    return True
