"""Measurements against running servers: CPU of one stream, time to first delta, a burst of streams.

Each returns plain figures (a dict per repeat); the scenarios turn them into tables.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.client import Reader, client_cpu_s, make_client, run_streams, stream_once
from bench.lag import added_latency, chunk_arrivals, last_yields
from bench.proc import Server
from bench.report import median, percentile
from bench.targets import Target

SETTLE_S = 0.2  # idle time around a CPU reading, so the run's tail work is counted


async def wait_idle(server: Server, *, limit_s: float = 10.0) -> None:
    """Waits (bounded) until the server spends under 10 % of a core: the last run's cleanup."""
    deadline = time.monotonic() + limit_s
    before = server.cpu_s()
    while time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_S)
        now = server.cpu_s()
        if now - before < 0.1 * SETTLE_S:
            return
        before = now


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def warm_up(server: Server, target: Target, *, reader: Reader) -> dict[str, Any]:
    """One full stream, so lazy imports and first-use caches are not measured; its body."""
    async with make_client() as client:
        body = await target.prepare(client, server.base_url)
        result = await stream_once(client, server.base_url, target, body, reader=reader)
    if not result.ok:
        raise RuntimeError(f"warm-up of {target.name} failed: {result.error}\n{server.log_tail()}")
    return body


async def one_stream_cpu(server: Server, target: Target, *, reader: Reader) -> dict[str, Any]:
    """Server and client CPU seconds spent on one stream read to its end."""
    async with make_client() as client:
        body = await target.prepare(client, server.base_url)
        await asyncio.sleep(SETTLE_S)
        server_before, client_before = server.cpu_s(), client_cpu_s()
        result = await stream_once(client, server.base_url, target, body, reader=reader)
        client_after = client_cpu_s()
        await asyncio.sleep(SETTLE_S)
        server_after = server.cpu_s()
    return {
        "error": result.error,
        "frames": result.frames,
        "deltas": result.deltas,
        "wall_s": result.total_s,
        "server_cpu_s": server_after - server_before,
        "client_cpu_s": client_after - client_before,
    }


async def first_deltas(
    server: Server, target: Target, requests: int, *, reader: Reader
) -> dict[str, Any]:
    """`requests` streams one after another, each closed at its first delta."""
    ttfds: list[float] = []
    errors: list[str] = []
    async with make_client() as client:
        for _ in range(requests):
            body = await target.prepare(client, server.base_url)
            result = await stream_once(
                client, server.base_url, target, body, reader=reader, first_delta_only=True
            )
            if result.ttfd_s is None:
                errors.append(result.error or "no delta")
            else:
                ttfds.append(result.ttfd_s)
            # Closing at the first delta cancels the run; let the server finish that first.
            await asyncio.sleep(0.05)
    return {
        "ttfd_median_s": median(ttfds),
        "ttfd_p90_s": percentile(ttfds, 90),
        "ttfd_max_s": max(ttfds, default=None),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


async def burst(
    server: Server, target: Target, streams: int, *, reader: Reader, baseline_kb: int
) -> dict[str, Any]:
    """`streams` concurrent streams: wall time, errors, TTFD, server CPU and peak memory.

    Memory per stream is the burst's peak RSS minus `baseline_kb` (the idle server's RSS
    after its warm-up), over `streams`: later bursts on the same server reuse the memory
    the first one left in Python's arenas, so their RSS before is no baseline.
    """
    async with make_client() as client:
        # ADK's api server needs a session per stream: created before the clock starts.
        bodies = [await target.prepare(client, server.base_url) for _ in range(streams)]
        await wait_idle(server)
        rss_before = server.rss_kb()
        server.reset_peak()
        server_before, client_before = server.cpu_s(), client_cpu_s()
        results, wall = await run_streams(client, server.base_url, target, bodies, reader=reader)
        client_after = client_cpu_s()
        server_after = server.cpu_s()
        peak = server.peak_rss_kb()
    ttfds = [r.ttfd_s for r in results if r.ttfd_s is not None]
    errors = [r.error for r in results if r.error is not None]
    return {
        "wall_s": wall,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "ttfd_median_s": median(ttfds),
        "ttfd_p99_s": percentile(ttfds, 99),
        "frames": sum(r.frames for r in results),
        "rss_before_kb": rss_before,
        "peak_rss_kb": peak,
        "baseline_kb": baseline_kb,
        "peak_kb_per_stream": max(peak - baseline_kb, 0) / streams,
        "server_cpu_s": server_after - server_before,
        "client_cpu_s": client_after - client_before,
    }


async def chunk_lag(server: Server, target: Target, *, reader: Reader) -> dict[str, Any]:
    """One stream read to its end: each chunk's arrival minus its yield by the model."""
    async with make_client() as client:
        body = await target.prepare(client, server.base_url)
        result = await stream_once(
            client, server.base_url, target, body, reader=reader, record=True
        )
    arrivals = chunk_arrivals(result.received, target.delta_text)
    lags = added_latency(last_yields(server.data_dir), arrivals)
    return {
        "error": result.error,
        "chunks_matched": len(lags),
        "deltas": result.deltas,
        "lag_median_s": median(lags),
        "lag_p99_s": percentile(lags, 99),
        "lag_max_s": max(lags, default=None),
    }
