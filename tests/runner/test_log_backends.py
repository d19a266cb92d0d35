"""The event log's contract, on every backend: memory, SQLite (a file in tmp_path), Redis
and PostgreSQL (tables of a prefix of their own).

"A second process" is a second log instance on the same storage: a new log on the
same SQLite file, or on the same Redis key prefix or PostgreSQL table prefix.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adkstream.events import (
    InputRequest,
    InputRequested,
    MessageDelta,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunStarted,
    RunWaiting,
    StreamEvent,
    ToolCall,
    Usage,
)
from adkstream.runner.log import EventLog
from adkstream.runner.run_record import RunRecord, RunStatus
from tests.runner.logs import postgres_log, redis_log, sqlite_log

TIMEOUT_S = 10


def record(run_id: str = "r1", *, session_id: str = "s1", created_at: float = 1.0) -> RunRecord:
    return RunRecord(
        run_id=run_id, session_id=session_id, user_id="u1", agent="app", created_at=created_at
    )


def started(run_id: str = "r1") -> RunStarted:
    return RunStarted(run_id=run_id, ts=1.0, session_id="s1", user_id="u1", app="app", agent="a")


def delta(text: str, *, message_id: str = "m1", run_id: str = "r1") -> MessageDelta:
    return MessageDelta(run_id=run_id, ts=2.0, author="a", message_id=message_id, text=text)


def tool_call(run_id: str = "r1") -> ToolCall:
    return ToolCall(run_id=run_id, ts=2.5, author="a", call_id="c1", name="lookup", args={})


def completed(run_id: str = "r1") -> RunCompleted:
    usage = Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3)
    return RunCompleted(run_id=run_id, ts=3.0, usage=usage, final_text="Hello")


@dataclass
class Storage:
    """Opens log instances on one storage and closes them after the test."""

    kind: str
    path: Path
    url: str = ""
    prefix: str = ""
    opened: list[EventLog] = field(default_factory=list)

    async def open(self) -> EventLog:
        log: EventLog
        if self.kind == "memory":
            log = EventLog.in_memory()
        elif self.kind == "sqlite":
            log = await sqlite_log(self.path)
        elif self.kind == "postgres":
            log = await postgres_log(self.url, prefix=self.prefix)
        else:
            log = await redis_log(self.url, prefix=self.prefix, sweep_s=None)
        self.opened.append(log)
        return log

    async def close(self, log: EventLog) -> None:
        self.opened.remove(log)
        await log.close()

    async def close_all(self) -> None:
        while self.opened:
            await self.close(self.opened[-1])


def _storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    kind: str = request.param
    if kind == "redis":
        url: str = request.getfixturevalue("redis_url")
        prefix: str = request.getfixturevalue("redis_prefix")
        return Storage(kind, tmp_path, url=url, prefix=prefix)
    if kind == "postgres":
        url = request.getfixturevalue("postgres_url")
        prefix = request.getfixturevalue("postgres_prefix")
        return Storage(kind, tmp_path, url=url, prefix=prefix)
    return Storage(kind, tmp_path / "runs.db")


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
def any_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    return _storage(request, tmp_path)


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def durable_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    return _storage(request, tmp_path)


@pytest.fixture
async def storage(any_storage: Storage) -> AsyncIterator[Storage]:
    yield any_storage
    await any_storage.close_all()


@pytest.fixture
async def durable(durable_storage: Storage) -> AsyncIterator[Storage]:
    yield durable_storage
    await durable_storage.close_all()


def seqs(events: list[StreamEvent]) -> list[int]:
    return [event.seq for event in events]


async def collect(
    log: EventLog, run_id: str, *, after: int = 0, merge_over: int | None = None
) -> list[StreamEvent]:
    return [event async for event in log.follow(run_id, after=after, merge_over=merge_over)]


async def test_log_append_numbers_events_from_one(storage: Storage) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await storage.open()
        await log.create_run(record())
        first = log.append("r1", [started()])
        rest = log.append("r1", [delta("a"), delta("b"), completed()])
        assert log.append("r1", []) == []
        assert seqs(first + rest) == [1, 2, 3, 4]
        assert all(event.run_id == "r1" for event in first + rest)
        await log.release("r1")
        assert seqs(await log.read("r1", after=0)) == [1, 2, 3, 4]


@pytest.mark.parametrize("released", [False, True], ids=["hot", "stored"])
async def test_log_read_returns_events_after_seq(storage: Storage, released: bool) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await storage.open()
        await log.create_run(record())
        log.append("r1", [started(), delta("a"), delta("b"), tool_call(), completed()])
        await log.flushed("r1")  # readers see stored events only
        if released:
            await log.release("r1")
        assert seqs(await log.read("r1", after=2)) == [3, 4, 5]
        assert seqs(await log.read("r1", after=1, limit=2)) == [2, 3]
        assert await log.read("r1", after=5) == []
        assert await log.read("unknown", after=0) == []


async def test_log_follow_replays_then_follows_live(storage: Storage) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await storage.open()
        await log.create_run(record())
        log.append("r1", [started(), delta("a"), delta("b")])
        got: list[StreamEvent] = []
        caught_up = asyncio.Event()

        async def follow() -> None:
            async for event in log.follow("r1", after=1, merge_over=None):
                got.append(event)
                if event.seq == 3:
                    caught_up.set()

        follower = asyncio.create_task(follow())
        await caught_up.wait()
        log.append("r1", [delta("c")])
        log.append("r1", [completed()])
        await follower
        assert seqs(got) == [2, 3, 4, 5]
        assert isinstance(got[-1], RunCompleted)


@pytest.mark.parametrize("released", [False, True], ids=["hot", "stored"])
async def test_log_follow_merges_adjacent_deltas_of_a_backlog(
    storage: Storage, released: bool
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await storage.open()
        await log.create_run(record())
        log.append("r1", [started(), delta("Hel"), delta("lo"), delta(" you"), tool_call()])
        log.append("r1", [delta("x", message_id="m2"), delta("y", message_id="m2"), completed()])
        if released:
            await log.release("r1")

        in_step = await collect(log, "r1", merge_over=8)  # not behind: every event
        got = await collect(log, "r1", merge_over=2)

        assert [e.seq for e in in_step] == list(range(1, 9))
        assert [(e.type, e.seq) for e in got] == [
            ("run.started", 1),
            ("message.delta", 4),
            ("tool.call", 5),
            ("message.delta", 7),
            ("run.completed", 8),
        ]
        assert isinstance(got[1], MessageDelta)
        assert got[1].text == "Hello you"
        assert isinstance(got[3], MessageDelta)
        assert (got[3].message_id, got[3].text) == ("m2", "xy")
        resumed = await collect(log, "r1", after=2, merge_over=2)
        assert isinstance(resumed[0], MessageDelta)
        assert (resumed[0].seq, resumed[0].text) == (4, "lo you")


async def test_log_follow_of_a_finished_run_after_its_end_yields_nothing(
    storage: Storage,
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await storage.open()
        await log.create_run(record())
        log.append("r1", [started(), completed()])
        await log.release("r1")
        assert await collect(log, "r1", after=2) == []
        assert await collect(log, "unknown") == []


@pytest.mark.parametrize(
    ("terminal", "status"),
    [
        pytest.param(completed(), RunStatus.COMPLETED, id="completed"),
        pytest.param(
            RunFailed(run_id="r1", ts=3.0, error={"code": "model_error", "message": "m"}),
            RunStatus.FAILED,
            id="failed",
        ),
        pytest.param(
            RunCancelled(run_id="r1", ts=3.0, reason="cancelled by request"),
            RunStatus.CANCELLED,
            id="cancelled",
        ),
    ],
)
async def test_log_record_fields_after_the_terminal_event(
    storage: Storage, terminal: StreamEvent, status: RunStatus
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await storage.open()
        await log.create_run(record())
        log.append("r1", [started(), delta("Hel")])
        running = await log.get_run("r1")
        assert running is not None
        assert (running.status, running.last_seq, running.ended_at) == (RunStatus.RUNNING, 2, None)
        log.append("r1", [terminal])
        hot = await log.get_run("r1")
        await log.release("r1")
        stored = await log.get_run("r1")

        assert hot == stored
        assert stored is not None
        assert (stored.status, stored.last_seq, stored.ended_at) == (status, 3, 3.0)
        assert (stored.session_id, stored.user_id, stored.agent) == ("s1", "u1", "app")
        if status is RunStatus.COMPLETED:
            assert stored.final_text == "Hello"
            assert stored.usage == Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3)
        if status is RunStatus.FAILED:
            assert stored.error is not None
            assert stored.error.code == "model_error"
        assert await log.get_run("unknown") is None


async def test_log_list_runs_gives_a_sessions_runs_oldest_first(storage: Storage) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await storage.open()
        await log.create_run(record("r2", created_at=2.0))
        await log.create_run(record("r1", created_at=1.0))
        await log.create_run(record("r3", session_id="s2", created_at=3.0))
        log.append("r1", [started("r1"), completed("r1")])
        await log.release("r1")
        log.append("r2", [started("r2")])

        runs = await log.list_runs("s1")

        assert [(r.run_id, r.status, r.last_seq) for r in runs] == [
            ("r1", RunStatus.COMPLETED, 2),
            ("r2", RunStatus.RUNNING, 1),
        ]
        assert [r.run_id for r in await log.list_runs("s2")] == ["r3"]
        assert await log.list_runs("nobody") == []


async def test_log_second_process_reads_and_follows_a_run_live(durable: Storage) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        writer = await durable.open()
        reader = await durable.open()
        await writer.create_run(record())
        writer.append("r1", [started(), delta("Hel")])
        await writer.flushed("r1")
        seen = await reader.get_run("r1")
        assert seen is not None
        assert (seen.status, seen.last_seq) == (RunStatus.RUNNING, 2)
        assert seqs(await reader.read("r1", after=0)) == [1, 2]
        got: list[StreamEvent] = []
        caught_up = asyncio.Event()

        async def follow() -> None:
            async for event in reader.follow("r1", merge_over=None):
                got.append(event)
                if event.seq == 2:
                    caught_up.set()

        follower = asyncio.create_task(follow())
        await caught_up.wait()
        writer.append("r1", [delta("lo")])
        writer.append("r1", [completed()])
        await follower

        assert seqs(got) == [1, 2, 3, 4]
        assert isinstance(got[-1], RunCompleted)
        final = await reader.get_run("r1")
        assert final is not None
        assert (final.status, final.last_seq, final.final_text) == (RunStatus.COMPLETED, 4, "Hello")
        assert [r.run_id for r in await reader.list_runs("s1")] == ["r1"]


async def test_log_records_and_events_survive_a_reopen(durable: Storage) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        first = await durable.open()
        await first.create_run(record())
        first.append("r1", [started(), delta("Hel"), completed()])
        hot = await first.get_run("r1")
        await durable.close(first)  # close flushes what is pending

        second = await durable.open()
        assert await second.get_run("r1") == hot
        assert seqs(await second.read("r1", after=0)) == [1, 2, 3]


async def test_log_recover_interrupted_ends_a_run_left_running(durable: Storage) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        first = await durable.open()
        await first.create_run(record("left"))
        first.append("left", [started("left"), delta("a", run_id="left")])
        await first.create_run(record("done", created_at=2.0))
        first.append("done", [started("done"), completed("done")])
        await first.release("done")
        await durable.close(first)  # the process is gone; "left" never ended

        second = await durable.open()
        assert await second.recover_interrupted() == ["left"]

        events = await second.read("left", after=0)
        assert seqs(events) == [1, 2, 3]
        assert isinstance(events[-1], RunFailed)
        assert events[-1].error.code == "interrupted"
        assert events[-1].error.message == "The server stopped while the run was in progress."
        left = await second.get_run("left")
        assert left is not None
        assert (left.status, left.last_seq) == (RunStatus.FAILED, 3)
        assert left.error == events[-1].error
        assert left.ended_at == events[-1].ts
        done = await second.get_run("done")
        assert done is not None
        assert done.status is RunStatus.COMPLETED
        assert await second.recover_interrupted() == []


async def test_log_recover_interrupted_spares_the_runs_it_drives(durable: Storage) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await durable.open()
        await log.create_run(record())
        log.append("r1", [started()])
        await log.flushed("r1")
        assert await log.recover_interrupted() == []
        log.append("r1", [completed()])
        await log.release("r1")
        final = await log.get_run("r1")
        assert final is not None
        assert final.status is RunStatus.COMPLETED


async def test_memory_log_recover_interrupted_ends_nothing() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = EventLog.in_memory()
        await log.create_run(record())
        assert await log.recover_interrupted() == []


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_log_request_cancel_reaches_callbacks_in_process(tmp_path: Path, kind: str) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = EventLog.in_memory() if kind == "memory" else await sqlite_log(tmp_path / "runs.db")
        try:
            got: list[tuple[str, str]] = []

            def unknown_run(run_id: str, reason: str) -> None:
                raise LookupError(run_id)

            log.on_cancel_request(unknown_run)
            log.on_cancel_request(lambda run_id, reason: got.append((run_id, reason)))
            await log.request_cancel("r1", "cancelled by request")
            assert got == [("r1", "cancelled by request")]
        finally:
            await log.close()


def _paused(run_id: str = "r1") -> list[StreamEvent]:
    """A run that asked for a confirmation and waits for it."""
    request = InputRequested(
        run_id=run_id,
        ts=2.0,
        author="a",
        request_id="q1",
        kind="confirmation",
        name="transfer",
        args={"amount": 5},
        hint="Approve?",
        answer_schema={"type": "object"},
    )
    fields = request.model_dump(include=set(InputRequest.model_fields))
    waiting = RunWaiting(
        run_id=run_id, ts=3.0, pending=[InputRequest(**fields)], invocation_id="inv-1"
    )
    return [started(run_id), request, waiting]


async def test_log_waiting_run_keeps_what_it_waits_for(durable: Storage) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        first = await durable.open()
        await first.create_run(record())
        first.append("r1", _paused())
        await first.release("r1")
        await durable.close(first)
        second = await durable.open()
        stored = await second.get_run("r1")
        left = await second.recover_interrupted()

    assert stored is not None
    assert (stored.status, stored.invocation_id, stored.last_seq) == (
        RunStatus.WAITING,
        "inv-1",
        3,
    )
    assert [(p.request_id, p.kind, p.name, p.args) for p in stored.pending] == [
        ("q1", "confirmation", "transfer", {"amount": 5})
    ]
    assert left == []  # a waiting run is not left running: nothing ends it at startup


async def test_log_claim_answer_has_one_winner_across_processes(storage: Storage) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        one = await storage.open()
        other = one if storage.kind == "memory" else await storage.open()
        await one.create_run(record())
        one.append("r1", _paused())
        await one.release("r1")
        before = await other.answered_by("r1")
        winners = await asyncio.gather(
            one.claim_answer("r1", by="next-a"), other.claim_answer("r1", by="next-b")
        )
        after = await one.answered_by("r1")

    assert before is None
    assert winners[0] == winners[1] == after
    assert after in ("next-a", "next-b")
