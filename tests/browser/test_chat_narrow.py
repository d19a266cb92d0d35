"""The chat page on a narrow screen (400 px): the sidebar is a drawer that the topbar's
toggle opens (by mouse or keyboard) and that closes after picking a session or New chat,
on Escape and on a click outside; on a wide screen it stays a column, no toggle.

`ADKSTREAM_UPDATE_SCREENSHOT=1` rewrites docs/screenshots/chat-narrow.png (the drawer
open over a fan-out conversation).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.chat_page import ChatPage
from tests.browser.conftest import ServeChat, Served

if TYPE_CHECKING:
    from playwright.async_api import Page, ViewportSize

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "chat-narrow.png"
NARROW: ViewportSize = {"width": 400, "height": 760}
WIDE: ViewportSize = {"width": 1200, "height": 800}
TOGGLE = "#sidebar-toggle"
EARLIER = [("fanout", "Should we ship on Friday?"), ("assistant", "What time is it in Paris?")]


async def _run(server: Served, agent: str, message: str) -> None:
    answer = await server.client.post(
        "/v1/runs",
        json={"message": message, "agent": agent},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text


async def _wait_drawer(page: Page, state: str) -> None:
    """Waits for the drawer to be `open` or `closed`, its slide over (on a narrow screen)."""
    await page.wait_for_function(
        """(open) => {
          const sidebar = document.getElementById('sidebar');
          const toggle = document.getElementById('sidebar-toggle');
          return (document.body.dataset.sidebar === 'open') === open
            && toggle.getAttribute('aria-expanded') === String(open)
            && sidebar.getAnimations().length === 0
            && (!matchMedia('(max-width: 720px)').matches
              || (getComputedStyle(sidebar).visibility === 'visible') === open);
        }""",
        arg=state == "open",
    )


async def _focused(page: Page) -> str:
    focused: str = await page.evaluate("() => document.activeElement?.id || ''")
    return focused


async def test_chat_narrow_sidebar_opens_as_a_drawer(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(60), serve_chat() as server:
        for agent, message in EARLIER:
            await _run(server, agent, message)
        await page.set_viewport_size(NARROW)
        chat = ChatPage(page, server.url)
        await chat.open()
        await page.wait_for_function(
            "(want) => want.every((t) => [...document.querySelectorAll('#sessions .session-title')]"
            ".some((e) => e.textContent === t))",
            arg=[message for _, message in EARLIER],
        )
        toggle = page.locator(TOGGLE)
        assert await toggle.is_visible()
        assert await toggle.get_attribute("aria-controls") == "sidebar"
        assert await page.is_hidden("#new-chat")
        assert await page.is_hidden("#sessions")

        # The keyboard: Shift+Tab from the prompt reaches the toggle (never the closed
        # drawer's buttons), Enter opens, Escape closes.
        await page.focus("#prompt")
        stops: list[str] = []
        while len(stops) < 8 and (not stops or stops[-1] != "sidebar-toggle"):
            await page.keyboard.press("Shift+Tab")
            stops.append(await _focused(page))
        assert stops[-1] == "sidebar-toggle", stops
        assert not {"new-chat", "auth-key"} & set(stops), stops
        await page.keyboard.press("Enter")
        await _wait_drawer(page, "open")
        assert await _focused(page) == "new-chat"
        assert await page.is_visible("#new-chat")
        await page.keyboard.press("Escape")
        await _wait_drawer(page, "closed")
        assert await _focused(page) == "sidebar-toggle"
        assert await page.is_hidden("#new-chat")

        # Picking a session opens it and closes the drawer.
        await toggle.click()
        await _wait_drawer(page, "open")
        await page.locator("#sessions button", has_text=EARLIER[0][1]).click()
        await _wait_drawer(page, "closed")
        await page.wait_for_function(
            "() => document.querySelectorAll('#transcript .msg.assistant').length === 2"
        )
        assert await chat.user_texts() == [EARLIER[0][1]]
        assert await chat.authors() == ["optimist", "skeptic"]

        # Open over the conversation: the README's picture.
        await toggle.click()
        await _wait_drawer(page, "open")
        await page.mouse.move(0, 0)
        image = await page.screenshot()

        # A click outside closes it.
        await page.mouse.click(NARROW["width"] - 20, NARROW["height"] // 2)
        await _wait_drawer(page, "closed")
        assert await chat.user_texts() == [EARLIER[0][1]]  # the click reached nothing else

        # New chat starts one and closes the drawer; the new chat works.
        await toggle.click()
        await _wait_drawer(page, "open")
        await page.click("#new-chat")
        await _wait_drawer(page, "closed")
        assert await page.locator("#transcript > *").count() == 0
        assert await _focused(page) == "prompt"
        await chat.pick_agent("assistant")
        await chat.send("hello from a phone")
        await chat.wait_idle()
        await toggle.click()
        await _wait_drawer(page, "open")
        await page.wait_for_function(
            "() => document.querySelector('#sessions button.active .session-title')"
            "?.textContent === 'hello from a phone'"
        )
        assert await page.locator("#sessions button").count() == 3

        # Wide again: a column, no toggle, no overlay.
        await page.set_viewport_size(WIDE)
        await _wait_drawer(page, "closed")
        assert await toggle.is_hidden()
        assert await page.is_visible("#new-chat")
        assert await page.is_hidden("#scrim")

    assert image.startswith(b"\x89PNG")
    if os.environ.get("ADKSTREAM_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(image)


async def test_chat_wide_sidebar_has_no_toggle(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(60), serve_chat() as server:
        chat = ChatPage(page, server.url)
        await chat.open()
        assert await page.is_hidden(TOGGLE)
        assert await page.is_visible("#new-chat")
        box = await page.locator("#sidebar").bounding_box()
        assert box is not None and box["x"] == 0 and box["width"] == 260
        await page.keyboard.press("Escape")  # nothing to close
        assert await page.is_visible("#new-chat")
        assert await page.evaluate("() => document.body.dataset.sidebar") is None


async def test_chat_narrow_asks_for_an_api_key_in_the_drawer(
    page: Page, serve_chat: ServeChat
) -> None:
    async with asyncio.timeout(60), serve_chat(api_keys="sesame=alice") as server:
        await page.set_viewport_size(NARROW)
        await page.goto(server.url + "/")
        await page.wait_for_selector("#auth:not([hidden])")
        await _wait_drawer(page, "open")  # the key's form lives in the sidebar
        assert await page.is_visible("#auth-key")
        assert await _focused(page) == "auth-key"
        await page.fill("#auth-key", "sesame")
        async with page.expect_navigation():
            await page.click("#auth button[type=submit]")
        await page.wait_for_function("() => document.querySelectorAll('#agent option').length")
        assert await page.is_hidden("#new-chat")  # closed again once the key works
