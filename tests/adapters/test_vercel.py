"""The Vercel AI SDK UI message stream over a real server, read by the `ai` package's own
client code (DefaultChatTransport, readUIMessageStream) in tests/adapters/node."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types
from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.api.vercel import HEADERS, VercelEncoder
from adkstream.events import StreamEvent
from adkstream.settings import Settings
from tests.adapters import events as ev
from tests.adapters.conftest import SECRET, NodeRunner, native_run, slow_server
from tests.adapters.events import branch_events, loop_iteration, planner_turn
from tests.api.conftest import Api, ServerFactory
from tests.servers import serve_app

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


async def test_vercel_fanout_branches_read_cleanly_one_after_another(
    api: Api, run_node: NodeRunner
) -> None:
    # Two agents answer at once on the server; the ai package's reader gets no error
    # (the steps never overlap), each branch's text whole, and every agent completed.
    async with asyncio.timeout(60):
        out = await run_node("read_vercel.mjs", "send", api.url, "fanout", "chat-f", "a plan")

    assert out["errors"] == []
    # The workflow itself is an agent run too: it ends with the join's output.
    assert sorted(a["author"] for a in out["agents"]) == ["fanout", "optimist", "skeptic"]
    assert all(a["status"] == "completed" for a in out["agents"])
    assert out["chunkTypes"].count("start-step") == out["chunkTypes"].count("finish-step") == 3
    parts = [p for p in out["message"]["parts"] if p["type"] == "text"]
    authors = [p["providerMetadata"]["adkstream"]["author"] for p in parts]
    assert sorted(authors) == ["optimist", "skeptic"]
    assert all(p["state"] == "done" and p["text"] for p in parts)


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
        {"id": "c1", "messages": [{"id": "u", "role": "user", "parts": [{"type": "step"}]}]},
        422,
        "invalid_field",
        id="no-text-or-file",
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


# --- files sent in: the model gets the bytes ---


class RecordingModel(BaseLlm):
    """Answers one sentence, and keeps the inline data of every request it is sent."""

    model: str = "recording"
    blobs: list[list[types.Blob]] = Field(default_factory=list)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.blobs.append(
            [
                part.inline_data
                for content in llm_request.contents
                for part in content.parts or []
                if part.inline_data is not None
            ]
        )
        part = types.Part(text="A dot.")
        yield LlmResponse(content=types.Content(role="model", parts=[part]))


@pytest.fixture
async def looker(tmp_path: Path) -> AsyncIterator[tuple[Api, RecordingModel]]:
    """A server hosting one agent, `looker`, whose model records what it is sent."""
    model = RecordingModel()
    agent = LlmAgent(name="looker", model=model, instruction="Describe what you see.")
    app = create_app(Settings(data_dir=tmp_path / "data"), AgentRegistry([HostedAgent.of(agent)]))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield Api(url=url, client=client, app=app), model


PNG_URL = f"data:image/png;base64,{ev.PNG_1PX}"


def file_part(url: str = PNG_URL, **fields: Any) -> dict[str, Any]:
    """A file part as `useChat` sends an attachment (convertFileListToFileUIParts)."""
    return {"type": "file", "mediaType": "image/png", "filename": "dot.png", "url": url} | fields


def message_body(chat_id: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    message = {"id": "user-1", "role": "user", "parts": parts}
    return {"id": chat_id, "messages": [message], "trigger": "submit-message"}


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param([{"type": "text", "text": "What is this?"}, file_part()], id="text-and-image"),
        pytest.param([file_part()], id="image-only"),
        pytest.param(
            [file_part(f"data:image/png;name=dot.png;base64,{ev.PNG_1PX}", mediaType="image")],
            id="type-from-the-url",
        ),
    ],
)
async def test_vercel_image_reaches_the_model(
    looker: tuple[Api, RecordingModel], parts: list[dict[str, Any]]
) -> None:
    api, model = looker
    async with asyncio.timeout(30):
        response = await api.client.post("/v1/vercel/looker", json=message_body("c-img", parts))
    assert response.status_code == 200, response.text
    assert '"text-delta"' in response.text and response.text.endswith("data: [DONE]\n\n")
    (blobs,) = model.blobs
    assert [(b.mime_type, b.data) for b in blobs] == [("image/png", base64.b64decode(ev.PNG_1PX))]


async def test_vercel_percent_encoded_data_url_reaches_the_model(
    looker: tuple[Api, RecordingModel],
) -> None:
    api, model = looker
    part = file_part("data:text/plain,a%20note", mediaType="text/plain")
    async with asyncio.timeout(30):
        response = await api.client.post("/v1/vercel/looker", json=message_body("c-txt", [part]))
    assert response.status_code == 200, response.text
    assert [(b.mime_type, b.data) for b in model.blobs[0]] == [("text/plain", b"a note")]


BAD_FILES = [
    pytest.param(file_part("https://example.com/dot.png"), "data: URL", id="http-url"),
    pytest.param(file_part("data:image/png;base64,not base64!"), "base64", id="bad-base64"),
    pytest.param(file_part("data:image/png;base64"), "','", id="no-comma"),
    pytest.param({"type": "file", "mediaType": "image/png"}, "data: URL", id="no-url"),
    pytest.param(file_part("data:;base64,AAAA", mediaType=None), "media type", id="no-type"),
]


@pytest.mark.parametrize(("part", "says"), BAD_FILES)
async def test_vercel_bad_file_part_is_a_400_naming_messages(
    looker: tuple[Api, RecordingModel], part: dict[str, Any], says: str
) -> None:
    api, model = looker
    async with asyncio.timeout(30):
        response = await api.client.post("/v1/vercel/looker", json=message_body("c-bad", [part]))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["field"] == "messages"
    assert says in error["message"]
    assert model.blobs == []


# --- a canned stream of every event type, read by the `ai` package ---


def every_event() -> list[StreamEvent]:
    """A run with every event the encoder places: a planner that thinks, cites, draws,
    runs code and saves an artifact; two parallel branches interleaved at the source;
    and a loop's two iterations, the critic escalating in the second."""
    x, y = branch_events("x"), branch_events("y")
    parallel = [event for pair in zip(x, y, strict=True) for event in pair]
    second = loop_iteration(2)
    return ev.numbered(
        ev.started(),
        *planner_turn(),
        *parallel,
        *loop_iteration(1),
        *second[:-1],
        ev.escalated(0, author="critic"),
        second[-1],
        ev.run_completed(0, "better"),
    )


