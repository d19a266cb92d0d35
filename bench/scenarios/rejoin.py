"""Issue 4's benchmark: rejoin latency per log backend, and memory under stalled subscribers.

1. Time from a rejoin request (`GET /v1/runs/{id}/events` with `Last-Event-ID: k`, the
   clock started before connecting) to its first replayed event (the first `data:` line
   received), over 200 rejoins per row, for the embedded SQLite log and the Redis log
   (the in-memory log cannot be chosen in a server). Each rejoin picks k at random below
   the run's last stored seq, so the first event is always a replayed one; the rows split
   runs still running (the writer's process serves them from its hot copy) from runs that
   ended (read back from storage), and, with Redis, the replica that drives the run from
   another replica sharing the log.
2. Server memory (VmRSS) with 100 subscribers of one run that stop reading after their
   first frame, before and after the run writes 10,000 deltas (coalescing off, so each
   model chunk is one delta), beside the same run with no subscriber, on fresh servers.
   The model waits at a gate (`ModelSpec.gate`) until the subscribers are attached.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from bench import http1, services
from bench.measure import progress, wait_idle
from bench.model import GATE_FILE, ModelSpec
from bench.proc import Server, replicas, running
from bench.registry import Context, scenario
from bench.report import Table, median, percentile
from bench.subscribers import MSS, RCVBUF, StalledSubscriber, send_queue_bytes
from bench.targets import PROMPT, Target

# Markers only: the first `data:` line is the first replayed event.
FIRST_EVENT = Target(
    name="rejoin",
    server="adkstream",
    path="",
    delta=b"data:",
    done=b"event: run.completed",
    errors=(b"event: run.failed",),
)
FIRST_DELTA = Target(name="subscriber", server="adkstream", path="", delta=b"event: message.delta")
POLL_S = 0.1
RUN_TIMEOUT_S = 300.0
PAUSE_S = 0.005  # between rejoins: the server tears the last one down meanwhile
WARM_REJOINS = 10  # per server and phase, not counted
MIN_SEQ = 50  # the runs have this many events before the rejoins start
RESUME_TIMEOUT_S = 120.0
# The 10,000-delta run is paced (1 ms a chunk, about 1,000 deltas/s): subscribers get
# deltas one by one until their connection backs up, instead of a few merged frames.
MEMORY_INTERVAL_MS = 1.0


async def start_background(server: Server, **body: Any) -> str:
    """`POST /v1/runs` with `background: true`: the run id (the answer comes at once)."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        response = await client.post(
            server.base_url + "/v1/runs",
            json={"message": PROMPT, "background": True} | body,
        )
    if response.status_code != 202:
        raise RuntimeError(f"background run: HTTP {response.status_code}: {response.text}")
    return str(response.json()["run_id"])


async def get_run(client: httpx.AsyncClient, server: Server, run_id: str) -> dict[str, Any]:
    response = await client.get(f"{server.base_url}/v1/runs/{run_id}")
    response.raise_for_status()
    record: dict[str, Any] = response.json()
    return record


