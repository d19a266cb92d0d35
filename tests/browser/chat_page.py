"""The chat page as the tests drive it: open, send, read, wait for the run to end.

Waits poll the DOM inside the page (`wait_for_function`), never sleep. Predicates are
function literals: the page's CSP (no 'unsafe-eval') refuses Playwright's string form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page

LAST_ASSISTANT = "#transcript .msg.assistant"

# The text of the last assistant message and whether a run is on, read in one go.
_LONGER_THAN = """(n) => {
  const bodies = document.querySelectorAll('#transcript .msg.assistant .body');
  const last = bodies[bodies.length - 1];
  const length = last ? last.textContent.length : 0;
  return length > n ? {length, running: document.body.dataset.state === 'running'} : false;
}"""


class ChatPage:
    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    async def open(self) -> None:
        await self.page.goto(self.url + "/")
        await self.page.wait_for_function(
            "() => document.querySelectorAll('#agent option').length > 0"
        )

    async def pick_agent(self, name: str) -> None:
        await self.page.select_option("#agent", name)

    async def send(self, text: str) -> str:
        """Types `text`, presses Enter, and returns the new run's id (from X-Run-Id)."""
        await self.page.fill("#prompt", text)
        async with self.page.expect_response(
            lambda r: r.url.endswith("/v1/runs") and r.request.method == "POST"
        ) as posted:
            await self.page.press("#prompt", "Enter")
        response = await posted.value
        return (await response.all_headers())["x-run-id"]

    async def wait_longer_than(self, length: int) -> dict[str, Any]:
        """Waits until the last assistant message is longer than `length` characters."""
        handle = await self.page.wait_for_function(_LONGER_THAN, arg=length, polling="raf")
        found: dict[str, Any] = await handle.json_value()
        return found

    async def wait_idle(self) -> None:
        await self.page.wait_for_function("() => document.body.dataset.state === 'idle'")

    async def wait_running(self) -> None:
        await self.page.wait_for_function("() => document.body.dataset.state === 'running'")

    async def assistant_texts(self) -> list[str]:
        return await self.page.locator(f"{LAST_ASSISTANT} .body").all_text_contents()

    async def authors(self) -> list[str]:
        return await self.page.locator(f"{LAST_ASSISTANT} .author").all_text_contents()

    async def user_texts(self) -> list[str]:
        return await self.page.locator("#transcript .msg.user .body").all_text_contents()

    async def notes(self, level: str) -> list[str]:
        return await self.page.locator(f"#transcript .note.{level}").all_text_contents()

    async def saved(self) -> Any:
        """The page's saved state (localStorage): session, agent, run and entries."""
        return await self.page.evaluate(
            "() => JSON.parse(localStorage.getItem('adkstream.chat') || 'null')"
        )
