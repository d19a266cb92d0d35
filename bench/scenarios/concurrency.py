"""Issue 9 scenario 4: 100 and 500 concurrent streams of 200 chunks at 10 ms (100 chunks/s).

Each target and level gets a fresh server process, warmed up by one stream, whose idle
RSS is the memory baseline; each run resets the peak (VmHWM), then memory per stream is
(peak - baseline) / streams.
"""

from __future__ import annotations

from typing import Any

from bench import targets
from bench.measure import burst, progress, warm_up
from bench.model import ModelSpec
from bench.proc import running
from bench.registry import Context, scenario
from bench.report import Table, median, median_ms
from bench.targets import Target


async def _runs(
    ctx: Context, spec: ModelSpec, target: Target, *, streams: int, repeats: int
) -> list[dict[str, Any]]:
    """`repeats` bursts of `streams` streams against one fresh server."""
    runs = []
    async with running([target.server], spec, ctx.log_dir) as servers:
        server = servers[target.server]
        await warm_up(server, target, reader=ctx.reader)
        baseline = server.rss_kb()
        for repeat in range(repeats):
            figures = await burst(server, target, streams, reader=ctx.reader, baseline_kb=baseline)
            runs.append(figures | {"target": target.name, "streams": streams, "repeat": repeat})
            progress(
                f"concurrency: {streams} x {target.name} run {repeat + 1}/{repeats}: "
                f"{figures['wall_s']:.1f} s, {figures['errors']} errors"
            )
    return runs


# adkstream with coalescing off runs at 100 streams only: at 500 it takes about as long
# as ADK's server (70 s a run), which would push the full run past its 15 minutes.
COALESCE_OFF_MAX_STREAMS = 100


@scenario(
    "concurrency",
    "issue 9 scenario 4: 100 and 500 concurrent streams, 200 chunks at 10 ms",
    order=40,
)
async def concurrency(ctx: Context) -> list[Table]:
    spec = ModelSpec(kind="chunks", chunks=200, interval_ms=10)
    levels, repeats = ctx.pick((100, 500), (50,)), ctx.pick(3, 1)
    ideal_s = spec.chunks * spec.interval_ms / 1000
    table = Table(
        title=f"Scenario 4: concurrent streams of {spec.chunks} chunks at "
        f"{spec.interval_ms:g} ms (ideal {ideal_s:.1f} s; medians of {repeats} runs)",
        columns=[
            "streams",
            "target",
            "total s",
            "vs floor",
            "vs ADK api",
            "errors",
            "TTFD p50 ms",
            "TTFD p99 ms",
            "peak KB/stream",
            "server CPU s",
            "client CPU s",
            "client busy %",
        ],
    )
    for streams in levels:
        await _level(ctx, table, spec=spec, streams=streams, repeats=repeats)
    # Scenario 5 (`workers`) compares its workers with this one-process figure.
    ctx.shared["concurrency"] = [dict(row) for row in table.rows]
    table.notes.append("errors: failed streams summed over all runs")
    table.notes.append("one fresh server per target and level, its runs one after another")
    table.notes.append(
        f"adkstream coalesce=0ms runs up to {COALESCE_OFF_MAX_STREAMS} streams (time budget)"
    )
    table.notes.append(
        "issue 9 goal at 500: 0 errors, total <= 1.5 x floor, TTFD p99 <= 500 ms, <= 300 KB/stream"
    )
    return [table]


async def _level(
    ctx: Context, table: Table, *, spec: ModelSpec, streams: int, repeats: int
) -> None:
    """Adds one row per target for `streams` concurrent streams."""
    lineup = [
        targets.adkstream(),
        targets.adkstream(0),
        targets.ADKSTREAM_ADK,
        targets.ADK_API,
        targets.FLOOR,
    ]
    if streams > COALESCE_OFF_MAX_STREAMS:
        lineup.pop(1)
    rows = []
    for target in lineup:
        runs = await _runs(ctx, spec, target, streams=streams, repeats=repeats)
        rows.append(_row(streams, target.name, runs))
        table.raw.extend(runs)
        first_errors = [r["first_error"] for r in runs if r["first_error"]]
        if first_errors:
            table.notes.append(f"{streams} x {target.name}: first error: {first_errors[0]}")
    table.rows.extend(_ratios(rows))


def _row(streams: int, name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "streams": streams,
        "target": name,
        "total s": median([r["wall_s"] for r in runs]),
        "errors": sum(r["errors"] for r in runs),
        "TTFD p50 ms": median_ms(runs, "ttfd_median_s"),
        "TTFD p99 ms": median_ms(runs, "ttfd_p99_s"),
        "peak KB/stream": median([r["peak_kb_per_stream"] for r in runs]),
        "server CPU s": median([r["server_cpu_s"] for r in runs]),
        "client CPU s": median([r["client_cpu_s"] for r in runs]),
        # The load generator's share of the wall time: near 100 % it, not the server, sets
        # the pace (checked against the floor, the fastest server).
        "client busy %": median([100 * r["client_cpu_s"] / r["wall_s"] for r in runs]),
    }


def _ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Total time against the floor's and ADK's, within one level of concurrency."""
    for label, name in (("vs floor", "floor (no ADK)"), ("vs ADK api", "ADK api server")):
        ref = next((r["total s"] for r in rows if r["target"] == name), None)
        for row in rows:
            row[label] = row["total s"] / ref if ref and row["total s"] else None
    return rows
