"""Issue 23, bounded cost per run: server CPU of one short run against the length of its
session's history, on the fake-model path and on the real Gemini path (ADK's `Gemini`
class against the fake Gemini API), with `ADKSTREAM_HISTORY_EVENTS` at its default and
off (0: every run loads the whole session).

A session's earlier turns are written straight into the server's SQLite session store
(`sessions.db` in its data directory) in one transaction, as ADK's `append_event` writes
them (the same rows and event JSON: a user message, an answer, an end-of-agent marker
per turn), rather than run one by one: 1,000 turns would take minutes of runs. The
server keeps one connection in WAL mode; this one is another writer, which WAL allows.
Each figure is the server's CPU over a number of runs one after another, each in a
session of its own with exactly that many earlier turns, divided by the runs (the CPU
clock ticks in 10 ms).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.genai import types

from bench import targets
from bench.apps import APP_NAME
from bench.client import make_client, stream_once
from bench.measure import SETTLE_S, progress, wait_idle, warm_up
from bench.model import ModelSpec
from bench.proc import Server, running
from bench.registry import Context, scenario
from bench.report import Table
from bench.scenarios.gemini import gemini_api

USER_ID = "local"  # auth off: every request is the single local user's
TURNS = (0, 50, 200, 1000)
ANSWER_WORDS = 60
TARGET = targets.adkstream()
MODES = {"default": {}, "off": {"ADKSTREAM_HISTORY_EVENTS": "0"}}
"""The server's environment per column: the default limit, and no limit."""


def turn_events(agent: str, turn: int, start: float) -> list[Event]:
    """One earlier chat turn as ADK stores it: the message, the answer, the end marker."""
    invocation = f"e-{uuid.uuid4()}"
    answer = " ".join(f"word{turn}-{i}" for i in range(ANSWER_WORDS))
    ts = start + turn * 3
    return [
        Event(
            invocation_id=invocation,
            author="user",
            timestamp=ts,
            content=types.Content(role="user", parts=[types.Part(text=f"Question {turn}?")]),
        ),
        Event(
            invocation_id=invocation,
            author=agent,
            timestamp=ts + 1,
            content=types.Content(role="model", parts=[types.Part(text=answer)]),
        ),
        Event(
            invocation_id=invocation,
            author=agent,
            timestamp=ts + 2,
            actions=EventActions(end_of_agent=True),
        ),
    ]


def seed(db: Path, session_id: str, turns: int) -> None:
    """Writes `turns` earlier turns into the session, older than anything it has."""
    start = time.time() - 3 * turns - 60
    rows = [
        (
            e.id,
            APP_NAME,
            USER_ID,
            session_id,
            e.invocation_id,
            e.timestamp,
            e.model_dump_json(exclude_none=True),
        )
        for turn in range(turns)
        for e in turn_events(APP_NAME, turn, start)
    ]
    with sqlite3.connect(db, timeout=30) as conn:
        conn.executemany(
            "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, timestamp,"
            " event_data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    conn.close()


async def _cpu_per_run(server: Server, session_ids: list[str]) -> dict[str, Any]:
    """Server CPU of one run in each session, one after another, per run."""
    errors = []
    async with make_client() as client:
        await wait_idle(server)
        before = server.cpu_s()
        for session_id in session_ids:
            body = TARGET.body | {"session_id": session_id}
            result = await stream_once(client, server.base_url, TARGET, body)
            if result.error:
                errors.append(result.error)
        await asyncio.sleep(SETTLE_S)
        after = server.cpu_s()
    return {"cpu_ms": 1000 * (after - before) / len(session_ids), "errors": errors}


async def _measure(
    ctx: Context, spec: ModelSpec, mode: str, runs: int
) -> dict[int, dict[str, Any]]:
    """CPU per run at each history length, on one fresh server: each run in a session of
    its own, so that every measured run has exactly that many earlier turns."""
    figures: dict[int, dict[str, Any]] = {}
    async with running(["adkstream"], spec, ctx.log_dir, env=MODES[mode]) as servers:
        server = servers["adkstream"]
        await warm_up(server, TARGET, reader=ctx.reader)
        sessions: dict[int, list[str]] = {}
        async with make_client() as client:
            for turns in TURNS:
                for _ in range(runs):
                    response = await client.post(server.base_url + "/v1/sessions", json={})
                    response.raise_for_status()
                    sessions.setdefault(turns, []).append(response.json()["id"])
        for turns, session_ids in sessions.items():
            for session_id in session_ids:
                seed(server.data_dir / "sessions.db", session_id, turns)
        for turns, session_ids in sessions.items():
            figures[turns] = await _cpu_per_run(server, session_ids)
            cpu_ms = figures[turns]["cpu_ms"]
            progress(f"history {spec.kind} {mode}: {turns} turns: {cpu_ms:.1f} ms/run")
    return figures


@scenario(
    "history",
    "issue 23: server CPU per run against the session's earlier turns (limit on and off)",
    order=28,
)
async def history(ctx: Context) -> list[Table]:
    runs = ctx.pick(20, 8)
    table = Table(
        title=f"Issue 23: server CPU per short run ({ANSWER_WORDS}-chunk answer) by earlier "
        f"turns in its session (mean of {runs} runs, each in a session of its own)",
        columns=["path", "history", *[f"{t} turns ms" for t in TURNS], "1000 vs 0", "errors"],
    )
    paths = {
        "fake model": ModelSpec(kind="offline", chunks=ANSWER_WORDS, interval_ms=0),
        "Gemini (genai)": ModelSpec(kind="gemini", chunks=ANSWER_WORDS, interval_ms=0),
    }
    for path, base in paths.items():
        for mode in MODES:
            if base.kind == "gemini":
                async with gemini_api(base, ctx.log_dir) as spec:
                    figures = await _measure(ctx, spec, mode, runs)
            else:
                figures = await _measure(ctx, base, mode, runs)
            row: dict[str, Any] = {"path": path, "history": mode}
            for turns in TURNS:
                row[f"{turns} turns ms"] = figures[turns]["cpu_ms"]
            row["1000 vs 0"] = figures[1000]["cpu_ms"] / max(figures[0]["cpu_ms"], 1e-9)
            row["errors"] = sum(len(f["errors"]) for f in figures.values())
            table.rows.append(row)
            table.raw.append(
                {
                    "path": path,
                    "history": mode,
                    "figures": json.loads(json.dumps(figures, default=str)),
                }
            )
    table.notes.append(
        "history default: ADKSTREAM_HISTORY_EVENTS unset (its default); off: 0 (all events)"
    )
    table.notes.append("issue 23 goal: 1000 turns <= 2 x 0 turns with the default, both paths")
    return [table]
