"""AG-UI over a real server: every frame validates against ag-ui-protocol's event models,
the sequence obeys AG-UI's ordering rules, and @ag-ui/client's HttpAgent runs it."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ag_ui.core import (
    BaseEvent,
    Event,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types
from pydantic import Field, TypeAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.api.agui import AguiEncoder
from adkstream.events import StreamEvent
from adkstream.settings import Settings
from tests.adapters import events as ev
from tests.adapters.agui_order import check_order
from tests.adapters.conftest import SECRET, NodeRunner, native_run, slow_server
from tests.adapters.events import branch_events, loop_iteration, planner_turn
from tests.api.conftest import Api, ServerFactory
from tests.servers import serve_app

EVENT: TypeAdapter[BaseEvent] = TypeAdapter(Event)
TOOL_PROMPT = "What time is it? Use get_current_time."


def run_input(thread_id: str, text: str, **fields: Any) -> dict[str, Any]:
    """A RunAgentInput as an AG-UI client sends it (camelCase)."""
    return {
        "threadId": thread_id,
        "runId": "client-run-1",
        "state": {},
        "messages": [{"id": "user-1", "role": "user", "content": text}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
        **fields,
    }


def parse_frame(frame: str) -> BaseEvent:
    """One SSE frame: a single `data:` line (no `event:`, no `id:`) of camelCase JSON."""
    assert frame.startswith("data: ") and "\n" not in frame, frame
    data = json.loads(frame.removeprefix("data: "))
    assert not [key for key in data if "_" in key], f"not camelCase: {frame}"
    return EVENT.validate_python(data)


async def post_agui(
    client: httpx.AsyncClient, agent: str, body: dict[str, Any]
) -> tuple[httpx.Response, list[BaseEvent]]:
    async with client.stream("POST", f"/v1/agui/{agent}", json=body) as response:
        text = (await response.aread()).decode()
    assert response.status_code == 200, text
    frames = [f for f in text.split("\n\n") if f and not f.startswith(":")]
    return response, [parse_frame(f) for f in frames]


def text_of(events: list[BaseEvent], message_id: str | None = None) -> str:
    return "".join(
        e.delta
        for e in events
        if isinstance(e, TextMessageContentEvent) and message_id in (None, e.message_id)
    )


def our_run_id(events: list[BaseEvent]) -> str:
    started = events[0]
    assert isinstance(started, RunStartedEvent) and started.metadata is not None
    run_id: str = started.metadata["adkstream"]["run_id"]
    return run_id


async def test_agui_text_answer_matches_the_native_run(api: Api) -> None:
    async with asyncio.timeout(30):
        native = await native_run(api, "hello there")
        response, events = await post_agui(
            api.client, "assistant", run_input("t-text", "hello there")
        )
        view = (await api.client.get(f"/v1/runs/{our_run_id(events)}")).json()
    check_order(events)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-session-id"] == "t-text"
    assert response.headers["x-run-id"] == our_run_id(events)
    started, snapshot, finished = events[0], events[1], events[-1]
    assert isinstance(started, RunStartedEvent) and started.run_id == "client-run-1"
    assert started.thread_id == "t-text"
    assert isinstance(snapshot, StateSnapshotEvent) and snapshot.snapshot == {}
    assert isinstance(finished, RunFinishedEvent) and finished.run_id == "client-run-1"
    assert finished.result == native["final_text"]
    assert text_of(events) == native["final_text"]
    assert (
        finished.usage is not None
        and finished.usage[0].total_tokens == native["usage"]["total_tokens"]
    )
    steps = [
        (type(e).__name__, e.step_name)
        for e in events
        if isinstance(e, StepStartedEvent | StepFinishedEvent)
    ]
    assert steps == [("StepStartedEvent", "assistant"), ("StepFinishedEvent", "assistant")]
    start = next(e for e in events if isinstance(e, TextMessageStartEvent))
    assert start.role == "assistant" and start.name == "assistant"
    assert start.metadata == {"author": "assistant", "branch": None}
    (delta,) = [e for e in events if isinstance(e, StateDeltaEvent)]
    assert [op.model_dump() for op in delta.delta] == [
        {"op": "add", "path": "/last_answer", "value": native["final_text"]}
    ]
    # The run is one of the native API's runs.
    assert view["status"] == "completed" and view["final_text"] == native["final_text"]
    assert view["session_id"] == "t-text"


async def test_agui_tool_call(api: Api) -> None:
    async with asyncio.timeout(30):
        _, events = await post_agui(api.client, "assistant", run_input("t-tool", TOOL_PROMPT))
        view = (await api.client.get(f"/v1/runs/{our_run_id(events)}")).json()
    check_order(events)
    (start,) = [e for e in events if isinstance(e, ToolCallStartEvent)]
    assert start.tool_call_name == "get_current_time"
    args = "".join(e.delta for e in events if isinstance(e, ToolCallArgsEvent))
    assert json.loads(args) == {"timezone": "UTC"}
    (result,) = [e for e in events if isinstance(e, ToolCallResultEvent)]
    assert result.tool_call_id == start.tool_call_id and result.role == "tool"
    assert isinstance(result.content, str) and json.loads(result.content)["timezone"] == "UTC"
    assert text_of(events) == view["final_text"]
    assert view["final_text"].startswith("The tool get_current_time returned")


async def test_agui_pipeline_attributes_each_agent(api: Api) -> None:
    async with asyncio.timeout(30):
        native = await native_run(api, "a poem", agent="pipeline")
        _, events = await post_agui(api.client, "pipeline", run_input("t-pipe", "a poem"))
    check_order(events)
    steps = [e.step_name for e in events if isinstance(e, StepStartedEvent)]
    assert steps == ["writer", "editor"]
    starts = [e for e in events if isinstance(e, TextMessageStartEvent)]
    assert [s.name for s in starts] == ["writer", "editor"]
    assert text_of(events, starts[-1].message_id) == native["final_text"]
    patched = [op.path for e in events if isinstance(e, StateDeltaEvent) for op in e.delta]
    assert patched == ["/draft", "/final"]


async def test_agui_fanout_branches_come_one_after_another(api: Api) -> None:
    async with asyncio.timeout(30):
        _, events = await post_agui(api.client, "fanout", run_input("t-fan", "a plan"))
    check_order(events)  # each branch's messages inside its own step
    steps = [e for e in events if isinstance(e, StepStartedEvent | StepFinishedEvent)]
    names = [(type(e).__name__, e.step_name) for e in steps]
    # Both branches run at once (either may come first); their steps do not overlap.
    first, second = sorted([names[0:2], names[2:4]])
    assert first == [("StepStartedEvent", "optimist"), ("StepFinishedEvent", "optimist")]
    assert second == [("StepStartedEvent", "skeptic"), ("StepFinishedEvent", "skeptic")]
    starts = [e for e in events if isinstance(e, TextMessageStartEvent)]
    assert sorted(s.name or "" for s in starts) == ["optimist", "skeptic"]
    assert all(text_of(events, s.message_id) for s in starts)


async def test_agui_thread_keeps_session_and_state(api: Api) -> None:
    async with asyncio.timeout(30):
        first_state = {"theme": "dark", "a/b~c": 1}
        _, first = await post_agui(
            api.client, "assistant", run_input("t-state", "one", state=first_state)
        )
        history = [
            {"id": "user-1", "role": "user", "content": "one"},
            {"id": "a-1", "role": "assistant", "content": "..."},
            {"id": "user-2", "role": "user", "content": "two"},
        ]
        _, second = await post_agui(
            api.client,
            "assistant",
            run_input("t-state", "two", messages=history, state={"theme": "light", "a/b~c": 1}),
        )
        session = (await api.client.get("/v1/sessions/t-state")).json()
    for events in (first, second):
        check_order(events)
    snapshot = second[1]
    assert isinstance(snapshot, StateSnapshotEvent)
    assert snapshot.snapshot["theme"] == "light" and "last_answer" in snapshot.snapshot
    ops = [(op.op, op.path) for e in second if isinstance(e, StateDeltaEvent) for op in e.delta]
    assert ops == [("replace", "/last_answer")]
    assert [m["text"] for m in session["messages"] if m["role"] == "user"] == ["one", "two"]
    assert session["state"]["theme"] == "light" and session["state"]["a/b~c"] == 1


async def test_agui_cancelled_run_finishes_with_the_cancelled_outcome(
    start_server: ServerFactory,
) -> None:
    async with slow_server(start_server) as api, asyncio.timeout(30):
        events: list[BaseEvent] = []
        cancelled = False
        body = run_input("t-cancel", "long")
        async with api.client.stream("POST", "/v1/agui/assistant", json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                events.append(parse_frame(line))
                if isinstance(events[-1], TextMessageContentEvent) and not cancelled:
                    run_id = response.headers["x-run-id"]
                    cancel = await api.client.post(f"/v1/runs/{run_id}/cancel")
                    assert cancel.status_code == 202
                    cancelled = True
    check_order(events)
    finished = events[-1]
    assert isinstance(finished, RunFinishedEvent)
    assert finished.outcome is not None and finished.outcome.type == "cancelled"


async def test_agui_client_disconnect_cancels_the_run(start_server: ServerFactory) -> None:
    async with slow_server(start_server) as api, asyncio.timeout(30):
        body = run_input("t-leave", "long")
        async with api.client.stream("POST", "/v1/agui/assistant", json=body) as response:
            run_id = response.headers["x-run-id"]
            async for line in response.aiter_lines():
                if '"TEXT_MESSAGE_CONTENT"' in line:
                    break
        run = api.host.runs.active.get(run_id)
        if run is not None:
            await run.done.wait()
        view = (await api.client.get(f"/v1/runs/{run_id}")).json()
    assert view["status"] == "cancelled"


async def test_agui_failed_run_ends_with_run_error(broken_api: Api) -> None:
    async with asyncio.timeout(30):
        _, events = await post_agui(broken_api.client, "broken", run_input("t-b", "hi"))
    check_order(events)
    error = events[-1]
    assert isinstance(error, RunErrorEvent) and error.code == "model_error"
    assert SECRET not in json.dumps([e.model_dump(mode="json") for e in events])
    assert text_of(events) == "Partial"


BAD_INPUTS = [
    pytest.param("nobody", run_input("t1", "x"), 404, "unknown_agent", id="unknown-agent"),
    pytest.param(
        "assistant",
        run_input("t1", "x", messages=[{"id": "s", "role": "system", "content": "x"}]),
        400,
        "missing_message",
        id="no-user-message",
    ),
    pytest.param("assistant", run_input("has space", "x"), 400, "invalid_request", id="bad-thread"),
    pytest.param("assistant", {"runId": "r", "messages": []}, 422, "invalid_field", id="no-thread"),
    pytest.param(
        "assistant", run_input("t1", "x", state=[1]), 400, "invalid_request", id="bad-state"
    ),
    pytest.param("assistant", run_input("pipe-1", "x"), 409, "agent_mismatch", id="other-agent"),
]


@pytest.mark.parametrize(("agent", "body", "status", "code"), BAD_INPUTS)
async def test_agui_bad_input_gets_a_json_error(
    api: Api, agent: str, body: dict[str, Any], status: int, code: str
) -> None:
    async with asyncio.timeout(30):
        created = await api.client.post(
            "/v1/sessions", json={"agent": "pipeline", "session_id": "pipe-1"}
        )
        assert created.status_code == 201
        response = await api.client.post(f"/v1/agui/{agent}", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("agent", "prompt"),
    [
        pytest.param("assistant", "hello there", id="text"),
        pytest.param("assistant", TOOL_PROMPT, id="tool-call"),
        pytest.param("pipeline", "a poem", id="pipeline"),
        pytest.param("fanout", "a plan", id="fanout"),
    ],
)
async def test_agui_http_agent_runs_the_stream(
    api: Api, run_node: NodeRunner, agent: str, prompt: str
) -> None:
    async with asyncio.timeout(60):
        out = await run_node(
            "read_agui.mjs", f"{api.url}/v1/agui/{agent}", f"t-node-{agent}", prompt, '{"x": 1}'
        )
        runs = (await api.client.get(f"/v1/sessions/t-node-{agent}/runs")).json()["runs"]
    assert out["ok"], out
    (run,) = runs
    assert out["result"] == run["final_text"]
    assistant = [m for m in out["newMessages"] if m["role"] == "assistant" and m.get("content")]
    assert assistant[-1]["content"] == run["final_text"]
    assert out["state"]["x"] == 1
    if prompt == TOOL_PROMPT:
        calls = [c for m in out["newMessages"] for c in m.get("toolCalls", [])]
        assert [c["function"]["name"] for c in calls] == ["get_current_time"]
        assert [m["toolCallId"] for m in out["newMessages"] if m["role"] == "tool"] == [
            calls[0]["id"]
        ]


# --- media sent in: the model gets the bytes ---


class RecordingModel(BaseLlm):
    """Answers one sentence, and keeps the parts of the last content of every request."""

    model: str = "recording"
    received: list[list[types.Part]] = Field(default_factory=list)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.received.append(list(llm_request.contents[-1].parts or []))
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


PNG = base64.b64decode(ev.PNG_1PX)


def media(kind: str = "image", **source: Any) -> dict[str, Any]:
    """An AG-UI 1.0 media part with inline data (`source` overrides the data source)."""
    data = {"type": "data", "value": ev.PNG_1PX, "mimeType": "image/png"}
    return {"type": kind, "source": data | source}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def with_content(thread_id: str, content: Any) -> dict[str, Any]:
    return run_input(thread_id, "", messages=[{"id": "user-1", "role": "user", "content": content}])


def received(model: RecordingModel) -> list[tuple[str | None, bytes | None, str | None]]:
    """What the model got of the user's message: (text, bytes, mime type) per part."""
    (parts,) = model.received
    blobs = [(p, p.inline_data or types.Blob()) for p in parts]
    return [(p.text, blob.data, blob.mime_type) for p, blob in blobs]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            [text_part("What is "), text_part("this?"), media()],
            [("What is this?", None, None), (None, PNG, "image/png")],
            id="text-and-image",
        ),
        pytest.param([media()], [(None, PNG, "image/png")], id="image-only"),
        pytest.param(
            [text_part(" "), media("document", value="JVBERg==", mimeType="application/pdf")],
            [(None, b"%PDF", "application/pdf")],
            id="blank-text-and-document",
        ),
        pytest.param(
            [media("audio", mimeType="audio/wav"), media("video", mimeType="video/mp4")],
            [(None, PNG, "audio/wav"), (None, PNG, "video/mp4")],
            id="audio-and-video",
        ),
    ],
)
async def test_agui_media_reach_the_model(
    looker: tuple[Api, RecordingModel], content: list[dict[str, Any]], expected: list[Any]
) -> None:
    api, model = looker
    async with asyncio.timeout(30):
        _, events = await post_agui(api.client, "looker", with_content("t-img", content))
    check_order(events)
    assert text_of(events) == "A dot."
    assert received(model) == expected


