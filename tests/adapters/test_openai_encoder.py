"""The chat completions encoder as a pure function: literal events in, chunks out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adkstream.api.openai_compat import ChatCompletionEncoder, model_list
from adkstream.events import (
    MediaDelta,
    RunQueued,
    Source,
    SourceSpan,
    StreamEvent,
    TurnCompleted,
    Usage,
)
from tests.adapters import events as ev

Json = dict[str, Any]


def encoder(include_usage: bool = False) -> ChatCompletionEncoder:
    return ChatCompletionEncoder(
        completion_id="chatcmpl-1", model="app", created=123, include_usage=include_usage
    )


def frames(enc: ChatCompletionEncoder, events: list[StreamEvent]) -> list[Any]:
    out = [frame.decode() for event in events for frame in enc.frames(event)]
    assert out[-1] == "data: [DONE]\n\n"
    return [json.loads(frame.removeprefix("data: ")) for frame in out[:-1]]


def deltas(chunks: list[Json]) -> list[Json]:
    return [c["choices"][0]["delta"] for c in chunks if c.get("choices")]


def streamed(chunks: list[Json], key: str) -> str:
    return "".join(d.get(key, "") for d in deltas(chunks))


def completion(events: list[StreamEvent]) -> Json:
    enc = encoder()
    for event in events:
        enc.encode(event)
    return enc.completion()


def message_of(events: list[StreamEvent]) -> Json:
    message: Json = completion(events)["choices"][0]["message"]
    return message


WORKFLOW = ev.numbered(
    ev.started(),
    ev.delta(0, "m1", "Draft"),
    ev.completed(0, "m1", "Draft"),
    ev.tool_call(0, "c1", {}),
    ev.completed(0, "m2", "Final"),  # a model that did not stream
    ev.run_completed(0, "Final"),
)


def test_openai_chunks_of_a_workflow() -> None:
    chunks = frames(encoder(), WORKFLOW)
    assert chunks[0] == {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 123,
        "model": "app",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    }
    assert deltas(chunks[1:]) == [{"content": "Draft"}, {"content": "\n\nFinal"}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


USAGE = {
    # ev.run_completed's usage: prompt 3, completion 4, thoughts 5, cached 2, total 12.
    "prompt_tokens": 3,
    "completion_tokens": 9,  # OpenAI counts reasoning tokens in the completion
    "total_tokens": 12,
    "prompt_tokens_details": {"cached_tokens": 2},
    "completion_tokens_details": {"reasoning_tokens": 5},
}


def test_openai_usage_chunk_when_asked() -> None:
    chunks = frames(encoder(include_usage=True), WORKFLOW)
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == USAGE


def test_openai_usage_arithmetic_holds_with_tool_use_prompt_tokens() -> None:
    usage = Usage(
        prompt_tokens=10,
        completion_tokens=4,
        thought_tokens=6,
        tool_use_prompt_tokens=7,
        total_tokens=27,
    )
    done = ev.run_completed(2).model_copy(update={"usage": usage})
    sent = completion([ev.started(), done])["usage"]
    assert (sent["prompt_tokens"], sent["completion_tokens"], sent["total_tokens"]) == (17, 10, 27)
    assert sent["completion_tokens_details"] == {"reasoning_tokens": 6}


def test_openai_completion_is_the_streamed_text() -> None:
    answer = completion(WORKFLOW)
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Draft\n\nFinal",
        "refusal": None,
        "annotations": [],
    }
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"] == USAGE


# --- reasoning ---

THINKING = ev.numbered(
    ev.started(),
    ev.thinking(0, "t1", "Let me "),
    ev.thinking(0, "t1", "think."),
    ev.thought(0, "t1", "Let me think."),  # after its deltas: nothing new
    ev.thought(0, "t2", "Unstreamed."),  # without deltas: the whole thought
    ev.delta(0, "m1", "Hi"),
    ev.completed(0, "m1", "Hi"),
    ev.run_completed(0, "Hi"),
)


def test_openai_reasoning_streams_as_reasoning_content_once() -> None:
    chunks = frames(encoder(), THINKING)
    assert deltas(chunks)[1:4] == [
        {"reasoning_content": "Let me "},
        {"reasoning_content": "think."},
        {"reasoning_content": "\n\nUnstreamed."},
    ]
    assert streamed(chunks, "reasoning_content") == "Let me think.\n\nUnstreamed."
    assert streamed(chunks, "content") == "Hi"  # reasoning never leaks into content


def test_openai_reasoning_in_the_completion() -> None:
    message = message_of(THINKING)
    assert message["reasoning_content"] == "Let me think.\n\nUnstreamed."
    assert message["content"] == "Hi"
    assert "reasoning_content" not in message_of(WORKFLOW)


# --- sources ---

CITED = ev.numbered(
    ev.started(),
    ev.delta(0, "m1", "First."),
    ev.completed(0, "m1", "First."),
    ev.delta(0, "m2", "Hello world"),
    ev.completed(0, "m2", "Hello world"),
    ev.sources(0, "m2"),  # s1 supports "Hello" (0-5); s2 is cited by no span
    ev.run_completed(0, "Hello world"),
)
CITATIONS = [
    {
        "type": "url_citation",
        "url_citation": {
            # "First." + "\n\n" come before the message: offsets shift by 8.
            "url": "https://example.com/a",
            "title": "A",
            "start_index": 8,
            "end_index": 13,
        },
    },
    {
        "type": "url_citation",
        "url_citation": {
            "url": "https://example.com/b",
            "title": "B",
            "start_index": 8,
            "end_index": 19,  # the whole message
        },
    },
]


def test_openai_sources_are_url_citations_at_offsets_into_the_content() -> None:
    message = message_of(CITED)
    assert message["annotations"] == CITATIONS
    content = message["content"]
    assert content[8:13] == "Hello" and content[8:19] == "Hello world"


def test_openai_streamed_citations_come_once_before_the_finish() -> None:
    chunks = frames(encoder(), CITED)
    with_annotations = [d for d in deltas(chunks) if "annotations" in d]
    assert with_annotations == [{"annotations": CITATIONS}]
    assert deltas(chunks)[-2:] == [{"annotations": CITATIONS}, {}]


def test_openai_sources_without_url_or_offsets() -> None:
    sources = ev.sources(0, "m1").model_copy(
        update={
            "sources": [
                Source(id="s1", url="https://example.com/a"),  # no title: the URL stands in
                Source(id="doc", title="A document", kind="document"),  # no URL: left out
            ],
            "spans": [
                SourceSpan(text="world", source_ids=["s1", "doc"]),  # found by its text
                SourceSpan(text="absent", source_ids=["s1"]),  # nowhere: no citation
            ],
        }
    )
    events = ev.numbered(
        ev.started(), ev.completed(0, "m1", "Hello world"), sources, ev.run_completed(0)
    )
    assert message_of(events)["annotations"] == [
        {
            "type": "url_citation",
            "url_citation": {
                "url": "https://example.com/a",
                "title": "https://example.com/a",
                "start_index": 6,
                "end_index": 11,
            },
        }
    ]


# --- finish reasons ---


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        pytest.param("stop", "stop", id="stop"),
        pytest.param("max_tokens", "length", id="max-tokens"),
        pytest.param("safety", "content_filter", id="safety"),
        pytest.param("recitation", "content_filter", id="recitation"),
        pytest.param("prohibited_content", "content_filter", id="prohibited"),
    ],
)
def test_openai_finish_reason(reason: str, expected: str) -> None:
    events = ev.numbered(
        ev.started(),
        ev.delta(0, "m1", "Sum"),
        ev.cut(0, "m1", "Sum", reason),
        ev.run_completed(0, "Sum", finish_reason=reason),
    )
    chunks = frames(encoder(), events)
    finishes = [c["choices"][0]["finish_reason"] for c in chunks]
    assert finishes == [None, None, expected]
    assert completion(events)["choices"][0]["finish_reason"] == expected


def test_openai_waiting_run_asks_for_a_confirmation_as_a_tool_call() -> None:
    request = ev.confirmation(0, "r1", "c1")
    events = ev.numbered(
        ev.started(), ev.delta(0, "m1", "Let me check."), request, ev.waiting(0, request)
    )
    chunks = frames(encoder(include_usage=True), events)
    call = {
        "id": "call_run-1_r1",
        "type": "function",
        "function": {
            "name": "adk_request_confirmation",
            "arguments": json.dumps(
                {"tool": "transfer", "args": {"amount": 5}, "hint": "Approve the transfer?"}
            ),
        },
    }
    assert deltas(chunks) == [
        {"role": "assistant", "content": ""},
        {"content": "Let me check."},
        {"tool_calls": [{"index": 0} | call]},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["total_tokens"] == 0
    message = message_of(events)
    assert (message["content"], message["tool_calls"]) == ("Let me check.", [call])


# --- files ---

DATA_URL = f"data:image/png;base64,{ev.PNG_1PX}"


def test_openai_images_the_model_made() -> None:
    pdf = ev.image(0, "m1").model_copy(update={"file_id": "f2", "mime_type": "application/pdf"})
    events = ev.numbered(
        ev.started(),
        ev.completed(0, "m1", "Two dots:"),
        ev.image(0, "m1"),
        pdf,  # not an image: no place for it
        ev.image(0, "m1").model_copy(update={"file_id": "f3"}),
        ev.run_completed(0),
    )
    images = [{"index": i, "type": "image_url", "image_url": {"url": DATA_URL}} for i in range(2)]
    chunks = frames(encoder(), events)
    assert [d for d in deltas(chunks) if "images" in d] == [
        {"images": [images[0]]},
        {"images": [images[1]]},
    ]
    message = message_of(events)
    assert message["images"] == images
    assert message["content"] == "Two dots:"  # no markdown image in the text


# --- events with no place in chat completions ---

NOT_SENT = [
    pytest.param(ev.agent(5, "a"), id="agent.started"),
    pytest.param(ev.agent_done(5, "a"), id="agent.completed"),
    pytest.param(ev.escalated(5), id="agent.escalated"),
    pytest.param(ev.transfer(5, "a", "b"), id="agent.transfer"),
    pytest.param(ev.tool_call(5, "c1", {"x": 1}), id="tool.call"),
    pytest.param(ev.tool_result(5, "c1", {"ok": True}), id="tool.result"),
    pytest.param(ev.code(5, "x1", "print(1)"), id="code.call"),
    pytest.param(ev.code_result(5, "x1", "1\n"), id="code.result"),
    pytest.param(ev.artifact(5), id="artifact.saved"),
    pytest.param(ev.state(5, {"k": 1}), id="state.delta"),
    pytest.param(ev.confirmation(5, "r1", "c1"), id="input.requested"),
    pytest.param(RunQueued(run_id=ev.RUN, ts=ev.TS, behind="run-0"), id="run.queued"),
    pytest.param(TurnCompleted(run_id=ev.RUN, ts=ev.TS, author="a", turn=1), id="turn.completed"),
    pytest.param(
        MediaDelta(
            run_id=ev.RUN, ts=ev.TS, author="a", message_id="m", mime_type="audio/pcm", data=""
        ),
        id="media.delta",
    ),
]


@pytest.mark.parametrize("event", NOT_SENT)
def test_openai_event_with_no_place_sends_nothing(event: StreamEvent) -> None:
    enc = encoder()
    enc.encode(ev.started())
    assert enc.encode(event) == []
    assert enc.encode(ev.run_completed(9))[-1]["choices"][0]["finish_reason"] == "stop"


# --- parallel branches ---


def branch(name: str) -> list[StreamEvent]:
    """One branch of a ParallelAgent: agent `name` on branch `par.<name>` says "You said: hi."."""
    events = [
        ev.agent(0, name),
        ev.delta(0, f"{name}1", "You ", author=name),
        ev.delta(0, f"{name}1", "said: hi.", author=name),
        ev.completed(0, f"{name}1", "You said: hi.", author=name),
        ev.agent_done(0, name),
    ]
    return [e.model_copy(update={"branch": f"par.{name}"}) for e in events]


def interleaved() -> list[StreamEvent]:
    """Two branches, word by word interleaved as they arrive."""
    mixed = [event for pair in zip(branch("x"), branch("y"), strict=True) for event in pair]
    return ev.numbered(ev.started(), *mixed, ev.run_completed(0))


def test_openai_parallel_branches_are_contiguous() -> None:
    expected = "You said: hi.\n\nYou said: hi."  # not "You\n\nYou said: said: hi. hi."
    assert streamed(frames(encoder(), interleaved()), "content") == expected
    assert message_of(interleaved())["content"] == expected


# --- failures ---


def test_openai_failure_and_cancel_are_error_objects() -> None:
    failed = frames(encoder(), ev.numbered(ev.started(), ev.run_failed(0)))
    assert failed[-1] == {
        "error": {
            "message": "The model failed to answer.",
            "type": "server_error",
            "param": None,
            "code": "model_error",
        }
    }
    cancelled = frames(encoder(), ev.numbered(ev.started(), ev.run_cancelled(0)))
    assert cancelled[-1]["error"]["code"] == "cancelled"


def test_openai_nothing_after_the_terminal_event() -> None:
    enc = encoder()
    for event in WORKFLOW:
        enc.frames(event)
    assert enc.frames(ev.delta(9, "late", "x")) == []
    assert enc.encode(ev.delta(10, "late", "x")) == []


def test_openai_model_list() -> None:
    assert model_list(["a"]) == {
        "object": "list",
        "data": [{"id": "a", "object": "model", "created": 0, "owned_by": "adkstream"}],
    }
