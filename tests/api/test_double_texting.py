"""Double texting: three messages sent at once to one session, under each `if_busy` policy.

One run at a time per session: `reject` refuses the others (409 `session_busy` naming the
run in progress), `enqueue` runs them in turn (`run.queued`), `interrupt` cancels the run
in progress (its answer so far stays in the session, marked stopped) and `rollback` also
takes the cancelled turn out of the session. Under every policy each run that started ends
with a terminal event, none fails, and the history alternates user and answer. On the
embedded default (SQLite, one server) and on Redis + PostgreSQL across two replicas.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from google.adk.models.google_llm import Gemini

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.events import (
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunQueued,
    RunStarted,
    StreamEvent,
    parse_event,
)
from adkstream.runner.runs import INTERRUPTED, ROLLED_BACK
from adkstream.settings import Settings
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, TextReply
from tests.pauses.pause_agent import build_bank
from tests.processes import serve_process
from tests.servers import serve_app

__all__ = ["fake_gemini"]

NDJSON = {"Accept": "application/x-ndjson"}
POLICIES = ["reject", "enqueue", "interrupt", "rollback"]


@dataclass
class Sent:
    """One message's outcome: its stream's events, or the refusal."""

    text: str
    status: int
    events: list[StreamEvent]
    error: dict[str, Any] | None = None

    @property
    def terminal(self) -> StreamEvent:
        return self.events[-1]


@pytest_asyncio.fixture(params=["sqlite", "replicas"])
async def servers(
    request: pytest.FixtureRequest, tmp_path: Path, fake_gemini: FakeGemini
) -> AsyncIterator[list[str]]:
    """The servers' URLs: one on the embedded default, or two replicas sharing Redis and
    PostgreSQL."""
    if request.param == "sqlite":
        model = Gemini(model="gemini-2.5-flash", base_url=fake_gemini.url)
        agents = AgentRegistry([HostedAgent.of(build_bank(model))])
        try:
            async with serve_app(create_app(Settings(data_dir=tmp_path / "d"), agents)) as url:
                yield [url]
        finally:
            await model.api_client.aio.aclose()
        return
    redis_url = request.getfixturevalue("redis_url")
    postgres_url = request.getfixturevalue("postgres_url")
    env = {
        "FAKE_GEMINI_URL": fake_gemini.url,
        "ADKSTREAM_DATABASE_URL": postgres_url,
        "ADKSTREAM_REDIS_URL": redis_url,
        "ADKSTREAM_REDIS_PREFIX": f"adkstream-test-{uuid.uuid4().hex[:8]}",
    }
    agent = ("tests.pauses.pause_agent:root_agent",)
    async with (
        serve_process(tmp_path / "a", env=env, args=agent) as a,
        serve_process(tmp_path / "b", env=env, args=agent) as b,
    ):
        yield [a.url, b.url]


async def _send(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], started: asyncio.Event | None
) -> Sent:
    async with client.stream("POST", f"{url}/v1/runs", json=body, headers=NDJSON) as response:
        if response.status_code != 200:
            return Sent(body["message"], response.status_code, [], (await _json(response)))
        events = []
        async for line in response.aiter_lines():
            if line:
                events.append(parse_event(line))
                if started is not None:
                    started.set()
        return Sent(body["message"], 200, events)


async def _json(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = httpx.Response(200, content=await response.aread()).json()["error"]
    return error


async def _three_at_once(
    urls: list[str], gemini: FakeGemini, policy: str
) -> tuple[list[Sent], list[dict[str, Any]]]:
    """Sends "one", then (while its run streams) "two" and "three" at once; the outcomes
    and the session's messages after."""
    gemini.script(*[TextReply([f"Answer {n}", " is", " here."], delay_s=0.3) for n in range(3)])
    async with asyncio.timeout(60), httpx.AsyncClient(timeout=30) as client:
        created = await client.post(f"{urls[0]}/v1/sessions", json={"agent": "bank"})
        session_id = created.json()["id"]

        def body(text: str) -> dict[str, Any]:
            return {"message": text, "session_id": session_id, "if_busy": policy}

        started = asyncio.Event()
        first = asyncio.create_task(_send(client, urls[0], body("one"), started))
        await started.wait()
        rest = [
            _send(client, urls[-1], body("two"), None),
            _send(client, urls[0], body("three"), None),
        ]
        sent = [*(await asyncio.gather(*rest)), await first]
        view = (await client.get(f"{urls[-1]}/v1/sessions/{session_id}")).json()
    return sent, view["messages"]


def _alternates(messages: list[dict[str, Any]]) -> bool:
    roles = [m["role"] for m in messages]
    return roles == ["user", "assistant"] * (len(roles) // 2) and len(roles) % 2 == 0


@pytest.mark.parametrize("policy", POLICIES)
async def test_double_texting_three_messages_at_once(
    servers: list[str], fake_gemini: FakeGemini, policy: str
) -> None:
    sent, messages = await _three_at_once(servers, fake_gemini, policy)

    ran = [s for s in sent if s.status == 200]
    for s in ran:  # exactly one terminal event, the last, and never a failure
        assert isinstance(s.events[0], RunStarted)
        assert [
            e
            for e in s.events
            if e.type.startswith("run.") and e.type != "run.started" and e.type != "run.queued"
        ] == [s.terminal]
        assert not isinstance(s.terminal, RunFailed), s.terminal
    assert _alternates(messages), messages
    completed = [s for s in ran if isinstance(s.terminal, RunCompleted)]
    cancelled = [s for s in ran if isinstance(s.terminal, RunCancelled)]
    first_run = sent[-1].events[0].run_id

    if policy == "reject":
        assert [s.status for s in sent] == [409, 409, 200]
        assert {s.error["code"] for s in sent[:2]} == {"session_busy"}  # type: ignore[index]
        assert all(first_run in s.error["message"] for s in sent[:2])  # type: ignore[index]
        assert [m["text"] for m in messages if m["role"] == "user"] == ["one"]
    elif policy == "enqueue":
        assert len(completed) == 3
        queued = [e for s in sent[:2] for e in s.events if isinstance(e, RunQueued)]
        assert len(queued) >= 2  # each waited its turn, and said so
        users = sorted(m["text"] for m in messages if m["role"] == "user")
        assert users == ["one", "three", "two"]
        assert all(m["stopped"] is None for m in messages)
    else:
        reason = INTERRUPTED if policy == "interrupt" else ROLLED_BACK
        assert len(completed) == 1 and len(cancelled) == 2
        assert {s.terminal.reason for s in cancelled} == {reason}  # type: ignore[attr-defined]
        assert isinstance(sent[-1].terminal, RunCancelled)  # "one" gave way
        winner = completed[0]
        assert messages[-2:][0]["text"] == winner.text
        assert messages[-1]["stopped"] is None and "Answer" in messages[-1]["text"]
        if policy == "interrupt":
            stopped = [m for m in messages if m["stopped"]]
            assert stopped and all(m["stopped"] == INTERRUPTED for m in stopped)
            assert messages[0]["text"] == "one"  # the interrupted turn stays
        else:
            assert len(messages) == 2  # the rolled-back turns left the session