BAD_MEDIA = [
    pytest.param(
        [text_part("look"), media(value="not base64!")],
        "messages[0].content[1].source.value is not valid base64",
        id="bad-base64",
    ),
    pytest.param([media(value="")], "source.value is empty", id="no-data"),
    pytest.param([media(mimeType="")], "source.mimeType is empty", id="no-type"),
    pytest.param(
        [media(type="url", value="https://example.com/dot.png")],
        "only inline data is accepted",
        id="url",
    ),
    pytest.param(
        [media(type="file", value="files/abc", provider="google")],
        "only inline data is accepted",
        id="provider-file",
    ),
]


@pytest.mark.parametrize(("content", "says"), BAD_MEDIA)
async def test_agui_bad_media_part_is_a_400_naming_messages(
    looker: tuple[Api, RecordingModel], content: list[dict[str, Any]], says: str
) -> None:
    api, model = looker
    async with asyncio.timeout(30):
        response = await api.client.post("/v1/agui/looker", json=with_content("t-bad", content))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["field"] == "messages"
    assert says in error["message"]
    assert model.received == []


async def test_agui_legacy_binary_part_is_refused(looker: tuple[Api, RecordingModel]) -> None:
    # AG-UI 1.0 removed `binary` parts: the request fails RunAgentInput's validation.
    api, model = looker
    legacy = {"type": "binary", "mimeType": "image/png", "data": ev.PNG_1PX}
    async with asyncio.timeout(30):
        response = await api.client.post("/v1/agui/looker", json=with_content("t-old", [legacy]))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_field"
    assert model.received == []