async def wait_run(
    server: Server, run_id: str, *, min_seq: int | None = None, timeout_s: float = RUN_TIMEOUT_S
) -> dict[str, Any]:
    """Polls the run until it has `min_seq` events (or, without it, until it ended)."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        for _ in range(int(timeout_s / POLL_S)):
            record = await get_run(client, server, run_id)
            if min_seq is not None and record["last_seq"] >= min_seq:
                return record
            if record["status"] != "running":
                if min_seq is not None:
                    raise RuntimeError(f"run {run_id} ended at seq {record['last_seq']}")
                return record
            await asyncio.sleep(POLL_S)
    raise RuntimeError(f"run {run_id} still running after {timeout_s:.0f} s")


async def rejoin_once(server: Server, run_id: str, after: int) -> dict[str, Any]:
    """One rejoin with `Last-Event-ID: after`, closed at its first event."""
    result = await http1.get(
        server.port,
        f"/v1/runs/{run_id}/events",
        FIRST_EVENT,
        headers={"Last-Event-ID": str(after)},
        first_delta_only=True,
        record=True,
    )
    error = result.error
    first_seq = None
    if result.received:
        first_seq = json.loads(result.received[0][1][len(b"data:") :]).get("seq")
        if error is None and (not isinstance(first_seq, int) or first_seq <= after):
            error = f"first event {first_seq} is not after {after}"
    elif error is None:
        error = "no event"
    return {"after": after, "first_seq": first_seq, "seconds": result.ttfd_s, "error": error}


async def rejoin_phase(
    servers: list[tuple[str, Server]],
    run_ids: list[str],
    *,
    state: str,
    rejoins: int,
    rng: random.Random,
) -> dict[str, list[dict[str, Any]]]:
    """`rejoins` rejoins per server (after WARM_REJOINS not counted), alternating servers
    and runs; a rejoin counts for `state` only if the run was in it just before."""
    samples: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in servers}
    async with httpx.AsyncClient(timeout=30.0) as client:
        for i in range(WARM_REJOINS + rejoins):
            for label, server in servers:
                run_id = run_ids[i % len(run_ids)]
                record = await get_run(client, server, run_id)
                running_now = record["status"] == "running"
                if running_now != (state == "running") or record["last_seq"] < 2:
                    continue
                sample = await rejoin_once(server, run_id, rng.randint(1, record["last_seq"] - 1))
                if i >= WARM_REJOINS:
                    samples[label].append(sample | {"last_seq": record["last_seq"]})
                await asyncio.sleep(PAUSE_S)
    return samples


def _latency_row(
    backend: str, served_by: str, state: str, samples: list[dict[str, Any]]
) -> dict[str, Any]:
    times = [s["seconds"] * 1000 for s in samples if s["error"] is None and s["seconds"]]
    return {
        "log": backend,
        "served by": served_by,
        "run": state,
        "rejoins": len(samples),
        "median ms": median(times),
        "p90 ms": percentile(times, 90),
        "p99 ms": percentile(times, 99),
        "max ms": max(times, default=None),
        "errors": sum(s["error"] is not None for s in samples),
        "events in log": median([s["last_seq"] for s in samples]),
    }


@asynccontextmanager
async def _servers(
    ctx: Context, spec: ModelSpec, prefix: str | None
) -> AsyncIterator[list[Server]]:
    """One server on the embedded default; with a Redis `prefix`, two sharing that log."""
    if prefix is None:
        async with running(["adkstream"], spec, ctx.log_dir) as started:
            yield [started["adkstream"]]
        return
    env = services.scale_out_env(prefix, postgres=False)
    async with replicas("adkstream", 2, spec, ctx.log_dir, env=env) as group:
        yield group


async def rejoin_latency(
    ctx: Context, backend: str, *, rejoins: int, spec: ModelSpec, prefix: str | None
) -> list[dict[str, Any]]:
    """The rows of one backend: running runs, then the same runs once ended."""
    rng = random.Random(f"rejoin-{backend}")
    rows: list[dict[str, Any]] = []
    async with _servers(ctx, spec, prefix) as group:
        labels = ["the writer"] if len(group) == 1 else ["the writer", "another replica"]
        servers = list(zip(labels, group, strict=True))
        writer = group[0]
        run_ids = [await start_background(writer) for _ in range(2)]
        for run_id in run_ids:
            await wait_run(writer, run_id, min_seq=MIN_SEQ)
        for state in ("running", "ended"):
            if state == "ended":
                for run_id in run_ids:
                    await wait_run(writer, run_id)
            samples = await rejoin_phase(servers, run_ids, state=state, rejoins=rejoins, rng=rng)
            for label, _ in servers:
                rows.append(_latency_row(backend, label, state, samples[label]))
                errors = [s["error"] for s in samples[label] if s["error"]]
                if errors:
                    rows[-1]["first error"] = errors[0]
            progress(f"rejoin: {backend}, {state} runs: {rejoins} rejoins per server done")
    return rows


async def memory_case(
    ctx: Context, backend: str, *, subscribers: int, spec: ModelSpec, prefix: str | None
) -> dict[str, Any]:
    """One fresh server: RSS before and after one gated run writes `spec.chunks` deltas."""
    env = None if prefix is None else services.scale_out_env(prefix, postgres=False)
    async with running(["adkstream"], spec, ctx.log_dir, env=env) as servers:
        server = servers["adkstream"]
        gate = server.data_dir / GATE_FILE
        # Warm-up: a run that streams (gate open) with one reader, cancelled early.
        gate.touch()
        warm = await start_background(server, coalesce_ms=0)
        first = await http1.get(
            server.port,
            f"/v1/runs/{warm}/events",
            FIRST_DELTA,
            first_delta_only=True,
            record=True,
        )
        # The size of one delta's SSE frame: what an unmerged backlog costs per delta.
        frame_bytes = _frame_bytes(first.received[-1][1]) if first.received else None
        await wait_run(server, warm, min_seq=MIN_SEQ)
        async with httpx.AsyncClient(timeout=30.0) as client:
            await client.post(f"{server.base_url}/v1/runs/{warm}/cancel")
        await wait_run(server, warm)
        gate.unlink()

        run_id = await start_background(server, coalesce_ms=0)  # waits at the gate
        path = f"/v1/runs/{run_id}/events"
        stalled = [await StalledSubscriber.open(server.port, path) for _ in range(subscribers)]
        try:
            await wait_idle(server)
            before = server.rss_kb()
            server.reset_peak()
            started = time.perf_counter()
            gate.touch()
            record = await wait_run(server, run_id)
            write_s = time.perf_counter() - started
            await wait_idle(server)
            after = server.rss_kb()
            peak = server.peak_rss_kb()
            queued = send_queue_bytes(server.port)
            resumed = await asyncio.gather(*(s.resume(timeout_s=RESUME_TIMEOUT_S) for s in stalled))
        finally:
            for subscriber in stalled:
                subscriber.close()
    return {
        "backend": backend,
        "subscribers": subscribers,
        "status": record["status"],
        "events": record["last_seq"],
        "write_s": write_s,
        "rss_before_kb": before,
        "rss_after_kb": after,
        "peak_kb": peak,
        "send_queue_kb": queued / 1024,
        "delta_frame_bytes": frame_bytes,
        "resumed_ok": sum(resumed),
        "frames_per_subscriber": median([s.frames for s in stalled]),
    }


def _frame_bytes(data_line: bytes) -> int:
    """Bytes of the SSE frame around a delta's `data:` line (`id:`, `event:`, blank line)."""
    seq = json.loads(data_line[len(b"data:") :])["seq"]
    return len(f"id: {seq}\nevent: message.delta\n".encode()) + len(data_line) + 2


