"""Soak: 10,000 short runs beside 20 long streams, with a retention of one minute.

One adkstream server on its embedded default (SQLite sessions and run log in its data
directory), with `ADKSTREAM_RUN_RETENTION_S=60` and `ADKSTREAM_SESSION_RETENTION_S=60`.
Twenty streams run all along (SSE, 3,000 chunks at 10 ms each, about 30 s, started
again as each ends), while a few workers send short runs (JSON answers, 10 chunks at
10 ms, each in a new session) at a steady pace until 10,000 have ended; then the load
stops and the server is watched past its retention. Every SAMPLE_S the table notes the
data directory (each file, and the whole) and the server's RSS: with retention both
should level off once the first runs are a minute old, and fall back after the load.

`--quick`: 1,000 short runs and a retention of 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import targets
from bench.client import Reader, make_client, stream_once
from bench.measure import progress
from bench.model import ModelSpec
from bench.proc import Server, running
from bench.registry import Context, scenario
from bench.report import Table

STREAMS = 20
STREAM_CHUNKS = 3000
SHORT_CHUNKS = 10
SHORT_WORKERS = 8
SHORT_PER_S = 40.0
"""The pace of the short runs: 10,000 take about four minutes, well past the retention."""
SAMPLE_S = 15.0
FILES = ("runs.db", "runs.db-wal", "sessions.db", "sessions.db-wal")
MB = 1e6


@dataclass
class Load:
    """What the load generator has done so far."""

    short_done: int = 0
    short_errors: int = 0
    streams_done: int = 0
    stream_errors: int = 0
    first_errors: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def error(self, text: str) -> None:
        if len(self.first_errors) < 3:
            self.first_errors.append(text[:200])


async def _short_runs(client: httpx.AsyncClient, server: Server, load: Load, total: int) -> None:
    """`total` short runs from SHORT_WORKERS workers, paced at SHORT_PER_S."""
    started = time.monotonic()
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while issued < total:
            issued += 1
            due = started + issued / SHORT_PER_S
            await asyncio.sleep(max(due - time.monotonic(), 0))  # pacing, not a wait for anything
            body = {"message": f"chunks={SHORT_CHUNKS} {targets.PROMPT}"}
            try:
                response = await client.post(
                    server.base_url + "/v1/runs", json=body, headers={"Accept": "application/json"}
                )
                ok = response.status_code == 200 and response.json().get("status") == "completed"
                if not ok:
                    load.short_errors += 1
                    load.error(f"short run: HTTP {response.status_code}: {response.text}")
            except httpx.HTTPError as exc:
                load.short_errors += 1
                load.error(f"short run: {type(exc).__name__}: {exc}")
            load.short_done += 1

    await asyncio.gather(*(worker() for _ in range(SHORT_WORKERS)))


async def _streams(client: httpx.AsyncClient, server: Server, load: Load, reader: Reader) -> None:
    """STREAMS long streams, each started again as it ends, until `load.stop`."""
    target = targets.adkstream()
    body = {"message": f"chunks={STREAM_CHUNKS} {targets.PROMPT}"}

    async def one() -> None:
        while not load.stop.is_set():
            result = await stream_once(client, server.base_url, target, body, reader=reader)
            load.streams_done += 1
            if result.error is not None:
                load.stream_errors += 1
                load.error(f"stream: {result.error}")

    await asyncio.gather(*(one() for _ in range(STREAMS)))


def _files(data_dir: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in data_dir.rglob("*") if p.is_file()}


def _sample(server: Server, load: Load, since: float, phase: str) -> dict[str, Any]:
    files = _files(server.data_dir)
    row: dict[str, Any] = {
        "s": round(time.monotonic() - since),
        "phase": phase,
        "short runs": load.short_done,
        "streams": load.streams_done,
    }
    row |= {f"{name} MB": files.get(name, 0) / MB for name in FILES}
    row["data dir MB"] = sum(files.values()) / MB
    row["RSS MB"] = server.rss_kb() * 1000 / MB
    return row


async def _sampler(server: Server, load: Load, since: float, rows: list[dict[str, Any]]) -> None:
    while True:
        await asyncio.sleep(SAMPLE_S)  # a period, not a wait for anything
        phase = "after load" if load.stop.is_set() else "load"
        row = _sample(server, load, since, phase)
        rows.append(row)
        progress(
            f"soak: {row['s']} s, {row['short runs']} short runs, {row['streams']} streams, "
            f"data dir {row['data dir MB']:.1f} MB, RSS {row['RSS MB']:.0f} MB"
        )


@scenario("soak", "soak: 10,000 short runs and 20 streams, retention one minute", order=60)
async def soak(ctx: Context) -> list[Table]:
    total = ctx.pick(10_000, 1_000)
    retention_s = ctx.pick(60, 10)
    spec = ModelSpec(kind="chunks", chunks=SHORT_CHUNKS, interval_ms=10)
    env = {
        "ADKSTREAM_RUN_RETENTION_S": str(retention_s),
        "ADKSTREAM_SESSION_RETENTION_S": str(retention_s),
    }
    columns = ["s", "phase", "short runs", "streams", *(f"{n} MB" for n in FILES)]
    table = Table(
        title=f"Soak: {total:,} short runs ({SHORT_CHUNKS} chunks, {SHORT_PER_S:g}/s) beside "
        f"{STREAMS} streams of {STREAM_CHUNKS:,} chunks at {spec.interval_ms:g} ms, run and "
        f"session retention {retention_s} s; every {SAMPLE_S:g} s",
        columns=[*columns, "data dir MB", "RSS MB"],
    )
    load = Load()
    rows: list[dict[str, Any]] = []
    async with running(["adkstream"], spec, ctx.log_dir, env=env) as servers:
        server = servers["adkstream"]
        since = time.monotonic()
        rows.append(_sample(server, load, since, "start"))
        sampler = asyncio.create_task(_sampler(server, load, since, rows))
        async with make_client() as client:
            streams = asyncio.create_task(_streams(client, server, load, ctx.reader))
            await _short_runs(client, server, load, total)
            load.stop.set()
            await streams  # the streams in flight end (30 s at most)
            load_s = time.monotonic() - since
            # Past the retention, and a sweep (a tenth of it, at least 1 s) more.
            await asyncio.sleep(retention_s * 1.2 + SAMPLE_S)  # watching, not waiting on it
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        rows.append(_sample(server, load, since, "end"))
    table.rows.extend(rows)
    peak = max(rows, key=lambda row: row["data dir MB"])
    table.notes.append(
        f"load: {load.short_done:,} short runs ({load.short_errors} failed) and "
        f"{load.streams_done} streams ({load.stream_errors} failed) in {load_s:.0f} s; "
        f"data dir peak {peak['data dir MB']:.1f} MB at {peak['s']} s, RSS peak "
        f"{max(row['RSS MB'] for row in rows):.0f} MB"
    )
    for error in load.first_errors:
        table.notes.append(f"first errors: {error}")
    table.notes.append(
        "retention: ADKSTREAM_RUN_RETENTION_S and ADKSTREAM_SESSION_RETENTION_S = "
        f"{retention_s}; the pruner sweeps every {max(retention_s / 10, 1):g} s; each WAL is "
        "truncated once it passes 4 MiB (its checkpointer looks every second)"
    )
    return [table]