async def test_agui_http_agent_sends_an_image_the_model_gets(
    looker: tuple[Api, RecordingModel], run_node: NodeRunner
) -> None:
    api, model = looker
    message = {"id": "user-1", "role": "user", "content": [text_part("What?"), media()]}
    async with asyncio.timeout(60):
        out = await run_node(
            "read_agui.mjs",
            f"{api.url}/v1/agui/looker",
            "t-node-img",
            "",
            "{}",
            json.dumps([message]),
        )
    assert out["ok"], out
    assert received(model) == [("What?", None, None), (None, PNG, "image/png")]
    assert [m["content"] for m in out["newMessages"] if m["role"] == "assistant"] == ["A dot."]


# --- a canned stream of every event type, read by @ag-ui/client ---


def every_event() -> list[StreamEvent]:
    """A run with every event the encoder places: a planner that thinks, cites, draws,
    runs code and saves an artifact; two parallel branches interleaved at the source; a
    loop's two iterations, the critic escalating in the second; and a summary cut at the
    token limit."""
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
        ev.agent(0, "summarizer"),
        ev.delta(0, "s1", "Sum", author="summarizer"),
        ev.cut(0, "s1", "Sum", "max_tokens", author="summarizer"),
        ev.agent_done(0, "summarizer"),
        ev.run_completed(0, "Sum", finish_reason="max_tokens"),
    )


