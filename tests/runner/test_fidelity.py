"""Everything an agent does reaches the stream, on the real path: ADK's Runner and its
`Gemini` class with google-genai, against the fake Gemini server speaking the real wire
format (thoughts with signatures, code execution, grounding and citations, images,
finish reasons, full usage), and real ADK features (thinking config, code executors,
a LoopAgent that escalates, a ParallelAgent)."""

from __future__ import annotations

import asyncio
import base64
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from google.adk.agents import LlmAgent, LoopAgent, ParallelAgent
from google.adk.code_executors import BuiltInCodeExecutor, UnsafeLocalCodeExecutor
from google.adk.models.google_llm import Gemini
from google.adk.tools import google_search
from google.adk.tools.tool_context import ToolContext
from google.genai import types

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.events import (
    AgentCompleted,
    AgentStarted,
    CodeCall,
    CodeResult,
    MessageCompleted,
    MessageFile,
    MessageSources,
    ReasoningCompleted,
    ReasoningDelta,
    RunCompleted,
    StreamEvent,
)
from adkstream.runner import RunRequest
from adkstream.settings import Settings
from tests.api.sse_reading import post_sse
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import (
    FakeGemini,
    PartsReply,
    TextReply,
    ToolCallReply,
    Usage,
    citation,
    code_part,
    code_result_part,
    grounding_support,
    image_part,
    thought_part,
    web_grounding,
)
from tests.runner.helpers import TIMEOUT_S, USER_ID, Harness, check_stream, make_harness
from tests.servers import serve_app

__all__ = ["fake_gemini"]

MODEL = "gemini-2.5-flash"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
THINKING = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))


def exit_loop(tool_context: ToolContext) -> dict[str, str]:
    """Ends the loop: the work is done."""
    tool_context.actions.escalate = True
    return {"status": "done"}


@pytest_asyncio.fixture
async def gemini(fake_gemini: FakeGemini) -> AsyncIterator[Gemini]:
    model = Gemini(model=MODEL, base_url=fake_gemini.url)
    yield model
    await model.api_client.aio.aclose()


def _deprecated_agents(gemini: Gemini) -> tuple[LoopAgent, ParallelAgent]:
    """A LoopAgent and a ParallelAgent: deprecated in ADK 2.x, and still in wide use."""
    worker = LlmAgent(name="worker", model=gemini, instruction="Work.", tools=[exit_loop])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loop = LoopAgent(name="loop", sub_agents=[worker], max_iterations=3)
        panel = ParallelAgent(
            name="panel",
            sub_agents=[
                LlmAgent(name="left", model=gemini, instruction="Left."),
                LlmAgent(name="right", model=gemini, instruction="Right."),
            ],
        )
    return loop, panel


@pytest.fixture
def harness(gemini: Gemini) -> Harness:
    loop, panel = _deprecated_agents(gemini)
    return make_harness(
        HostedAgent.of(LlmAgent(name="thinker", model=gemini, generate_content_config=THINKING)),
        HostedAgent.of(LlmAgent(name="coder", model=gemini, code_executor=BuiltInCodeExecutor())),
        HostedAgent.of(
            LlmAgent(name="local_coder", model=gemini, code_executor=UnsafeLocalCodeExecutor())
        ),
        HostedAgent.of(LlmAgent(name="searcher", model=gemini, tools=[google_search])),
        HostedAgent.of(LlmAgent(name="painter", model=gemini)),
        HostedAgent.of(loop),
        HostedAgent.of(panel),
    )


def _only(events: list[StreamEvent], kind: type[StreamEvent]) -> list[StreamEvent]:
    return [e for e in events if isinstance(e, kind)]


def _agent_runs_pair(events: list[StreamEvent]) -> None:
    """Every agent.completed closes an agent.started of the same agent, and none is left."""
    open_runs: set[tuple[str, str | None]] = set()
    for event in events:
        if isinstance(event, AgentStarted):
            assert (event.author, event.branch) not in open_runs
            open_runs.add((event.author, event.branch))
        elif isinstance(event, AgentCompleted):
            open_runs.remove((event.author, event.branch))


