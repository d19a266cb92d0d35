"""AG-UI over a real server: every frame validates against ag-ui-protocol's event models,
the sequence obeys AG-UI's ordering rules, and @ag-ui/client's HttpAgent runs it."""

from __future__ import annotations

import asyncio
import json
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
from pydantic import TypeAdapter

from tests.adapters.agui_order import check_order
from tests.adapters.conftest import SECRET, NodeRunner, native_run, slow_server
from tests.api.conftest import Api, ServerFactory

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
