"""The Vercel AI SDK UI message stream over a real server, read by the `ai` package's own
client code (DefaultChatTransport, readUIMessageStream) in tests/adapters/node."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.adapters.conftest import SECRET, NodeRunner, native_run, slow_server
from tests.api.conftest import Api, ServerFactory

TOOL_PROMPT = "What time is it? Use get_current_time."


def chat_body(chat_id: str, text: str, **fields: Any) -> dict[str, Any]:
    message = {"id": "user-1", "role": "user", "parts": [{"type": "text", "text": text}]}
    return {"id": chat_id, "messages": [message], "trigger": "submit-message", **fields}


async def test_vercel_text_answer_matches_the_native_run(api: Api, run_node: NodeRunner) -> None:
    async with asyncio.timeout(60):
        native = await native_run(api, "hello there")
        out = await run_node(
            "read_vercel.mjs", "send", api.url, "assistant", "chat-1", "hello there"
        )
        run_id = out["headers"]["x-run-id"]
        view = (await api.client.get(f"/v1/runs/{run_id}")).json()
    assert out["errors"] == []
    headers = out["headers"]
    assert headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"
    assert headers["x-session-id"] == "chat-1"
    assert out["texts"] == [native["final_text"]]
    assert out["message"]["role"] == "assistant" and out["message"]["id"] == run_id
    assert out["message"]["metadata"]["usage"] == native["usage"]
    assert out["agents"] == [{"author": "assistant", "branch": None, "status": "completed"}]
    types = out["chunkTypes"]
    assert types[:3] == ["start", "start-step", "data-agent"]
    assert types[-2:] == ["finish-step", "finish"]
    assert view["status"] == "completed" and view["final_text"] == native["final_text"]


async def test_vercel_tool_call_becomes_a_tool_part(api: Api, run_node: NodeRunner) -> None:
    async with asyncio.timeout(60):
        out = await run_node("read_vercel.mjs", "send", api.url, "assistant", "chat-t", TOOL_PROMPT)
        view = (await api.client.get(f"/v1/runs/{out['headers']['x-run-id']}")).json()
    assert out["errors"] == []
    (tool,) = out["tools"]
    assert tool["type"] == "tool-get_current_time"
    assert tool["state"] == "output-available"
    assert tool["input"] == {"timezone": "UTC"}
    assert tool["output"]["timezone"] == "UTC"
    assert out["texts"] == [view["final_text"]]


async def test_vercel_pipeline_has_a_step_and_attribution_per_agent(
    api: Api, run_node: NodeRunner
) -> None:
    async with asyncio.timeout(60):
        native = await native_run(api, "a poem", agent="pipeline")
        out = await run_node("read_vercel.mjs", "send", api.url, "pipeline", "chat-p", "a poem")
    assert out["errors"] == []
    assert [a["author"] for a in out["agents"]] == ["writer", "editor"]
    assert out["chunkTypes"].count("start-step") == 2
    assert out["texts"][-1] == native["final_text"]
    parts = out["message"]["parts"]
    authors = [p["providerMetadata"]["adkstream"]["author"] for p in parts if p["type"] == "text"]
    assert authors == ["writer", "editor"]


async def test_vercel_chat_continues_its_session(api: Api, run_node: NodeRunner) -> None:
    async with asyncio.timeout(60):
        await run_node("read_vercel.mjs", "send", api.url, "assistant", "chat-c", "one")
        await run_node("read_vercel.mjs", "send", api.url, "assistant", "chat-c", "two")
        session = (await api.client.get("/v1/sessions/chat-c")).json()
    assert session["agent"] == "assistant"
    assert [m["text"] for m in session["messages"] if m["role"] == "user"] == ["one", "two"]


async def test_vercel_failed_run_sends_an_error_part(broken_api: Api) -> None:
    async with asyncio.timeout(30):
        response = await broken_api.client.post("/v1/vercel/broken", json=chat_body("c-b", "hi"))
    frames = [f.removeprefix("data: ") for f in response.text.split("\n\n") if f]
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    assert chunks[-2] == {"type": "error", "errorText": "The model failed to answer."}
    assert chunks[-1] == {"type": "finish", "finishReason": "error"}
    assert SECRET not in response.text


async def test_vercel_resume_replays_the_active_run(
    start_server: ServerFactory, run_node: NodeRunner
) -> None:
    async with slow_server(start_server) as api, asyncio.timeout(60):
        body = chat_body("chat-r", "long", on_disconnect="continue")
        async with api.client.stream("POST", "/v1/vercel/assistant", json=body) as response:
            run_id = response.headers["x-run-id"]
            async for line in response.aiter_lines():
                if '"text-delta"' in line:
                    break  # the page reloads mid-answer
        resumed = await run_node("read_vercel.mjs", "resume", api.url, "assistant", "chat-r")
        view = (await api.client.get(f"/v1/runs/{run_id}")).json()
        after = await run_node("read_vercel.mjs", "resume", api.url, "assistant", "chat-r")
    assert resumed["active"] and resumed["errors"] == []
    assert resumed["headers"]["x-run-id"] == run_id
    assert view["status"] == "completed"
    assert resumed["texts"] == [view["final_text"]]
    assert resumed["chunkTypes"][0] == "start" and resumed["chunkTypes"][-1] == "finish"
    assert after == {"mode": "resume", "active": False, "headers": after["headers"]}


async def test_vercel_resume_is_204_without_an_active_run(api: Api) -> None:
    async with asyncio.timeout(30):
        unknown = await api.client.get("/v1/vercel/assistant/no-such-chat/stream")
        await api.client.post("/v1/vercel/assistant", json=chat_body("chat-done", "hi"))
        finished = await api.client.get("/v1/vercel/assistant/chat-done/stream")
        other_agent = await api.client.get("/v1/vercel/pipeline/chat-done/stream")
        no_agent = await api.client.get("/v1/vercel/nobody/chat-done/stream")
    assert [unknown.status_code, finished.status_code, other_agent.status_code] == [204] * 3
    assert no_agent.status_code == 404


async def test_vercel_client_disconnect_cancels_by_default(start_server: ServerFactory) -> None:
    async with slow_server(start_server) as api, asyncio.timeout(30):
        body = chat_body("chat-x", "long")
        async with api.client.stream("POST", "/v1/vercel/assistant", json=body) as response:
            run_id = response.headers["x-run-id"]
            async for line in response.aiter_lines():
                if '"text-delta"' in line:
                    break
        run = api.host.runs.active.get(run_id)
        if run is not None:
            await run.done.wait()
        view = (await api.client.get(f"/v1/runs/{run_id}")).json()
        resume = await api.client.get("/v1/vercel/assistant/chat-x/stream")
    assert view["status"] == "cancelled"
    assert resume.status_code == 204


BAD_INPUTS = [
    pytest.param("nobody", chat_body("c1", "x"), 404, "unknown_agent", id="unknown-agent"),
    pytest.param(
        "assistant",
        {"id": "c1", "messages": [{"id": "a", "role": "assistant", "parts": []}]},
        400,
        "missing_message",
        id="no-user-message",
    ),
    pytest.param(
        "assistant",
        {"id": "c1", "messages": [{"id": "u", "role": "user", "parts": [{"type": "file"}]}]},
        400,
        "invalid_request",
        id="no-text",
    ),
    pytest.param("assistant", {"messages": []}, 422, "invalid_field", id="no-id"),
    pytest.param("assistant", chat_body("../etc", "x"), 400, "invalid_request", id="bad-id"),
    pytest.param(
        "assistant",
        chat_body("c1", "x", on_disconnect="never"),
        422,
        "invalid_field",
        id="bad-disconnect-policy",
    ),
]


@pytest.mark.parametrize(("agent", "body", "status", "code"), BAD_INPUTS)
async def test_vercel_bad_input_gets_a_json_error(
    api: Api, agent: str, body: dict[str, Any], status: int, code: str
) -> None:
    async with asyncio.timeout(30):
        response = await api.client.post(f"/v1/vercel/{agent}", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
