"""Issue 9 scenario 2: time to first delta, one request at a time, 200 chunks at 10 ms.

Each request is closed at its first delta (the rest of the answer does not change the
figure, and reading it would cost 2 s a request); the server then cancels the run.
TTFD counts from sending the run request (sessions are created before: see `targets`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import targets
from bench.measure import first_deltas, progress, warm_up
from bench.model import ModelSpec
from bench.proc import running
from bench.registry import Context, scenario
from bench.report import Table, median


@scenario(
    "ttfd", "issue 9 scenario 2: time to first delta, 50 requests, 200 chunks at 10 ms", order=30
)
async def ttfd(ctx: Context) -> list[Table]:
    spec = ModelSpec(kind="chunks", chunks=200, interval_ms=10)
    lineup = [
        targets.adkstream(),
        targets.adkstream(0),
        targets.RAW_ADK,
        targets.ADK_API,
        targets.FLOOR,
    ]
    requests, repeats = ctx.pick(50, 20), ctx.pick(3, 1)
    runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in lineup}
    async with running([t.server for t in lineup], spec, ctx.log_dir) as servers:
        await asyncio.gather(*(warm_up(servers[t.server], t, reader=ctx.reader) for t in lineup))
        for repeat in range(repeats):
            for target in lineup:
                figures = await first_deltas(
                    servers[target.server], target, requests, reader=ctx.reader
                )
                runs[target.name].append(figures | {"target": target.name, "repeat": repeat})
            progress(f"ttfd: repeat {repeat + 1}/{repeats} done")
    table = Table(
        title=f"Scenario 2: time to first delta ({requests} sequential requests x {repeats}, "
        f"{spec.chunks} chunks at {spec.interval_ms:g} ms; medians over repeats)",
        columns=["target", "TTFD median ms", "TTFD p90 ms", "TTFD max ms", "errors"],
    )
    for target in lineup:
        rows = runs[target.name]
        table.rows.append(
            {
                "target": target.name,
                "TTFD median ms": _ms(median([r["ttfd_median_s"] for r in rows])),
                "TTFD p90 ms": _ms(median([r["ttfd_p90_s"] for r in rows])),
                "TTFD max ms": _ms(max((r["ttfd_max_s"] or 0) for r in rows)),
                "errors": sum(r["errors"] for r in rows),
            }
        )
        table.raw.extend(rows)
    table.add_ratio("TTFD median ms", reference="ADK api server", label="vs ADK api")
    table.add_ratio("TTFD median ms", reference="floor (no ADK)", label="vs floor")
    table.notes.append("the model sleeps 10 ms before its first chunk: 10 ms is the ideal")
    table.notes.append("issue 9 goal: adkstream median <= 1.2 x the floor's")
    return [table]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
