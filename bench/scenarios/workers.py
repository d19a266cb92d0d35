"""Issue 9 scenario 5: the same 500 streams with two worker processes sharing the Redis log.

adkstream's embedded default (SQLite) locks its data directory to one process, so the
workers run the multi-replica setup of the README: two adkstream processes on two ports,
ADK sessions in PostgreSQL (`ADKSTREAM_DATABASE_URL`) and the run log in Redis
(`ADKSTREAM_REDIS_URL`, a key prefix of this run's own). The load generator (one
process, as in scenario 4) splits the streams between them, round-robin. The reference
is one of the same processes taking all the streams alone; bursts on one and on two
workers alternate, so that load from elsewhere on the machine hits both. Scenario 4's
one-process figure on the embedded default is shown when it ran in the same invocation.

Two Redis setups: the URL as the README gives it, and the same URL with
`max_connections` raised. adkstream's Redis pools hold 128 connections each and make a
command wait for a free one (`adkstream.runner.redis_pool`); the second setup shows
what that waiting costs a burst of a few hundred new streams.

The load generator, PostgreSQL and Redis share the machine's cores with the workers, so
each setup's notes give the ratio two workers could reach at best here: one worker's
time over the two-worker bursts' busy CPU time spread over every core.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from typing import Any

import httpx

from bench import services, targets
from bench.client import Reader, client_cpu_s, make_client, stream_once
from bench.measure import progress, wait_idle, warm_up
from bench.model import ModelSpec
from bench.proc import Server, cpu_since, machine_cpu, processes_cpu, replicas
from bench.registry import Context, scenario
from bench.report import Table, median, median_ms, percentile
from bench.targets import Target

PREPARE_CONCURRENCY = 8
REDIS_POOL = 1000
SETUPS: list[tuple[str, int | None]] = [
    ("PG + Redis (README URL)", None),
    (f"PG + Redis, max_connections={REDIS_POOL}", REDIS_POOL),
]


async def _sessions(
    client: httpx.AsyncClient, plan: list[Server], target: Target
) -> list[dict[str, Any]]:
    """One request body per stream, its session created on the worker that will run it."""
    limit = asyncio.Semaphore(PREPARE_CONCURRENCY)

    async def one(server: Server) -> dict[str, Any]:
        async with limit:
            return await target.prepare(client, server.base_url)

    return list(await asyncio.gather(*(one(server) for server in plan)))


async def spread_burst(
    servers: list[Server], target: Target, streams: int, *, reader: Reader, baselines: list[int]
) -> tuple[dict[str, Any], list[str]]:
    """`streams` concurrent streams split round-robin over `servers`.

    Returns the figures and the ids of the sessions it created (to delete afterwards).
    Memory per stream is the sum over the workers of (peak RSS - idle baseline), over
    `streams`; server CPU is summed over the workers.
    """
    plan = [servers[i % len(servers)] for i in range(streams)]
    async with make_client() as client:
        bodies = await _sessions(client, plan, target)
        for server in servers:
            await wait_idle(server)
        for server in servers:
            server.reset_peak()
        server_before = [s.cpu_s() for s in servers]
        services_before = processes_cpu(services.SERVICE_PROCESSES)
        machine_before = machine_cpu()
        client_before = client_cpu_s()
        start = time.perf_counter()
        results = await asyncio.gather(
            *(
                stream_once(client, server.base_url, target, body, reader=reader)
                for server, body in zip(plan, bodies, strict=True)
            )
        )
        wall = time.perf_counter() - start
        client_after = client_cpu_s()
        machine_after = machine_cpu()
        services_after = processes_cpu(services.SERVICE_PROCESSES)
        server_after = [s.cpu_s() for s in servers]
        peaks = [s.peak_rss_kb() for s in servers]
    ttfds = [r.ttfd_s for r in results if r.ttfd_s is not None]
    errors = [r.error for r in results if r.error is not None]
    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    server_each = [a - b for a, b in zip(server_after, server_before, strict=True)]
    services_cpu = cpu_since(services_before, services_after)
    client_cpu = client_after - client_before
    figures: dict[str, Any] = {
        "workers": len(servers),
        "streams": streams,
        "wall_s": wall,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "ttfd_median_s": median(ttfds),
        "ttfd_p99_s": percentile(ttfds, 99),
        "frames": sum(r.frames for r in results),
        "peak_kb_per_stream": sum(
            max(peak - base, 0) for peak, base in zip(peaks, baselines, strict=True)
        )
        / streams,
        "server_cpu_s": sum(server_each),
        "server_cpu_s_each": server_each,
        "services_cpu_s": services_cpu,
        "client_cpu_s": client_cpu,
        "machine_busy_pct": 100 * busy / total if total else None,
        "machine_busy_s": busy,
        # What the rest of the machine took meanwhile (other people's work, the kernel).
        "other_cpu_s": busy - sum(server_each) - services_cpu - client_cpu,
    }
    return figures, [str(body["session_id"]) for body in bodies]


def _row(label: str, setup: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    total = median([r["wall_s"] for r in runs])
    streams = runs[0]["streams"]
    return {
        "workers": label,
        "setup": setup,
        "streams": streams,
        "total s": total,
        "streams/s": streams / total if total else None,
        "errors": sum(r["errors"] for r in runs),
        "TTFD p50 ms": median_ms(runs, "ttfd_median_s"),
        "TTFD p99 ms": median_ms(runs, "ttfd_p99_s"),
        "peak KB/stream": median([r["peak_kb_per_stream"] for r in runs]),
        "server CPU s": median([r["server_cpu_s"] for r in runs]),
        "PG+Redis CPU s": median([r["services_cpu_s"] for r in runs]),
        "client CPU s": median([r["client_cpu_s"] for r in runs]),
        "client busy %": median([100 * r["client_cpu_s"] / r["wall_s"] for r in runs]),
        "machine busy %": median([r["machine_busy_pct"] for r in runs]),
        "other CPU s": median([r["other_cpu_s"] for r in runs]),
    }


def _embedded_row(ctx: Context, streams: int) -> dict[str, Any] | None:
    """Scenario 4's adkstream row at `streams`, if it ran before in this invocation."""
    for row in ctx.shared.get("concurrency", []):
        if row.get("streams") == streams and row.get("target") == "adkstream":
            total = row.get("total s")
            return {
                "workers": "1 (scenario 4)",
                "setup": "embedded SQLite (default)",
                "streams": streams,
                "total s": total,
                "streams/s": streams / total if total else None,
                "errors": row.get("errors"),
                "TTFD p50 ms": row.get("TTFD p50 ms"),
                "TTFD p99 ms": row.get("TTFD p99 ms"),
                "peak KB/stream": row.get("peak KB/stream"),
                "server CPU s": row.get("server CPU s"),
                "client CPU s": row.get("client CPU s"),
                "client busy %": row.get("client busy %"),
            }
    return None


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.*)$")