OUT_OF_ORDER = [
    b'data: {"type":"RUN_STARTED","threadId":"t","runId":"client-run-1"}\n\n',
    b'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"x"}\n\n',
    b'data: {"type":"RUN_FINISHED","threadId":"t","runId":"client-run-1"}\n\n',
]
"""A stream AG-UI's verifier refuses: content before its message started."""


def canned_app(events: list[StreamEvent]) -> Starlette:
    """Serves our encoder's frames for `events` to any AG-UI client (POST /agui), and a
    stream the client must refuse (POST /out-of-order)."""

    async def stream(request: Request) -> StreamingResponse:
        body = await request.json()
        encoder = AguiEncoder(thread_id=body["threadId"], run_id=body["runId"], state=body["state"])

        def frames() -> Iterator[bytes]:
            for event in events:
                yield from encoder.frames(event)

        return StreamingResponse(frames(), media_type="text/event-stream")

    async def out_of_order(request: Request) -> StreamingResponse:
        return StreamingResponse(iter(OUT_OF_ORDER), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/agui", stream, methods=["POST"]),
            Route("/out-of-order", out_of_order, methods=["POST"]),
        ]
    )


async def test_agui_http_agent_refuses_a_stream_out_of_order(run_node: NodeRunner) -> None:
    """The reader's own check: the stream below would pass if nothing verified it."""
    async with serve_app(canned_app([])) as url, asyncio.timeout(60):
        out = await run_node("read_agui.mjs", f"{url}/out-of-order", "t", "hi")
    assert not out["ok"]
    assert "TEXT_MESSAGE_START" in out["error"]


