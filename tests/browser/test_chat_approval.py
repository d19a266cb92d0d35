"""A run that waits for a person, in the chat page: the `bank` agent (ADK's Gemini class on
the fake Gemini server) asks to confirm `transfer`; the card's Approve runs the tool once
and the answer streams on in place, Deny never runs it; a bad answer shows next to the card.
A card still unanswered comes back when the session opens again (a reload, the sidebar);
the paused tool's line says it waits, not "done" with ADK's stand-in result.

`ADKSTREAM_UPDATE_SCREENSHOT=1` rewrites docs/screenshots/chat-approval.png (the card
waiting).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from google.adk.models.google_llm import Gemini

from adkstream.agents.registry import AgentRegistry, HostedAgent
from tests.browser.chat_page import ChatPage
from tests.browser.conftest import ServeChat, Served
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply
from tests.pauses.pause_agent import TOOL_RUNS, build_bank

if TYPE_CHECKING:
    from playwright.async_api import Page

__all__ = ["fake_gemini"]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "chat-approval.png"
CARD = "#transcript .request[data-kind='confirmation']"
TOOL_STATUS = "#transcript .tool .tool-status"
SCRIPT = "<script>alert(1)</script>"


@pytest_asyncio.fixture
async def bank(serve_chat: ServeChat, fake_gemini: FakeGemini) -> AsyncIterator[Served]:
    """The chat page's server hosting only `bank`, whose model asks to transfer 5."""
    TOOL_RUNS.clear()
    fake_gemini.script(ToolCallReply("transfer", {"amount": 5}))
    model = Gemini(model="gemini-2.5-flash", base_url=fake_gemini.url)
    try:
        async with serve_chat(agents=AgentRegistry([HostedAgent.of(build_bank(model))])) as server:
            yield server
    finally:
        await model.api_client.aio.aclose()


async def _card_waiting(page: Page, server: Served) -> tuple[ChatPage, str]:
    """Sends "send 5" and waits for the confirmation card; returns the waiting run's id."""
    chat = ChatPage(page, server.url)
    await chat.open()
    run_id = await chat.send("send 5")
    await chat.wait_idle()
    await page.locator(CARD).wait_for()
    return chat, run_id


async def _wait_tool_said(page: Page) -> None:
    """Waits for the model's answer after the tool's outcome (the fake echoes it)."""
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#transcript .msg.assistant .body')]"
        ".some((b) => b.textContent.includes('Tool said:'))"
    )


