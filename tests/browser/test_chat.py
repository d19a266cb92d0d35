"""The chat page in a real browser: streaming, Stop, resume after a reload or a dropped
connection, safe rendering of model text, tools, sessions and errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, Literal

import pytest
from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import errors as genai_errors
from google.genai import types

from adkstream.agents import AgentRegistry, HostedAgent
from tests.browser.chat_page import ChatPage
from tests.browser.conftest import PageProblems, ServeChat, Served
from tests.client.faults import CutStreams

if TYPE_CHECKING:
    from playwright.async_api import Page, Request


async def run_view(server: Served, run_id: str) -> dict[str, Any]:
    response = await server.client.get(f"/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def test_chat_text_grows_as_it_streams(page: Page, serve_chat: ServeChat) -> None:
    async with (
        asyncio.timeout(60),
        serve_chat(offline_tokens_per_s=20, offline_reply_tokens=40) as server,
    ):
        chat = ChatPage(page, server.url)
        await chat.open()
        run_id = await chat.send("hello there")
        seen = []
        length = 0
        for _ in range(3):
            found = await chat.wait_longer_than(length)
            assert found["running"], "the text grew only after the run ended"
            assert await page.is_visible("#typing")
            assert await page.is_disabled("#send")
            length = found["length"]
            seen.append(length)
        await chat.wait_idle()
        view = await run_view(server, run_id)
    assert view["status"] == "completed"
    assert seen == sorted(set(seen)) and len(seen) == 3
    assert seen[-1] < len(view["final_text"])
    assert await chat.assistant_texts() == [view["final_text"]]
    assert await chat.user_texts() == ["hello there"]
    assert not await page.is_visible("#typing")
    assert await page.locator(".msg.streaming").count() == 0


async def test_chat_stop_cancels_the_run(page: Page, serve_chat: ServeChat) -> None:
    async with (
        asyncio.timeout(60),
        serve_chat(offline_tokens_per_s=10, offline_reply_tokens=400) as server,
    ):
        chat = ChatPage(page, server.url)
        await chat.open()
        run_id = await chat.send("tell me a long story")
        await chat.wait_longer_than(15)
        await page.click("#stop")
        await page.wait_for_selector("#transcript .note.cancelled")
        await chat.wait_idle()
        view = await run_view(server, run_id)
        assert await chat.notes("cancelled") == ["Stopped."]
        said = await chat.assistant_texts()
        # After a reload the session still holds the answer so far, marked stopped.
        await page.reload()
        await page.wait_for_selector("#transcript .note.cancelled")
        reloaded = await chat.assistant_texts()
        reloaded_notes = await chat.notes("cancelled")
    assert view["status"] == "cancelled"
    assert not await page.is_visible("#stop")
    assert (await chat.saved())["run"] is None
    assert reloaded_notes == ["Stopped (cancelled by request)."]
    assert len(said) == 1 and len(said[0]) > 15
    assert len(reloaded) == 1 and reloaded[0].startswith(said[0])


async def test_chat_reload_resumes_the_run(page: Page, serve_chat: ServeChat) -> None:
    resumes: list[Request] = []
    page.on("request", lambda r: resumes.append(r) if r.url.endswith("/events") else None)
    async with (
        asyncio.timeout(60),
        serve_chat(offline_tokens_per_s=15, offline_reply_tokens=60) as server,
    ):
        chat = ChatPage(page, server.url)
        await chat.open()
        run_id = await chat.send("resume me")
        before = await chat.wait_longer_than(30)
        saved = await chat.saved()
        assert saved["run"]["id"] == run_id and saved["run"]["lastSeq"] > 0
        await page.reload()
        await chat.wait_idle()
        view = await run_view(server, run_id)
    assert before["running"]
    assert view["status"] == "completed"
    assert await chat.assistant_texts() == [view["final_text"]]
    assert await chat.user_texts() == ["resume me"]
    assert resumes, "the page did not resume through the events route"
    last_event_id = await resumes[0].header_value("last-event-id")
    assert last_event_id is not None and int(last_event_id) > 0


@pytest.mark.parametrize("mode", [pytest.param("abort", id="abort"), pytest.param("end", id="end")])
async def test_chat_resumes_after_dropped_connections(
    page: Page, serve_chat: ServeChat, mode: Literal["abort", "end"]
) -> None:
    cutters: list[CutStreams] = []

    def cut(app: Any) -> CutStreams:
        cutters.append(CutStreams(app, k=4, mode=mode))
        return cutters[0]

    async with (
        asyncio.timeout(60),
        serve_chat(
            offline_tokens_per_s=40, offline_reply_tokens=30, coalesce_ms=0, wrap=cut
        ) as server,
    ):
        chat = ChatPage(page, server.url)
        await chat.open()
        run_id = await chat.send("through a bad network")
        await chat.wait_idle()
        view = await run_view(server, run_id)
    assert cutters[0].cuts >= 3, "the stream was not cut often enough to test resuming"
    assert view["status"] == "completed"
    assert await chat.assistant_texts() == [view["final_text"]]
    assert await chat.notes("error") == []


async def test_chat_shows_script_tags_as_text(
    page: Page, serve_chat: ServeChat, problems: PageProblems
) -> None:
    attack = "<script>alert(1)</script> <img src=x onerror=alert(2)> **<b>bold</b>**"
    async with asyncio.timeout(60), serve_chat() as server:
        chat = ChatPage(page, server.url)
        await chat.open()
        await chat.send(attack)
        await chat.wait_idle()
    [answer] = await chat.assistant_texts()
    assert answer.startswith("You said: <script>alert(1)</script> <img src=x onerror=alert(2)> ")
    assert "<b>bold</b>" in answer
    assert await chat.user_texts() == [attack]
    transcript = page.locator("#transcript")
    assert await transcript.locator("script, img, b").count() == 0
    assert await transcript.locator(".msg.assistant strong").all_text_contents() == ["<b>bold</b>"]
    assert problems.dialogs == []


class ScriptedModel(BaseLlm):
    """Streams the given chunks, then the whole text as the final response."""

    model: str = "scripted"
    chunks: list[str]

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        for chunk in self.chunks:
            yield LlmResponse(
                content=types.Content(role="model", parts=[types.Part(text=chunk)]), partial=True
            )
        text = "".join(self.chunks)
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(text=text)]),
            partial=False,
            turn_complete=True,
        )


class FailingModel(BaseLlm):
    """Streams one word, then fails as a Gemini server error does."""

    model: str = "failing"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(text="Partly")]), partial=True
        )
        raise genai_errors.ServerError(500, {"error": {"message": "secret internal detail"}})


MARKDOWN = [
    "Here is **bo",  # a chunk boundary inside the emphasis
    "ld** text and `x = 1`.\n\n- one\n- two\n",
    "  - nested\n\n1. first\n2. second\n\n```python\nprint('<hi>')\n```\n",
]


async def test_chat_renders_markdown(page: Page, serve_chat: ServeChat) -> None:
    agent = LlmAgent(name="writer", model=ScriptedModel(chunks=MARKDOWN))
    async with asyncio.timeout(60), serve_chat(agents=AgentRegistry([HostedAgent.of(agent)])) as s:
        chat = ChatPage(page, s.url)
        await chat.open()
        await chat.send("markdown please")
        await chat.wait_idle()
    body = page.locator("#transcript .msg.assistant .body")
    assert await body.locator("p > strong").all_text_contents() == ["bold"]
    assert await body.locator("p > code").all_text_contents() == ["x = 1"]
    assert await body.locator(":scope > ul > li").count() == 2
    assert await body.locator("ul ul > li").all_text_contents() == ["nested"]
    assert await body.locator("ol > li").all_text_contents() == ["first", "second"]
    assert await body.locator("pre > code").all_text_contents() == ["print('<hi>')"]
    assert await body.locator("pre > code").get_attribute("data-lang") == "python"


async def test_chat_shows_run_failed_inline(page: Page, serve_chat: ServeChat) -> None:
    agent = LlmAgent(name="flaky", model=FailingModel())
    async with asyncio.timeout(60), serve_chat(agents=AgentRegistry([HostedAgent.of(agent)])) as s:
        chat = ChatPage(page, s.url)
        await chat.open()
        await chat.send("hi")
        await chat.wait_idle()
    assert await chat.notes("error") == ["The model failed to answer."]
    assert await page.locator("#transcript .note.error").get_attribute("role") == "alert"
    assert await page.is_enabled("#prompt")


async def test_chat_shows_api_errors_inline(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(60), serve_chat() as server:
        chat = ChatPage(page, server.url)
        await chat.open()
        await chat.send("first")
        await chat.wait_idle()
        session_id = (await chat.saved())["sessionId"]
        deleted = await server.client.delete(f"/v1/sessions/{session_id}")
        assert deleted.status_code == 204
        await page.fill("#prompt", "second")
        await page.press("#prompt", "Enter")
        await page.wait_for_selector("#transcript .note.error")
        await chat.wait_idle()
    [error] = await chat.notes("error")
    assert session_id in error  # the API's {"error": {"message"}}
    # Nothing started: the message is back in the composer, not in the transcript.
    assert await page.input_value("#prompt") == "second"
    assert await chat.user_texts() == ["first"]


async def test_chat_shows_tool_calls_folded(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(60), serve_chat() as server:
        chat = ChatPage(page, server.url)
        await chat.open()
        await chat.send("What time is it? Use get_current_time.")
        await chat.wait_idle()
        tool = page.locator("#transcript details.tool")
        assert await tool.count() == 1
        assert await tool.get_attribute("open") is None
        assert await tool.locator("summary .tool-name").text_content() == (
            'get_current_time(timezone="UTC")'
        )
        assert await tool.locator("summary .tool-status").text_content() == "done"
        assert not await tool.locator(".tool-result").is_visible()
        await tool.locator("summary").click()
        result = await tool.locator(".tool-result").text_content()
    assert result is not None and '"timezone": "UTC"' in result
    [answer] = await chat.assistant_texts()
    assert answer.startswith("The tool get_current_time returned")


async def test_chat_lists_and_reopens_sessions(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(60), serve_chat() as server:
        chat = ChatPage(page, server.url)
        await chat.open()
        await chat.pick_agent("pipeline")
        await chat.send("first chat")
        await chat.wait_idle()
        first = await chat.assistant_texts()
        await page.click("#new-chat")
        assert await page.locator("#transcript > *").count() == 0
        assert await page.is_enabled("#agent")
        await chat.pick_agent("assistant")
        await chat.send("second chat")
        await chat.wait_idle()
        items = page.locator("#sessions button")
        await page.wait_for_function(
            "() => document.querySelectorAll('#sessions button').length === 2"
        )
        titles = await items.locator(".session-title").all_text_contents()
        assert titles == ["second chat", "first chat"]  # newest first
        await items.nth(1).click()
        await page.wait_for_function(
            "() => document.querySelector('#sessions button.active .session-title')"
            ".textContent === 'first chat'"
        )
    assert await chat.user_texts() == ["first chat"]
    assert await chat.authors() == ["writer", "editor"]
    assert await chat.assistant_texts() == first
    assert await page.input_value("#agent") == "pipeline"
    assert await page.is_disabled("#agent")  # a session belongs to one agent


async def test_chat_reload_after_the_run_ended_shows_the_session(
    page: Page, serve_chat: ServeChat
) -> None:
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/events") else None)
    async with asyncio.timeout(60), serve_chat() as server:
        chat = ChatPage(page, server.url)
        await chat.open()
        run_id = await chat.send("already over")
        await chat.wait_idle()
        view = await run_view(server, run_id)
        # As if the page went away after the last event, before it could note the end
        # (an init script: the page itself saves its state when it unloads).
        saved = await chat.saved()
        saved["run"] = {
            "id": run_id,
            "sessionId": view["session_id"],
            "agent": "assistant",
            "lastSeq": view["last_seq"],
            "retry": None,
        }
        saved["entries"] = [{"kind": "user", "text": "already over"}]
        await page.add_init_script(
            f"localStorage.setItem('adkstream.chat', {json.dumps(json.dumps(saved))})"
        )
        await page.reload()
        await page.wait_for_function(
            "() => document.querySelectorAll('#transcript .msg.assistant').length === 1"
        )
        await chat.wait_idle()
    assert statuses == [204]
    assert await chat.user_texts() == ["already over"]
    assert await chat.assistant_texts() == [view["final_text"]]
    assert (await chat.saved())["run"] is None


async def test_chat_asks_for_an_api_key(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(60), serve_chat(api_keys="sesame=alice") as server:
        chat = ChatPage(page, server.url)
        await page.goto(server.url + "/")
        await page.wait_for_selector("#auth:not([hidden])")
        assert len(await chat.notes("error")) == 1
        await page.fill("#auth-key", "sesame")
        async with page.expect_navigation():
            await page.click("#auth button[type=submit]")
        await page.wait_for_function("() => document.querySelectorAll('#agent option').length")
        run_id = await chat.send("who am I?")
        await chat.wait_idle()
        anonymous = await server.client.get(f"/v1/runs/{run_id}")
        as_alice = await server.client.get(
            f"/v1/runs/{run_id}", headers={"Authorization": "Bearer sesame"}
        )
    assert anonymous.status_code == 401
    assert as_alice.json()["status"] == "completed"
    assert await page.is_hidden("#auth")
    assert await chat.notes("error") == []
