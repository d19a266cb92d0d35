"""Issue 9 scenario 3: per-chunk added latency, one stream at a time, 200 chunks at 10 ms.

The model (and the floor) log the unix time of each chunk's yield; the client notes when
each chunk's text arrived. Coalescing trades this latency for fewer events: its goal is a
p99 within the window plus 5 ms, and a median under 1 ms with coalescing off.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import targets
from bench.measure import chunk_lag, progress, warm_up
from bench.model import ModelSpec
from bench.proc import running
from bench.registry import Context, scenario
from bench.report import Table, median


@scenario("lag", "issue 9 scenario 3: per-chunk added latency, coalescing off and on", order=35)
async def lag(ctx: Context) -> list[Table]:
    spec = ModelSpec(kind="chunks", chunks=200, interval_ms=10, record_yields=True)
    lineup = [
        targets.adkstream(),
        targets.adkstream(0),
        targets.RAW_ADK,
        targets.ADK_API,
        targets.FLOOR,
    ]
    repeats = ctx.pick(3, 1)
    runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in lineup}
    async with running([t.server for t in lineup], spec, ctx.log_dir) as servers:
        await asyncio.gather(*(warm_up(servers[t.server], t, reader=ctx.reader) for t in lineup))
        for repeat in range(repeats):
            for target in lineup:
                figures = await chunk_lag(servers[target.server], target, reader=ctx.reader)
                runs[target.name].append(figures | {"target": target.name, "repeat": repeat})
            progress(f"lag: repeat {repeat + 1}/{repeats} done")
    table = Table(
        title=f"Scenario 3: added latency per chunk, model yield to client receipt "
        f"({spec.chunks} chunks at {spec.interval_ms:g} ms, medians of {repeats} streams)",
        columns=["target", "deltas", "chunks", "median ms", "p99 ms", "max ms", "errors"],
    )
    for target in lineup:
        rows = runs[target.name]
        table.rows.append(
            {
                "target": target.name,
                "deltas": median([r["deltas"] for r in rows]),
                "chunks": median([r["chunks_matched"] for r in rows]),
                "median ms": _ms(median([r["lag_median_s"] for r in rows])),
                "p99 ms": _ms(median([r["lag_p99_s"] for r in rows])),
                "max ms": _ms(max((r["lag_max_s"] or 0.0) for r in rows)),
                "errors": sum(r["error"] is not None for r in rows),
            }
        )
        table.raw.extend(rows)
    table.notes.append(
        "issue 9 goal: coalescing off median <= 1 ms; default window (30 ms) p99 <= 35 ms"
    )
    return [table]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
