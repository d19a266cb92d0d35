"""ADK's own dev UI (`adk web`'s Angular app, from the installed google-adk wheel) in
headless Chromium against adkstream with the dev UI on (`adkstream web`).

Pick an agent, send a message: the answer streams in, the tool call shows, the session
list, the state panel and the Traces view fill. `ADKSTREAM_UPDATE_SCREENSHOT=1` also
rewrites docs/screenshots/adk-dev-ui.png and adk-dev-ui-traces.png.

The UI's icons are a web font it fetches from Google; with no network here they show as
their ligature names, in the screenshot too.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from google.adk.agents import LlmAgent

from adkstream.agents import AgentRegistry, HostedAgent
from adkstream.agents.offline import OfflineModel
from tests.browser.conftest import ServeChat

if TYPE_CHECKING:
    from playwright.async_api import Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOT = SCREENSHOTS / "adk-dev-ui.png"
TRACES_SCREENSHOT = SCREENSHOTS / "adk-dev-ui-traces.png"

# The answer's bubble: partial text on screen while ADK's "Turn Complete" chip is not.
_STREAMING = """() => {
  const bubbles = [...document.querySelectorAll('.content-bubble.role-bot.type-message')];
  const answer = bubbles.find((b) => b.textContent.includes('The tool get_time returned'));
  const done = [...document.querySelectorAll('.event-chips-container')]
    .some((c) => c.textContent.includes('Turn Complete'));
  return answer && !done ? answer.textContent.trim().length : false;
}"""
_ANSWER_LENGTH = """() => {
  const bubbles = [...document.querySelectorAll('.content-bubble.role-bot.type-message')];
  const answer = bubbles.find((b) => b.textContent.includes('The tool get_time returned'));
  return answer.textContent.trim().length;
}"""


def get_time(timezone: str) -> dict[str, str]:
    """The time in a timezone."""
    return {"timezone": timezone, "time": "noon"}


def _agents() -> AgentRegistry:
    assistant = LlmAgent(
        name="assistant",
        model=OfflineModel(tokens_per_s=25, reply_tokens=60),
        instruction="Answer.",
        tools=[get_time],
        output_key="answer",
    )
    echo = LlmAgent(name="echo", model=OfflineModel(tokens_per_s=0), instruction="Echo.")
    return AgentRegistry([HostedAgent.of(assistant), HostedAgent.of(echo)])


async def test_dev_ui_chats_with_a_hosted_agent(page: Page, serve_chat: ServeChat) -> None:
    async with asyncio.timeout(90), serve_chat(agents=_agents(), dev_ui=True) as server:
        await page.goto(server.url + "/")  # redirects to /dev-ui/, as `adk web` does
        assert page.url == server.url + "/dev-ui/"

        await page.click('button[mattooltip="Select an app"]')
        await page.locator(".app-selector-item-name", has_text="assistant").click()
        # Token streaming is a switch of the UI's menu (off: ADK sends whole answers).
        await page.get_by_text("more_vert").first.click()
        await page.locator(".cdk-overlay-container").get_by_text("Streaming").click()
        await page.keyboard.press("Escape")
        prompt = page.locator("textarea")
        await prompt.fill("Use get_time for Paris, please")
        async with page.expect_request(lambda r: r.url.endswith("/run_sse")) as posted:
            await prompt.press("Enter")
        assert (await posted.value).post_data_json["streaming"] is True

        # The answer streams: part of it is on screen before the turn completes.
        partial = await page.wait_for_function(_STREAMING, polling="raf", timeout=30_000)
        partial_length = await partial.json_value()
        await page.locator(".event-chips-container", has_text="Turn Complete").wait_for()
        assert await page.evaluate(_ANSWER_LENGTH) > partial_length

        # The tool call and its result show as ADK's chips.
        calls = page.locator(".function-calls-buttons")
        await calls.filter(has_text='get_time("UTC")').wait_for()

        # The state panel shows the agent's output_key.
        await page.locator(".tab-label", has_text="State").click()
        await page.get_by_text("answer", exact=True).wait_for()
        if os.environ.get("ADKSTREAM_UPDATE_SCREENSHOT") == "1":
            await page.screenshot(path=str(SCREENSHOT))

        # The Traces view shows the run's invocation and its spans, as under `adk web`.
        await page.locator("mat-button-toggle", has_text="Traces").click()
        await page.get_by_text("Total latency").first.wait_for()
        await page.get_by_text("generate_content offline").first.wait_for()
        if os.environ.get("ADKSTREAM_UPDATE_SCREENSHOT") == "1":
            await page.screenshot(path=str(TRACES_SCREENSHOT))
        await page.locator("mat-button-toggle", has_text="Events").click()

        # The session list names this session (its id, as the server has it).
        listed = await server.client.get("/apps/assistant/users/user/sessions")
        assert listed.status_code == 200, listed.text
        (session,) = listed.json()
        await page.click('[mattooltip="Select a session"]')
        await page.get_by_text(session["id"]).first.wait_for()
        assert session["state"]["answer"].startswith("The tool get_time returned")


async def test_dev_ui_agent_graph_and_empty_panels(serve_chat: ServeChat) -> None:
    """The routes the UI calls on picking an agent: a graph, and empty developer panels."""
    async with serve_chat(agents=_agents(), dev_ui=True) as server:
        graph = await server.client.get("/dev/apps/assistant/build_graph_image")
        assert graph.status_code == 200, graph.text
        assert "get_time" in graph.json()[""]["dotSrc"]
        for listing in ("eval_sets", "eval_results", "debug/trace/session/s1"):
            answer = await server.client.get(f"/dev/apps/assistant/{listing}")
            assert (answer.status_code, answer.json()) == (200, [])
        unknown = await server.client.get("/dev/apps/nobody/eval_sets")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["field"] == "app_name"
        evaluate = await server.client.post("/dev/apps/assistant/eval-sets/s/run", json={})
        assert evaluate.status_code == 501
        assert "adk web" in evaluate.json()["error"]["message"]
        config = await server.client.get("/dev-ui/assets/config/runtime-config.json")
        assert config.json()["backendUrl"] == ""
        chat = await server.client.get("/chat")
        assert chat.status_code == 200 and "<title>" in chat.text
