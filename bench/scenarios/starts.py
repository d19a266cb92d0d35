"""Issue 23 D: what a run start costs, one at a time and 500 at once.

Each run is a one-chunk answer at full speed, read to its end, one run at a time, so the
server's CPU per run is almost all fixed cost: the HTTP request, the run's start, ADK's
Runner up to its model call, and the end. Blocks of runs go round-robin over the
targets, so drift hits all of them; the CPU clock ticks in 10 ms steps, hence blocks of
many runs.

The raw ADK endpoint is the least any server on ADK's `Runner` can spend: a plain
Starlette route over `Runner.run_async` with an in-memory session, nothing stored. A
burst of one-chunk runs all sent at once is nothing but starts: its time to first delta is
what run starts alone allow, without scenario 4's streaming in the way.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import targets
from bench.client import make_client, stream_once
from bench.measure import SETTLE_S, burst, progress, warm_up
from bench.model import ModelSpec
from bench.proc import Server, running
from bench.registry import Context, scenario
from bench.report import Table, median, median_ms
from bench.targets import Target

BURST = 500
"""Scenario 4's largest burst, with its first-delta p99 goal of 0.5 s."""


async def _block(ctx: Context, server: Server, target: Target, runs: int) -> dict[str, Any]:
    """Server CPU of `runs` one-chunk runs in a row (bodies, hence sessions, made first)."""
    async with make_client() as client:
        bodies = [await target.prepare(client, server.base_url) for _ in range(runs)]
        await asyncio.sleep(SETTLE_S)
        before = server.cpu_s()
        results = [
            await stream_once(client, server.base_url, target, body, reader=ctx.reader)
            for body in bodies
        ]
        await asyncio.sleep(SETTLE_S)
        cpu = server.cpu_s() - before
    errors = [r.error for r in results if r.error is not None]
    return {
        "target": target.name,
        "runs": runs,
        "server_cpu_s": cpu,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_median_s": median([r.total_s for r in results]),
    }


@scenario(
    "starts",
    "issue 23 D: run starts, one at a time and 500 at once (one-chunk runs)",
    order=42,
)
async def starts(ctx: Context) -> list[Table]:
    spec = ModelSpec(kind="chunks", chunks=1, interval_ms=0)
    lineup = [targets.adkstream(), targets.RAW_ADK, targets.ADK_API, targets.FLOOR]
    runs, repeats, burst_size = ctx.pick(200, 50), ctx.pick(3, 1), ctx.pick(BURST, 100)
    blocks: dict[str, list[dict[str, Any]]] = {t.name: [] for t in lineup}
    bursts: dict[str, list[dict[str, Any]]] = {t.name: [] for t in lineup}
    async with running([t.server for t in lineup], spec, ctx.log_dir) as servers:
        await asyncio.gather(*(warm_up(servers[t.server], t, reader=ctx.reader) for t in lineup))
        baselines = {t.name: servers[t.server].rss_kb() for t in lineup}
        for repeat in range(repeats):
            for target in lineup:
                server = servers[target.server]
                blocks[target.name].append(await _block(ctx, server, target, runs))
                figures = await burst(
                    server,
                    target,
                    burst_size,
                    reader=ctx.reader,
                    baseline_kb=baselines[target.name],
                )
                bursts[target.name].append(figures | {"target": target.name})
            progress(f"starts: repeat {repeat + 1}/{repeats} done")
    table = Table(
        title=f"Run starts: one-chunk runs, {runs} one at a time and {burst_size} at once "
        f"(medians of {repeats})",
        columns=[
            "target",
            "CPU ms/run",
            "burst CPU ms/run",
            "burst total s",
            "TTFD p50 ms",
            "TTFD p99 ms",
            "errors",
        ],
    )
    for target in lineup:
        one_by_one, at_once = blocks[target.name], bursts[target.name]
        table.raw.extend(one_by_one + at_once)
        table.rows.append(
            {
                "target": target.name,
                "CPU ms/run": median([1000 * b["server_cpu_s"] / b["runs"] for b in one_by_one]),
                "burst CPU ms/run": median(
                    [1000 * b["server_cpu_s"] / burst_size for b in at_once]
                ),
                "burst total s": median([b["wall_s"] for b in at_once]),
                "TTFD p50 ms": median_ms(at_once, "ttfd_median_s"),
                "TTFD p99 ms": median_ms(at_once, "ttfd_p99_s"),
                "errors": sum(b["errors"] for b in one_by_one + at_once),
            }
        )
        first_errors = [b["first_error"] for b in one_by_one + at_once if b["first_error"]]
        if first_errors:
            table.notes.append(f"{target.name}: first error: {first_errors[0]}")
    table.add_ratio("CPU ms/run", reference="floor (no ADK)", label="vs floor")
    table.notes.append(
        "raw ADK endpoint: ADK's Runner with an in-memory session and nothing stored, the "
        "least a server on ADK's Runner spends"
    )
    table.notes.append(
        f"issue 23's goal for scenario 4 at {BURST} streams (200 chunks each): first delta "
        "p99 <= 0.5 s; here the streams are one chunk long, so starts alone load the server"
    )
    return [table]