@pytest.mark.parametrize(
    "coalesce_ms", [pytest.param(0, id="raw"), pytest.param(30, id="coalesced")]
)
async def test_fidelity_thoughts_stream_once_before_the_answer(
    harness: Harness, fake_gemini: FakeGemini, coalesce_ms: int
) -> None:
    fake_gemini.script(
        PartsReply(
            [
                thought_part("Two and two", signature=b"sig-1"),
                thought_part(" make four."),
                "The answer",
                " is 4.",
            ],
            usage=Usage(prompt=10, candidates=5, thoughts=20, cached=4),
        )
    )
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("thinker", "2+2?", coalesce_ms=coalesce_ms)

    completed = check_stream(events)
    [thought] = _only(events, ReasoningCompleted)
    assert thought.text == "Two and two make four."  # type: ignore[union-attr]
    assert list(completed.values()) == ["The answer is 4."]
    first_thought = next(i for i, e in enumerate(events) if isinstance(e, ReasoningDelta))
    first_answer = next(i for i, e in enumerate(events) if e.type == "message.delta")
    assert first_thought < first_answer
    final = events[-1]
    assert isinstance(final, RunCompleted)
    assert final.usage.model_dump() == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 35,
        "thought_tokens": 20,
        "cached_tokens": 4,
        "tool_use_prompt_tokens": 0,
    }
    assert final.final_text == "The answer is 4."
    config = fake_gemini.requests[-1]["generationConfig"]["thinkingConfig"]
    # google-genai 2.x sends this one member as its Python name.
    assert config.get("includeThoughts", config.get("include_thoughts")) is True


