"""Client-side tools through the OpenAI-compatible route, driven by the openai SDK's
standard tool loop: `tools` in, `finish_reason: "tool_calls"` with `tool_calls` out, the
client runs the tool and sends the conversation back with a `role: "tool"` message (no
session id, no extra header), and the run continues."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply

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


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_pauses_openai_sdk_tool_loop_runs_a_client_tool(
    bank_url: str, fake_gemini: FakeGemini, stream: bool
) -> None:
    fake_gemini.script(ToolCallReply("get_location", {"precision": "city"}))
    client = openai.AsyncOpenAI(base_url=f"{bank_url}/v1", api_key="unused", max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "where am I?"}]
    async with asyncio.timeout(30):
        first = await _complete(client, messages, stream=stream)
        [call] = first.message.tool_calls or []
        # The standard loop: the assistant's message as it came, then each tool's result.
        messages.append(first.message.model_dump(exclude_none=True))
        result = {"city": "Paris"}
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
        second = await _complete(client, messages, stream=stream)
        await client.close()

    assert first.finish_reason == "tool_calls"
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_location",
        {"precision": "city"},
    )
    declared = [
        d["name"] for t in fake_gemini.requests[0]["tools"] for d in t["functionDeclarations"]
    ]
    assert "get_location" in declared
    assert second.finish_reason == "stop"
    assert "Paris" in (second.message.content or "")


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


async def test_pauses_langchain_bind_tools_agent_loop(
    bank_url: str, fake_gemini: FakeGemini
) -> None:
    # LangChain's ChatOpenAI pointed at the server, with the tool bound the usual way.
    from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
    from langchain_openai import ChatOpenAI

    fake_gemini.script(ToolCallReply("get_location", {"precision": "city"}))
    messages: list[BaseMessage] = [HumanMessage("where am I?")]
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
        messages += [asked, ToolMessage(json.dumps({"city": "Paris"}), tool_call_id=call["id"])]
        answered = await bound.ainvoke(messages)

    assert (call["name"], call["args"]) == ("get_location", {"precision": "city"})
    assert "Paris" in str(answered.content)
