"""RunManager end to end: the real ADK Runner and ADK's real Gemini class, pointed at the
fake Gemini HTTP server, driving the built-in agents into a EventLog."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from google.adk.agents import LlmAgent
from google.adk.agents.callback_context import CallbackContext
from google.adk.events.event import Event
from google.adk.models.google_llm import Gemini
from google.adk.models.llm_response import LlmResponse

from adkstream.agents import OfflineModel
from adkstream.agents.builtin import build_assistant, build_fanout, build_pipeline
from adkstream.agents.registry import HostedAgent
from adkstream.errors import ConflictError, UnavailableError
from adkstream.events import (
    AgentCompleted,
    MessageCompleted,
    MessageDelta,
    RunCancelled,
    RunCompleted,
    RunFailed,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    event_json,
)
from adkstream.runner import Run
from adkstream.runner.run_record import RunStatus
from adkstream.runner.stopped_answers import stopped_reason
from adkstream.runner.translate import Translator
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import (
    ErrorReply,
    FakeGemini,
    HangReply,
    TextReply,
    ToolCallReply,
    system_text,
)
from tests.runner.helpers import (
    TIMEOUT_S,
    Harness,
    check_stream,
    make_harness,
    of_type,
    persisted_texts,
)

__all__ = ["fake_gemini"]  # the fixture, imported for pytest to find

MODEL = "gemini-2.5-flash"
ABORTED = "INVOCATION_ABORTED"


@pytest_asyncio.fixture
async def gemini(fake_gemini: FakeGemini) -> AsyncIterator[Gemini]:
    model = Gemini(model=MODEL, base_url=fake_gemini.url)
    yield model
    await model.api_client.aio.aclose()


@pytest.fixture
def harness(gemini: Gemini) -> Harness:
    return make_harness(
        HostedAgent.of(build_assistant(gemini)),
        HostedAgent.of(build_pipeline(gemini)),
        HostedAgent.of(build_fanout(gemini)),
    )


def _by_author(events: list[StreamEvent], type_: str) -> dict[str, list[StreamEvent]]:
    out: dict[str, list[StreamEvent]] = {}
    for event in of_type(events, type_):
        out.setdefault(event.author, []).append(event)
    return out


def _is_delta(event: StreamEvent) -> bool:
    return isinstance(event, MessageDelta)


def _fake_server_tasks(tasks: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    """The fake server's request handlers (uvicorn runs one task per request)."""
    return {t for t in tasks if "uvicorn" in t.get_coro().cr_code.co_filename}


# --------------------------------------------------------------------------- one agent


@pytest.mark.parametrize(
    "coalesce_ms", [pytest.param(0, id="raw"), pytest.param(30, id="coalesced")]
)
async def test_runs_assistant_deltas_concatenate_to_completed_text(
    harness: Harness, fake_gemini: FakeGemini, coalesce_ms: int
) -> None:
    # Chunks 50 ms apart: each arrives after the 30 ms window, so none waits for another
    # (chunks that arrive together may leave together, the first one included).
    fake_gemini.script(TextReply(["Hel", "lo", " wor", "ld"], delay_s=0.05))
    async with asyncio.timeout(TIMEOUT_S):
        run, events = await harness.run("assistant", "hi", coalesce_ms=coalesce_ms)

    completed = check_stream(events)
    assert list(completed.values()) == ["Hello world"]
    deltas = of_type(events, "message.delta")
    assert deltas[0].text == "Hel"  # the first delta is never held back
    if coalesce_ms == 0:
        assert [d.text for d in deltas] == ["Hel", "lo", " wor", "ld"]
    assert [e.type for e in events if e.type != "message.delta"] == [
        "run.started",
        "agent.started",
        "message.completed",
        "state.delta",
        "agent.completed",
        "run.completed",
    ]
    terminal = events[-1]
    assert isinstance(terminal, RunCompleted)
    assert terminal.final_text == "Hello world"
    assert terminal.usage.completion_tokens == 4
    assert terminal.usage.total_tokens == terminal.usage.prompt_tokens + 4
    record = await harness.log.get_run(run.run_id)
    assert record is not None
    assert (record.status, record.final_text, record.last_seq) == (
        RunStatus.COMPLETED,
        "Hello world",
        len(events),
    )
    assert not harness.manager.active


