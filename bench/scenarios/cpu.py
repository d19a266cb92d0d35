"""Server CPU for one long stream at full speed: issue 3's table and issue 9's scenario 1.

Every target streams the same answer with no delay; each repeat is one stream read to
its end, and repeats go round-robin over the targets so that drift hits all of them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import targets
from bench.measure import one_stream_cpu, progress, warm_up
from bench.model import ModelSpec
from bench.proc import running
from bench.registry import Context, scenario
from bench.report import Table, median
from bench.targets import Target


async def cpu_table(
    ctx: Context, *, title: str, spec: ModelSpec, lineup: list[Target], repeats: int
) -> Table:
    """Medians over `repeats` of events/s and server CPU per 1,000 events and chunks."""
    runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in lineup}
    async with running([t.server for t in lineup], spec, ctx.log_dir) as servers:
        await asyncio.gather(*(warm_up(servers[t.server], t, reader=ctx.reader) for t in lineup))
        for repeat in range(repeats):
            for target in lineup:
                figures = await one_stream_cpu(servers[target.server], target, reader=ctx.reader)
                runs[target.name].append(figures | {"target": target.name, "repeat": repeat})
            progress(f"{title}: repeat {repeat + 1}/{repeats} done")
    table = Table(
        title=f"{title} ({spec.chunks:,} chunks of the {spec.kind} model, no delay, "
        f"medians of {repeats} runs)",
        columns=[
            "target",
            "model chunks",
            "events sent",
            "events/s",
            "chunks/s",
            "server CPU s",
            "CPU ms/1k events",
            "CPU ms/1k chunks",
            "client CPU s",
            "errors",
        ],
    )
    for target in lineup:
        table.rows.append(_row(target.name, spec.chunks, runs[target.name]))
        table.raw.extend(runs[target.name])
    return table


def _row(name: str, chunks: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in runs if r["error"] is None]
    frames = median([r["frames"] for r in good])
    wall = median([r["wall_s"] for r in good])
    cpu = median([r["server_cpu_s"] for r in good])
    return {
        "target": name,
        "model chunks": chunks,
        "events sent": int(frames) if frames is not None else None,
        "events/s": median([r["frames"] / r["wall_s"] for r in good]),
        "chunks/s": chunks / wall if wall else None,
        "server CPU s": cpu,
        "CPU ms/1k events": median([1e6 * r["server_cpu_s"] / r["frames"] for r in good]),
        "CPU ms/1k chunks": 1e6 * cpu / chunks if cpu is not None else None,
        "client CPU s": median([r["client_cpu_s"] for r in good]),
        "errors": len(runs) - len(good),
    }


@scenario(
    "issue3", "issue 3: events/s and server CPU, adkstream vs a plain run_async endpoint", order=10
)
async def issue3(ctx: Context) -> list[Table]:
    spec = ModelSpec(kind="offline", chunks=2000, interval_ms=0)
    table = await cpu_table(
        ctx,
        title="Issue 3: one 2,000-chunk offline answer",
        spec=spec,
        lineup=[targets.adkstream(0), targets.adkstream(), targets.RAW_ADK],
        repeats=ctx.pick(5, 3),
    )
    table.add_ratio("CPU ms/1k chunks", reference="raw ADK endpoint", label="CPU/chunk vs raw")
    table.notes.append("adkstream's default coalescing window is 30 ms")
    table.notes.append(
        "events sent: SSE data frames the client received (adkstream also sends run.*, "
        "agent.*, message.completed and state.delta events)"
    )
    table.notes.append("server CPU: utime+stime of the server process around one stream")
    return [table]


@scenario("cpu", "issue 9 scenario 1: server CPU per 1,000 model chunks, one stream", order=20)
async def cpu(ctx: Context) -> list[Table]:
    spec = ModelSpec(kind="chunks", chunks=2000, interval_ms=0)
    table = await cpu_table(
        ctx,
        title="Scenario 1: one stream of 4-character chunks at full speed",
        spec=spec,
        lineup=[
            targets.adkstream(),
            targets.adkstream(0),
            targets.RAW_ADK,
            targets.ADK_API,
            targets.FLOOR,
        ],
        repeats=ctx.pick(5, 3),
    )
    table.add_ratio("CPU ms/1k chunks", reference="ADK api server", label="vs ADK api")
    table.add_ratio("CPU ms/1k chunks", reference="floor (no ADK)", label="vs floor")
    table.notes.append("issue 9 goal: adkstream (defaults) <= 0.35 x ADK's server")
    return [table]


# 20,000 chunks: the process's CPU clock counts 10 ms ticks, and 2,000 chunks cost ~5.
CHUNKS = 20_000


@scenario("thoughts", "issue 18: server CPU per 1,000 chunks with thoughts streamed", order=25)
async def thoughts(ctx: Context) -> list[Table]:
    """The same stream with half its chunks thought parts (streamed as reasoning.delta),
    against text only: the goal is within 10% of text only."""
    repeats = ctx.pick(7, 3)
    rows = []
    for kind in ("chunks", "thinking"):
        spec = ModelSpec(kind=kind, chunks=CHUNKS, interval_ms=0)  # type: ignore[arg-type]
        table = await cpu_table(
            ctx,
            title=f"{kind}",
            spec=spec,
            lineup=[targets.adkstream()],
            repeats=repeats,
        )
        [row] = table.rows
        rows.append(row | {"target": "text only" if kind == "chunks" else "half thoughts"})
    result = Table(
        title=f"Issue 18: one stream of {CHUNKS:,} chunks, text only vs half thoughts "
        f"(adkstream defaults, medians of {repeats} runs)",
        columns=["target", "events sent", "server CPU s", "CPU ms/1k chunks"],
        rows=rows,
    )
    result.add_ratio("CPU ms/1k chunks", reference="text only", label="vs text only")
    result.notes.append("issue 18 goal: half thoughts <= 1.10 x text only")
    return [result]