async def test_agui_every_event_type_reads_cleanly_with_the_http_agent(
    run_node: NodeRunner,
) -> None:
    async with serve_app(canned_app(every_event())) as url, asyncio.timeout(60):
        out = await run_node("read_agui.mjs", f"{url}/agui", "t-all", "go", '{"x": 1}')
    assert out["ok"], out
    assert out["warnings"] == []  # nothing stripped, dropped or repaired on the way
    types_seen = out["eventTypes"]
    pairs = [
        ("STEP_STARTED", "STEP_FINISHED", 8),  # planner, x, y, writer, critic (twice), summarizer
        ("TEXT_MESSAGE_START", "TEXT_MESSAGE_END", 8),
        ("REASONING_START", "REASONING_END", 4),
        ("REASONING_MESSAGE_START", "REASONING_MESSAGE_END", 4),
        ("TOOL_CALL_START", "TOOL_CALL_END", 2),
    ]
    assert [(start, types_seen.count(start), types_seen.count(end)) for start, end, _ in pairs] == [
        (start, count, count) for start, _, count in pairs
    ]
    assert types_seen.count("ACTIVITY_SNAPSHOT") == 4  # sources, file, code, its result
    assert out["state"] == {"x": 1, "plan": "ok"}
    messages = out["newMessages"]
    shown = [(m["role"], m["id"], m.get("activityType")) for m in messages if m["role"] != "user"]
    assert shown == [
        ("reasoning", "t1", None),
        ("reasoning", "t2", None),
        ("assistant", "p1", None),
        ("activity", "p1-sources", "sources"),
        ("activity", "p1-file-0", "file"),
        ("activity", "x1", "code_execution"),
        # branch x, then branch y: each contiguous
        ("reasoning", "x-t", None),
        ("assistant", "x-m", None),
        ("assistant", "x-c", None),  # the tool call's own message (no parent message id)
        ("tool", "x-c-result", None),
        ("reasoning", "y-t", None),
        ("assistant", "y-m", None),
        ("assistant", "y-c", None),  # the tool call's own message (no parent message id)
        ("tool", "y-c-result", None),
        # the loop's two iterations
        ("assistant", "w1", None),
        ("assistant", "c1", None),
        ("assistant", "w2", None),
        ("assistant", "c2", None),
        ("assistant", "s1", None),
    ]
    by_id = {m["id"]: m for m in messages}
    assert [by_id[i]["content"] for i in ("t1", "t2", "x-t", "y-t")] == [
        "Let me think.",
        "Unstreamed thought.",
        "hm",
        "hm",
    ]
    assert by_id["t1"]["metadata"] == {"author": "planner", "branch": None}
    assert by_id["p1"]["content"] == "Hello" and by_id["p1"]["name"] == "planner"
    assert by_id["x-m"]["content"] == "Hello" and by_id["x-m"]["metadata"]["branch"] == "par.x"
    assert by_id["x-c"]["toolCalls"][0]["function"]["name"] == "clock"
    assert by_id["x1"]["content"] == {
        "language": "python",
        "code": "print(1 + 1)",
        "outcome": "ok",
        "output": "2\n",
    }
    assert by_id["p1-sources"]["content"]["sources"][0]["url"] == "https://example.com/a"
    part = by_id["p1-file-0"]["content"]["part"]
    assert part == {
        "type": "image",
        "source": {"type": "data", "value": ev.PNG_1PX, "mimeType": "image/png"},
    }
    assert by_id["s1"]["content"] == "Sum"
    assert by_id["s1"]["metadata"] == {
        "author": "summarizer",
        "branch": None,
        "finishReason": "max_tokens",
        "filtered": False,
    }
    assert [(c["name"], c["value"].get("author")) for c in out["customEvents"]] == [
        ("artifact.saved", "planner"),
        ("agent.escalated", "critic"),
    ]
    assert out["result"] == "Sum"
    finished = out["finished"]
    assert finished["metadata"]["finishReason"] == "max_tokens"
    assert finished["usage"] == [
        {
            "inputTokens": 3,
            "outputTokens": 9,
            "totalTokens": 12,
            "reasoningTokens": 5,
            "cachedInputTokens": 2,
        }
    ]
