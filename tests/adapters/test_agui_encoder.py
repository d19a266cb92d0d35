"""The AG-UI encoder as a pure function: literal stream events in, AG-UI events out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ag_ui.core import BaseEvent, ContentPart, Event
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from adkstream.api.agui import AguiEncoder, json_pointer, state_patch
from adkstream.events import (
    InputRequest,
    InputRequested,
    MediaDelta,
    MessageFile,
    RunWaiting,
    StreamEvent,
    TurnCompleted,
)
from tests.adapters import events as ev
from tests.adapters.agui_order import check_order
from tests.adapters.events import branch_events, loop_iteration

EVENT: TypeAdapter[BaseEvent] = TypeAdapter(Event)
PART: TypeAdapter[Any] = TypeAdapter(ContentPart)
Frames = list[dict[str, Any]]


def encode(events: list[StreamEvent], state: dict[str, Any] | None = None) -> Frames:
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


def run(*events: StreamEvent, end: StreamEvent | None = None) -> Frames:
    """`events` between a run.started and (by default) a run.completed, numbered."""
    return encode(ev.numbered(ev.started(), *events, end or ev.run_completed(0)))


def shape(frames: Frames) -> list[str]:
    return [f["type"] for f in frames]


def of_type(frames: Frames, kind: str) -> Frames:
    return [f for f in frames if f["type"] == kind]


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
    assert "metadata" not in frames[6]  # an answer that ended normally says nothing more
    assert frames[7]["delta"] == [{"op": "replace", "path": "/answer", "value": "Hello"}]
    assert frames[-1]["result"] == "Hello"


def test_agui_usage_in_agui_accounting() -> None:
    # prompt 3, completion 4, thoughts 5 (of which none cached), cached 2; total 12
    (finished,) = of_type(run(), "RUN_FINISHED")
    assert finished["usage"] == [
        {
            "inputTokens": 3,
            "outputTokens": 9,  # thoughts are output in AG-UI's accounting
            "totalTokens": 12,
            "reasoningTokens": 5,
            "cachedInputTokens": 2,
        }
    ]
    assert finished["metadata"] == {
        "finishReason": "stop",
        "filtered": False,
        "adkstream": {
            "usage": {
                "prompt_tokens": 3,
                "completion_tokens": 4,
                "total_tokens": 12,
                "thought_tokens": 5,
                "cached_tokens": 2,
                "tool_use_prompt_tokens": 0,
            }
        },
    }


def test_agui_unstreamed_message_is_started_and_ended_at_once() -> None:
    frames = run(ev.completed(0, "m1", "All"))
    assert shape(frames)[2:] == [
        "STEP_STARTED",  # its agent's step, opened for it
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    assert frames[4]["delta"] == "All"


def test_agui_tool_call_and_result() -> None:
    frames = run(
        ev.tool_call(0, "c1", {"zone": "UTC"}, long_running=True),
        ev.tool_result(0, "c1", {"time": "noon"}),
    )
    assert shape(frames)[3:7] == [
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
    ]
    assert frames[3]["toolCallName"] == "clock"
    assert frames[3]["metadata"] == {"author": "a", "branch": None, "longRunning": True}
    assert json.loads(frames[4]["delta"]) == {"zone": "UTC"}
    assert frames[6]["role"] == "tool" and json.loads(frames[6]["content"]) == {"time": "noon"}


def test_agui_terminal_closes_what_is_open() -> None:
    frames = run(
        ev.agent(0, "a"),
        ev.thinking(0, "t1", "hm"),
        ev.delta(0, "m1", "cut"),
        end=ev.run_cancelled(0),
    )
    assert shape(frames)[-5:] == [
        "REASONING_MESSAGE_END",
        "REASONING_END",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
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


# --- reasoning ---


def test_agui_streamed_reasoning_is_a_span_with_one_message() -> None:
    frames = run(
        ev.agent(0, "a"),
        ev.thinking(0, "t1", "Let me "),
        ev.thinking(0, "t1", "think."),
        ev.thought(0, "t1", "Let me think."),
        ev.thought(0, "t1", "Let me think."),  # a repeated completion: nothing again
        ev.thinking(0, "t1", "late"),  # nor a delta after it
        ev.agent_done(0, "a"),
    )
    assert shape(frames)[3:-2] == [
        "REASONING_START",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_CONTENT",
        "REASONING_MESSAGE_CONTENT",
        "REASONING_MESSAGE_END",
        "REASONING_END",
    ]
    start, message_start = frames[3], frames[4]
    assert start["messageId"] == message_start["messageId"] == "t1"
    assert message_start["role"] == "reasoning"
    assert message_start["metadata"] == {"author": "a", "branch": None}
    contents = of_type(frames, "REASONING_MESSAGE_CONTENT")
    assert "".join(c["delta"] for c in contents) == "Let me think."


def test_agui_unstreamed_reasoning_sends_its_whole_text_once() -> None:
    frames = run(ev.agent(0, "a"), ev.thought(0, "t1", "All at once."), ev.agent_done(0, "a"))
    assert shape(frames)[3:-2] == [
        "REASONING_START",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_CONTENT",
        "REASONING_MESSAGE_END",
        "REASONING_END",
    ]
    assert frames[5]["delta"] == "All at once."


def test_agui_open_reasoning_and_text_end_before_their_step() -> None:
    frames = run(
        ev.agent(0, "a"),
        ev.thinking(0, "t1", "hm"),
        ev.delta(0, "m1", "half"),
        ev.agent_done(0, "a"),
        ev.agent(0, "b"),
        ev.completed(0, "m2", "next", author="b"),
        ev.agent_done(0, "b"),
    )
    first_step_end = shape(frames).index("STEP_FINISHED")
    assert shape(frames)[first_step_end - 3 : first_step_end + 1] == [
        "REASONING_MESSAGE_END",
        "REASONING_END",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
    ]


# --- what AG-UI has no event for ---


def test_agui_code_is_an_activity_its_result_replaces() -> None:
    frames = run(
        ev.code(0, "x1", "print(1 + 1)"),
        ev.code_result(0, "x1", "2\n"),
        ev.code_result(0, "x2", "orphan"),  # a result whose code was not seen
    )
    activities = of_type(frames, "ACTIVITY_SNAPSHOT")
    assert [(a["messageId"], a["activityType"], a["content"]) for a in activities] == [
        ("x1", "code_execution", {"language": "python", "code": "print(1 + 1)"}),
        (
            "x1",
            "code_execution",
            {"language": "python", "code": "print(1 + 1)", "outcome": "ok", "output": "2\n"},
        ),
        ("x2", "code_execution", {"outcome": "ok", "output": "orphan"}),
    ]
    assert activities[0]["metadata"] == {"author": "a", "branch": None}
    assert not of_type(frames, "TOOL_CALL_START")  # not a call the client should answer


def test_agui_sources_are_an_activity_beside_their_message() -> None:
    frames = run(ev.completed(0, "m1", "Hello world"), ev.sources(0, "m1"))
    (activity,) = of_type(frames, "ACTIVITY_SNAPSHOT")
    assert shape(frames).index("ACTIVITY_SNAPSHOT") > shape(frames).index("TEXT_MESSAGE_END")
    assert activity["messageId"] == "m1-sources" and activity["activityType"] == "sources"
    assert activity["content"] == {
        "messageId": "m1",
        "sources": [
            {"id": "s1", "url": "https://example.com/a", "title": "A", "kind": "web"},
            {"id": "s2", "url": "https://example.com/b", "title": "B", "kind": "web"},
        ],
        "spans": [{"start": 0, "end": 5, "text": "Hello", "sourceIds": ["s1"]}],
        "queries": ["hello"],
    }


@pytest.mark.parametrize(
    ("mime_type", "part_type"),
    [
        pytest.param("image/png", "image", id="image"),
        pytest.param("audio/wav", "audio", id="audio"),
        pytest.param("video/mp4", "video", id="video"),
        pytest.param("application/pdf", "document", id="other"),
    ],
)
def test_agui_file_is_an_activity_holding_a_media_part(mime_type: str, part_type: str) -> None:
    image = ev.image(0, "m1")
    made = MessageFile(**(image.model_dump() | {"mime_type": mime_type, "name": "out"}))
    frames = run(ev.completed(0, "m1", "Here:"), made)
    (activity,) = of_type(frames, "ACTIVITY_SNAPSHOT")
    assert activity["messageId"] == "m1-file-0" and activity["activityType"] == "file"
    content = activity["content"]
    assert content["messageId"] == "m1" and content["name"] == "out"
    assert content["part"] == {
        "type": part_type,
        "source": {"type": "data", "value": ev.PNG_1PX, "mimeType": mime_type},
    }
    PART.validate_python(content["part"])  # AG-UI's own part shape


def test_agui_artifact_and_escalation_are_custom_events() -> None:
    frames = run(ev.agent(0, "a"), ev.artifact(0), ev.escalated(0), ev.agent_done(0, "a"))
    customs = of_type(frames, "CUSTOM")
    assert [(c["name"], c["value"]) for c in customs] == [
        (
            "artifact.saved",
            {
                "name": "report.txt",
                "version": 0,
                "mimeType": "text/plain",
                "size": 12,
                "url": "/v1/sessions/s-1/artifacts/report.txt?version=0",
                "author": "a",
                "branch": None,
            },
        ),
        ("agent.escalated", {"author": "a", "branch": None}),
    ]


def test_agui_transfer_is_a_custom_event() -> None:
    frames = run(ev.transfer(0, "a", "b"))
    (custom,) = of_type(frames, "CUSTOM")
    assert custom["name"] == "agent.transfer"
    assert custom["value"] == {"fromAgent": "a", "toAgent": "b"}


# --- finish reasons ---


@pytest.mark.parametrize(
    ("reason", "filtered"),
    [
        pytest.param("max_tokens", False, id="cut"),
        pytest.param("safety", True, id="filtered"),
    ],
)
def test_agui_a_message_cut_or_filtered_says_why(reason: str, filtered: bool) -> None:
    frames = run(
        ev.delta(0, "m1", "Half"),
        ev.cut(0, "m1", "Half", reason),
        end=ev.run_completed(0, "Half", finish_reason=reason),
    )
    (end,) = of_type(frames, "TEXT_MESSAGE_END")
    assert end["metadata"] == {"finishReason": reason, "filtered": filtered}
    finished = frames[-1]
    assert finished["metadata"]["finishReason"] == reason
    assert finished["metadata"]["filtered"] is filtered
    assert finished["result"] == "Half"


# --- steps: loops, parallel branches ---


def steps_of(frames: Frames) -> list[tuple[str, str]]:
    return [(f["type"], f["stepName"]) for f in frames if f["type"].startswith("STEP")]


def test_agui_loop_iterations_each_have_their_steps() -> None:
    frames = run(*loop_iteration(1), *loop_iteration(2))
    pair = [("STEP_STARTED", "writer"), ("STEP_FINISHED", "writer")]
    pair += [("STEP_STARTED", "critic"), ("STEP_FINISHED", "critic")]
    assert steps_of(frames) == pair * 2


def test_agui_loop_iteration_that_does_not_start_again_still_has_steps() -> None:
    # An older runner: the second iteration completes its agents without starting them.
    second = [e for e in loop_iteration(2) if e.type != "agent.started"]
    frames = run(*loop_iteration(1), *second)
    pair = [("STEP_STARTED", "writer"), ("STEP_FINISHED", "writer")]
    pair += [("STEP_STARTED", "critic"), ("STEP_FINISHED", "critic")]
    assert steps_of(frames) == pair * 2


def test_agui_steps_of_parallel_branches_and_repeated_completions() -> None:
    frames = run(
        ev.agent(0, "w", "w@1"),
        ev.agent(0, "w", "w@2"),
        ev.agent_done(0, "w", "w@1"),
        ev.agent_done(0, "w", "w@1"),  # a second final response: no second STEP_FINISHED
        ev.agent(0, "w", "w@1"),  # nor a second start while its step is open
        ev.agent_done(0, "w", "w@2"),
    )
    # One branch after the other (Contiguous); the second branch's step names its branch.
    assert steps_of(frames) == [
        ("STEP_STARTED", "w"),
        ("STEP_FINISHED", "w"),
        ("STEP_STARTED", "w (w@2)"),
        ("STEP_FINISHED", "w (w@2)"),
        ("STEP_STARTED", "w"),
        ("STEP_FINISHED", "w"),
    ]


def _owner(frame: dict[str, Any]) -> str | None:
    """The branch a frame belongs to: by its attribution or by the id it continues."""
    if "metadata" in frame and "author" in frame["metadata"]:
        return str(frame["metadata"]["author"])
    ident = frame.get("messageId", frame.get("toolCallId"))
    return ident[0] if isinstance(ident, str) else None


@settings(max_examples=200, deadline=None)
@given(picks=st.lists(st.integers(min_value=0, max_value=2), min_size=24, max_size=24))
def test_agui_parallel_branches_in_any_interleaving_make_a_valid_stream(
    picks: list[int],
) -> None:
    queues = [branch_events(name) for name in ("x", "y", "z")]
    interleaved: list[StreamEvent] = []
    for pick in picks:  # the next event of branch `pick`, or of the next branch left
        queue = next(q for q in queues[pick:] + queues[:pick] if q)
        interleaved.append(queue.pop(0))
    frames = run(*interleaved)  # check_order holds
    owners = [o for o in map(_owner, frames[2:-1]) if o is not None]
    runs = [o for i, o in enumerate(owners) if i == 0 or owners[i - 1] != o]
    assert sorted(runs) == ["x", "y", "z"]  # each branch contiguous
    for name in "xyz":
        text = of_type(frames, "TEXT_MESSAGE_CONTENT")
        assert "".join(f["delta"] for f in text if f["messageId"] == f"{name}-m") == "Hello"


# --- pauses ---


def test_agui_waiting_run_finishes_with_interrupts() -> None:
    request = InputRequest(
        request_id="r1",
        kind="confirmation",
        name="transfer_money",
        args={"amount": 5},
        call_id="c1",
        hint="Sure?",
        answer_schema={"type": "object"},
        author="a",
    )
    asked = InputRequested(
        run_id=ev.RUN, ts=ev.TS, **request.model_dump(exclude={"author", "branch"}), author="a"
    )
    waiting = RunWaiting(run_id=ev.RUN, ts=ev.TS, pending=[request], invocation_id="inv-1")
    frames = run(ev.agent(0, "a"), ev.tool_call(0, "c1", {}), asked, end=waiting)
    assert shape(frames)[-2:] == ["STEP_FINISHED", "RUN_FINISHED"]
    assert frames[-1]["outcome"] == {
        "type": "interrupt",
        "interrupts": [
            {
                "id": "r1",
                "reason": "confirmation",
                "message": "Sure?",
                "toolCallId": "c1",
                "responseSchema": {"type": "object"},
                "metadata": {
                    "name": "transfer_money",
                    "args": {"amount": 5},
                    "payload": None,
                    "author": "a",
                    "branch": None,
                },
            }
        ],
    }


# --- every event type is placed ---


def test_agui_live_only_events_send_nothing() -> None:
    turn = TurnCompleted(run_id=ev.RUN, ts=ev.TS, author="a", turn=1)
    media = MediaDelta(
        run_id=ev.RUN, ts=ev.TS, author="a", message_id="m", mime_type="audio/pcm", data="AA=="
    )
    assert shape(run(turn, media)) == ["RUN_STARTED", "STATE_SNAPSHOT", "RUN_FINISHED"]
