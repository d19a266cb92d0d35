"""The lean Gemini stream against genai's own, over the fake Gemini server's whole repertoire:
the same agent, lean on and off, through ADK's Gemini class, the real ADK Runner and
adkstream's runner, must give equal responses, events and wire events; and the lean path
must really be taken for plain text chunks (its counts)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from google.adk.agents import LlmAgent
from google.adk.agents.run_config import RunConfig
from google.adk.code_executors import BuiltInCodeExecutor
from google.adk.features import FeatureName, is_feature_enabled
from google.adk.models.google_llm import Gemini
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.adk.tools import google_search
from google.genai import types
from pydantic import BaseModel

from adkstream.adk_private import StreamingMode
from adkstream.agents.coalescing import CoalescingModel
from adkstream.agents.lean_gemini import (
    LeanCounts,
    LeanGemini,
    _Constructor,
    install_lean_gemini,
    settle_streaming_flag,
)
from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.runner.host import Host
from adkstream.settings import Settings
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import (
    ErrorReply,
    FakeGemini,
    PartsReply,
    Reply,
    TextReply,
    ToolCallReply,
    Usage,
    citation,
    code_part,
    code_result_part,
    grounding_support,
    image_part,
    safety_rating,
    text_part,
    thought_part,
    web_grounding,
)
from tests.runner.helpers import TIMEOUT_S, make_harness, user_message

__all__ = ["fake_gemini"]

MODEL = "gemini-2.5-flash"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
THINKING = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))


def get_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    return {"city": city, "weather": "sunny"}


# (id, the replies of one run, the agent's extra fields, whether text chunks go lean)
CASES: list[tuple[str, Sequence[Reply], dict[str, Any], bool]] = [
    ("text", [TextReply(["Hel", "lo", " world"])], {}, True),
    ("echo", [], {}, True),
    ("empty_text", [TextReply([])], {}, False),
    (
        "tool_call",
        [ToolCallReply("get_weather", {"city": "Paris"}), TextReply(["Sunny", " in Paris"])],
        {"tools": [get_weather]},
        True,
    ),
    (
        "thoughts_with_signatures",
        [
            PartsReply(
                [
                    thought_part("Let me ", signature=b"sig-1"),
                    thought_part("see."),
                    [thought_part("More", signature=b"sig-2"), text_part("The answer")],
                    " is 4.",
                ],
                usage=Usage(thoughts=3),
            )
        ],
        {"generate_content_config": THINKING},
        True,
    ),
    (
        "mixed_chunk",
        [PartsReply([[thought_part("hm"), text_part("Hi ")], ["there", " you"]])],
        {"generate_content_config": THINKING},
        True,
    ),
    (
        "code_execution",
        [
            PartsReply(
                ["Let me compute.", code_part("print(2 + 2)"), code_result_part("4\n"), "It is 4."]
            )
        ],
        {"code_executor": BuiltInCodeExecutor()},
        True,
    ),
    ("inline_image", [PartsReply(["Here it is:", image_part(PNG), "Done."])], {}, True),
    (
        "grounding_and_citations",
        [
            PartsReply(
                ["Paris is ", "the capital."],
                grounding=web_grounding(
                    [("https://example.org/a", "A"), ("https://example.org/b", "B")],
                    queries=["capital of France"],
                    supports=[grounding_support(0, 8, "Paris is", (0, 1))],
                ),
                citations=[citation(0, 8, "https://example.org/a", title="A")],
            )
        ],
        {"tools": [google_search]},
        True,
    ),
    ("max_tokens", [PartsReply(["Hello", " wor"], finish_reason="MAX_TOKENS")], {}, True),
    (
        "safety_after_text",
        [PartsReply(["Once upon", []], finish_reason="SAFETY", safety_ratings=[safety_rating()])],
        {},
        True,
    ),
    ("safety_empty", [PartsReply(finish_reason="SAFETY")], {}, False),
    (
        "blocked_prompt",
        [PartsReply(block_reason="PROHIBITED_CONTENT", safety_ratings=[safety_rating()])],
        {},
        False,
    ),
    (
        "full_usage",
        [PartsReply(["a", "b", "c"], usage=Usage(prompt=9, cached=4, tool_use_prompt=2))],
        {},
        True,
    ),
    ("no_finish_reason", [PartsReply(["a", "b"], finish_reason=None, usage=None)], {}, True),
    ("rate_limited", [ErrorReply(429, "Quota exceeded.")], {}, False),
    ("server_error", [ErrorReply(500, "Internal.")], {}, False),
    ("bad_request", [ErrorReply(400, "Bad.")], {}, False),
]


@pytest_asyncio.fixture
async def gemini(fake_gemini: FakeGemini) -> AsyncIterator[Gemini]:
    model = Gemini(model=MODEL, base_url=fake_gemini.url)
    yield model
    await model.api_client.aio.aclose()


@pytest_asyncio.fixture
async def models(gemini: Gemini) -> AsyncIterator[dict[bool, Gemini]]:
    """The same model, lean off and on."""
    yield {False: gemini, True: LeanGemini.of(gemini)}  # one client, closed by `gemini`


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")


def _normalized(value: Any, *, drop: frozenset[str]) -> Any:
    """`value` as JSON without the keys in `drop`, every id numbered by first appearance."""
    text = json.dumps(value, sort_keys=True, default=str)
    seen: dict[str, str] = {}
    text = _UUID.sub(lambda m: seen.setdefault(m[0], f"<id{len(seen)}>"), text)
    return _dropped(json.loads(text), drop)


def _dropped(value: Any, drop: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _dropped(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_dropped(v, drop) for v in value]
    return value


def _error(exc: BaseException | None) -> tuple[str, str] | None:
    return None if exc is None else (type(exc).__name__, str(exc))


async def _model_responses(
    model: Gemini, config: types.GenerateContentConfig | None
) -> tuple[list[LlmResponse], tuple[str, str] | None]:
    request = LlmRequest(
        model=MODEL,
        contents=[user_message("What now?")],
        config=config.model_copy(deep=True) if config else types.GenerateContentConfig(),
    )
    responses: list[LlmResponse] = []
    try:
        async for response in model.generate_content_async(request, stream=True):
            responses.append(response)
    except Exception as exc:
        return responses, _error(exc)
    return responses, None


async def _runner_events(agent: LlmAgent) -> tuple[list[Any], tuple[str, str] | None]:
    service = InMemorySessionService()
    runner = Runner(app_name="lean", agent=agent, session_service=service)
    session = await service.create_session(app_name="lean", user_id="u")
    events: list[Any] = []
    error = None
    try:
        async for event in runner.run_async(
            user_id="u",
            session_id=session.id,
            new_message=user_message("What now?"),
            run_config=RunConfig(streaming_mode=StreamingMode.SSE),
        ):
            events.append(event.model_dump(mode="json"))
    except Exception as exc:
        error = _error(exc)
    return events, error


async def _wire_events(agent: LlmAgent) -> list[Any]:
    harness = make_harness(HostedAgent.of(agent))
    try:
        _, events = await harness.run(agent.name, "What now?")
    finally:
        await harness.manager.shutdown()
        await harness.log.close()
    return [event.model_dump(mode="json") for event in events]


async def _both(
    fake_gemini: FakeGemini, replies: Sequence[Reply], run: Callable[[bool], Any]
) -> tuple[Any, Any]:
    results = {}
    for lean in (False, True):
        fake_gemini.script(*replies)
        results[lean] = await run(lean)
    return results[False], results[True]


def _counts_say_lean(counts: LeanCounts, lean_text: bool) -> None:
    assert counts.whole_streams == 0
    if lean_text:
        assert counts.lean > 0, counts
    else:
        assert counts.lean == 0, counts


@pytest.mark.parametrize(
    ("replies", "fields", "lean_text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_lean_gemini_model_responses_equal_genai(
    fake_gemini: FakeGemini,
    models: dict[bool, Gemini],
    replies: Sequence[Reply],
    fields: dict[str, Any],
    lean_text: bool,
) -> None:
    config = fields.get("generate_content_config")
    async with asyncio.timeout(TIMEOUT_S):
        plain, lean = await _both(
            fake_gemini, replies[:1], lambda on: _model_responses(models[on], config)
        )
    assert lean[1] == plain[1]  # the same error, if any
    dumps = [[r.model_dump(mode="json") for r in side[0]] for side in (lean, plain)]
    assert _normalized(dumps[0], drop=frozenset()) == _normalized(dumps[1], drop=frozenset())
    if not any(isinstance(r, ToolCallReply) for r in replies[:1]):  # ADK makes up call ids
        assert lean[0] == plain[0]  # equal objects, not just equal dumps
    lean_model = models[True]
    assert isinstance(lean_model, LeanGemini)
    _counts_say_lean(
        lean_model.counts, lean_text and not any(isinstance(r, ToolCallReply) for r in replies[:1])
    )


@pytest.mark.parametrize(
    ("replies", "fields", "lean_text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_lean_gemini_runner_events_equal_genai(
    fake_gemini: FakeGemini,
    models: dict[bool, Gemini],
    replies: Sequence[Reply],
    fields: dict[str, Any],
    lean_text: bool,
) -> None:

    def agent(on: bool) -> LlmAgent:
        return LlmAgent(name="assistant", model=models[on], **fields)

    async with asyncio.timeout(TIMEOUT_S):
        (plain, plain_error), (lean, lean_error) = await _both(
            fake_gemini, replies, lambda on: _runner_events(agent(on))
        )
    drop = frozenset({"timestamp"})
    assert _normalized(lean, drop=drop) == _normalized(plain, drop=drop)
    assert lean_error == plain_error
    lean_model = models[True]
    assert isinstance(lean_model, LeanGemini)
    _counts_say_lean(lean_model.counts, lean_text)


@pytest.mark.parametrize(
    ("replies", "fields", "lean_text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_lean_gemini_wire_events_equal_genai(
    fake_gemini: FakeGemini,
    models: dict[bool, Gemini],
    replies: Sequence[Reply],
    fields: dict[str, Any],
    lean_text: bool,
) -> None:

    def agent(on: bool) -> LlmAgent:
        return LlmAgent(name="assistant", model=models[on], **fields)

    async with asyncio.timeout(TIMEOUT_S):
        plain, lean = await _both(fake_gemini, replies, lambda on: _wire_events(agent(on)))
    drop = frozenset({"ts", "run_id", "session_id", "created_at", "ended_at"})
    assert _normalized(lean, drop=drop) == _normalized(plain, drop=drop)
    lean_model = models[True]
    assert isinstance(lean_model, LeanGemini)
    _counts_say_lean(lean_model.counts, lean_text)


def _model_of(agent: LlmAgent) -> object:
    model = agent.model
    return model.inner if isinstance(model, CoalescingModel) else model


@pytest.mark.parametrize("lean", [pytest.param(True, id="on"), pytest.param(False, id="off")])
async def test_host_installs_lean_gemini_as_the_setting_says(
    tmp_path: Path, fake_gemini: FakeGemini, lean: bool
) -> None:
    mine = Gemini(model=MODEL, base_url=fake_gemini.url)
    by_instance = LlmAgent(name="by_instance", model=mine)
    by_name = LlmAgent(name="by_name", model=MODEL)

    class MyGemini(Gemini):
        pass

    subclassed = LlmAgent(name="subclassed", model=MyGemini(model=MODEL))
    agents = AgentRegistry([HostedAgent.of(a) for a in (by_instance, by_name, subclassed)])
    host = await Host.open(Settings(data_dir=tmp_path, lean_gemini=lean), agents)
    try:
        kind = LeanGemini if lean else Gemini
        assert type(_model_of(by_instance)) is kind
        assert type(_model_of(by_name)) is kind
        assert type(_model_of(subclassed)) is MyGemini
        if lean:
            model = _model_of(by_instance)
            assert isinstance(model, LeanGemini)
            assert model.base_url == fake_gemini.url
        assert type(mine) is Gemini  # the user's own object is left as it was
    finally:
        await host.close()


def test_install_lean_gemini_is_idempotent() -> None:
    agent = LlmAgent(name="a", model=MODEL)
    install_lean_gemini(agent)
    first = agent.model
    install_lean_gemini(agent)
    assert isinstance(first, LeanGemini)
    assert agent.model is first


@pytest.mark.parametrize(
    ("cls", "values"),
    [
        pytest.param(types.Part, {"text": "hi", "thought": True}, id="part"),
        pytest.param(types.Content, {"parts": [], "role": "model"}, id="content"),
        pytest.param(types.Candidate, {"index": 0}, id="candidate"),
        pytest.param(types.GenerateContentResponse, {"response_id": "r"}, id="response"),
    ],
)
def test_constructor_makes_what_model_construct_makes(
    cls: type[BaseModel], values: dict[str, Any]
) -> None:
    """Pins pydantic's `model_construct` layout, which `_Constructor` reproduces."""
    ours = _Constructor(cls)(**values)
    theirs = cls.model_construct(**values)
    assert ours == theirs
    assert ours.__dict__ == theirs.__dict__
    assert list(ours.__dict__) == list(theirs.__dict__)
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.__pydantic_extra__ == theirs.__pydantic_extra__
    assert ours.__pydantic_private__ == theirs.__pydantic_private__
    assert ours.model_dump(exclude_unset=True) == theirs.model_dump(exclude_unset=True)


class _WithDefault(BaseModel):
    count: int = 1


def test_constructor_refuses_a_model_with_defaults() -> None:
    with pytest.raises(TypeError):
        _Constructor(_WithDefault)


def test_settle_streaming_flag_keeps_adks_answer_and_reads_no_environment_per_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.adk.features._feature_registry as registry

    feature = FeatureName.PROGRESSIVE_SSE_STREAMING
    before = is_feature_enabled(feature)
    settle_streaming_flag()
    read: list[str] = []

    def is_env_enabled(name: str, default: str = "0") -> bool:
        read.append(name)
        return False

    monkeypatch.setattr(registry, "is_env_enabled", is_env_enabled)
    assert is_feature_enabled(feature) is before
    assert read == []
