"""The scenarios; importing this package registers them (see `bench.registry`)."""

from bench.scenarios import (
    concurrency,
    cpu,
    delivery,
    gemini,
    history,
    latency,
    rejoin,
    soak,
    starts,
    workers,
)

__all__ = [
    "concurrency",
    "cpu",
    "delivery",
    "gemini",
    "history",
    "latency",
    "rejoin",
    "soak",
    "starts",
    "workers",
]
