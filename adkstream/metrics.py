"""Prometheus metrics of the runs and the streams, served at `GET /metrics`.

They live in one registry of their own (not prometheus-client's global one), shared by
every app in the process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

RUNS_STARTED = Counter("adkstream_runs_started", "Runs started.", ["agent"], registry=REGISTRY)
RUNS_ENDED = Counter(
    "adkstream_runs_ended",
    "Runs ended, by outcome (completed, failed, cancelled).",
    ["agent", "status"],
    registry=REGISTRY,
)
RUNS_ACTIVE = Gauge("adkstream_runs_active", "Runs in progress.", registry=REGISTRY)
STREAMS_ACTIVE = Gauge(
    "adkstream_streams_active",
    "Open streams of runs (SSE, NDJSON, AG-UI, Vercel, OpenAI).",
    registry=REGISTRY,
)
EVENTS_SENT = Counter(
    "adkstream_events_sent",
    "Run events streamed to clients, by format (sse, ndjson, agui, vercel, openai).",
    ["format"],
    registry=REGISTRY,
)
BYTES_SENT = Counter(
    "adkstream_bytes_sent",
    "Bytes streamed to clients (the whole body: frames and heartbeats), by format.",
    ["format"],
    registry=REGISTRY,
)
DELTAS_IN = Counter("adkstream_deltas_in", "Model deltas before coalescing.", registry=REGISTRY)
DELTAS_OUT = Counter(
    "adkstream_deltas_out",
    "Deltas after coalescing (the coalescing ratio is deltas_in / deltas_out).",
    registry=REGISTRY,
)
FIRST_DELTA_SECONDS = Histogram(
    "adkstream_time_to_first_delta_seconds",
    "From the start of a run to its first message delta in the log.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
REJOINS = Counter(
    "adkstream_rejoins", "Event-route requests resuming after an id.", registry=REGISTRY
)
REJECTED = Counter(
    "adkstream_requests_rejected",
    "Requests refused by a limit or authentication.",
    ["reason"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    """The metrics in Prometheus' text format."""
    return generate_latest(REGISTRY)
