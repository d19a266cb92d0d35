"""Session retention (runner/session_retention.py): idle sessions go through ADK's session
service, unless one of their runs still needs them.

On the embedded SQLite service (one indexed query for idle sessions) and on ADK's
in-memory service (the path any other service takes: each agent's sessions listed).
Time is what `prune` is told it is: sessions are idle once `now` is past their update
time plus the retention.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.adk.sessions import InMemorySessionService
from google.adk.sessions.base_session_service import BaseSessionService

from adkstream.events import StreamEvent
from adkstream.runner.log import EventLog
from adkstream.runner.retention import Retention
from adkstream.runner.run_record import RunRecord, RunStatus
from adkstream.runner.session_backends import EmbeddedSqliteSessionService, close_session_service
from adkstream.runner.session_retention import PAGE, SessionPruner
from tests.runner.test_log_backends import TIMEOUT_S, started
from tests.runner.test_retention import ended

APP = "assistant"
RETENTION = Retention(runs_s=3600.0, sessions_s=100.0)


@pytest.fixture(params=["embedded", "generic"])
async def service(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[BaseSessionService]:
    opened: BaseSessionService
    if request.param == "embedded":
        opened = EmbeddedSqliteSessionService(str(tmp_path / "sessions.db"))
    else:
        opened = InMemorySessionService()
    yield opened
    await close_session_service(opened)


async def new_session(service: BaseSessionService) -> str:
    session = await service.create_session(app_name=APP, user_id="u1")
    return session.id


async def exists(service: BaseSessionService, session_id: str) -> bool:
    found = await service.get_session(app_name=APP, user_id="u1", session_id=session_id)
    return found is not None


async def run_in(log: EventLog, session_id: str, run_id: str, events: list[StreamEvent]) -> None:
    record = RunRecord(
        run_id=run_id, session_id=session_id, user_id="u1", agent=APP, created_at=time.time()
    )
    await log.create_run(record)
    log.append(run_id, events)
    if events[-1].type != "run.started":
        await log.release(run_id)


async def test_idle_sessions_go_unless_a_run_needs_them(service: BaseSessionService) -> None:
    log = EventLog.in_memory()
    pruner = SessionPruner(service, [APP], log)
    async with asyncio.timeout(TIMEOUT_S):
        idle = await new_session(service)
        done = await new_session(service)
        await run_in(log, done, "done", ended("done", RunStatus.COMPLETED, time.time()))
        running = await new_session(service)
        await run_in(log, running, "running", [started("running")])
        waiting = await new_session(service)
        await run_in(log, waiting, "waiting", ended("waiting", RunStatus.WAITING, time.time()))
        answered = await new_session(service)
        await run_in(log, answered, "answered", ended("answered", RunStatus.WAITING, time.time()))
        await log.claim_answer("answered", by="next")

        assert await pruner.prune(RETENTION, now=time.time()) == 0  # none idle yet
        deleted = await pruner.prune(RETENTION, now=time.time() + 101.0)

        assert deleted == 3
        assert [await exists(service, s) for s in (idle, done, answered)] == [False] * 3
        assert await exists(service, running)  # its run still appends to it
        assert await exists(service, waiting)  # its answers would continue in it
        assert await pruner.prune(Retention(runs_s=None), now=1e12) == 0  # retention off


async def test_a_waiting_run_holds_its_session_only_until_its_pause_expires(
    service: BaseSessionService,
) -> None:
    log = EventLog.in_memory()
    pruner = SessionPruner(service, [APP], log)
    expiring = Retention(runs_s=3600.0, pause_expiry_s=500.0, sessions_s=100.0)
    async with asyncio.timeout(TIMEOUT_S):
        waiting = await new_session(service)
        began = time.time()
        await run_in(log, waiting, "waiting", ended("waiting", RunStatus.WAITING, began))

        assert await pruner.prune(expiring, now=began + 400.0) == 0
        assert await pruner.prune(expiring, now=began + 501.0) == 1
        assert not await exists(service, waiting)


async def test_pruning_pages_past_the_sessions_it_keeps(tmp_path: Path) -> None:
    service = EmbeddedSqliteSessionService(str(tmp_path / "sessions.db"))
    log = EventLog.in_memory()
    pruner = SessionPruner(service, [APP], log)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            sessions = [await new_session(service) for _ in range(PAGE * 2 + 50)]
            busy = set(sessions[::3])  # spread over every page
            for n, session_id in enumerate(sorted(busy)):
                await run_in(log, session_id, f"run{n}", [started(f"run{n}")])

            deleted = await pruner.prune(RETENTION, now=time.time() + 101.0)

            assert deleted == len(sessions) - len(busy)
            left = await service.idle_sessions(before=time.time() + 101.0, limit=1000)
            assert {session_id for _, _, session_id in left} == busy
    finally:
        await service.close()