def _memory_row(case: dict[str, Any], control: dict[str, Any] | None) -> dict[str, Any]:
    growth = (case["rss_after_kb"] - case["rss_before_kb"]) / 1024
    row: dict[str, Any] = {
        "log": case["backend"],
        "subscribers": case["subscribers"],
        "events written": case["events"],
        "write s": case["write_s"],
        "RSS before MB": case["rss_before_kb"] / 1024,
        "RSS after MB": case["rss_after_kb"] / 1024,
        "growth MB": growth,
        "peak - before MB": (case["peak_kb"] - case["rss_before_kb"]) / 1024,
        "KB/subscriber": None,
        "kernel send-Q KB/sub": case["send_queue_kb"] / case["subscribers"]
        if case["subscribers"]
        else None,
        "resumed to the end": f"{case['resumed_ok']}/{case['subscribers']}"
        if case["subscribers"]
        else "-",
        "frames/subscriber": case["frames_per_subscriber"],
    }
    if control is not None and case["subscribers"]:
        control_growth = (control["rss_after_kb"] - control["rss_before_kb"]) / 1024
        row["KB/subscriber"] = (growth - control_growth) * 1024 / case["subscribers"]
    return row


@scenario(
    "rejoin",
    "issue 4: time to the first replayed event per log backend; memory with stalled readers",
    order=50,
)
async def rejoin(ctx: Context) -> list[Table]:
    rejoins = ctx.pick(200, 50)
    subscribers, deltas = ctx.pick(100, 20), ctx.pick(10_000, 2_000)
    run_spec = ModelSpec(kind="chunks", chunks=ctx.pick(2000, 1000), interval_ms=10)
    memory_spec = ModelSpec(kind="chunks", chunks=deltas, interval_ms=MEMORY_INTERVAL_MS, gate=True)
    latency = Table(
        title=f"Issue 4: rejoin to first replayed event ({rejoins} rejoins per row, "
        f"Last-Event-ID random below the last stored seq; runs of {run_spec.chunks} chunks "
        f"at {run_spec.interval_ms:g} ms, default coalescing)",
        columns=[
            "log",
            "served by",
            "run",
            "rejoins",
            "median ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "errors",
            "events in log",
        ],
    )
    memory = Table(
        title=f"Issue 4: server memory, subscribers that stop reading after their first "
        f"frame, before and after one run writes {deltas:,} deltas (coalesce_ms=0, "
        f"{memory_spec.interval_ms:g} ms a chunk)",
        columns=[
            "log",
            "subscribers",
            "events written",
            "write s",
            "RSS before MB",
            "RSS after MB",
            "growth MB",
            "peak - before MB",
            "KB/subscriber",
            "kernel send-Q KB/sub",
            "resumed to the end",
            "frames/subscriber",
        ],
    )
    down = services.missing(postgres=False)
    backends: list[str] = ["SQLite"] + ([] if down else ["Redis"])
    if down:
        for table in (latency, memory):
            table.notes.append(f"Redis rows not run: {', '.join(down)} unreachable")
    async with services.redis_prefix("rejoin") as prefix:
        for backend in backends:
            backend_prefix = prefix if backend == "Redis" else None
            rows = await rejoin_latency(
                ctx, backend, rejoins=rejoins, spec=run_spec, prefix=backend_prefix
            )
            for row in rows:
                if "first error" in row:
                    latency.notes.append(
                        f"{row['log']} / {row['served by']} / {row['run']}: first error: "
                        f"{row.pop('first error')}"
                    )
            latency.rows.extend(rows)
        for backend in backends:
            backend_prefix = prefix if backend == "Redis" else None
            cases = []
            for count in (0, subscribers):
                case = await memory_case(
                    ctx, backend, subscribers=count, spec=memory_spec, prefix=backend_prefix
                )
                cases.append(case)
                memory.raw.append(case)
                progress(
                    f"rejoin: memory, {backend}, {count} subscribers: "
                    f"{case['rss_before_kb'] / 1024:.0f} -> {case['rss_after_kb'] / 1024:.0f} MB"
                )
            memory.rows.extend(_memory_row(case, cases[0]) for case in cases)
            frame = cases[-1]["delta_frame_bytes"]
            if frame:
                memory.notes.append(
                    f"{backend}: one delta frame is {frame} bytes: {deltas:,} unmerged would be "
                    f"{frame * deltas / 1024:,.0f} KB per subscriber"
                )
    latency.notes.append(
        "time: from before connecting to the first `data:` line (the first event after k; "
        "a backlog's adjacent deltas come merged, so its id may be above k+1)"
    )
    latency.notes.append(
        "running: the writer serves from its hot copy, another replica from Redis "
        "(XRANGE, then XREAD BLOCK); ended: every server reads back from storage"
    )
    latency.notes.append(
        "Redis rows: two servers sharing the Redis log (sessions in each one's SQLite: "
        "rejoins do not read sessions); runs started on the first"
    )
    latency.notes.append("issue 4: median and p99 over 200 rejoins for each backend")
    memory.notes.append(
        "fresh server per row; RSS (VmRSS) once the server is idle: before = subscribers "
        "attached, model held at a gate; after = run ended, subscribers still not reading"
    )
    memory.notes.append(
        f"subscribers: raw sockets with SO_RCVBUF={RCVBUF} and MSS {MSS} (no kernel "
        "autotuning; an Ethernet path's send buffer), "
        "connected before the run writes; KB/subscriber: growth beyond the no-subscriber "
        "row's, per subscriber"
    )
    memory.notes.append(
        "resumed to the end: after the measurement each subscriber reads on and gets the "
        "run's terminal event; frames/subscriber: what it got (backlogs come merged)"
    )
    memory.notes.append("issue 4: a slow subscriber never grows memory without bound")
    return [latency, memory]