def _logged_exceptions(servers: list[Server]) -> Counter[str]:
    """The final lines of the tracebacks in the servers' logs (what failed streams hit)."""
    found: Counter[str] = Counter()
    for server in servers:
        for line in server.log_tail(lines=1_000_000).splitlines():
            match = _EXCEPTION_LINE.match(line)
            if match:
                found[f"{match[1]}: {match[2][:90]}"] += 1
    return found


def _ceiling_note(setup: str, one: dict[str, Any], two_runs: list[dict[str, Any]]) -> str | None:
    """How far two workers could outrun one here: the two-worker bursts' busy CPU time
    (workers, PG+Redis, load generator, kernel: all share this machine's cores), spread
    over every core at 100 %, against one worker's total time."""
    busy = median([r["machine_busy_s"] for r in two_runs])
    single = one["total s"]
    cores = os.cpu_count() or 1
    if not busy or not single:
        return None
    fastest = busy / cores
    return (
        f"{setup}: two workers kept the machine busy {busy:.1f} CPU s per burst; on "
        f"{cores} cores at 100 % that takes {fastest:.2f} s at best, so the ratio over one "
        f"worker ({single:.2f} s) cannot pass {single / fastest:.2f} x on this machine"
    )


def _ratio(row: dict[str, Any], reference: dict[str, Any]) -> float | None:
    ref, value = reference["streams/s"], row["streams/s"]
    return value / ref if ref and value else None


async def _setup_runs(
    ctx: Context,
    spec: ModelSpec,
    target: Target,
    env: dict[str, str],
    setup: str,
    streams: int,
    repeats: int,
    table: Table,
) -> dict[int, list[dict[str, Any]]]:
    """Bursts on one and on two workers of one setup, alternating which goes first."""
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    async with replicas("adkstream", 2, spec, ctx.log_dir, env=env) as pair:
        warm_ups = [
            str((await warm_up(server, target, reader=ctx.reader))["session_id"]) for server in pair
        ]
        failures = 0
        baselines = [server.rss_kb() for server in pair]
        for repeat in range(repeats):
            for count in (1, 2) if repeat % 2 == 0 else (2, 1):
                figures, sessions = await spread_burst(
                    pair[:count], target, streams, reader=ctx.reader, baselines=baselines[:count]
                )
                runs[count].append(figures | {"repeat": repeat})
                progress(
                    f"workers: {setup}: {streams} streams on {count} worker(s), run "
                    f"{repeat + 1}/{repeats}: {figures['wall_s']:.1f} s, "
                    f"{figures['errors']} errors"
                )
                # Outside the clock: PostgreSQL is shared, leave nothing behind.
                failures += await services.delete_sessions(pair[0].base_url, sessions)
        failures += await services.delete_sessions(pair[0].base_url, warm_ups)
        causes = _logged_exceptions(pair)
    if causes:
        listed = "; ".join(f"{count} x {line}" for line, count in causes.most_common(3))
        table.notes.append(f"{setup}: exceptions in the workers' logs: {listed}")
    if failures:
        table.notes.append(f"{setup}: {failures} sessions could not be deleted from PostgreSQL")
    return runs


