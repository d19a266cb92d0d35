"""Issue 23: the real Gemini path. ADK's `Gemini` class (google-genai over HTTP SSE) streams
from the fake Gemini API (`bench.gemini`, a process of its own) in every server:
adkstream with the lean stream on (the default) and off, ADK's api server, and a floor
that proxies the same SSE stream with httpx and re-frames it (no genai, no ADK).

- `gemini_cpu` (scenario A): one stream of 10,000 chunks at full speed, server CPU per
  1,000 chunks, medians of interleaved repeats.
- `gemini_concurrency` (scenario B): 300 concurrent streams of 200 chunks at 10 ms.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench import targets
from bench.model import ModelSpec
from bench.proc import REPO_ROOT, Server, _stop, _wait_ready, free_port
from bench.registry import Context, scenario
from bench.report import Table
from bench.scenarios.concurrency import _ratios, _row, _runs
from bench.scenarios.cpu import cpu_table

LEAN = dataclasses.replace(targets.adkstream(), name="adkstream (lean)")
LEAN_OFF = dataclasses.replace(
    targets.adkstream(), name="adkstream (lean off)", server="adkstream_lean_off"
)
# On the Gemini path nothing sets `turn_complete`: ADK's stream ends with the chunk and
# the aggregate that carry the finish reason.
ADK_API = dataclasses.replace(targets.ADK_API, done=b'"finishReason":"STOP"')
LINEUP = [LEAN, LEAN_OFF, ADK_API, targets.FLOOR]


@contextlib.asynccontextmanager
async def gemini_api(spec: ModelSpec, log_dir: Path) -> AsyncIterator[ModelSpec]:
    """Runs the fake Gemini API for `spec`; yields `spec` pointed at it."""
    server = _spawn_gemini(spec, log_dir)
    try:
        await _wait_ready(server)
        yield dataclasses.replace(spec, kind="gemini", gemini_url=server.base_url)
    finally:
        _stop(server)


def _spawn_gemini(spec: ModelSpec, log_dir: Path) -> Server:
    port = free_port()
    log_path = log_dir / f"gemini-{port}.log"
    command = [sys.executable, "-m", "bench.gemini", "--port", str(port)]
    command += ["--chunks", str(spec.chunks), "--interval-ms", str(spec.interval_ms)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    return Server(kind="gemini", port=port, process=process, log_path=log_path, data_dir=log_dir)


@scenario("gemini_cpu", "issue 23 A: server CPU per 1,000 Gemini chunks, one stream", order=27)
async def gemini_cpu(ctx: Context) -> list[Table]:
    # 10,000 chunks: the CPU clock ticks in 10 ms, 1 ms per 1,000 chunks here.
    base = ModelSpec(kind="gemini", chunks=10_000, interval_ms=0)
    async with gemini_api(base, ctx.log_dir) as spec:
        table = await cpu_table(
            ctx,
            title="Issue 23 A: one stream of Gemini SSE chunks (real Gemini class, fake API)",
            spec=spec,
            lineup=LINEUP,
            repeats=ctx.pick(7, 3),
        )
    table.add_ratio("CPU ms/1k chunks", reference="ADK api server", label="vs ADK api")
    table.add_ratio("CPU ms/1k chunks", reference="floor (no ADK)", label="vs floor")
    table.notes.append("issue 23 goal: adkstream (lean) <= 1.6 x floor and <= 0.2 x ADK's server")
    table.notes.append("the fake Gemini API runs in its own process; its CPU is not counted")
    return [table]


@scenario(
    "gemini_concurrency",
    "issue 23 B: 300 concurrent Gemini streams, 200 chunks at 10 ms",
    order=45,
)
async def gemini_concurrency(ctx: Context) -> list[Table]:
    base = ModelSpec(kind="gemini", chunks=200, interval_ms=10)
    streams, repeats = ctx.pick(300, 100), ctx.pick(3, 1)
    ideal_s = base.chunks * base.interval_ms / 1000
    table = Table(
        title=f"Issue 23 B: {streams} concurrent Gemini streams of {base.chunks} chunks at "
        f"{base.interval_ms:g} ms (ideal {ideal_s:.1f} s; medians of {repeats} runs)",
        columns=[
            "streams",
            "target",
            "total s",
            "vs floor",
            "vs ADK api",
            "errors",
            "TTFD p50 ms",
            "TTFD p99 ms",
            "server CPU s",
            "client CPU s",
        ],
    )
    rows: list[dict[str, Any]] = []
    async with gemini_api(base, ctx.log_dir) as spec:
        for target in LINEUP:
            runs = await _runs(ctx, spec, target, streams=streams, repeats=repeats)
            rows.append(_row(streams, target.name, runs))
            table.raw.extend(runs)
            errors = [r["first_error"] for r in runs if r["first_error"]]
            if errors:
                table.notes.append(f"{target.name}: first error: {errors[0]}")
    table.rows.extend(_ratios(rows))
    table.notes.append("issue 23 goal: adkstream (lean) total <= 1.3 x floor, 0 errors")
    table.notes.append("one fresh server per target; one fake Gemini API process for all")
    return [table]
