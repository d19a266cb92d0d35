"""A finished multi-agent conversation (the `pipeline` agent), and the README's screenshot.

`ADKSTREAM_UPDATE_SCREENSHOT=1 pytest tests/browser/test_screenshot.py` rewrites
docs/chat.png; otherwise the test only checks the page.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.chat_page import ChatPage
from tests.browser.conftest import ServeChat

if TYPE_CHECKING:
    from playwright.async_api import Page

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "chat.png"
PROMPTS = ["Draft a **two-line** note on why `streaming` matters", "Now make it **shorter**"]


async def test_chat_pipeline_conversation(page: Page, serve_chat: ServeChat) -> None:
    async with (
        asyncio.timeout(60),
        serve_chat(offline_tokens_per_s=0, offline_reply_tokens=24) as server,
    ):
        # Earlier chats, for the session list.
        for agent, message in [
            ("fanout", "Should we ship on Friday?"),
            ("assistant", "What time is it? Use get_current_time."),
        ]:
            answer = await server.client.post(
                "/v1/runs",
                json={"message": message, "agent": agent},
                headers={"Accept": "application/json"},
            )
            assert answer.status_code == 200, answer.text
        chat = ChatPage(page, server.url)
        await chat.open()
        await chat.pick_agent("pipeline")
        for prompt in PROMPTS:
            await chat.send(prompt)
            await chat.wait_idle()
        await page.wait_for_function(
            "() => [...document.querySelectorAll('#sessions .session-title')]"
            ".map((e) => e.textContent).includes('Should we ship on Friday?')"
        )
        assert await chat.authors() == ["writer", "editor", "writer", "editor"]
        assert await chat.user_texts() == PROMPTS
        assert await page.locator("#transcript .msg.assistant strong").count() == 4
        await page.mouse.move(0, 0)
        image = await page.screenshot()
    assert image.startswith(b"\x89PNG")
    if os.environ.get("ADKSTREAM_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(image)