async def test_fidelity_thoughts_withheld_on_request(
    harness: Harness, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(PartsReply([thought_part("secret musing"), "Hi."]))
    hosted = harness.agents.get("thinker")
    session = await harness.session_service.create_session(app_name="thinker", user_id=USER_ID)
    message = types.Content(role="user", parts=[types.Part(text="hi")])
    async with asyncio.timeout(TIMEOUT_S):
        run = await harness.manager.start(
            RunRequest(
                agent=hosted,
                user_id=USER_ID,
                session_id=session.id,
                message=message,
                thoughts=False,
            )
        )
        await run.done.wait()
        events = await harness.events(run)

    assert not [e for e in events if e.type.startswith("reasoning.")]
    assert list(check_stream(events).values()) == ["Hi."]


async def test_fidelity_builtin_code_execution(harness: Harness, fake_gemini: FakeGemini) -> None:
    fake_gemini.script(
        PartsReply(
            [
                "Let me run it.",
                [code_part("print(2 + 2)"), code_result_part("4\n")],
                " It is 4.",
            ]
        )
    )
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("coder", "2+2?")

    check_stream(events)
    [call] = _only(events, CodeCall)
    [result] = _only(events, CodeResult)
    assert (call.language, call.code) == ("python", "print(2 + 2)")  # type: ignore[union-attr]
    assert (result.code_id, result.outcome, result.output) == (  # type: ignore[union-attr]
        call.code_id,  # type: ignore[union-attr]
        "ok",
        "4\n",
    )
    assert [e.type for e in events].count("agent.completed") == 1
    _agent_runs_pair(events)
    assert isinstance(events[-1], RunCompleted)


async def test_fidelity_local_code_executor_completes_each_message_once(
    harness: Harness, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(
        TextReply(["Let me count.\n", "```tool_code\nprint(2 + 2)\n```"]),
        TextReply(["It is ", "4."]),
    )
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("local_coder", "2+2?")

    completed = check_stream(events)
    types_ = [e.type for e in events]
    assert types_.count("agent.completed") == 1
    assert types_.index("code.call") < types_.index("code.result")
    [result] = _only(events, CodeResult)
    # ADK's local executor reports "Code execution result:\n<stdout>".
    assert result.output.strip().splitlines()[-1] == "4"  # type: ignore[union-attr]
    assert list(completed.values())[-1] == "It is 4."
    # The agent completes after everything it said, not before its last message.
    assert types_[-2:] == ["agent.completed", "run.completed"]
    _agent_runs_pair(events)


async def test_fidelity_grounding_and_citations_are_sources(
    harness: Harness, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(
        PartsReply(
            ["Paris", " is the capital."],
            grounding=web_grounding(
                [("https://a.example/paris", "Paris - A")],
                queries=["capital of france"],
                supports=[grounding_support(0, 5, "Paris")],
            ),
            citations=[citation(6, 21, "https://c.example/capitals", title="Capitals")],
        )
    )
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("searcher", "Capital of France?")

    completed = check_stream(events)
    [sources] = _only(events, MessageSources)
    assert isinstance(sources, MessageSources)
    assert sources.message_id in completed
    assert [(s.url, s.title) for s in sources.sources] == [
        ("https://a.example/paris", "Paris - A"),
        ("https://c.example/capitals", "Capitals"),
    ]
    assert [(s.start, s.end) for s in sources.spans] == [(None, 5), (6, 21)]
    assert sources.queries == ["capital of france"]


async def test_fidelity_model_image_is_a_file(harness: Harness, fake_gemini: FakeGemini) -> None:
    fake_gemini.script(PartsReply(["Here is your image: ", image_part(PNG)]))
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("painter", "Draw a dot")

    completed = check_stream(events)
    [file] = _only(events, MessageFile)
    assert isinstance(file, MessageFile)
    assert (file.mime_type, base64.b64decode(file.data)) == ("image/png", PNG)
    assert file.message_id in completed


@pytest.mark.parametrize(
    ("reply", "reason", "text"),
    [
        pytest.param(
            PartsReply(["Half", " an answer"], finish_reason="MAX_TOKENS"),
            "max_tokens",
            "Half an answer",
            id="max_tokens",
        ),
        pytest.param(
            PartsReply(["Once upon", []], finish_reason="SAFETY"),
            "safety",
            "Once upon",
            id="safety",
        ),
        pytest.param(
            PartsReply(block_reason="PROHIBITED_CONTENT"), "prohibited_content", "", id="blocked"
        ),
    ],
)
async def test_fidelity_finish_reasons_complete_the_run(
    harness: Harness, fake_gemini: FakeGemini, reply: PartsReply, reason: str, text: str
) -> None:
    fake_gemini.script(reply)
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("painter", "Tell me a story")

    completed = check_stream(events)
    final = events[-1]
    assert isinstance(final, RunCompleted)
    assert (final.finish_reason, final.final_text) == (reason, text)
    messages = _only(events, MessageCompleted)
    if text:
        assert list(completed.values()) == [text]
        assert messages[-1].finish_reason == reason  # type: ignore[union-attr]
    else:
        assert not messages


async def test_fidelity_loop_agent_escalates(harness: Harness, fake_gemini: FakeGemini) -> None:
    fake_gemini.script(
        TextReply(["Trying once."]),
        ToolCallReply("exit_loop", {}),
        TextReply(["Done."]),
    )
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("loop", "Work until done")

    check_stream(events)
    types_ = [e.type for e in events]
    assert "agent.escalated" in types_
    _agent_runs_pair(events)
    worker_starts = [e for e in events if isinstance(e, AgentStarted) and e.author == "worker"]
    assert len(worker_starts) == 2  # two iterations, each its own agent run
    assert isinstance(events[-1], RunCompleted)
    assert len(fake_gemini.requests) <= 3  # the loop stopped after the escalation


async def test_fidelity_parallel_agent_branches(harness: Harness, fake_gemini: FakeGemini) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        _, events = await harness.run("panel", "hello")

    completed = check_stream(events)
    authors = {e.author for e in _only(events, MessageCompleted)}  # type: ignore[union-attr]
    branches = {e.branch for e in _only(events, MessageCompleted)}  # type: ignore[union-attr]
    assert authors == {"left", "right"}
    assert len(branches) == 2
    assert len(completed) == 2
    _agent_runs_pair(events)


async def test_fidelity_on_the_native_sse_stream(
    tmp_path: Path, gemini: Gemini, fake_gemini: FakeGemini
) -> None:
    # One answer with all of it, read as a browser would: SSE frames from a real server.
    fake_gemini.script(
        PartsReply(
            [
                thought_part("Checking", signature=b"sig"),
                "Paris is",
                [code_part("print(1)"), code_result_part("1\n")],
                " the capital.",
                image_part(PNG),
            ],
            grounding=web_grounding(
                [("https://a.example/paris", "Paris")], supports=[grounding_support(0, 5, "Paris")]
            ),
            finish_reason="MAX_TOKENS",
            usage=Usage(thoughts=7, cached=2),
        )
    )
    agent = LlmAgent(name="all", model=gemini, generate_content_config=THINKING)
    app = create_app(Settings(data_dir=tmp_path / "d"), AgentRegistry([HostedAgent.of(agent)]))
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        response, frames = await post_sse(client, {"message": "Capital of France?"})

    assert response.headers["content-type"].startswith("text/event-stream")
    assert all(name == event.type and seq == str(event.seq) for seq, name, event in frames)
    events = [event for _, _, event in frames]

    types_ = [e.type for e in events]
    for expected in (
        "reasoning.delta",
        "reasoning.completed",
        "message.delta",
        "message.completed",
        "code.call",
        "code.result",
        "message.file",
        "message.sources",
        "agent.completed",
    ):
        assert expected in types_, expected
    final = events[-1]
    assert isinstance(final, RunCompleted)
    assert final.finish_reason == "max_tokens"
    assert (final.usage.thought_tokens, final.usage.cached_tokens) == (7, 2)
    check_stream(events)