@scenario(
    "workers",
    "issue 9 scenario 5: 500 streams on one and two workers sharing PostgreSQL and Redis",
    order=45,
)
async def workers(ctx: Context) -> list[Table]:
    spec = ModelSpec(kind="chunks", chunks=200, interval_ms=10)
    streams, repeats = ctx.pick(500, 100), ctx.pick(3, 1)
    target = targets.adkstream()
    table = Table(
        title=f"Scenario 5: {streams} concurrent streams of {spec.chunks} chunks at "
        f"{spec.interval_ms:g} ms on one and two worker processes (ideal "
        f"{spec.chunks * spec.interval_ms / 1000:.1f} s; medians of {repeats} runs)",
        columns=[
            "workers",
            "setup",
            "streams",
            "total s",
            "streams/s",
            "vs 1 worker",
            "errors",
            "TTFD p50 ms",
            "TTFD p99 ms",
            "peak KB/stream",
            "server CPU s",
            "PG+Redis CPU s",
            "client CPU s",
            "client busy %",
            "machine busy %",
            "other CPU s",
        ],
    )
    down = services.missing()
    if down:
        table.notes.append(f"not run: {', '.join(down)} unreachable (bash scripts/services.sh)")
        return [table]
    last_one: dict[str, Any] | None = None
    async with services.redis_prefix("workers") as prefix:
        for setup, pool in SETUPS:
            env = services.scale_out_env(f"{prefix}-{pool or 'default'}", redis_pool=pool)
            runs = await _setup_runs(ctx, spec, target, env, setup, streams, repeats, table)
            one, two = _row("1", setup, runs[1]), _row("2", setup, runs[2])
            for row in (one, two):
                row["vs 1 worker"] = _ratio(row, one)
            table.rows.extend([one, two])
            last_one = one
            for count in (1, 2):
                table.raw.extend(r | {"setup": setup} for r in runs[count])
                first_errors = [r["first_error"] for r in runs[count] if r["first_error"]]
                if first_errors:
                    table.notes.append(
                        f"{setup}, {count} worker(s): first error: {first_errors[0]}"
                    )
            ceiling = _ceiling_note(setup, one, runs[2])
            if ceiling is not None:
                table.notes.append(ceiling)
            each = [median([r["server_cpu_s_each"][i] for r in runs[2]]) for i in range(2)]
            if None not in each:
                table.notes.append(
                    f"{setup}, 2 workers: server CPU s each {each[0]:.1f} + {each[1]:.1f}"
                )
    embedded = _embedded_row(ctx, streams)
    if embedded is not None and last_one is not None:
        embedded["vs 1 worker"] = _ratio(embedded, last_one)
        table.rows.append(embedded)
    table.notes.append(
        "workers: `bench.servers adkstream` (scenario 4's app) with ADKSTREAM_DATABASE_URL="
        f"{services.DATABASE_URL} and ADKSTREAM_REDIS_URL={services.REDIS_URL} (second "
        f"setup: ?max_connections={REDIS_POOL}); the load generator splits the streams "
        "round-robin; sessions are created before the clock"
    )
    table.notes.append(
        "vs 1 worker: throughput (streams/s) over the same setup's 1-worker row (scenario "
        "4's row: over the last setup's); failed streams end early, so rows with errors "
        f"did less work than {streams} streams"
    )
    if embedded is None:
        table.notes.append("scenario 4 did not run in this invocation: no embedded-default row")
    table.notes.append(
        "PG+Redis CPU s: the postgres and redis-server processes (all their clients); "
        "machine busy %: all CPUs, anyone's work; other CPU s: the machine's busy time "
        "minus the workers', the load generator's and PG+Redis's (others' work, kernel)"
    )
    table.notes.append("issue 9 goal: two workers >= 1.7 x the one-worker throughput at 500")
    return [table]