async def test_runs_output_key_gets_only_the_final_text(
    harness: Harness, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(TextReply(["The ", "answer ", "is ", "42"]))
    async with asyncio.timeout(TIMEOUT_S):
        run, events = await harness.run("assistant", "question")
        session = await harness.session(run)

    check_stream(events)
    [completed] = of_type(events, "message.completed")
    assert isinstance(completed, MessageCompleted)
    assert (completed.text, completed.output_key) == ("The answer is 42", "last_answer")
    assert session.state["last_answer"] == "The answer is 42"
    state_deltas = of_type(events, "state.delta")
    assert state_deltas
    for event in state_deltas:
        assert isinstance(event, StateDelta)
        assert event.delta.get("last_answer", "The answer is 42") == "The answer is 42"
    assert not any(e.partial for e in session.events)
    assert persisted_texts(session.events, "assistant") == ["The answer is 42"]
    written = [
        e.actions.state_delta["last_answer"] for e in session.events if e.actions.state_delta
    ]
    assert written == ["The answer is 42"]


@pytest.fixture
def partials_seen_by_adk(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """The partial ADK events the run's translator gets (every event ADK yields passes it)."""
    seen: list[Event] = []
    translate = Translator.translate

    def spy(self: Translator, event: Event) -> list[StreamEvent]:
        if event.partial:
            seen.append(event)
        return translate(self, event)

    monkeypatch.setattr(Translator, "translate", spy)
    return seen


async def test_runs_text_tap_streams_every_chunk_without_adk_partials(
    harness: Harness, fake_gemini: FakeGemini, partials_seen_by_adk: list[Event]
) -> None:
    # Paced chunks: each is read before the next comes, so none joins another's delta.
    fake_gemini.script(TextReply(["The ", "answer ", "is ", "42"], delay_s=0.05))
    async with asyncio.timeout(TIMEOUT_S):
        run, events = await harness.run("assistant", "question")
        session = await harness.session(run)

    assert partials_seen_by_adk == []
    completed = check_stream(events)
    deltas = of_type(events, "message.delta")
    assert [d.text for d in deltas] == ["The ", "answer ", "is ", "42"]
    assert list(completed.values()) == ["The answer is 42"]
    assert session.state["last_answer"] == "The answer is 42"


async def test_runs_after_model_callback_sees_every_partial(
    fake_gemini: FakeGemini, gemini: Gemini, partials_seen_by_adk: list[Event]
) -> None:
    # A callback that may rewrite partial responses must get them all: no tap for it.
    callback_saw: list[tuple[bool, str]] = []

    def after_model(
        callback_context: CallbackContext, llm_response: LlmResponse
    ) -> LlmResponse | None:
        parts = llm_response.content.parts or [] if llm_response.content else []
        callback_saw.append((bool(llm_response.partial), "".join(p.text or "" for p in parts)))
        return None

    agent = LlmAgent(name="watched", model=gemini, after_model_callback=after_model)
    harness = make_harness(HostedAgent.of(agent))
    fake_gemini.script(TextReply(["Hel", "lo"]))
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("watched", "hi")

    assert callback_saw == [(True, "Hel"), (True, "lo"), (False, "Hello")]
    assert [e.content.parts[0].text for e in partials_seen_by_adk if e.content] == ["Hel", "lo"]
    assert list(check_stream(events).values()) == ["Hello"]


async def test_runs_tool_call_yields_one_call_and_one_result(
    harness: Harness, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(
        ToolCallReply("get_current_time", {"timezone": "UTC"}), TextReply(["It is ", "noon."])
    )
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("assistant", "What time is it in UTC?")

    completed = check_stream(events)
    [call] = of_type(events, "tool.call")
    [result] = of_type(events, "tool.result")
    assert isinstance(call, ToolCall)
    assert isinstance(result, ToolResult)
    assert (call.name, call.args, call.author) == (
        "get_current_time",
        {"timezone": "UTC"},
        "assistant",
    )
    assert (result.name, result.call_id) == ("get_current_time", call.call_id)
    assert call.call_id
    assert result.result["timezone"] == "UTC"
    assert "time" in result.result
    assert (
        events.index(call)
        < events.index(result)
        < events.index(of_type(events, "message.delta")[0])
    )
    assert list(completed.values()) == ["It is noon."]
    # ADK sent the tool's result back to the model in the second request.
    assert len(fake_gemini.requests) == 2
    last_parts = fake_gemini.requests[1]["contents"][-1]["parts"]
    assert last_parts[0]["functionResponse"]["name"] == "get_current_time"
    assert len(of_type(events, "agent.completed")) == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [pytest.param(429, "rate_limited", id="429"), pytest.param(500, "model_error", id="500")],
)
async def test_runs_model_http_error_fails_with_stable_code(
    harness: Harness, fake_gemini: FakeGemini, status: int, code: str
) -> None:
    secret = "quota exhausted for project secret-project-1234 at shard-9"
    # ADK's Gemini may retry: every attempt gets the same error.
    fake_gemini.script(*[ErrorReply(status, secret)] * 5)
    async with asyncio.timeout(TIMEOUT_S):
        run, events = await harness.run("assistant", "hi")

    check_stream(events)
    terminal = events[-1]
    assert isinstance(terminal, RunFailed)
    assert terminal.error.code == code
    assert fake_gemini.requests
    wire = "\n".join(event_json(e) for e in events)
    for leak in (secret, "secret-project", "RESOURCE_EXHAUSTED", "INTERNAL", "Traceback"):
        assert leak not in wire
    assert not of_type(events, "message.delta")
    assert not of_type(events, "agent.completed")
    record = await harness.log.get_run(run.run_id)
    assert record is not None
    assert (record.status, record.error) == (RunStatus.FAILED, terminal.error)


# --------------------------------------------------------------------------- several agents


async def test_runs_pipeline_streams_writer_then_editor(
    harness: Harness, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(
        TextReply(["Cats ", "sleep ", "a lot."]), TextReply(["Cats sleep ", "sixteen hours."])
    )
    async with asyncio.timeout(TIMEOUT_S):
        run, events = await harness.run("pipeline", "Write about cats")
        session = await harness.session(run)

    completed = check_stream(events)
    assert list(completed.values()) == ["Cats sleep a lot.", "Cats sleep sixteen hours."]
    started = of_type(events, "agent.started")
    finished = of_type(events, "agent.completed")
    assert [e.author for e in started] == ["writer", "editor"]
    assert [e.author for e in finished] == ["writer", "editor"]
    messages = of_type(events, "message.completed")
    assert [m.author for m in messages] == ["writer", "editor"]
    # The writer is done (completed) before the editor starts.
    assert events.index(finished[0]) < events.index(started[1])
    for author, deltas in _by_author(events, "message.delta").items():
        assert all(d.author == author for d in deltas)
    _assert_branches_match_adk(events, session.events)
    # output_key chaining: the editor's instruction carried the writer's text.
    assert len(fake_gemini.requests) == 2
    assert "Cats sleep a lot." not in system_text(fake_gemini.requests[0])
    assert "Cats sleep a lot." in system_text(fake_gemini.requests[1])
    assert session.state["draft"] == "Cats sleep a lot."
    assert session.state["final"] == "Cats sleep sixteen hours."
    assert [m.output_key for m in messages] == ["draft", "final"]
    terminal = events[-1]
    assert isinstance(terminal, RunCompleted)
    assert terminal.final_text == "Cats sleep sixteen hours."


async def test_runs_fanout_streams_both_branches(harness: Harness, fake_gemini: FakeGemini) -> None:
    # No script: the fake echoes each agent's own instruction, so answers are told apart
    # whatever order the parallel requests arrive in (echo streams 4 characters a chunk).
    async with asyncio.timeout(TIMEOUT_S):
        run, events = await harness.run("fanout", "Is AI good?")
        session = await harness.session(run)

    completed = check_stream(events)
    messages = {m.author: m for m in of_type(events, "message.completed")}
    assert set(messages) == {"optimist", "skeptic"}
    assert "hopeful" in messages["optimist"].text
    assert "critical" in messages["skeptic"].text
    assert set(completed.values()) == {m.text for m in messages.values()}
    # The echo's chunks come together, so each answer may stream as one delta.
    assert {d.author for d in of_type(events, "message.delta")} == {"optimist", "skeptic"}
    started = _by_author(events, "agent.started")
    finished = _by_author(events, "agent.completed")
    assert {a: len(e) for a, e in started.items()} == {"optimist": 1, "skeptic": 1, "fanout": 1}
    assert {a: len(e) for a, e in finished.items()} == {"optimist": 1, "skeptic": 1, "fanout": 1}
    branches = {a: e[0].branch for a, e in started.items()}
    assert branches["optimist"] != branches["skeptic"]
    _assert_branches_match_adk(events, session.events)
    for author in ("optimist", "skeptic"):
        assert events.index(started[author][0]) < events.index(messages[author])
        assert events.index(messages[author]) < events.index(finished[author][0])
    [root_done] = finished["fanout"]
    assert isinstance(root_done, AgentCompleted)
    assert root_done.output == {
        "optimist": messages["optimist"].text,
        "skeptic": messages["skeptic"].text,
    }
    assert session.state["optimist_take"] == messages["optimist"].text
    assert session.state["skeptic_take"] == messages["skeptic"].text
    assert isinstance(events[-1], RunCompleted)


def _assert_branches_match_adk(events: list[StreamEvent], persisted: list[Event]) -> None:
    """Every attributed event of an agent carries the branch ADK gave that agent."""
    adk_branch = {e.author: e.branch for e in persisted if e.author != "user"}
    for event in events:
        author = getattr(event, "author", None)
        if author is not None:
            assert event.branch == adk_branch[author], (event.type, author)


# --------------------------------------------------------------------------- ending a run


async def _start_hanging(harness: Harness, fake_gemini: FakeGemini) -> Run:
    fake_gemini.script(HangReply(["Thinking", " hard"]))
    run = await harness.start("assistant", "think")
    await fake_gemini.hanging.wait()
    # Mid-stream: the model's first words reached the log before we stop it.
    # (The two chunks come together: they may make one delta.)
    await harness.wait_for(run, lambda e: isinstance(e, MessageDelta) and e.text.endswith(" hard"))
    return run


async def test_runs_cancel_mid_stream_persists_abort_and_the_stopped_answer(
    harness: Harness, fake_gemini: FakeGemini
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        current = asyncio.current_task()
        before = asyncio.all_tasks()  # the fake server is already running
        run = await _start_hanging(harness, fake_gemini)
        assert run.run_id in harness.manager.active
        harness.manager.cancel(run.run_id, "test")
        await run.done.wait()
        await fake_gemini.disconnected.wait()  # the model's HTTP stream was closed
        leftover = asyncio.all_tasks() - before - {current}
        server_tasks = _fake_server_tasks(leftover)
        if server_tasks:  # they end once the server has seen the disconnect
            await asyncio.wait(server_tasks)
        leftover = asyncio.all_tasks() - before - {current}
        events = await harness.events(run)
        session = await harness.session(run)

    assert leftover == set()
    assert run.task.done()
    assert not harness.manager.active
    check_stream(events)
    assert "".join(d.text for d in of_type(events, "message.delta")) == "Thinking hard"
    assert not of_type(events, "message.completed")
    terminal = events[-1]
    assert isinstance(terminal, RunCancelled)
    assert terminal.reason == "test"
    assert [e.error_code for e in session.events if e.error_code] == [ABORTED]
    assert not any(e.partial for e in session.events)
    # What the client saw stays in the session, marked stopped; output_key is not set.
    assert persisted_texts(session.events, "assistant") == ["Thinking hard"]
    [stopped] = [e for e in session.events if e.author == "assistant" and e.content]
    assert stopped_reason(stopped) == "test"
    assert "last_answer" not in session.state
    record = await harness.log.get_run(run.run_id)
    assert record is not None
    assert record.status == RunStatus.CANCELLED
    with pytest.raises(ConflictError):
        harness.manager.cancel(run.run_id, "again")


async def test_runs_cancel_before_the_first_chunk_ends_promptly(
    harness: Harness, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(HangReply([]))  # the model accepted the request, then says nothing
    async with asyncio.timeout(TIMEOUT_S):
        run = await harness.start("assistant", "think")
        await fake_gemini.hanging.wait()
        harness.manager.cancel(run.run_id, "user pressed stop")
        await run.done.wait()
        await fake_gemini.disconnected.wait()
        events = await harness.events(run)
        session = await harness.session(run)

    check_stream(events)
    assert [e.type for e in events] == ["run.started", "run.cancelled"]
    assert [e.error_code for e in session.events if e.error_code] == [ABORTED]


async def test_runs_shutdown_mid_run_fails_interrupted(
    harness: Harness, fake_gemini: FakeGemini
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        run = await _start_hanging(harness, fake_gemini)
        await harness.manager.shutdown()
        events = await harness.events(run)
        session = await harness.session(run)

    assert run.done.is_set()
    assert not harness.manager.active
    check_stream(events)
    terminal = events[-1]
    assert isinstance(terminal, RunFailed)
    assert terminal.error.code == "interrupted"
    assert [e.error_code for e in session.events if e.error_code] == [ABORTED]
    record = await harness.log.get_run(run.run_id)
    assert record is not None
    assert record.status == RunStatus.FAILED


# --------------------------------------------------------------------------- offline model


def _offline_harness(max_runs: int = 1000) -> Harness:
    model = OfflineModel(tokens_per_s=0, reply_tokens=6)
    harness = make_harness(HostedAgent.of(build_assistant(model)))
    harness.manager.max_runs = max_runs
    return harness


async def test_runs_shutdown_right_after_start_ends_the_run() -> None:
    harness = _offline_harness()
    async with asyncio.timeout(5):
        run = await harness.start("assistant", "hi")
        await harness.manager.shutdown()  # the run's task has not had a step yet
        events = await harness.events(run)

    assert run.done.is_set()
    assert not harness.manager.active
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("adkstream-pump")]
    check_stream(events)
    terminal = events[-1]
    assert isinstance(terminal, RunFailed)
    assert terminal.error.code == "interrupted"


async def test_runs_start_over_the_run_limit_is_refused() -> None:
    harness = _offline_harness(max_runs=1)
    async with asyncio.timeout(TIMEOUT_S):
        run = await harness.start("assistant", "hi")
        with pytest.raises(UnavailableError) as info:
            await harness.start("assistant", "again")
        await run.done.wait()
        second = await harness.start("assistant", "after the first ended")
        await second.done.wait()

    assert info.value.code == "server_busy"
    assert isinstance((await harness.events(second))[-1], RunCompleted)


async def test_runs_coalesced_offline_stream_keeps_invariants() -> None:
    model = OfflineModel(tokens_per_s=0, reply_tokens=40)
    agent = LlmAgent(name="talker", model=model, output_key="said")
    harness = make_harness(HostedAgent.of(agent))
    async with asyncio.timeout(TIMEOUT_S):
        run, events = await harness.run("talker", "tell me", coalesce_ms=30)
        session = await harness.session(run)

    [text] = check_stream(events).values()
    assert len(text.split()) == 40
    deltas = of_type(events, "message.delta")
    # Words yielded without pause are there together: they go to ADK merged.
    assert text.startswith(deltas[0].text) and len(deltas) < 40
    assert session.state["said"] == text
    assert isinstance(events[-1], RunCompleted)
    assert events[-1].final_text == text
