"""Runs that wait, through the Vercel AI SDK: the `ai` package's own chat (the class
`useChat` wraps) receives a tool confirmation as an approval request and answers it with
`addToolApprovalResponse`; a client tool, a long-running tool and a credential request
come as tool calls it answers with `addToolOutput`; it sends the chat again by itself,
and the run continues."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from tests.adapters.conftest import NodeRunner, node_dir, run_node
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply
from tests.pauses.pause_agent import TOOL_RUNS

__all__ = ["fake_gemini", "node_dir", "run_node"]


@pytest.mark.parametrize(("decision", "runs"), [("approve", 1), ("deny", 0)])
async def test_pauses_vercel_approval_through_the_sdks_chat(
    bank_url: str, fake_gemini: FakeGemini, run_node: NodeRunner, decision: str, runs: int
) -> None:
    fake_gemini.script(ToolCallReply("transfer", {"amount": 5}))
    chat_id = f"chat-{uuid.uuid4().hex[:8]}"
    async with asyncio.timeout(60):
        result = await run_node("chat_pause.mjs", bank_url, "bank", chat_id, "send 5", decision)
        async with httpx.AsyncClient(base_url=bank_url) as client:
            runs_of_chat = (await client.get(f"/v1/sessions/{chat_id}/runs")).json()["runs"]

    assert result["errors"] == []
    assert len(result["requests"]) == 2  # the message, then the chat sent again by the SDK
    [assistant] = [m for m in result["messages"] if m["role"] == "assistant"]
    [tool] = [p for p in assistant["parts"] if p["type"] == "tool-transfer"]
    assert tool["approval"]["approved"] is (decision == "approve")
    if decision == "approve":
        assert tool["state"] == "output-available"
        assert tool["output"] == {"transferred": 5}
    else:
        assert tool["state"] == "output-denied"
    assert TOOL_RUNS["transfer"] == runs
    assert [r["status"] for r in runs_of_chat] == ["waiting", "completed"]
    text = "".join(p.get("text", "") for p in assistant["parts"] if p["type"] == "text")
    assert text.startswith("Tool said:")  # the model answered after the tool's outcome


async def test_pauses_vercel_client_tool_runs_in_on_tool_call(
    bank_url: str, fake_gemini: FakeGemini, run_node: NodeRunner
) -> None:
    fake_gemini.script(ToolCallReply("get_location", {"precision": "city"}))
    tools = {"tools": [{"name": "get_location", "description": "Where the user is."}]}
    async with asyncio.timeout(60):
        outputs = json.dumps({"get_location": {"city": "Paris"}})
        result = await run_node(
            "chat_pause.mjs",
            bank_url,
            "bank",
            "chat-tool",
            "where am I?",
            "-",
            outputs,
            json.dumps(tools),
        )

    assert result["errors"] == []
    assert len(result["requests"]) == 2  # the message, then the chat sent with the output
    [assistant] = [m for m in result["messages"] if m["role"] == "assistant"]
    [tool] = [p for p in assistant["parts"] if p["type"] == "tool-get_location"]
    assert (tool["state"], tool["output"]) == ("output-available", {"city": "Paris"})
    last = fake_gemini.requests[-1]["contents"][-1]["parts"]
    assert [p["functionResponse"]["response"] for p in last if "functionResponse" in p] == [
        {"city": "Paris"}
    ]


@pytest.mark.parametrize(
    ("tool", "asked", "output", "said"),
    [
        pytest.param(
            "ask_manager", "ask_manager", {"approved": True}, '"approved": true', id="long-running"
        ),
        pytest.param(
            "read_calendar",
            "adk_request_credential",
            {"access_token": "tok-9"},
            "tok-9",
            id="credential",
        ),
    ],
)
async def test_pauses_vercel_long_running_and_credential_answered_by_tool_output(
    bank_url: str,
    fake_gemini: FakeGemini,
    run_node: NodeRunner,
    tool: str,
    asked: str,
    output: dict[str, object],
    said: str,
) -> None:
    fake_gemini.script(ToolCallReply(tool, {"question": "raise?"} if tool == "ask_manager" else {}))
    chat_id = f"chat-{uuid.uuid4().hex[:8]}"
    async with asyncio.timeout(60):
        outputs = json.dumps({asked: output})
        result = await run_node("chat_pause.mjs", bank_url, "bank", chat_id, "go", "-", outputs)

    assert result["errors"] == []
    assert len(result["requests"]) == 2  # the message, then the chat sent with the output
    [assistant] = [m for m in result["messages"] if m["role"] == "assistant"]
    [answered] = [p for p in assistant["parts"] if p["type"] == f"tool-{asked}"]
    assert (answered["state"], answered["output"]) == ("output-available", output)
    assert TOOL_RUNS[tool] == 1
    [own] = [p for p in assistant["parts"] if p["type"] == f"tool-{tool}"]
    if tool == "read_calendar":  # re-ran with the token: its part holds the real result
        assert own["output"] == {"events": ["standup"], "token_used": "tok-9"}
    text = "".join(p.get("text", "") for p in assistant["parts"] if p["type"] == "text")
    assert said in text