async def test_chat_approval_approve_runs_the_tool_and_streams_on(page: Page, bank: Served) -> None:
    async with asyncio.timeout(60):
        chat, _ = await _card_waiting(page, bank)
        card = page.locator(CARD)
        assert await card.locator(".request-name").text_content() == "transfer"
        assert '"amount": 5' in (await card.locator(".request-args").text_content() or "")
        assert "transfer" in (await card.locator(".request-hint").text_content() or "")
        assert TOOL_RUNS["transfer"] == 0
        await page.mouse.move(0, 0)
        image = await page.screenshot()
        async with page.expect_response(lambda r: r.url.endswith("/answers")) as posted:
            await card.get_by_role("button", name="Approve").click()
        assert (await posted.value).status == 200
        await _wait_tool_said(page)
        await chat.wait_idle()
        texts = await chat.assistant_texts()
        status = await card.locator(".request-status").text_content()
        disabled = [await b.is_disabled() for b in await card.locator("button").all()]

    assert TOOL_RUNS["transfer"] == 1
    assert any("transferred" in text for text in texts), texts
    assert status == "Approved"
    assert disabled == [True, True]
    assert await chat.user_texts() == ["send 5"]  # the same conversation, in place
    assert image.startswith(b"\x89PNG")
    if os.environ.get("ADKSTREAM_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(image)


async def test_chat_approval_deny_never_runs_the_tool(page: Page, bank: Served) -> None:
    async with asyncio.timeout(60):
        chat, _ = await _card_waiting(page, bank)
        card = page.locator(CARD)
        await card.get_by_role("button", name="Deny").click()
        await page.wait_for_function(
            "() => document.querySelector('#transcript .request .request-status')"
            ".textContent === 'Denied'"
        )
        await _wait_tool_said(page)
        await chat.wait_idle()
        pressed = await card.get_by_role("button", name="Deny").get_attribute("aria-pressed")
        tool_status = await page.locator(TOOL_STATUS).text_content()

    assert TOOL_RUNS["transfer"] == 0
    assert pressed == "true"
    assert tool_status == "denied"


async def test_chat_approval_card_comes_back_after_a_reload_and_approve_works(
    page: Page, bank: Served
) -> None:
    async with asyncio.timeout(60):
        chat, _ = await _card_waiting(page, bank)
        session_id = (await chat.saved())["sessionId"]
        await page.reload()
        await page.locator(CARD).wait_for()
        after_reload = await page.locator("#transcript .request").count()
        # Opened again from the sidebar, after a new chat: the card is back, once.
        await page.click("#new-chat")
        await page.locator(CARD).wait_for(state="detached")
        await page.click(f"#sessions button[data-session-id='{session_id}']")
        card = page.locator(CARD)
        await card.wait_for()
        from_sidebar = await page.locator("#transcript .request").count()
        async with page.expect_response(lambda r: r.url.endswith("/answers")) as posted:
            await card.get_by_role("button", name="Approve").click()
        assert (await posted.value).status == 200
        await _wait_tool_said(page)
        await chat.wait_idle()
        status = await card.locator(".request-status").text_content()
        texts = await chat.assistant_texts()
        # Answered: opening the session again shows no card.
        await page.reload()
        await _wait_tool_said(page)
        after_answer = await page.locator("#transcript .request").count()

    assert (after_reload, from_sidebar, after_answer) == (1, 1, 0)
    assert status == "Approved"
    assert TOOL_RUNS["transfer"] == 1
    assert any("transferred" in text for text in texts), texts
    assert await chat.user_texts() == ["send 5"]


async def test_chat_approval_paused_tool_waits_until_approved(page: Page, bank: Served) -> None:
    async with asyncio.timeout(60):
        chat, _ = await _card_waiting(page, bank)
        tool = page.locator("#transcript .tool")
        waiting = await tool.locator(".tool-status").text_content()
        stand_in_shown = await tool.locator(".tool-result").count()
        await page.locator(CARD).get_by_role("button", name="Approve").click()
        await page.locator(TOOL_STATUS, has_text=re.compile(r"^done$")).wait_for()
        result = await tool.locator(".tool-result").text_content()
        await chat.wait_idle()

    assert waiting == "awaiting approval"
    assert stand_in_shown == 0  # ADK's "requires confirmation" is not the tool's result
    assert result and '"transferred": 5' in result
    assert TOOL_RUNS["transfer"] == 1


# A long-running tool's call, its request and ADK's stand-in result (in `events`' order),
# drawn by the page's Transcript; then the request is answered. Returns the tool line's
# [status, result shown] before and after.
_DRAW_PAUSED_TOOL = """async (events) => {
  const { Transcript } = await import('/static/transcript.js');
  const box = document.createElement('div');
  document.querySelector('#messages').prepend(box);
  const transcript = new Transcript(box, document.querySelector('#messages'));
  for (const event of events) transcript.apply(event);
  const line = () => [
    box.querySelector('.tool .tool-status').textContent,
    box.querySelector('.tool .tool-result')?.textContent ?? null,
  ];
  const before = line();
  const [request] = transcript.requests('r1');
  request.answered = { result: 'yes' };
  transcript.update(request);
  return [before, line()];
}"""


@pytest.mark.parametrize("result_first", [False, True], ids=["request-first", "result-first"])
async def test_chat_approval_long_running_tool_line_waits_then_shows_the_answer(
    page: Page, serve_chat: ServeChat, result_first: bool
) -> None:
    tool = {"run_id": "r1", "ts": 0, "author": "bank", "call_id": "c1", "name": "ask_manager"}
    call = tool | {"seq": 1, "type": "tool.call", "args": {"question": "raise?"}}
    stand_in = tool | {"seq": 3, "type": "tool.result", "result": {"status": "asked"}}
    requested = _requested(2, "c1", "tool_result", "ask_manager", "")
    events = [call, stand_in, requested] if result_first else [call, requested, stand_in]
    async with asyncio.timeout(60), serve_chat() as server:
        await ChatPage(page, server.url).open()
        before, after = await page.evaluate(_DRAW_PAUSED_TOOL, events)

    assert before == ["waiting for you", None]
    assert after == ["answered", '"yes"']


async def test_chat_approval_answer_refused_shows_the_error_by_the_card(
    page: Page, bank: Served
) -> None:
    async with asyncio.timeout(60):
        chat, run_id = await _card_waiting(page, bank)
        # Another client answers first: the page's answer is refused (409).
        [pending] = (await bank.client.get(f"/v1/runs/{run_id}")).json()["pending"]
        first = await bank.client.post(
            f"/v1/runs/{run_id}/answers",
            json={"answers": [{"request_id": pending["request_id"], "confirmed": False}]},
            headers={"Accept": "application/json"},
        )
        assert first.status_code == 200, first.text
        card = page.locator(CARD)
        await card.get_by_role("button", name="Approve").click()
        error = await card.locator(".request-error").text_content()
        await chat.wait_idle()
        enabled = await card.get_by_role("button", name="Approve").is_enabled()

    assert error
    assert enabled  # nothing was sent: the card can be answered again
    assert TOOL_RUNS["transfer"] == 0


# Two requests of one run drawn by the page's Transcript; `window.given` records what the
# answer hook saw each time a card got its answer.
_DRAW_FORMS = """async (events) => {
  const { Transcript } = await import('/static/transcript.js');
  const box = document.createElement('div');
  box.id = 'drawn';
  document.querySelector('#messages').prepend(box);
  window.given = [];
  const transcript = new Transcript(box, document.querySelector('#messages'), {
    answer: (entry) => {
      window.given.push(transcript.requests(entry.runId).map((e) => e.draft));
      transcript.update(entry);
    },
  });
  for (const event of events) transcript.apply(event);
}"""


def _requested(seq: int, request_id: str, kind: str, name: str, hint: str) -> dict[str, object]:
    return {
        "seq": seq,
        "run_id": "r1",
        "ts": 0,
        "type": "input.requested",
        "author": "bank",
        "request_id": request_id,
        "kind": kind,
        "name": name,
        "args": {"note": SCRIPT},
        "hint": hint,
        "answer_schema": {},
    }


async def test_chat_approval_cards_collect_each_answer_and_escape_text(
    page: Page, serve_chat: ServeChat
) -> None:
    events = [
        _requested(1, "q1", "tool_result", "ask_manager", SCRIPT),
        _requested(2, "q2", "credential", "read_calendar", "a token, please"),
    ]
    async with asyncio.timeout(60), serve_chat() as server:
        await ChatPage(page, server.url).open()
        await page.evaluate(_DRAW_FORMS, events)
        result = page.locator("#drawn .request[data-kind='tool_result']")
        token = page.locator("#drawn .request[data-kind='credential']")
        html = await page.locator("#drawn").inner_html()
        await result.locator("textarea").fill("not json")
        await result.get_by_role("button", name="Send").click()
        bad_json = await result.locator(".request-error").text_content()
        await result.locator("textarea").fill('{"approved": true}')
        await result.get_by_role("button", name="Send").click()
        waiting_note = await result.locator(".request-status").text_content()
        password = await token.locator("input").get_attribute("type")
        await token.locator("input").fill("tok-1")
        await token.get_by_role("button", name="Send").click()
        given = await page.evaluate("() => window.given")

    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert bad_json and "JSON" in bad_json
    assert waiting_note == "Ready: answer the other requests to send"
    assert password == "password"
    assert given == [
        [{"result": {"approved": True}}, None],
        [{"result": {"approved": True}}, {"access_token": "tok-1"}],
    ]
