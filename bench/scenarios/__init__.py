"""The scenarios; importing this package registers them (see `bench.registry`)."""

from bench.scenarios import concurrency, cpu, delivery, latency, rejoin, soak, workers

__all__ = ["concurrency", "cpu", "delivery", "latency", "rejoin", "soak", "workers"]
