"""The AG-UI encoder as a pure function: literal stream events in, AG-UI events out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ag_ui.core import BaseEvent, Event
from pydantic import TypeAdapter

from adkstream.api.agui import AguiEncoder, json_pointer, state_patch
from adkstream.events import StreamEvent
from tests.adapters import events as ev
from tests.adapters.agui_order import check_order

EVENT: TypeAdapter[BaseEvent] = TypeAdapter(Event)


def encode(events: list[StreamEvent], state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every frame's JSON, after checking each frame's shape and the sequence's order."""
    encoder = AguiEncoder(thread_id="thread-1", run_id="client-run", state=state or {})
    frames = [frame for event in events for frame in encoder.frames(event)]
    decoded = []
    for frame in frames:
        text = frame.decode()
        assert text.startswith("data: ") and text.endswith("\n\n") and text.count("\n") == 2
        decoded.append(json.loads(text.removeprefix("data: ")))
    check_order([EVENT.validate_python(d) for d in decoded])
    return decoded


def shape(frames: list[dict[str, Any]]) -> list[str]:
    return [f["type"] for f in frames]


@pytest.mark.parametrize(
    ("key", "pointer"),
    [
        pytest.param("plain", "/plain", id="plain"),
        pytest.param("a/b", "/a~1b", id="slash"),
        pytest.param("~x", "/~0x", id="tilde"),
        pytest.param("a~/b", "/a~0~1b", id="tilde-then-slash"),
        pytest.param("~1", "/~01", id="escaped-looking"),
        pytest.param("", "/", id="empty"),
    ],
)
def test_json_pointer_escapes_per_rfc6901(key: str, pointer: str) -> None:
    assert json_pointer(key) == pointer


def test_state_patch_adds_new_keys_and_replaces_known_ones() -> None:
    current = {"kept": 1, "changed": "old"}
    patch = state_patch(current, {"changed": "new", "a/b": None})
    assert patch == [
        {"op": "replace", "path": "/changed", "value": "new"},
        {"op": "add", "path": "/a~1b", "value": None},
    ]
    assert current == {"kept": 1, "changed": "new", "a/b": None}


def test_agui_text_run() -> None:
    frames = encode(
        ev.numbered(
            ev.started(),
            ev.agent(0, "a"),
            ev.delta(0, "m1", "Hel"),
            ev.delta(0, "m1", "lo"),
            ev.completed(0, "m1", "Hello"),
            ev.state(0, {"answer": "Hello"}),
            ev.agent_done(0, "a"),
            ev.run_completed(0, "Hello"),
        ),
        state={"answer": "before"},
    )
    assert shape(frames) == [
        "RUN_STARTED",
        "STATE_SNAPSHOT",
        "STEP_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STATE_DELTA",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    assert frames[0] == {
        "type": "RUN_STARTED",
        "timestamp": int((ev.TS + 1) * 1000),
        "metadata": {"adkstream": {"run_id": ev.RUN, "session_id": "s-1"}},
        "threadId": "thread-1",
        "runId": "client-run",
    }
    assert frames[1]["snapshot"] == {"answer": "before"}
    assert frames[3] == {
        "type": "TEXT_MESSAGE_START",
        "timestamp": int((ev.TS + 3) * 1000),
        "metadata": {"author": "a", "branch": None},
        "messageId": "m1",
        "role": "assistant",
        "name": "a",
    }
    assert frames[7]["delta"] == [{"op": "replace", "path": "/answer", "value": "Hello"}]
    assert frames[-1]["result"] == "Hello"
    assert frames[-1]["usage"] == [{"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}]


def test_agui_unstreamed_message_is_started_and_ended_at_once() -> None:
    frames = encode(ev.numbered(ev.started(), ev.completed(0, "m1", "All"), ev.run_completed(0)))
    assert shape(frames)[2:5] == ["TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END"]
    assert frames[3]["delta"] == "All"


def test_agui_tool_call_and_result() -> None:
    frames = encode(
        ev.numbered(
            ev.started(),
            ev.tool_call(0, "c1", {"zone": "UTC"}),
            ev.tool_result(0, "c1", {"time": "noon"}),
            ev.run_completed(0),
        )
    )
    assert shape(frames)[2:6] == [
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
    ]
    assert frames[2]["toolCallName"] == "clock"
    assert json.loads(frames[3]["delta"]) == {"zone": "UTC"}
    assert frames[5]["role"] == "tool" and json.loads(frames[5]["content"]) == {"time": "noon"}


def test_agui_terminal_closes_what_is_open() -> None:
    frames = encode(
        ev.numbered(ev.started(), ev.agent(0, "a"), ev.delta(0, "m1", "cut"), ev.run_cancelled(0))
    )
    assert shape(frames)[-3:] == ["TEXT_MESSAGE_END", "STEP_FINISHED", "RUN_FINISHED"]
    assert frames[-1]["outcome"] == {"type": "cancelled"}


def test_agui_failure_is_one_run_error_and_nothing_after() -> None:
    encoder = AguiEncoder(thread_id="t", run_id="r")
    events = ev.numbered(
        ev.started(), ev.delta(0, "m1", "x"), ev.run_failed(0), ev.delta(0, "m1", "y")
    )
    out = [e for event in events for e in encoder.encode(event)]
    check_order(out)
    assert out[-1].model_dump(by_alias=True, exclude_none=True) == {
        "type": "RUN_ERROR",
        "timestamp": int((ev.TS + 3) * 1000),
        "message": "The model failed to answer.",
        "code": "model_error",
    }


def test_agui_steps_of_parallel_branches_and_repeated_completions() -> None:
    frames = encode(
        ev.numbered(
            ev.started(),
            ev.agent(0, "w", "w@1"),
            ev.agent(0, "w", "w@2"),
            ev.agent_done(0, "w", "w@1"),
            ev.agent_done(0, "w", "w@1"),  # a second final response: no second STEP_FINISHED
            ev.agent_done(0, "w", "w@2"),
            ev.run_completed(0),
        )
    )
    steps = [(f["type"], f["stepName"]) for f in frames if f["type"].startswith("STEP")]
    assert steps == [
        ("STEP_STARTED", "w"),
        ("STEP_STARTED", "w (w@2)"),
        ("STEP_FINISHED", "w"),
        ("STEP_FINISHED", "w (w@2)"),
    ]
