"""Telling agents and sessions apart in the chat page: the agents of a conversation get
distinct colours (readable in the light and the dark theme, the same after a reload), and
sessions made through the API get distinct titles in the sidebar: their first message, or
for one with nothing said yet the agent and the session's short id, replaced by the first
message once the session is run.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.chat_page import ChatPage
from tests.browser.conftest import ServeChat, Served

if TYPE_CHECKING:
    from playwright.async_api import Page

# Each assistant author's name and its label's colour, in transcript order.
_AUTHOR_COLOURS = """() => [...document.querySelectorAll('#transcript .msg.assistant')].map((m) => [
  m.querySelector('.author').textContent, getComputedStyle(m.querySelector('.author')).color,
])"""

# The eight palette colours as the page computes them, with the theme's backgrounds.
_PALETTE = """() => {
  const box = document.createElement('div');
  const colours = [];
  for (let i = 0; i < 8; i += 1) {
    const message = document.createElement('article');
    message.className = `msg assistant author-${i}`;
    const author = document.createElement('div');
    author.className = 'author';
    message.append(author);
    box.append(message);
  }
  document.getElementById('transcript').append(box);
  for (const author of box.querySelectorAll('.author')) {
    colours.push(getComputedStyle(author).color);
  }
  const root = getComputedStyle(document.documentElement);
  box.remove();
  return {colours, bg: root.getPropertyValue('--bg'), panel: root.getPropertyValue('--panel')};
}"""

# The colour classes AuthorColours gives `names` in one conversation.
_CLASSES = """async (names) => {
  const { AuthorColours } = await import('/static/transcript.js');
  const colours = new AuthorColours();
  return names.map((name) => colours.classOf(name));
}"""

_TITLES = (
    "() => [...document.querySelectorAll('#sessions .session-title')].map((e) => e.textContent)"
)


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.strip()
    if colour.startswith("#"):
        return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
    r, g, b = (int(float(v)) for v in colour[colour.index("(") + 1 : -1].split(",")[:3])
    return r, g, b


def _contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        def linear(v: int) -> float:
            c = v / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (linear(v) for v in _rgb(colour))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


async def _colours_after(chat: ChatPage, agent: str, prompt: str) -> list[list[str]]:
    await chat.page.click("#new-chat")
    await chat.pick_agent(agent)
    await chat.send(prompt)
    await chat.wait_idle()
    colours: list[list[str]] = await chat.page.evaluate(_AUTHOR_COLOURS)
    return colours


async def test_chat_agents_of_a_conversation_get_distinct_colours(
    page: Page, serve_chat: ServeChat
) -> None:
    async with asyncio.timeout(60), serve_chat() as server:
        chat = ChatPage(page, server.url)
        await chat.open()
        fanout = await _colours_after(chat, "fanout", "Should we ship on Friday?")
        pipeline = await _colours_after(chat, "pipeline", "Draft a release note")
        # The pipeline's conversation again after a reload: the same colours.
        await page.reload()
        await page.wait_for_function(
            "() => document.querySelectorAll('#transcript .msg.assistant').length === 2"
        )
        reloaded = await page.evaluate(_AUTHOR_COLOURS)
        # Up to eight agents in one conversation all differ, whatever their names hash to.
        names = ["optimist", "skeptic", "editor", "writer", "assistant", "judge", "a", "b"]
        classes = await page.evaluate(_CLASSES, names)
        again = await page.evaluate(_CLASSES, names)
    assert [name for name, _ in fanout] == ["optimist", "skeptic"]
    assert [name for name, _ in pipeline] == ["writer", "editor"]
    assert fanout[0][1] != fanout[1][1]
    assert pipeline[0][1] != pipeline[1][1]
    assert reloaded == pipeline
    assert len(set(classes)) == len(names)
    assert again == classes  # deterministic


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_chat_agent_colours_are_readable(
    page: Page, serve_chat: ServeChat, scheme: Any
) -> None:
    async with asyncio.timeout(60), serve_chat() as server:
        await page.emulate_media(color_scheme=scheme)
        await ChatPage(page, server.url).open()
        palette = await page.evaluate(_PALETTE)
    colours = palette["colours"]
    assert len(set(colours)) == 8, colours
    for colour in colours:
        # The author's name is small bold text on the page; the colour also edges the
        # message's panel: WCAG AA for text on both.
        assert _contrast(colour, palette["bg"]) >= 4.5, (scheme, colour, palette["bg"])
        assert _contrast(colour, palette["panel"]) >= 4.5, (scheme, colour, palette["panel"])


async def _post(server: Served, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await server.client.post(path, json=body, headers={"Accept": "application/json"})
    assert answer.status_code in (200, 201), answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_chat_api_sessions_get_distinct_titles(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(60), serve_chat() as server:
        # More sessions than one look-up round used to cover, all with the same agent.
        said = [f"Question number {i} from a script" for i in range(7)]
        for message in said:
            await _post(server, "/v1/runs", {"message": message, "agent": "assistant"})
        empty = [(await _post(server, "/v1/sessions", {"agent": "assistant"}))["id"] for _ in "ab"]
        chat = ChatPage(page, server.url)
        await chat.open()
        untitled = [f"assistant chat · {session_id[:8]}" for session_id in empty]
        want = set(said) | set(untitled)
        await page.wait_for_function(
            f"(want) => ({_TITLES})().filter((t) => want.includes(t)).length === want.length",
            arg=sorted(want),
        )
        first = await page.evaluate(_TITLES)

        # An empty session run later through the API gets its first message as its title
        # at the sidebar's next refresh (here: after a run in the page).
        await _post(server, "/v1/runs", {"message": "Late first words", "session_id": empty[0]})
        await chat.send("a chat of my own")
        await chat.wait_idle()
        await page.wait_for_function(f"() => ({_TITLES})().includes('Late first words')")
        second = await page.evaluate(_TITLES)
        await page.reload()
        await page.wait_for_function(f"() => ({_TITLES})().includes('Late first words')")
        reloaded = await page.evaluate(_TITLES)
    assert len(first) == 9 and set(first) == want
    assert len(set(second)) == len(second) == 10
    assert untitled[0] not in second and untitled[1] in second
    assert "a chat of my own" in second
    assert sorted(reloaded) == sorted(second)
