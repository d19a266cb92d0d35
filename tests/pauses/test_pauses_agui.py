"""Runs that wait, through AG-UI: @ag-ui/client's own HttpAgent gets RUN_FINISHED with the
interrupt outcome, answers on its next run with `resume[]` (and a tool message for a
client tool), and the run continues; the client's own checks pass on both runs."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.adapters.conftest import NodeRunner, node_dir, run_node
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply
from tests.pauses.pause_agent import TOOL_RUNS

__all__ = ["fake_gemini", "node_dir", "run_node"]


@pytest.mark.parametrize(("decision", "runs"), [("approve", 1), ("deny", 0)])
async def test_pauses_agui_confirmation_interrupt_answered_by_resume(
    bank_url: str, fake_gemini: FakeGemini, run_node: NodeRunner, decision: str, runs: int
) -> None:
    fake_gemini.script(ToolCallReply("transfer", {"amount": 5}))
    async with asyncio.timeout(60):
        out = await run_node(
            "agui_pause.mjs", f"{bank_url}/v1/agui/bank", "t-bank", "send 5", decision
        )

    assert out["ok"], out
    assert out["warnings"] == []
    first, second = out["finished"]
    assert first["outcome"]["type"] == "interrupt"
    assert second.get("outcome", {"type": "success"})["type"] == "success"  # the default
    assert second["result"].startswith("Tool said:")  # the model answered after the outcome
    [interrupt] = out["interrupts"]
    assert interrupt["reason"] == "confirmation"
    assert interrupt["metadata"]["name"] == "transfer"
    assert TOOL_RUNS["transfer"] == runs
    texts = [m.get("content") for m in out["messages"] if m["role"] == "assistant"]
    assert any(isinstance(t, str) and t.startswith("Tool said:") for t in texts)


async def test_pauses_agui_client_tool_answered_by_a_tool_message(
    bank_url: str, fake_gemini: FakeGemini, run_node: NodeRunner
) -> None:
    fake_gemini.script(ToolCallReply("get_location", {"precision": "city"}))
    tools = [{"name": "get_location", "description": "Where the user is.", "parameters": {}}]
    async with asyncio.timeout(60):
        out = await run_node(
            "agui_pause.mjs",
            f"{bank_url}/v1/agui/bank",
            "t-tool",
            "where am I?",
            "tool",
            json.dumps(tools),
        )

    assert out["ok"], out
    [interrupt] = out["interrupts"]
    assert (interrupt["reason"], interrupt["metadata"]["name"]) == ("client_tool", "get_location")
    declared = [
        d["name"]
        for t in fake_gemini.requests[0]["tools"]
        for d in t.get("functionDeclarations", [])
    ]
    assert "get_location" in declared
    last = fake_gemini.requests[-1]["contents"][-1]["parts"]
    assert [p["functionResponse"]["response"] for p in last if "functionResponse" in p] == [
        {"city": "Paris"}
    ]


@pytest.mark.parametrize(
    ("tool", "args", "payload", "seen"),
    [
        pytest.param(
            "ask_manager",
            {"question": "raise?"},
            {"result": {"approved": True}},
            '"approved": true',
            id="long-running",
        ),
        pytest.param("read_calendar", {}, {"access_token": "tok-9"}, "tok-9", id="credential"),
    ],
)
async def test_pauses_agui_long_running_and_credential_answered_by_resume(
    bank_url: str,
    fake_gemini: FakeGemini,
    run_node: NodeRunner,
    tool: str,
    args: dict[str, object],
    payload: dict[str, object],
    seen: str,
) -> None:
    fake_gemini.script(ToolCallReply(tool, args))
    async with asyncio.timeout(60):
        out = await run_node(
            "agui_pause.mjs", f"{bank_url}/v1/agui/bank", f"t-{tool}", "go", json.dumps(payload)
        )

    assert out["ok"], out
    [interrupt] = out["interrupts"]
    assert interrupt["reason"] == ("tool_result" if tool == "ask_manager" else "credential")
    _, second = out["finished"]
    assert seen in second["result"]  # the model (the fake echoes it) got the answer
