"""The chat page's live mode in a real browser: the Live switch opens the session's
WebSocket, typed messages go out as `message` frames, answers stream into the same
transcript, refused frames show inline, and switching off (or leaving) closes it."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from tests.browser.chat_page import ChatPage
from tests.browser.conftest import ServeChat, Served

if TYPE_CHECKING:
    from playwright.async_api import Page

TIMEOUT_S = 60

# Assistant messages on screen: `n` of them, none still streaming, and no turn running.
_ANSWERED = """(n) => document.querySelectorAll('#transcript .msg.assistant').length === n
  && !document.querySelector('#transcript .msg.streaming')
  && document.body.dataset.state === 'idle'"""
_LIVE_IS = "(mode) => document.body.dataset.live === mode"


class LivePage(ChatPage):
    async def switch_live(self, on: bool) -> None:
        await (self.page.check("#live") if on else self.page.uncheck("#live"))
        await self.page.wait_for_function(_LIVE_IS, arg="on" if on else "off")

    async def say(self, text: str) -> None:
        """Types `text` and presses Enter: a `message` frame, not a POST."""
        await self.page.fill("#prompt", text)
        await self.page.press("#prompt", "Enter")

    async def wait_answers(self, count: int) -> None:
        await self.page.wait_for_function(_ANSWERED, arg=count)

    async def session_id(self) -> str:
        saved = await self.saved()
        session_id: str = saved["sessionId"]
        return session_id


async def session_view(server: Served, session_id: str, **headers: str) -> dict[str, Any]:
    response = await server.client.get(f"/v1/sessions/{session_id}", headers=headers)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def live_runs(server: Served, session_id: str, **headers: str) -> list[dict[str, Any]]:
    response = await server.client.get(f"/v1/sessions/{session_id}/runs", headers=headers)
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()["runs"]
    return runs


async def run_events(server: Served, run_id: str, **headers: str) -> list[dict[str, Any]]:
    """Follows the run's events (NDJSON) to its terminal event: waits for the run to end."""
    headers = {"Accept": "application/x-ndjson", **headers}
    events: list[dict[str, Any]] = []
    async with server.client.stream("GET", f"/v1/runs/{run_id}/events", headers=headers) as body:
        async for line in body.aiter_lines():
            if line:
                events.append(json.loads(line))
    return events


async def test_live_page_two_messages_two_answers(page: Page, serve_chat: ServeChat) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_chat(offline_tokens_per_s=40, offline_reply_tokens=24) as server,
    ):
        chat = LivePage(page, server.url)
        await chat.open()
        await chat.switch_live(True)
        session_id = await chat.session_id()  # a new chat got a session first
        await chat.say("first live message")
        # Deltas grow the text while the turn runs, as on the SSE path.
        grown = await chat.wait_longer_than(0)
        assert grown["running"], "the text appeared only after the turn ended"
        await chat.wait_answers(1)
        await chat.say("second live message")
        await chat.wait_answers(2)
        answers = await chat.assistant_texts()
        authors = await page.locator("#transcript .msg.assistant .author").all_text_contents()
        await chat.switch_live(False)  # the close frame: the run completes
        (run,) = await live_runs(server, session_id)
        ended = (await run_events(server, run["run_id"]))[-1]
        view = await session_view(server, session_id)

    said = [m["text"] for m in view["messages"] if m["role"] == "user"]
    answered = [m["text"] for m in view["messages"] if m["role"] != "user"]
    assert said == ["first live message", "second live message"]
    assert answers == answered
    assert answers[0].startswith("You said: first live message.")
    assert answers[1].startswith("You said: second live message.")
    assert authors == ["assistant", "assistant"]
    assert await chat.user_texts() == said
    assert ended["type"] == "run.completed" and ended["final_text"] == answers[1]
    assert view["state"]["last_answer"] == answers[1]
    assert await chat.notes("error") == []
    assert not await page.is_checked("#live")


async def test_live_page_shows_error_frames_inline(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_chat(max_message_chars=40) as server:
        chat = LivePage(page, server.url)
        await chat.open()
        await chat.switch_live(True)
        await chat.say("this message is longer than the forty characters allowed")
        await page.wait_for_selector("#transcript .note.error")
        await chat.wait_answers(0)
        await chat.say("short one")
        await chat.wait_answers(1)
        errors = await chat.notes("error")
        answers = await chat.assistant_texts()
        await chat.switch_live(False)
    assert len(errors) == 1 and "40 characters" in errors[0]
    assert answers[0].startswith("You said: short one.")


async def test_live_page_sends_the_stored_api_key(page: Page, serve_chat: ServeChat) -> None:
    alice = {"Authorization": "Bearer sesame"}
    async with asyncio.timeout(TIMEOUT_S), serve_chat(api_keys="sesame=alice") as server:
        chat = LivePage(page, server.url)
        await page.goto(server.url + "/")
        await page.wait_for_selector("#auth:not([hidden])")
        await page.fill("#auth-key", "sesame")
        async with page.expect_navigation():
            await page.click("#auth button[type=submit]")
        await page.wait_for_function("() => document.querySelectorAll('#agent option').length")
        await chat.switch_live(True)
        await chat.say("who am I live?")
        await chat.wait_answers(1)
        session_id = await chat.session_id()
        (run,) = await live_runs(server, session_id, **alice)
        # Leaving the page closes the socket; the run ends instead of waiting for it.
        await page.goto("about:blank")
        events = await run_events(server, run["run_id"], **alice)
    assert events[0]["type"] == "run.started" and events[0]["user_id"] == "alice"
    assert events[-1]["type"] in ("run.completed", "run.cancelled")


async def test_live_page_refused_socket_shows_the_error(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_chat() as server:
        chat = LivePage(page, server.url)
        await chat.open()
        await chat.pick_agent("pipeline")  # a workflow cannot run live
        # A click, not `check`: the refusal may switch it off again before `check` looks.
        await page.click("#live")
        await page.wait_for_selector("#transcript .note.error")
        await page.wait_for_function(_LIVE_IS, arg="off")
        errors = await chat.notes("error")
    assert len(errors) == 1 and "only an agent can run live" in errors[0]
    assert not await page.is_checked("#live")


_LIVE_URLS = """async (cases) => {
  const { liveUrl } = await import('/static/live.js');
  return cases.map(([href, session, key]) => liveUrl(new URL(href), session, key));
}"""


async def test_live_page_socket_url(page: Page, serve_chat: ServeChat) -> None:
    cases = [
        ("http://127.0.0.1:8000/", "s-1", "", "ws://127.0.0.1:8000/v1/sessions/s-1/live"),
        ("https://chat.example/", "a/b?c", "", "wss://chat.example/v1/sessions/a%2Fb%3Fc/live"),
        (
            "http://localhost:8000/?x=1#top",
            "s",
            "k&y=z",
            "ws://localhost:8000/v1/sessions/s/live?access_token=k%26y%3Dz",
        ),
    ]
    async with asyncio.timeout(TIMEOUT_S), serve_chat() as server:
        await ChatPage(page, server.url).open()
        urls = await page.evaluate(_LIVE_URLS, [list(case[:3]) for case in cases])
    assert urls == [case[3] for case in cases]


async def test_live_page_new_modules_stay_inside_the_page(serve_chat: ServeChat) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_chat() as server:
        for name in ("live.js", "titles.js"):
            response = await server.client.get(f"/static/{name}")
            assert response.status_code == 200, name
            assert response.headers["content-type"].startswith("text/javascript")
            body = response.text
            assert "http://" not in body and "https://" not in body, name
            assert "innerHTML" not in body and "insertAdjacentHTML" not in body, name
