"""Runs that wait, on the native API: ADK's real pauses (a tool confirmation, a long-running
tool, a credential request) through ADK's Runner and its `Gemini` class against the fake
Gemini server; answered with `POST /v1/runs/{id}/answers`, which continues the same ADK
invocation in a new run. Bad answers get a 4xx naming the field; of two racing answers
exactly one wins."""

from __future__ import annotations

import asyncio
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
    InputRequested,
    RunCompleted,
    RunStarted,
    RunWaiting,
    StreamEvent,
    ToolResult,
    parse_event,
)
from adkstream.settings import Settings
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply
from tests.pauses.pause_agent import TOOL_RUNS, build_bank
from tests.servers import serve_app

__all__ = ["fake_gemini"]

KEYS = "key-alice=alice,key-bob=bob"
ALICE = {"Authorization": "Bearer key-alice"}
BOB = {"Authorization": "Bearer key-bob"}
NDJSON = {"Accept": "application/x-ndjson"}
TIMEOUT_S = 30


@dataclass
class Bank:
    client: httpx.AsyncClient
    gemini: FakeGemini

    async def post(self, path: str, body: dict[str, Any]) -> list[StreamEvent]:
        async with self.client.stream("POST", path, json=body, headers=ALICE | NDJSON) as answer:
            assert answer.status_code == 200, await answer.aread()
            return [parse_event(line) async for line in answer.aiter_lines() if line]

    async def pause(self, tool: str, args: dict[str, Any]) -> tuple[list[StreamEvent], RunWaiting]:
        """A run whose model calls `tool`: it ends waiting."""
        self.gemini.script(ToolCallReply(tool, args))
        events = await self.post("/v1/runs", {"message": f"please {tool}"})
        waiting = events[-1]
        assert isinstance(waiting, RunWaiting), [e.type for e in events]
        return events, waiting

    async def answer(self, run_id: str, *answers: dict[str, Any]) -> httpx.Response:
        return await self.client.post(
            f"/v1/runs/{run_id}/answers",
            json={"answers": list(answers)},
            headers=ALICE | {"Accept": "application/json"},
        )


@pytest_asyncio.fixture
async def bank(tmp_path: Path, fake_gemini: FakeGemini) -> AsyncIterator[Bank]:
    TOOL_RUNS.clear()
    model = Gemini(model="gemini-2.5-flash", base_url=fake_gemini.url)
    agents = AgentRegistry([HostedAgent.of(build_bank(model))])
    app = create_app(Settings(data_dir=tmp_path / "data", api_keys=KEYS), agents)
    try:
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Bank(client, fake_gemini)
    finally:
        await model.api_client.aio.aclose()


