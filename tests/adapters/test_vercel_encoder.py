"""The Vercel UI message stream encoder as a pure function: literal events in, chunks out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adkstream.api.vercel import VercelEncoder
from adkstream.events import MediaDelta, Source, StreamEvent, TurnCompleted
from tests.adapters import events as ev
from tests.adapters.events import branch_events, loop_iteration

Chunks = list[dict[str, Any]]


def encode(events: list[StreamEvent]) -> tuple[Chunks, bool]:
    """The chunks of every frame, and whether `data: [DONE]` came last (and only there)."""
    encoder = VercelEncoder()
    frames = [frame.decode() for event in events for frame in encoder.frames(event)]
    for frame in frames:
        assert frame.startswith("data: ") and frame.endswith("\n\n") and frame.count("\n") == 2
    data = [frame.removeprefix("data: ").strip() for frame in frames]
    done = data[-1] == "[DONE]" and "[DONE]" not in data[:-1]
    return [json.loads(d) for d in data if d != "[DONE]"], done


def check_stream(chunks: Chunks) -> dict[str, str]:
    """Asserts what the `ai` reader relies on; returns each data-agent part's last status.

    Every delta and end follows its start, a part ends once, steps pair and never nest,
    no text or reasoning part is open at a `finish-step` or at the `finish`, and a tool
    output follows its input.
    """
    assert chunks[0]["type"] == "start" and chunks[-1]["type"] == "finish"
    open_parts: dict[str, set[str]] = {"text": set(), "reasoning": set()}
    tools: set[str] = set()
    step_open = False
    agents: dict[str, str] = {}
    for chunk in chunks:
        kind, _, stage = chunk["type"].rpartition("-")
        if kind in open_parts:
            if stage == "start":
                assert chunk["id"] not in open_parts[kind], chunk
                open_parts[kind].add(chunk["id"])
            else:
                assert chunk["id"] in open_parts[kind], chunk
                if stage == "end":
                    open_parts[kind].remove(chunk["id"])
        elif chunk["type"] == "start-step":
            assert not step_open, "steps nest"
            step_open = True
        elif chunk["type"] == "finish-step":
            assert step_open, "a finish-step without its start-step"
            assert not open_parts["text"] and not open_parts["reasoning"], open_parts
            step_open = False
        elif chunk["type"] == "tool-input-available":
            tools.add(chunk["toolCallId"])
        elif chunk["type"] == "tool-output-available":
            assert chunk["toolCallId"] in tools, chunk
        elif chunk["type"] == "data-agent":
            agents[chunk["id"]] = chunk["data"]["status"]
    assert not step_open and not open_parts["text"] and not open_parts["reasoning"]
    return agents


def types_of(chunks: Chunks) -> list[tuple[str, str | None]]:
    return [(c["type"], c.get("id", c.get("toolCallId"))) for c in chunks]


def test_vercel_text_run() -> None:
    chunks, done = encode(
        ev.numbered(
            ev.started(),
            ev.agent(0, "a"),
            ev.delta(0, "m1", "Hel"),
            ev.delta(0, "m1", "lo"),
            ev.completed(0, "m1", "Hello"),
            ev.state(0, {"k": 1}),
            ev.agent_done(0, "a"),
            ev.run_completed(0, "Hello"),
        )
    )
    attribution = {"adkstream": {"author": "a", "branch": None}}
    assert done
    assert chunks == [
        {
            "type": "start",
            "messageId": ev.RUN,
            "messageMetadata": {"run_id": ev.RUN, "session_id": "s-1"},
        },
        {"type": "start-step"},
        {
            "type": "data-agent",
            "id": "agent:a",
            "data": {"author": "a", "branch": None, "status": "running"},
        },
        {"type": "text-start", "id": "m1", "providerMetadata": attribution},
        {"type": "text-delta", "id": "m1", "delta": "Hel"},
        {"type": "text-delta", "id": "m1", "delta": "lo"},
        {"type": "text-end", "id": "m1"},
        {
            "type": "data-state",
            "data": {"author": "a", "branch": None, "delta": {"k": 1}},
            "transient": True,
        },
        {
            "type": "data-agent",
            "id": "agent:a",
            "data": {"author": "a", "branch": None, "status": "completed"},
        },
        {"type": "finish-step"},
        {
            "type": "finish",
            "finishReason": "stop",
            "messageMetadata": {
                "usage": {
                    "prompt_tokens": 3,
                    "completion_tokens": 4,
                    "total_tokens": 12,
                    "thought_tokens": 5,
                    "cached_tokens": 2,
                    "tool_use_prompt_tokens": 0,
                },
                "finish_reason": "stop",
            },
        },
    ]


def test_vercel_tool_parts() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.tool_call(0, "c1", {"zone": "UTC"}),
            ev.tool_result(0, "c1", {"time": "noon"}),
            ev.tool_result(0, "c2", "orphan"),
            ev.run_completed(0),
        )
    )
    tools = [(c["type"], c["toolCallId"]) for c in chunks if "toolCallId" in c]
    assert tools == [
        ("tool-input-available", "c1"),
        ("tool-output-available", "c1"),
        ("tool-input-available", "c2"),  # the reader refuses an output without its input
        ("tool-output-available", "c2"),
    ]
    assert chunks[1]["input"] == {"zone": "UTC"} and chunks[1]["providerExecuted"] is True
    assert chunks[2]["output"] == {"time": "noon"}


def test_vercel_unstreamed_message_and_open_text_at_the_end() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.completed(0, "m1", "All"),
            ev.delta(0, "m2", "cut"),
            ev.run_completed(0),
        )
    )
    assert types_of(chunks[1:]) == [
        ("text-start", "m1"),
        ("text-delta", "m1"),
        ("text-end", "m1"),
        ("text-start", "m2"),
        ("text-delta", "m2"),
        ("text-end", "m2"),
        ("finish", None),
    ]


def test_vercel_failure_and_cancel() -> None:
    failed, done = encode(ev.numbered(ev.started(), ev.run_failed(0), ev.delta(0, "m", "late")))
    assert done
    assert failed[1:] == [
        {"type": "error", "errorText": "The model failed to answer."},
        {"type": "finish", "finishReason": "error"},
    ]
    cancelled, done = encode(ev.numbered(ev.started(), ev.run_cancelled(0)))
    assert done
    assert cancelled[1:] == [{"type": "abort", "reason": "cancelled by request"}]


def test_vercel_reasoning_parts_send_each_thought_once() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.thinking(0, "t1", "Let me "),
            ev.thinking(0, "t1", "think."),
            ev.thought(0, "t1", "Let me think."),
            ev.thought(0, "t1", "Let me think."),  # a repeat says nothing
            ev.thought(0, "t2", "Unstreamed."),
            ev.thinking(0, "t2", "late"),  # after its end: dropped
            ev.run_completed(0),
        )
    )
    attribution = {"adkstream": {"author": "a", "branch": None}}
    assert chunks[1:-1] == [
        {"type": "reasoning-start", "id": "t1", "providerMetadata": attribution},
        {"type": "reasoning-delta", "id": "t1", "delta": "Let me "},
        {"type": "reasoning-delta", "id": "t1", "delta": "think."},
        {"type": "reasoning-end", "id": "t1"},
        {"type": "reasoning-start", "id": "t2", "providerMetadata": attribution},
        {"type": "reasoning-delta", "id": "t2", "delta": "Unstreamed."},
        {"type": "reasoning-end", "id": "t2"},
    ]


def test_vercel_reasoning_and_text_of_one_message_id_are_two_parts() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.agent(0, "a"),
            ev.thinking(0, "m1", "hmm"),
            ev.delta(0, "m1", "Hi"),
            ev.agent_done(0, "a"),  # both still open: they end before the finish-step
            ev.run_completed(0),
        )
    )
    check_stream(chunks)
    assert types_of(chunks)[3:-1] == [
        ("reasoning-start", "m1"),
        ("reasoning-delta", "m1"),
        ("text-start", "m1"),
        ("text-delta", "m1"),
        ("text-end", "m1"),
        ("reasoning-end", "m1"),
        ("data-agent", "agent:a"),
        ("finish-step", None),
    ]


def test_vercel_code_execution_is_a_provider_executed_tool() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.code(0, "x1", "print(1 + 1)"),
            ev.code_result(0, "x1", "2\n"),
            ev.code_result(0, "x2", "orphan"),
            ev.run_completed(0),
        )
    )
    check_stream(chunks)
    attribution = {"adkstream": {"author": "a", "branch": None}}
    assert chunks[1:4] == [
        {
            "type": "tool-input-available",
            "toolCallId": "x1",
            "toolName": "code_execution",
            "input": {"language": "python", "code": "print(1 + 1)"},
            "providerExecuted": True,
            "providerMetadata": attribution,
        },
        {
            "type": "tool-output-available",
            "toolCallId": "x1",
            "output": {"outcome": "ok", "output": "2\n"},
            "providerExecuted": True,
        },
        {
            "type": "tool-input-available",
            "toolCallId": "x2",
            "toolName": "code_execution",
            "input": {},
            "providerExecuted": True,
            "providerMetadata": attribution,
        },
    ]


def test_vercel_sources_become_source_parts() -> None:
    untitled = Source(id="s3", url="https://example.com/c")
    document = Source(id="d1", title="Handbook", kind="document")
    nameless = Source(id="d2", kind="citation")
    grounded = ev.sources(0, "m1")
    more = grounded.model_copy(
        update={"sources": [*grounded.sources, untitled, document, nameless]}
    )
    chunks, _ = encode(
        ev.numbered(ev.started(), ev.completed(0, "m1", "Hello world"), more, ev.run_completed(0))
    )

    def meta(kind: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "adkstream": {
                "author": "a",
                "branch": None,
                "messageId": "m1",
                "kind": kind,
                "spans": spans,
            }
        }

    hello = [{"start": 0, "end": 5, "text": "Hello"}]
    assert chunks[4:-1] == [
        {
            "type": "source-url",
            "sourceId": "s1",
            "url": "https://example.com/a",
            "title": "A",
            "providerMetadata": meta("web", hello),
        },
        {
            "type": "source-url",
            "sourceId": "s2",
            "url": "https://example.com/b",
            "title": "B",
            "providerMetadata": meta("web", []),
        },
        {
            # no title: the key is left out (the schema refuses null)
            "type": "source-url",
            "sourceId": "s3",
            "url": "https://example.com/c",
            "providerMetadata": meta("web", []),
        },
        {
            "type": "source-document",
            "sourceId": "d1",
            "mediaType": "application/octet-stream",
            "title": "Handbook",
            "providerMetadata": meta("document", []),
        },
        {
            "type": "source-document",
            "sourceId": "d2",
            "mediaType": "application/octet-stream",
            "title": "d2",  # a title is required: the id stands in
            "providerMetadata": meta("citation", []),
        },
    ]


def test_vercel_model_file_is_a_file_part_with_a_data_url() -> None:
    chunks, _ = encode(ev.numbered(ev.started(), ev.image(0, "m1"), ev.run_completed(0)))
    assert chunks[1] == {
        "type": "file",
        "url": f"data:image/png;base64,{ev.PNG_1PX}",
        "mediaType": "image/png",
        "providerMetadata": {
            "adkstream": {
                "author": "a",
                "branch": None,
                "messageId": "m1",
                "fileId": "m1-file-0",
                "name": None,
            }
        },
    }


def test_vercel_artifact_is_a_data_part_per_version() -> None:
    chunks, _ = encode(
        ev.numbered(ev.started(), ev.artifact(0), ev.artifact(0, version=1), ev.run_completed(0))
    )
    assert chunks[1] == {
        "type": "data-artifact",
        "id": "artifact:report.txt#0",
        "data": {
            "name": "report.txt",
            "version": 0,
            "mimeType": "text/plain",
            "size": 12,
            "url": "/v1/sessions/s-1/artifacts/report.txt?version=0",
            "author": "a",
            "branch": None,
        },
    }
    assert chunks[2]["id"] == "artifact:report.txt#1" and chunks[2]["data"]["version"] == 1


def test_vercel_escalation_is_a_data_part_and_the_agent_still_completes() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.agent(0, "a"),
            ev.escalated(0),
            ev.agent_done(0, "a"),
            ev.run_completed(0),
        )
    )
    assert chunks[3] == {"type": "data-escalate", "data": {"author": "a", "branch": None}}
    assert check_stream(chunks) == {"agent:a": "completed"}


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        pytest.param("stop", "stop", id="stop"),
        pytest.param("max_tokens", "length", id="max-tokens"),
        pytest.param("safety", "content-filter", id="safety"),
        pytest.param("recitation", "content-filter", id="recitation"),
        pytest.param("prohibited_content", "content-filter", id="prohibited"),
        pytest.param("other", "content-filter", id="other"),
    ],
)
def test_vercel_finish_reason(reason: str, expected: str) -> None:
    chunks, _ = encode(ev.numbered(ev.started(), ev.run_completed(0, finish_reason=reason)))
    assert chunks[-1]["finishReason"] == expected
    assert chunks[-1]["messageMetadata"]["finish_reason"] == reason


def test_vercel_cut_text_says_why_on_its_end() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.delta(0, "m1", "Once upon"),
            ev.cut(0, "m1", "Once upon", "max_tokens"),
            ev.run_completed(0, finish_reason="max_tokens"),
        )
    )
    assert chunks[3] == {
        "type": "text-end",
        "id": "m1",
        "providerMetadata": {
            "adkstream": {"author": "a", "branch": None, "finishReason": "max_tokens"}
        },
    }


def test_vercel_loop_steps_pair_whether_or_not_an_agent_starts_again() -> None:
    # A runner that reports each agent run: a fresh agent.started per iteration.
    fresh, _ = encode(
        ev.numbered(ev.started(), *loop_iteration(1), *loop_iteration(2), ev.run_completed(0))
    )
    assert check_stream(fresh) == {
        "agent:writer": "completed",
        "agent:critic": "completed",
        "agent:writer#2": "completed",
        "agent:critic#2": "completed",
    }
    assert [c["type"] for c in fresh].count("start-step") == 4
    # An older runner: the second iteration completes both agents without starting them.
    stale, _ = encode(
        ev.numbered(
            ev.started(),
            *loop_iteration(1),
            ev.agent_done(0, "writer"),
            ev.agent_done(0, "critic"),
            ev.run_completed(0),
        )
    )
    assert check_stream(stale) == {"agent:writer": "completed", "agent:critic": "completed"}
    assert [c["type"] for c in stale].count("finish-step") == 2


def test_vercel_transfer_ends_the_step_of_the_agent_that_handed_over() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.agent(0, "root"),
            ev.delta(0, "m1", "Passing on", author="root"),
            ev.transfer(0, "root", "helper"),
            ev.agent(0, "helper"),
            ev.completed(0, "m2", "Done", author="helper"),
            ev.agent_done(0, "helper"),
            ev.run_completed(0),
        )
    )
    assert check_stream(chunks) == {"agent:root": "completed", "agent:helper": "completed"}
    assert types_of(chunks)[3:8] == [
        ("text-start", "m1"),
        ("text-delta", "m1"),
        ("text-end", "m1"),
        ("data-agent", "agent:root"),
        ("finish-step", None),
    ]


def test_vercel_open_step_ends_with_the_run() -> None:
    chunks, _ = encode(
        ev.numbered(ev.started(), ev.agent(0, "a"), ev.thinking(0, "t", "hm"), ev.run_completed(0))
    )
    assert check_stream(chunks) == {"agent:a": "completed"}


def _branch_of(chunk: dict[str, Any]) -> str | None:
    if chunk["type"] == "data-agent":
        return str(chunk["data"]["author"])
    part_id = chunk.get("id", chunk.get("toolCallId"))
    return part_id[0] if part_id else None


@settings(max_examples=200, deadline=None)
@given(picks=st.lists(st.integers(min_value=0, max_value=2), min_size=24, max_size=24))
def test_vercel_parallel_branches_in_any_interleaving_make_a_valid_stream(
    picks: list[int],
) -> None:
    queues = [branch_events(name) for name in ("x", "y", "z")]
    interleaved: list[StreamEvent] = []
    for pick in picks:  # the next event of branch `pick`, or of the next branch left
        queue = next(q for q in queues[pick:] + queues[:pick] if q)
        interleaved.append(queue.pop(0))
    chunks, done = encode(ev.numbered(ev.started(), *interleaved, ev.run_completed(0)))
    assert done
    agents = check_stream(chunks)
    assert agents == {f"agent:{n}:par.{n}": "completed" for n in "xyz"}
    # Each branch's parts are contiguous: one run of chunks per branch.
    branches = [b for c in chunks if (b := _branch_of(c)) is not None]
    runs = [b for i, b in enumerate(branches) if i == 0 or branches[i - 1] != b]
    assert sorted(runs) == ["x", "y", "z"]


IGNORED = [
    pytest.param(ev.transfer(1, "a", "b"), id="agent.transfer"),
    pytest.param(TurnCompleted(run_id=ev.RUN, ts=ev.TS, author="a", turn=1), id="turn.completed"),
    pytest.param(
        MediaDelta(
            run_id=ev.RUN, ts=ev.TS, author="a", message_id="m", mime_type="audio/pcm", data=""
        ),
        id="media.delta",
    ),
]


@pytest.mark.parametrize("event", IGNORED)
def test_vercel_events_with_no_place_in_the_protocol_send_nothing(event: StreamEvent) -> None:
    assert VercelEncoder().encode(event) == []


def test_vercel_confirmation_is_an_approval_request_and_the_run_waits() -> None:
    ask = ev.confirmation(5, "q1", "c1")
    chunks, done = encode(
        ev.numbered(
            ev.started(),
            ev.agent(2, "a"),
            ev.tool_call(3, "c1", {"amount": 5}),
            ev.tool_call(4, "q1", {}, long_running=True),  # ADK's adk_request_confirmation
            ask,
            ev.tool_result(6, "c1", {"error": "This tool call requires confirmation."}),
            ev.waiting(7, ask),
        )
    )

    assert done
    kinds = [c["type"] for c in chunks]
    assert kinds.count("tool-input-available") == 1  # the tool, not ADK's request call
    [approval] = [c for c in chunks if c["type"] == "tool-approval-request"]
    assert approval == {"type": "tool-approval-request", "approvalId": "q1", "toolCallId": "c1"}
    assert "tool-output-available" not in kinds  # ADK's stand-in result is not the tool's
    assert chunks[-1]["finishReason"] == "tool-calls"
    assert chunks[-1]["messageMetadata"]["adkstream"]["waiting"] == ["q1"]


def test_vercel_client_tool_call_is_left_to_the_client() -> None:
    ask = ev.client_tool(4, "c9")
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.agent(2, "a"),
            ev.tool_call(3, "c9", {"precision": "city"}, long_running=True),
            ask,
            ev.waiting(5, ask),
        )
    )

    [call] = [c for c in chunks if c["type"] == "tool-input-available"]
    assert (call["toolCallId"], call["toolName"], call["input"]) == (
        "c9",
        "get_location",
        {"precision": "city"},
    )
    assert "providerExecuted" not in call  # useChat's onToolCall runs it


def test_vercel_denied_call_gets_output_denied() -> None:
    encoder = VercelEncoder(denied=frozenset({"c1"}))
    chunks = [
        c
        for e in ev.numbered(
            ev.started(),
            ev.agent(2, "a"),
            ev.tool_result(3, "c1", {"error": "This tool call is rejected."}),
            ev.run_completed(4),
        )
        for c in encoder.encode(e)
    ]

    assert {"type": "tool-output-denied", "toolCallId": "c1"} in chunks
    assert "tool-output-available" not in [c["type"] for c in chunks]


def test_vercel_a_long_running_call_no_request_claims_is_an_ordinary_call() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.agent(2, "a"),
            ev.tool_call(3, "c1", {}, long_running=True),
            ev.tool_result(4, "c1", {"status": "started"}),
            ev.run_completed(5),
        )
    )

    kinds = [c["type"] for c in chunks]
    assert kinds.index("tool-input-available") < kinds.index("tool-output-available")
