"""Runs that wait, through the OpenAI-compatible route, driven by the openai SDK's
standard tool loop and by LangChain's `bind_tools`: `tools` in, `finish_reason:
"tool_calls"` with `tool_calls` out, the client answers with a `role: "tool"` message (no
session id, no extra header), and the run continues. Every kind of pause comes this way:
a tool confirmation (`adk_request_confirmation`), a long-running tool, a credential
(`adk_request_credential`) and a client tool."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply
from tests.pauses.pause_agent import TOOL_RUNS

__all__ = ["fake_gemini"]

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_location",
            "description": "Where the user is, from their device.",
            "parameters": {"type": "object", "properties": {"precision": {"type": "string"}}},
        },
    }
]


@dataclass(frozen=True)
class Pause:
    """A tool the model calls, the call the client is asked to answer, and its answer."""

    tool: str
    args: dict[str, Any]
    asked: str
    """The name of the tool call in `tool_calls`."""
    answer: Any
    said: str
    """What the model's last answer holds (the fake echoes the tool result it got)."""
    runs: tuple[str, int] | None = None
    """(tool, how many times it really ran), for the server's own tools."""


PAUSES = [
    pytest.param(
        Pause(
            "transfer",
            {"amount": 5},
            "adk_request_confirmation",
            True,
            "transferred",
            ("transfer", 1),
        ),
        id="confirmation-approved",
    ),
    pytest.param(
        Pause(
            "transfer",
            {"amount": 5},
            "adk_request_confirmation",
            {"confirmed": False},
            "error",
            ("transfer", 0),
        ),
        id="confirmation-denied",
    ),
    pytest.param(
        Pause(
            "ask_manager",
            {"question": "raise?"},
            "ask_manager",
            {"approved": True},
            '"approved": true',
            ("ask_manager", 1),
        ),
        id="long-running",
    ),
    pytest.param(
        Pause(
            "read_calendar",
            {},
            "adk_request_credential",
            "tok-123",
            "tok-123",
            ("read_calendar", 1),
        ),
        id="credential",
    ),
    pytest.param(
        Pause("get_location", {"precision": "city"}, "get_location", {"city": "Paris"}, "Paris"),
        id="client-tool",
    ),
]


@pytest.mark.parametrize("pause", PAUSES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_pauses_openai_sdk_tool_loop_answers_each_kind_of_pause(
    bank_url: str, fake_gemini: FakeGemini, stream: bool, pause: Pause
) -> None:
    fake_gemini.script(ToolCallReply(pause.tool, pause.args))
    client = openai.AsyncOpenAI(base_url=f"{bank_url}/v1", api_key="unused", max_retries=0)
    messages: list[Any] = [{"role": "user", "content": f"please {pause.tool}"}]
    async with asyncio.timeout(30):
        first = await _complete(client, messages, stream=stream)
        [call] = first.message.tool_calls or []
        # The standard loop: the assistant's message as it came, then each tool's result.
        messages.append(first.message.model_dump(exclude_none=True))
        content = json.dumps(pause.answer)
        messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        second = await _complete(client, messages, stream=stream)
        await client.close()

    assert first.finish_reason == "tool_calls"
    asked = json.loads(call.function.arguments)
    assert call.function.name == pause.asked
    if pause.asked == "adk_request_confirmation":
        assert (asked["tool"], asked["args"]) == (pause.tool, pause.args)
        assert "transfer" in asked["hint"]
    elif pause.asked == "adk_request_credential":
        assert "authScheme" in asked["auth_config"]
    else:
        assert asked == pause.args
    declared = [
        d["name"] for t in fake_gemini.requests[0]["tools"] for d in t["functionDeclarations"]
    ]
    assert "get_location" in declared
    assert second.finish_reason == "stop"
    assert pause.said in (second.message.content or "")
    if pause.runs is not None:
        assert TOOL_RUNS[pause.runs[0]] == pause.runs[1]


async def _complete(client: openai.AsyncOpenAI, messages: list[Any], *, stream: bool) -> Any:
    """The first choice, from a whole completion or the SDK's stream helper."""
    if not stream:
        completion = await client.chat.completions.create(
            model="bank", messages=messages, tools=TOOLS
        )
        return completion.choices[0]
    async with client.chat.completions.stream(
        model="bank", messages=messages, tools=TOOLS
    ) as events:
        final = await events.get_final_completion()
    return final.choices[0]


async def test_pauses_openai_unknown_tool_call_id_is_a_400(bank_url: str) -> None:
    client = openai.AsyncOpenAI(base_url=f"{bank_url}/v1", api_key="unused", max_retries=0)
    messages: list[Any] = [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "someone-elses", "content": "{}"},
    ]
    with pytest.raises(openai.BadRequestError) as refused:
        await client.chat.completions.create(model="bank", messages=messages, tools=TOOLS)
    await client.close()

    assert refused.value.body["param"] == "messages"  # type: ignore[index]


@pytest.mark.parametrize("pause", PAUSES)
async def test_pauses_langchain_bind_tools_agent_loop(
    bank_url: str, fake_gemini: FakeGemini, pause: Pause
) -> None:
    # LangChain's ChatOpenAI pointed at the server, with the tool bound the usual way.
    from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
    from langchain_openai import ChatOpenAI

    fake_gemini.script(ToolCallReply(pause.tool, pause.args))
    messages: list[BaseMessage] = [HumanMessage(f"please {pause.tool}")]
    # Our own HTTP client, closed at the end (ChatOpenAI leaves its own open).
    async with asyncio.timeout(30), httpx.AsyncClient() as http:
        llm = ChatOpenAI(
            model="bank",
            base_url=f"{bank_url}/v1",
            api_key="unused",  # type: ignore[arg-type]
            max_retries=0,
            http_async_client=http,
        )
        bound = llm.bind_tools(TOOLS)
        asked = await bound.ainvoke(messages)
        [call] = asked.tool_calls  # type: ignore[attr-defined]
        answer = ToolMessage(json.dumps(pause.answer), tool_call_id=call["id"])
        messages += [asked, answer]
        answered = await bound.ainvoke(messages)

    assert call["name"] == pause.asked
    assert pause.said in str(answered.content)
    if pause.runs is not None:
        assert TOOL_RUNS[pause.runs[0]] == pause.runs[1]


async def test_pauses_openai_malformed_answer_is_refused_naming_messages(
    bank_url: str, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(ToolCallReply("transfer", {"amount": 5}))
    client = openai.AsyncOpenAI(base_url=f"{bank_url}/v1", api_key="unused", max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "send 5"}]
    async with asyncio.timeout(30):
        first = await client.chat.completions.create(model="bank", messages=messages)
        [call] = first.choices[0].message.tool_calls or []
        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": "maybe"})
        with pytest.raises(openai.UnprocessableEntityError) as refused:
            await client.chat.completions.create(model="bank", messages=messages)
        await client.close()

    error = refused.value.body
    assert (error["param"], error["code"]) == ("messages", "invalid_answer")  # type: ignore[index]
    assert "confirmed" in error["message"]  # type: ignore[index]
    assert TOOL_RUNS["transfer"] == 0