def canned_app(events: list[StreamEvent]) -> Starlette:
    """Serves our encoder's frames for `events` where the transport reconnects to a chat."""

    async def stream(request: Request) -> StreamingResponse:
        encoder = VercelEncoder()

        def frames() -> Iterator[bytes]:
            for event in events:
                yield from encoder.frames(event)

        return StreamingResponse(frames(), media_type="text/event-stream", headers=HEADERS)

    return Starlette(routes=[Route("/v1/vercel/canned/{chat_id}/stream", stream)])


async def test_vercel_every_event_type_reads_cleanly_with_the_ai_package(
    run_node: NodeRunner,
) -> None:
    async with serve_app(canned_app(every_event())) as url, asyncio.timeout(60):
        out = await run_node("read_vercel.mjs", "resume", url, "canned", "chat-all")
    assert out["errors"] == []
    types_seen = out["chunkTypes"]
    assert types_seen.count("start-step") == types_seen.count("finish-step") == 7
    assert out["agents"] == [
        {"author": "planner", "branch": None, "status": "completed"},
        {"author": "x", "branch": "par.x", "status": "completed"},
        {"author": "y", "branch": "par.y", "status": "completed"},
        {"author": "writer", "branch": None, "status": "completed"},
        {"author": "critic", "branch": None, "status": "completed"},
        {"author": "writer", "branch": None, "status": "completed"},
        {"author": "critic", "branch": None, "status": "completed"},
    ]
    parts = out["message"]["parts"]
    # a data-agent part is updated in place when its agent completes: one per agent run
    assert [p["type"] for p in parts if p["type"] != "step-start"] == [
        "data-agent",
        "reasoning",
        "reasoning",
        "text",
        "source-url",
        "source-url",
        "file",
        "tool-code_execution",
        "data-artifact",
        # branch x, then branch y: each contiguous
        "data-agent",
        "reasoning",
        "text",
        "tool-clock",
        "data-agent",
        "reasoning",
        "text",
        "tool-clock",
        # the loop's two iterations
        "data-agent",
        "text",
        "data-agent",
        "text",
        "data-agent",
        "text",
        "data-agent",
        "text",
        "data-escalate",
    ]
    reasoning = [(p["text"], p["state"]) for p in parts if p["type"] == "reasoning"]
    assert reasoning == [
        ("Let me think.", "done"),
        ("Unstreamed thought.", "done"),
        ("hm", "done"),
        ("hm", "done"),
    ]
    texts = [(p["text"], p["state"]) for p in parts if p["type"] == "text"]
    assert texts == [("Hello", "done")] * 3 + [("draft", "done"), ("better", "done")] * 2
    sources = [(p["sourceId"], p["url"], p["title"]) for p in parts if p["type"] == "source-url"]
    assert sources == [("s1", "https://example.com/a", "A"), ("s2", "https://example.com/b", "B")]
    (image,) = [p for p in parts if p["type"] == "file"]
    assert image["url"] == PNG_URL and image["mediaType"] == "image/png"
    (code,) = [p for p in parts if p["type"] == "tool-code_execution"]
    assert code["state"] == "output-available" and code["providerExecuted"] is True
    assert code["input"] == {"language": "python", "code": "print(1 + 1)"}
    assert code["output"] == {"outcome": "ok", "output": "2\n"}
    (artifact,) = [p["data"] for p in parts if p["type"] == "data-artifact"]
    assert artifact["url"] == "/v1/sessions/s-1/artifacts/report.txt?version=0"
    (escalation,) = [p["data"] for p in parts if p["type"] == "data-escalate"]
    assert escalation == {"author": "critic", "branch": None}
    metadata = out["message"]["metadata"]
    assert metadata["finish_reason"] == "stop" and metadata["usage"]["thought_tokens"] == 5
