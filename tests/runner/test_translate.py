"""Translator: hand-built ADK Events in, stream events out (pure, no Runner)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.models.llm_request import LlmRequest
from google.genai import types

from adkstream.agents.text_tap import ModelCall
from adkstream.events import (
    AgentCompleted,
    AgentStarted,
    AgentTransfer,
    ArtifactSaved,
    CodeCall,
    CodeResult,
    MessageCompleted,
    MessageDelta,
    MessageFile,
    MessageSources,
    ReasoningCompleted,
    ReasoningDelta,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    event_json,
    parse_event,
)
from adkstream.runner.json_values import json_safe
from adkstream.runner.translate import Translator

NOW = 1_700_000_000.0
MSG = "msg-1"
# A message streamed in two deltas whose final event stores it under the output key.
TWO_DELTAS_STORED = [
    "agent.started",
    "message.delta",
    "message.delta",
    "message.completed",
    "state.delta",
    "agent.completed",
]


def _translator(**output_keys: str) -> Translator:
    return Translator(run_id="run-1", output_keys=output_keys, clock=lambda: NOW)


def _text(*texts: str, thought: bool = False) -> types.Content:
    return types.Content(role="model", parts=[types.Part(text=t, thought=thought) for t in texts])


def _event(
    content: types.Content | None = None,
    *,
    author: str = "bot",
    id: str = MSG,
    partial: bool | None = None,
    branch: str | None = None,
    actions: EventActions | None = None,
    **extra: Any,
) -> Event:
    return Event(
        id=id,
        invocation_id="inv-1",
        author=author,
        branch=branch,
        partial=partial,
        content=content,
        actions=actions or EventActions(),
        **extra,
    )


def _feed(translator: Translator, *events: Event) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    for event in events:
        out.extend(translator.translate(event))
    return out


def _types(events: list[StreamEvent]) -> list[str]:
    return [e.type for e in events]


def _streamed(events: list[StreamEvent], message_id: str = MSG) -> str:
    return "".join(
        e.text for e in events if isinstance(e, MessageDelta) and e.message_id == message_id
    )


def test_translate_partials_become_deltas_of_the_new_text_only() -> None:
    translator = _translator()
    out = _feed(
        translator,
        _event(_text("Hel"), partial=True, branch="b"),
        _event(_text("lo"), partial=True, branch="b"),
    )

    assert out == [
        AgentStarted(run_id="run-1", ts=NOW, author="bot", branch="b"),
        MessageDelta(run_id="run-1", ts=NOW, author="bot", branch="b", message_id=MSG, text="Hel"),
        MessageDelta(run_id="run-1", ts=NOW, author="bot", branch="b", message_id=MSG, text="lo"),
    ]
    assert all(e.seq == 0 for e in out)  # numbered by the log, not here


def test_translate_aggregate_completes_without_repeating_text() -> None:
    translator = _translator(bot="answer")
    out = _feed(
        translator,
        _event(_text("Hel"), partial=True),
        _event(_text("lo"), partial=True),
        _event(
            _text("Hello"),
            partial=False,
            actions=EventActions(state_delta={"answer": "Hello"}),
        ),
    )

    assert _types(out) == TWO_DELTAS_STORED
    assert _streamed(out) == "Hello"
    [completed] = [e for e in out if isinstance(e, MessageCompleted)]
    assert (completed.message_id, completed.text, completed.output_key) == (MSG, "Hello", "answer")
    assert translator.final_text == "Hello"


def test_translate_aggregate_sends_only_a_missing_tail() -> None:
    translator = _translator()
    out = _feed(
        translator,
        _event(_text("Hel"), partial=True),
        _event(_text("Hello world"), partial=False),
    )

    deltas = [e.text for e in out if isinstance(e, MessageDelta)]
    assert deltas == ["Hel", "lo world"]
    assert [e.text for e in out if isinstance(e, MessageCompleted)] == ["Hello world"]


def test_translate_unstreamed_final_text_is_one_delta_then_completed() -> None:
    out = _feed(_translator(), _event(_text("Whole answer"), partial=False))

    assert _types(out) == ["agent.started", "message.delta", "message.completed", "agent.completed"]
    assert _streamed(out) == "Whole answer"


def test_translate_aggregate_disagreeing_with_stream_keeps_the_streamed_text() -> None:
    translator = _translator(bot="answer")
    out = _feed(
        translator,
        _event(_text("Hello"), partial=True),
        _event(_text(" there"), partial=True),
        _event(
            _text("Goodbye"),
            partial=False,
            actions=EventActions(state_delta={"answer": "Goodbye"}),
        ),
    )

    [completed] = [e for e in out if isinstance(e, MessageCompleted)]
    assert completed.text == _streamed(out) == "Hello there"
    assert [e.text for e in out if isinstance(e, MessageDelta)] == ["Hello", " there"]
    assert translator.final_text == "Hello there"


def _call(actions: EventActions, *, author: str = "bot", branch: str | None = None) -> ModelCall:
    return ModelCall(author=author, branch=branch, actions=actions, request=LlmRequest())


def test_translate_tapped_text_is_completed_by_the_final_event_of_its_call() -> None:
    # The final event carries the EventActions object the call's callback context held.
    translator = _translator(bot="answer")
    actions = EventActions(state_delta={"answer": "Hello"})
    call = _call(actions, branch="b")
    out = translator.tapped(call, "Hel") + translator.tapped(call, "lo")
    out += _feed(translator, _event(_text("Hello"), partial=False, branch="b", actions=actions))

    assert _types(out) == TWO_DELTAS_STORED
    deltas = [e for e in out if isinstance(e, MessageDelta)]
    [completed] = [e for e in out if isinstance(e, MessageCompleted)]
    assert {d.message_id for d in deltas} == {completed.message_id}
    assert completed.message_id != MSG  # the tap names the message before ADK's event exists
    assert [(d.author, d.branch, d.text) for d in deltas] == [
        ("bot", "b", "Hel"),
        ("bot", "b", "lo"),
    ]
    assert (completed.text, completed.output_key) == ("Hello", "answer")
    assert translator.final_text == "Hello"


def test_translate_tapped_text_of_two_calls_makes_two_messages() -> None:
    translator = _translator()
    first, second = EventActions(), EventActions()
    out = translator.tapped(_call(first), "One")
    out += _feed(translator, _event(_text("One"), partial=False, id="e1", actions=first))
    out += translator.tapped(_call(second), "Two")
    out += _feed(translator, _event(_text("Two"), partial=False, id="e2", actions=second))

    completed = [e for e in out if isinstance(e, MessageCompleted)]
    assert [c.text for c in completed] == ["One", "Two"]
    assert len({c.message_id for c in completed}) == 2
    for message in completed:
        assert _streamed(out, message.message_id) == message.text


def test_translate_final_event_of_another_call_does_not_take_tapped_text() -> None:
    # Equal but distinct actions: the final event belongs to another call, whose text was
    # not streamed, so it is streamed whole under ADK's id; the tapped message stays open.
    translator = _translator()
    out = translator.tapped(_call(EventActions()), "Partial")
    out += _feed(translator, _event(_text("Other"), partial=False, actions=EventActions()))

    [completed] = [e for e in out if isinstance(e, MessageCompleted)]
    assert (completed.message_id, completed.text) == (MSG, "Other")
    assert _streamed(out) == "Other"


def test_translate_tapped_thought_only_starts_the_agent() -> None:
    translator = _translator()
    call = _call(EventActions())

    assert _types(translator.tapped(call, "")) == ["agent.started"]
    assert translator.tapped(call, "") == []


def _thinking_answer(translator: Translator) -> list[StreamEvent]:
    """A model that thinks in one chunk, answers in another, then aggregates both."""
    return _feed(
        translator,
        _event(_text("pondering...", thought=True), partial=True),
        _event(_text("Yes"), partial=True),
        _event(
            types.Content(
                role="model",
                parts=[types.Part(text="pondering...", thought=True), types.Part(text="Yes")],
            ),
            partial=False,
        ),
    )


def test_translate_thoughts_are_reasoning_sent_once() -> None:
    out = _thinking_answer(_translator())

    assert _types(out) == [
        "agent.started",
        "reasoning.delta",
        "message.delta",
        "reasoning.completed",
        "message.completed",
        "agent.completed",
    ]
    thinking = [e for e in out if isinstance(e, ReasoningDelta | ReasoningCompleted)]
    assert [e.text for e in thinking] == ["pondering...", "pondering..."]
    assert len({e.message_id for e in thinking}) == 1
    assert thinking[0].message_id != MSG
    assert _streamed(out) == "Yes"
    assert [e.text for e in out if isinstance(e, MessageCompleted)] == ["Yes"]


def test_translate_thoughts_withheld() -> None:
    translator = Translator(run_id="run-1", output_keys={}, clock=lambda: NOW, thoughts=False)
    out = _thinking_answer(translator)

    assert "pondering" not in "".join(event_json(e) for e in out)
    assert _streamed(out) == "Yes"
    assert [e.text for e in out if isinstance(e, MessageCompleted)] == ["Yes"]


def test_translate_function_call_preview_in_partial_is_not_emitted() -> None:
    call = types.Part(function_call=types.FunctionCall(id="call-1", name="lookup", args={"q": "x"}))
    preview = _event(types.Content(role="model", parts=[call]), partial=True)
    final = _event(types.Content(role="model", parts=[call]), partial=False)
    translator = _translator()

    assert _types(translator.translate(preview)) == ["agent.started"]
    out = translator.translate(final)

    assert out == [
        ToolCall(
            run_id="run-1",
            ts=NOW,
            author="bot",
            call_id="call-1",
            name="lookup",
            args={"q": "x"},
        )
    ]  # not a final response: no agent.completed either


def test_translate_function_response_becomes_tool_result() -> None:
    response = types.Part(
        function_response=types.FunctionResponse(
            id="call-1", name="lookup", response={"hits": [1, 2], "when": {"d": 1}}
        )
    )
    out = _feed(_translator(), _event(types.Content(role="user", parts=[response]), author="bot"))

    assert out[1:] == [
        ToolResult(
            run_id="run-1",
            ts=NOW,
            author="bot",
            call_id="call-1",
            name="lookup",
            result={"hits": [1, 2], "when": {"d": 1}},
        )
    ]


def test_translate_state_delta_only_from_non_partial_events() -> None:
    # ADK shares one mutable EventActions between partials and their final event: a
    # partial may already show the final state_delta. Only the final event counts.
    shared = EventActions(state_delta={"answer": "Hi you"})
    translator = _translator(bot="answer")
    out = _feed(
        translator,
        _event(_text("Hi"), partial=True, actions=shared),
        _event(_text(" you"), partial=True, actions=shared),
        _event(_text("Hi you"), partial=False, actions=shared),
    )

    state = [e for e in out if isinstance(e, StateDelta)]
    assert state == [StateDelta(run_id="run-1", ts=NOW, author="bot", delta={"answer": "Hi you"})]
    assert out.index(state[0]) > max(i for i, e in enumerate(out) if isinstance(e, MessageDelta))


def test_translate_state_delta_of_a_partial_event_alone_is_ignored() -> None:
    actions = EventActions(state_delta={"answer": "partial text"})
    out = _feed(_translator(), _event(_text("partial text"), partial=True, actions=actions))

    assert _types(out) == ["agent.started", "message.delta"]


def test_translate_agent_started_once_per_author_and_branch() -> None:
    out = _feed(
        _translator(),
        _event(_text("a"), id="1", partial=True, author="a"),
        _event(_text("a"), id="1", partial=False, author="a"),
        _event(_text("b"), id="2", partial=True, author="b", branch="p.b"),
        _event(_text("c"), id="3", partial=True, author="a", branch="p.a"),
        _event(_text("d"), id="4", partial=True, author="b", branch="p.b"),
    )

    started = [(e.author, e.branch) for e in out if isinstance(e, AgentStarted)]
    assert started == [("a", None), ("b", "p.b"), ("a", "p.a")]
    for event in out:  # an agent's events come after its agent.started
        if isinstance(event, MessageDelta):
            first = next(e for e in out if isinstance(e, AgentStarted) and e.author == event.author)
            assert out.index(first) < out.index(event)


def test_translate_transfer_to_agent() -> None:
    response = types.Part(
        function_response=types.FunctionResponse(
            id="t-1", name="transfer_to_agent", response={"result": None}
        )
    )
    event = _event(
        types.Content(role="user", parts=[response]),
        author="router",
        actions=EventActions(transfer_to_agent="billing"),
    )
    out = _feed(_translator(), event)

    transfers = [e for e in out if isinstance(e, AgentTransfer)]
    assert transfers == [
        AgentTransfer(run_id="run-1", ts=NOW, from_agent="router", to_agent="billing")
    ]
    assert not [e for e in out if isinstance(e, AgentCompleted)]


def test_translate_user_events_are_ignored() -> None:
    translator = _translator()

    assert translator.translate(_event(_text("hi"), author="user", partial=False)) == []
    assert translator.final_text == ""


def test_translate_error_event_records_code_and_completes_no_agent() -> None:
    translator = _translator()
    out = _feed(
        translator,
        _event(
            None,
            partial=False,
            error_code="RESOURCE_EXHAUSTED",
            error_message="secret quota text",
        ),
    )

    assert _types(out) == ["agent.started"]
    assert translator.error_code == "RESOURCE_EXHAUSTED"
    assert "secret" not in "".join(event_json(e) for e in out)


def test_translate_usage_sums_over_final_events() -> None:
    def usage(prompt: int, answer: int) -> types.GenerateContentResponseUsageMetadata:
        return types.GenerateContentResponseUsageMetadata(
            prompt_token_count=prompt,
            candidates_token_count=answer,
            total_token_count=prompt + answer,
        )

    translator = _translator()
    _feed(
        translator,
        _event(_text("a"), id="1", partial=True, usage_metadata=usage(100, 100)),
        _event(_text("a"), id="1", partial=False, usage_metadata=usage(3, 1)),
        _event(_text("b"), id="2", partial=False, usage_metadata=usage(5, 2)),
    )

    assert (translator.usage.prompt_tokens, translator.usage.completion_tokens) == (8, 3)
    assert translator.usage.total_tokens == 11


def test_translate_workflow_output_on_agent_completed() -> None:
    out = _feed(_translator(), _event(None, author="flow", partial=False, output={"a": "x"}))

    assert out == [
        AgentStarted(run_id="run-1", ts=NOW, author="flow"),
        AgentCompleted(run_id="run-1", ts=NOW, author="flow", output={"a": "x"}),
    ]


def test_translate_events_survive_their_json() -> None:
    out = _feed(
        _translator(bot="answer"),
        _event(_text("x"), partial=True),
        _event(_text("x"), partial=False, actions=EventActions(state_delta={"answer": "x"})),
    )

    assert [parse_event(event_json(e)) for e in out] == out


def test_translate_json_safe_copies_what_json_cannot_hold() -> None:
    content = types.Content(role="model", parts=[types.Part(text="hi")])

    assert json_safe({"a": (1, 2)}) == {"a": [1, 2]}
    assert json_safe({"c": content})["c"]["parts"][0]["text"] == "hi"
    assert json_safe({"o": object()})["o"].startswith("<object object")


def test_translate_tapped_thought_and_answer_are_two_messages() -> None:
    translator = _translator()
    call = _call(EventActions())
    out = translator.tapped(call, "Hmm", thought=True) + translator.tapped(call, "Yes")
    final = _event(
        types.Content(
            role="model", parts=[types.Part(text="Hmm", thought=True), types.Part(text="Yes")]
        ),
        partial=False,
        actions=call.actions,
    )
    out += _feed(translator, final)

    assert _types(out) == [
        "agent.started",
        "reasoning.delta",
        "message.delta",
        "reasoning.completed",
        "message.completed",
        "agent.completed",
    ]
    ids = [e.message_id for e in out if isinstance(e, ReasoningDelta | ReasoningCompleted)]
    assert ids[0] == ids[1]
    assert ids[0] not in {e.message_id for e in out if isinstance(e, MessageCompleted)}


def test_translate_code_executor_completes_the_streamed_message_once() -> None:
    # ADK's code executor replaces the model's response by an event of its own (text up to
    # the code, and the code), then one with the result; the agent then answers again.
    translator = _translator()
    call = _call(EventActions())
    streamed = "Let me count.\n```tool_code\nprint(2 + 2)\n```"
    out = translator.tapped(call, streamed)
    code = types.Part(
        executable_code=types.ExecutableCode(code="print(2 + 2)", language=types.Language.PYTHON)
    )
    result = types.Part(
        code_execution_result=types.CodeExecutionResult(
            outcome=types.Outcome.OUTCOME_OK, output="4\n"
        )
    )
    out += _feed(
        translator,
        _event(
            types.Content(role="model", parts=[types.Part(text="Let me count."), code]),
            id="exec",
            partial=False,
        ),
        _event(types.Content(role="model", parts=[result]), id="result", partial=False),
        _event(_text("It is 4."), id="answer", partial=False),
    )

    assert _types(out) == [
        "agent.started",
        "message.delta",
        "message.completed",
        "code.call",
        "code.result",
        "message.delta",
        "message.completed",
        "agent.completed",
    ]
    completed = [e for e in out if isinstance(e, MessageCompleted)]
    assert [e.text for e in completed] == [streamed, "It is 4."]
    [call_event] = [e for e in out if isinstance(e, CodeCall)]
    [result_event] = [e for e in out if isinstance(e, CodeResult)]
    assert (call_event.language, call_event.code) == ("python", "print(2 + 2)")
    assert (result_event.code_id, result_event.outcome, result_event.output) == (
        call_event.code_id,
        "ok",
        "4\n",
    )


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        pytest.param(types.FinishReason.MAX_TOKENS, "max_tokens", id="max_tokens"),
        pytest.param(types.FinishReason.SAFETY, "safety", id="safety"),
        pytest.param(types.FinishReason.RECITATION, "recitation", id="recitation"),
    ],
)
def test_translate_finish_reason_ends_the_message_not_the_run(
    code: types.FinishReason, reason: str
) -> None:
    translator = _translator()
    out = _feed(
        translator,
        _event(_text("Half an"), partial=True),
        _event(_text("Half an"), partial=False, finish_reason=code, error_code=code),
    )

    [completed] = [e for e in out if isinstance(e, MessageCompleted)]
    assert (completed.text, completed.finish_reason) == ("Half an", reason)
    assert translator.error_code is None
    assert translator.finish_reason == reason


def test_translate_blocked_prompt_is_a_finish_reason() -> None:
    translator = _translator()
    out = _feed(translator, _event(None, partial=False, error_code="PROHIBITED_CONTENT"))

    assert translator.error_code is None
    assert translator.finish_reason == "prohibited_content"
    assert not [e for e in out if isinstance(e, MessageCompleted)]


def test_translate_an_error_code_that_is_no_finish_reason_fails() -> None:
    translator = _translator()
    _feed(translator, _event(None, partial=False, error_code="MODEL_RETURNED_NO_CONTENT"))

    assert translator.error_code == "MODEL_RETURNED_NO_CONTENT"


def test_translate_sources_follow_their_message() -> None:
    grounding = types.GroundingMetadata(
        grounding_chunks=[
            types.GroundingChunk(web=types.GroundingChunkWeb(uri="https://a.example", title="A")),
            types.GroundingChunk(web=types.GroundingChunkWeb(uri="https://b.example", title="B")),
        ],
        grounding_supports=[
            types.GroundingSupport(
                segment=types.Segment(start_index=0, end_index=5, text="Paris"),
                grounding_chunk_indices=[1],
            )
        ],
        web_search_queries=["capital of france"],
    )
    citations = types.CitationMetadata(
        citations=[types.Citation(uri="https://c.example", start_index=6, end_index=9)]
    )
    out = _feed(
        _translator(),
        _event(
            _text("Paris is it."),
            partial=False,
            grounding_metadata=grounding,
            citation_metadata=citations,
        ),
    )

    assert _types(out)[-3:] == ["message.completed", "message.sources", "agent.completed"]
    [sources] = [e for e in out if isinstance(e, MessageSources)]
    assert sources.message_id == MSG
    assert [(s.id, s.url, s.kind) for s in sources.sources] == [
        ("g0", "https://a.example", "web"),
        ("g1", "https://b.example", "web"),
        ("c0", "https://c.example", "citation"),
    ]
    assert [(s.start, s.end, s.source_ids) for s in sources.spans] == [
        (0, 5, ["g1"]),
        (6, 9, ["c0"]),
    ]
    assert sources.queries == ["capital of france"]


def test_translate_model_image_is_a_file_of_its_message() -> None:
    image = types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG"))
    out = _feed(
        _translator(),
        _event(types.Content(role="model", parts=[types.Part(text="Here:"), image]), partial=False),
    )

    [file] = [e for e in out if isinstance(e, MessageFile)]
    assert (file.message_id, file.mime_type, base64.b64decode(file.data)) == (
        MSG,
        "image/png",
        b"\x89PNG",
    )


def test_translate_artifacts_escalate_and_long_running_calls() -> None:
    translator = Translator(run_id="run-1", output_keys={}, clock=lambda: NOW, session_id="s 1")
    call = types.Part(function_call=types.FunctionCall(id="c1", name="approve", args={}))
    out = _feed(
        translator,
        _event(
            types.Content(role="model", parts=[call]),
            partial=False,
            long_running_tool_ids={"c1"},
            actions=EventActions(artifact_delta={"report.txt": 2}, escalate=True),
        ),
    )

    [tool] = [e for e in out if isinstance(e, ToolCall)]
    assert tool.long_running
    [saved] = [e for e in out if isinstance(e, ArtifactSaved)]
    assert (saved.name, saved.version) == ("report.txt", 2)
    assert saved.url == "/v1/sessions/s%201/artifacts/report.txt?version=2"
    assert "agent.escalated" in _types(out)


def test_translate_usage_adds_thoughts_cache_and_tool_use() -> None:
    translator = _translator()
    usage = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=10,
        candidates_token_count=5,
        thoughts_token_count=20,
        cached_content_token_count=4,
        tool_use_prompt_token_count=3,
        total_token_count=38,
    )
    _feed(translator, _event(_text("Hi"), partial=False, usage_metadata=usage))

    assert translator.usage.model_dump() == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 38,
        "thought_tokens": 20,
        "cached_tokens": 4,
        "tool_use_prompt_tokens": 3,
    }


def test_translate_an_agent_that_runs_again_starts_again() -> None:
    # A LoopAgent runs its agents once per iteration: each run is a started/completed pair.
    out = _feed(
        _translator(),
        _event(_text("one"), id="m1", partial=False),
        _event(_text("two"), id="m2", partial=False),
    )

    assert _types(out) == [
        "agent.started",
        "message.delta",
        "message.completed",
        "agent.completed",
        "agent.started",
        "message.delta",
        "message.completed",
        "agent.completed",
    ]