@pytest.mark.parametrize(("confirmed", "runs"), [(True, 1), (False, 0)], ids=["approve", "deny"])
async def test_pauses_confirmation_approved_runs_the_tool_once_denied_never(
    bank: Bank, confirmed: bool, runs: int
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        events, waiting = await bank.pause("transfer", {"amount": 5})
        status = (await bank.client.get(f"/v1/runs/{waiting.run_id}", headers=ALICE)).json()
        session_path = f"/v1/sessions/{events[0].session_id}"  # type: ignore[union-attr]
        session = (await bank.client.get(session_path, headers=ALICE)).json()
        [request] = waiting.pending
        continued = await bank.post(
            f"/v1/runs/{waiting.run_id}/answers",
            {"answers": [{"request_id": request.request_id, "confirmed": confirmed}]},
        )
        after = (await bank.client.get(f"/v1/runs/{waiting.run_id}", headers=ALICE)).json()
        session_after = (await bank.client.get(session_path, headers=ALICE)).json()

    [announced] = [e for e in events if isinstance(e, InputRequested)]
    assert (announced.request_id, announced.kind, announced.name) == (
        request.request_id,
        "confirmation",
        "transfer",
    )
    assert announced.args == {"amount": 5}
    assert announced.hint and "transfer" in announced.hint
    assert announced.answer_schema["required"] == ["confirmed"]
    assert status["status"] == "waiting"
    assert [p["request_id"] for p in status["pending"]] == [request.request_id]
    assert [(w["run_id"], [p["request_id"] for p in w["pending"]]) for w in session["waiting"]] == [
        (waiting.run_id, [request.request_id])
    ]
    assert session_after["waiting"] == []  # answered
    started = continued[0]
    assert isinstance(started, RunStarted)
    assert started.resumes == waiting.run_id
    assert started.session_id == events[0].session_id  # type: ignore[union-attr]
    assert isinstance(continued[-1], RunCompleted)
    assert TOOL_RUNS["transfer"] == runs
    results = [e.result for e in continued if isinstance(e, ToolResult) and e.name == "transfer"]
    if confirmed:
        assert results == [{"transferred": 5}]
    assert after["status"] == "waiting"  # the record stays; its answers went to the new run
    assert waiting.invocation_id is not None
    # The model saw the outcome: the fake echoes the last function response it received.
    assert ("transferred" in continued[-1].final_text) is confirmed


async def test_pauses_long_running_tool_answered_later_reaches_the_model(bank: Bank) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        _, waiting = await bank.pause("ask_manager", {"question": "raise?"})
        [request] = waiting.pending
        answered = await bank.answer(
            waiting.run_id, {"request_id": request.request_id, "result": {"approved": True}}
        )

    assert (request.kind, request.name, request.args) == (
        "tool_result",
        "ask_manager",
        {"question": "raise?"},
    )
    assert TOOL_RUNS["ask_manager"] == 1
    assert answered.status_code == 200, answered.text
    result = answered.json()
    assert result["status"] == "completed"
    assert '"approved": true' in result["final_text"]
    last_call = bank.gemini.requests[-1]["contents"][-1]["parts"]
    responses = [p["functionResponse"] for p in last_call if "functionResponse" in p]
    assert [r["response"] for r in responses] == [{"approved": True}]


async def test_pauses_credential_answered_with_a_token_reruns_the_tool(bank: Bank) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        _, waiting = await bank.pause("read_calendar", {})
        [request] = waiting.pending
        answered = await bank.answer(
            waiting.run_id, {"request_id": request.request_id, "access_token": "tok-123"}
        )

    assert request.kind == "credential"
    assert request.payload is not None and "authScheme" in request.payload
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "completed"
    assert TOOL_RUNS["read_calendar"] == 1
    assert "tok-123" in answered.json()["final_text"]


@pytest.mark.parametrize(
    ("answer", "status", "code", "field"),
    [
        pytest.param(
            {"request_id": "nope", "confirmed": True},
            422,
            "unknown_request",
            "answers.0.request_id",
            id="unknown-id",
        ),
        pytest.param(
            {"confirmed": "yes"}, 422, "invalid_answer", "answers.0.confirmed", id="malformed"
        ),
        pytest.param({}, 422, "invalid_answer", "answers.0", id="missing-field"),
    ],
)
async def test_pauses_bad_answers_are_refused_naming_the_field(
    bank: Bank, answer: dict[str, Any], status: int, code: str, field: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        _, waiting = await bank.pause("transfer", {"amount": 1})
        [request] = waiting.pending
        refused = await bank.answer(waiting.run_id, {"request_id": request.request_id} | answer)
        still = (await bank.client.get(f"/v1/runs/{waiting.run_id}", headers=ALICE)).json()

    assert refused.status_code == status, refused.text
    assert refused.json()["error"]["code"] == code
    assert refused.json()["error"]["field"] == field
    assert still["status"] == "waiting"
    assert TOOL_RUNS["transfer"] == 0


async def test_pauses_answers_to_other_runs_are_refused(bank: Bank) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        _, waiting = await bank.pause("transfer", {"amount": 2})
        [request] = waiting.pending
        answer = {"answers": [{"request_id": request.request_id, "confirmed": True}]}
        as_bob = await bank.client.post(
            f"/v1/runs/{waiting.run_id}/answers", json=answer, headers=BOB
        )
        bank.gemini.script()
        done = await bank.post("/v1/runs", {"message": "hello"})
        not_waiting = await bank.client.post(
            f"/v1/runs/{done[0].run_id}/answers", json=answer, headers=ALICE
        )

    assert as_bob.status_code == 404
    assert (not_waiting.status_code, not_waiting.json()["error"]["code"]) == (
        409,
        "run_not_waiting",
    )


async def test_pauses_two_racing_answers_one_wins_and_the_tool_runs_once(bank: Bank) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        _, waiting = await bank.pause("transfer", {"amount": 3})
        [request] = waiting.pending
        answer = {"request_id": request.request_id, "confirmed": True}
        first, second = await asyncio.gather(
            bank.answer(waiting.run_id, answer), bank.answer(waiting.run_id, answer)
        )

    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["error"]["code"] == "already_answered"
    assert TOOL_RUNS["transfer"] == 1


async def test_pauses_a_function_response_in_a_message_answers_as_adk_takes_it(
    bank: Bank,
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        events, waiting = await bank.pause("transfer", {"amount": 9})
        [request] = waiting.pending
        part = {
            "functionResponse": {
                "id": request.request_id,
                "name": "adk_request_confirmation",
                "response": {"confirmed": True},
            }
        }
        session_id = events[0].session_id  # type: ignore[union-attr]
        body = {"session_id": session_id, "message": {"parts": [part]}}
        continued = await bank.post("/v1/runs", body)
        unknown = await bank.client.post(
            "/v1/runs",
            json={"session_id": session_id, "message": {"parts": [part]}},
            headers=ALICE,
        )

    started = continued[0]
    assert isinstance(started, RunStarted) and started.resumes == waiting.run_id
    assert isinstance(continued[-1], RunCompleted)
    assert TOOL_RUNS["transfer"] == 1
    # The same answer again: no run waits for it any more.
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (409, "unknown_request")


async def test_pauses_client_tool_call_waits_for_the_clients_result(bank: Bank) -> None:
    tool = {
        "name": "get_location",
        "description": "The user's location, from their device.",
        "parameters": {
            "type": "object",
            "properties": {"precision": {"type": "string"}},
            "required": ["precision"],
        },
    }
    async with asyncio.timeout(TIMEOUT_S):
        bank.gemini.script(ToolCallReply("get_location", {"precision": "city"}))
        events = await bank.post("/v1/runs", {"message": "where am I?", "tools": [tool]})
        declared = bank.gemini.requests[-1]["tools"]
        waiting = events[-1]
        assert isinstance(waiting, RunWaiting)
        [request] = waiting.pending
        answered = await bank.answer(
            waiting.run_id, {"request_id": request.request_id, "result": {"city": "Paris"}}
        )
        bad_schema = await bank.client.post(
            "/v1/runs",
            json={"message": "hi", "tools": [tool | {"parameters": {"type": 5}}]},
            headers=ALICE,
        )

    names = [d["name"] for t in declared for d in t.get("functionDeclarations", [])]
    assert "get_location" in names
    assert (request.kind, request.name, request.args) == (
        "client_tool",
        "get_location",
        {"precision": "city"},
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "completed"
    assert "Paris" in answered.json()["final_text"]
    assert (bad_schema.status_code, bad_schema.json()["error"]["field"]) == (
        422,
        "tools.0.parameters",
    )


async def test_pauses_answers_after_the_expiry_are_refused(
    tmp_path: Path, fake_gemini: FakeGemini
) -> None:
    TOOL_RUNS.clear()
    model = Gemini(model="gemini-2.5-flash", base_url=fake_gemini.url)
    agents = AgentRegistry([HostedAgent.of(build_bank(model))])
    # An expiry that has passed by the time anyone answers: a millisecond.
    settings = Settings(data_dir=tmp_path / "data", api_keys=KEYS, pause_expiry_s=0.001)
    try:
        async with (
            asyncio.timeout(TIMEOUT_S),
            serve_app(create_app(settings, agents)) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as client,
        ):
            bank = Bank(client, fake_gemini)
            _, waiting = await bank.pause("transfer", {"amount": 4})
            [request] = waiting.pending
            late = await bank.answer(
                waiting.run_id, {"request_id": request.request_id, "confirmed": True}
            )
    finally:
        await model.api_client.aio.aclose()

    assert (late.status_code, late.json()["error"]["code"]) == (409, "run_expired")
    assert TOOL_RUNS["transfer"] == 0
