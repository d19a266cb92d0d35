"""The load generator's side of a stream: send the request, read every byte, time the deltas.

Two stream readers: `raw` (the default, `bench.http1`, cheap enough not to be the
bottleneck) and `httpx` (`--client httpx`, for comparison). Sessions and health checks
always go through httpx.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any, Literal

import httpx

from bench import http1
from bench.frames import FrameCounter, StreamResult
from bench.targets import Target

STREAM_TIMEOUT_S = 300.0
Reader = Literal["raw", "httpx"]


def make_client() -> httpx.AsyncClient:
    """One client for a measurement: unbounded pool, generous read timeout."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, read=STREAM_TIMEOUT_S, pool=None),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
    )


def client_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def stream_once(
    client: httpx.AsyncClient,
    base_url: str,
    target: Target,
    body: dict[str, Any],
    *,
    reader: Reader = "raw",
    first_delta_only: bool = False,
    record: bool = False,
) -> StreamResult:
    """Runs one stream to its end (or to its first delta) and never raises.

    With `record`, the result keeps every data line and its arrival (`bench.lag`).
    """
    start = time.perf_counter()
    try:
        async with asyncio.timeout(STREAM_TIMEOUT_S):
            if reader == "raw":
                port = httpx.URL(base_url).port or 80
                return await http1.stream(
                    port, target, body, first_delta_only=first_delta_only, record=record
                )
            return await _httpx_stream(client, base_url, target, body, first_delta_only, record)
    except (OSError, httpx.HTTPError, TimeoutError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:200]
        return StreamResult(error=error, total_s=time.perf_counter() - start)


async def _httpx_stream(
    client: httpx.AsyncClient,
    base_url: str,
    target: Target,
    body: dict[str, Any],
    first_delta_only: bool,
    record: bool,
) -> StreamResult:
    headers = {"Accept": "text/event-stream"}
    counter = FrameCounter(target, time.perf_counter(), record=record)
    url = base_url + target.path
    async with client.stream("POST", url, json=body, headers=headers) as response:
        if response.status_code != 200:
            await response.aread()
            counter.result.error = f"HTTP {response.status_code}"
            return counter.result
        async for chunk in response.aiter_raw():
            counter.feed(chunk, time.perf_counter())
            if first_delta_only and counter.result.ttfd_s is not None:
                return counter.result
    return counter.finish(time.perf_counter())


async def run_streams(
    client: httpx.AsyncClient,
    base_url: str,
    target: Target,
    bodies: list[dict[str, Any]],
    *,
    reader: Reader = "raw",
) -> tuple[list[StreamResult], float]:
    """One concurrent stream per body; returns their results and the wall time of the batch."""
    start = time.perf_counter()
    streams = (stream_once(client, base_url, target, b, reader=reader) for b in bodies)
    results = await asyncio.gather(*streams)
    return list(results), time.perf_counter() - start
