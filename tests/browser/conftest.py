"""Browser tests: the chat page in headless Chromium (Debian's `chromium`) driven by
Playwright, against a real server on 127.0.0.1.

Playwright never downloads a browser here (`playwright install` needs the network): it
drives /usr/bin/chromium (`scripts/browser.sh` installs it). Without it, or without the
playwright package, these tests skip, except under ADKSTREAM_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette

from adkstream.agents import AgentRegistry
from adkstream.api import create_app
from adkstream.settings import Settings
from tests.conftest import REQUIRE_SERVICES
from tests.servers import serve_app

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Page

CHROMIUM = Path(os.environ.get("ADKSTREAM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Skips the test without Playwright or Chromium; fails instead under REQUIRE_SERVICES."""
    reason = None
    if importlib.util.find_spec("playwright") is None:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    elif not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (scripts/browser.sh installs it)"
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}; ADKSTREAM_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


@dataclass
class Served:
    """A running server: its URL, an httpx client on it, and the app."""

    url: str
    client: httpx.AsyncClient
    app: Starlette


ServeChat = Callable[..., AbstractAsyncContextManager[Served]]


@pytest.fixture
def serve_chat(tmp_path: Path) -> ServeChat:
    """`async with serve_chat(offline_tokens_per_s=20, agents=..., wrap=...) as server:`.

    Settings come as keywords; `agents` replaces the built-in agents; `wrap` wraps the
    app in ASGI middleware (a connection cutter) before it is served.
    """

    @asynccontextmanager
    async def start(
        *,
        agents: AgentRegistry | None = None,
        wrap: Callable[[Any], Any] | None = None,
        **overrides: Any,
    ) -> AsyncIterator[Served]:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "offline_tokens_per_s": 0,
            "offline_reply_tokens": 12,
        }
        values.update(overrides)
        app = create_app(Settings(**values), agents)
        served = wrap(app) if wrap is not None else app
        async with serve_app(served) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Served(url=url, client=client, app=app)

    return start


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        async with asyncio.timeout(60):
            launched = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
            )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class PageProblems:
    """What went wrong inside the page: uncaught errors, CSP violations, dialogs."""

    errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
async def page(browser: Browser, problems: PageProblems) -> AsyncIterator[Page]:
    """A fresh page (its own storage) that records errors; the test fails on any."""
    context = await browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(20_000)
    opened = await context.new_page()
    opened.on("pageerror", lambda error: problems.errors.append(str(error)))
    opened.on("console", problems.console)

    async def dismiss(dialog: Any) -> None:
        problems.dialogs.append(dialog.message)
        await dialog.dismiss()

    opened.on("dialog", dismiss)
    try:
        yield opened
    finally:
        await context.close()
    assert problems.errors == [], "uncaught errors in the page"
    assert problems.csp == [], "Content-Security-Policy violations"
