"""The embedded data directory stays bounded: 1,000 short runs, each in a session of its
own, with a run and session retention of a millisecond.

Through the host a server runs (ADK's runner on the embedded SQLite sessions, the SQLite
run log, its checkpointers), in batches of 100; after each batch, one step of the
pruner and of both checkpointers (their timers run too). Measured without retention:
the same 1,000 runs left 98 MB (91 MB of it WAL). With it, the directory stayed under
7.4 MB after every batch (runs.db 0.43 MB, sessions.db 0.29 MB, each WAL under 3.7 MB):
the test holds it under BOUND_BYTES, each WAL at its limit, and neither database file
growing once the first batches are pruned.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from google.genai import types

from adkstream.agents import builtin_agents
from adkstream.runner.host import Host
from adkstream.runner.runs import RunRequest
from adkstream.runner.session_backends import EmbeddedSqliteSessionService
from adkstream.runner.sqlite_inline import WAL_LIMIT_BYTES
from adkstream.runner.storage_sqlite import SqliteStorage
from adkstream.settings import Settings

RUNS = 1000
BATCH = 100
AT_ONCE = 10
GROWTH_SLACK_BYTES = 256 << 10
"""What a file may take beyond a bound: the last runs' writes after their `done`."""
BOUND_BYTES = 2 * WAL_LIMIT_BYTES + (2 << 20)
"""Two WALs at their limit (runs.db-wal, sessions.db-wal), and 2 MiB for the databases
(one batch's runs and sessions, about 0.7 MB, and their free pages)."""
TIMEOUT_S = 60


def sizes(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in directory.rglob("*") if p.is_file()}


async def test_data_dir_stays_bounded_with_retention(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(
        data_dir=data_dir,
        offline_tokens_per_s=0,
        offline_reply_tokens=12,
        max_runs_per_user=RUNS,
        run_retention_s=0.001,
        session_retention_s=0.001,
    )
    agents = builtin_agents(settings)
    agent = agents.get("assistant")
    host = await Host.open(settings, agents)
    assert isinstance(host.log.storage, SqliteStorage)
    assert isinstance(host.session_service, EmbeddedSqliteSessionService)
    limit = asyncio.Semaphore(AT_ONCE)

    async def one_run(n: int) -> None:
        async with limit:
            session = await host.session_service.create_session(app_name=agent.name, user_id="u")
            message = types.Content(role="user", parts=[types.Part(text=f"hello {n}")])
            request = RunRequest(agent=agent, user_id="u", session_id=session.id, message=message)
            run = await host.runs.start(request)
            await run.done.wait()

    after_batch: list[dict[str, int]] = []
    try:
        async with asyncio.timeout(TIMEOUT_S):
            for first in range(0, RUNS, BATCH):
                await asyncio.gather(*(one_run(n) for n in range(first, first + BATCH)))
                await host.pruner.prune_once()
                await host.log.storage._checkpointer.step()
                assert host.session_service._checkpointer is not None
                await host.session_service._checkpointer.step()
                after_batch.append(sizes(data_dir))
            await host.pruner.prune_once()
            [(runs_left,)] = await host.log.storage._reader.execute_fetchall(
                "SELECT COUNT(*) FROM runs"
            )
            sessions_left = await host.session_service.idle_sessions(
                before=time.time() + 1, limit=10
            )
    finally:
        await host.close()

    assert (runs_left, sessions_left) == (0, [])
    for files in after_batch:
        assert sum(files.values()) < BOUND_BYTES, files
        assert files.get("runs.db-wal", 0) <= WAL_LIMIT_BYTES + GROWTH_SLACK_BYTES, files
        assert files.get("sessions.db-wal", 0) <= WAL_LIMIT_BYTES + GROWTH_SLACK_BYTES, files
    for name in ("runs.db", "sessions.db"):
        steady = after_batch[2][name]
        assert all(files[name] <= steady + GROWTH_SLACK_BYTES for files in after_batch[3:]), (
            name,
            [files[name] for files in after_batch],
        )
