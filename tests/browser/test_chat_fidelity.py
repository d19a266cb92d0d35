"""The chat page shows everything a run carries: thinking folded with how long it took,
code and its output, sources, images and files the model made, artifacts (fetched with
the page's credentials), cut and blocked answers and escalations; first literal events
drawn by the page's own Transcript, then a hosted agent whose scripted model answers
with all of it, end to end.

`ADKSTREAM_UPDATE_SCREENSHOT=1` rewrites docs/screenshots/chat-fidelity.png.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.tools.tool_context import ToolContext
from google.genai import types

from adkstream.agents import AgentRegistry, HostedAgent
from adkstream.events import CodeCall, CodeResult, MessageFile, MessageSources, Source, StreamEvent
from tests.adapters import events as ev
from tests.browser.chat_page import ChatPage
from tests.browser.conftest import ServeChat, Served
from tests.browser.pictures import countdown_chart, sunrise

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "chat-fidelity.png"
KEY = "sesame"
AUTH = {"Authorization": f"Bearer {KEY}"}
SCRIPT = "<script>alert(1)</script>"

# Draws the events with the page's Transcript in a box of their own, above the chat's.
_DRAW = """async (events) => {
  const { Transcript } = await import('/static/transcript.js');
  const box = document.createElement('div');
  box.id = 'drawn';
  box.className = 'transcript';
  document.querySelector('#messages').prepend(box);
  window.drawn = new Transcript(box, document.querySelector('#messages'));
  for (const event of events) window.drawn.apply(event);
  window.drawn.flush();
}"""

# The saved snapshot (through JSON, as localStorage keeps it) drawn again, as a reload does.
_RELOAD = """async () => {
  const { Transcript } = await import('/static/transcript.js');
  const box = document.createElement('div');
  box.id = 'reloaded';
  document.querySelector('#messages').append(box);
  const again = new Transcript(box, document.querySelector('#messages'));
  again.load(JSON.parse(JSON.stringify(window.drawn.snapshot())));
  return [document.querySelector('#drawn').textContent, box.textContent];
}"""

_IMAGES_SETTLED = """(selector) => [...document.querySelectorAll(selector + ' canvas.image')]
  .every((c) => c.dataset.state !== 'loading')"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def upload(server: Served, session_id: str, name: str, data: bytes, mime: str) -> Any:
    response = await server.client.post(
        f"/v1/sessions/{session_id}/artifacts/{name}",
        content=data,
        headers=AUTH | {"Content-Type": mime},
    )
    assert response.status_code == 201, response.text
    return response.json()


def literal_events(chart: dict[str, Any], notes: dict[str, Any]) -> list[StreamEvent]:
    """Every new event, with model text that tries to be markup; `chart` and `notes` are
    uploaded artifacts (their `url`, `version`, `mime_type` and `size`)."""
    author = "analyst"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    file = ev.image(0, "m1", author=author)
    failing = CodeCall(
        run_id=ev.RUN, ts=0, author=author, code_id="c2", language="python", code="1/0"
    )
    sources = MessageSources(
        run_id=ev.RUN,
        ts=0,
        author=author,
        message_id="m1",
        sources=[
            Source(id="s1", url="https://example.com/a?q=<1>", title=SCRIPT),
            Source(id="s2", url="javascript:alert(1)", title="Evil"),
            Source(id="s3", url="https://example.org/b"),
            Source(id="s4", url="gs://bucket/doc.pdf", kind="document"),
        ],
        queries=[SCRIPT],
    )
    return ev.numbered(
        ev.agent(0, author),
        ev.thinking(0, "t1", "Weighing **both** dates ", author=author),
        ev.thinking(0, "t1", SCRIPT, author=author),
        ev.thought(0, "t1", f"Weighing **both** dates {SCRIPT}", author=author),
        ev.thought(0, "t2", "A second look", author=author),
        ev.delta(0, "m1", "Hello ", author=author),
        ev.cut(0, "m1", f"Hello {SCRIPT}", "max_tokens", author=author),
        file,
        file.model_copy(
            update={"file_id": "f-svg", "mime_type": "image/svg+xml", "data": b64(svg)}
        ),
        MessageFile(
            run_id=ev.RUN,
            ts=0,
            author=author,
            message_id="m1",
            file_id="f-html",
            mime_type="text/html",
            data=b64(SCRIPT.encode()),
            name="page.html",
        ),
        sources,
        ev.code(0, "c1", "print('<b>')", author=author),
        ev.code_result(0, "c1", "<b>\n", author=author),
        failing,
        CodeResult(
            run_id=ev.RUN,
            ts=0,
            author=author,
            code_id="c2",
            outcome="failed",
            output="ZeroDivisionError: division by zero",
        ),
        ev.artifact(0, "chart.png", author=author).model_copy(update=chart),
        ev.artifact(0, "notes.txt", author=author).model_copy(update=notes),
        ev.artifact(0, "elsewhere.png", author=author).model_copy(
            update={"url": "https://example.com/x.png", "mime_type": "image/png"}
        ),
        ev.escalated(0, author=author),
        ev.cut(0, "m2", "Partly", "recitation", author=author),
        ev.run_completed(0, finish_reason="safety"),
    )


@pytest.fixture
async def served(page: Page, serve_chat: ServeChat) -> AsyncIterator[tuple[Served, str]]:
    """A server that wants an API key, the page holding it, and a session of its user."""
    async with serve_chat(api_keys=f"{KEY}=alice") as server:
        await page.add_init_script(f"localStorage.setItem('adkstream.apiKey', '{KEY}')")
        await ChatPage(page, server.url).open()
        created = await server.client.post(
            "/v1/sessions", json={"agent": "assistant"}, headers=AUTH
        )
        assert created.status_code == 201, created.text
        yield server, created.json()["id"]


async def texts(locator: Locator) -> list[str]:
    return [t.strip() for t in await locator.all_text_contents()]


async def test_transcript_draws_every_new_event(page: Page, served: tuple[Served, str]) -> None:
    server, session_id = served
    async with asyncio.timeout(60):
        chart_png = countdown_chart(40, 20)
        chart = await upload(server, session_id, "chart.png", chart_png, "image/png")
        notes = await upload(server, session_id, "notes.txt", b"launch notes", "text/plain")
        keep = ("url", "version", "mime_type", "size")
        events = literal_events({k: chart[k] for k in keep}, {k: notes[k] for k in keep})
        await page.evaluate(_DRAW, [e.model_dump(mode="json") for e in events])
        await page.wait_for_function(_IMAGES_SETTLED, arg="#drawn")
        box = page.locator("#drawn")

        # Nothing the model wrote became markup.
        assert await box.locator("script, img, b, svg, iframe").count() == 0

        thinking = box.locator("details.thinking")
        assert await texts(thinking.locator("summary")) == ["✦Thought for 2 s", "✦Thoughts"]
        assert await thinking.first.get_attribute("open") is None
        assert not await thinking.first.locator(".thinking-body").is_visible()
        body = await thinking.first.locator(".thinking-body").text_content()
        assert body == f"Weighing both dates {SCRIPT}"

        [first, second] = await box.locator(".msg.assistant").all()
        assert await first.locator(".body").text_content() == f"Hello {SCRIPT}"
        assert await texts(first.locator(".finish")) == ["The answer was cut at the token limit"]
        assert await texts(second.locator(".finish")) == [
            "The model stopped: recitation filter (recitation)"
        ]
        assert await texts(box.locator(".note.stopped")) == [
            "The model stopped: safety filter (safety)"
        ]
        assert await texts(box.locator(".note.info")) == ["analyst escalated"]

        # The PNG is drawn; the SVG and the HTML are downloads, never shown.
        files = first.locator(".files .file")
        assert await files.count() == 3
        image = files.nth(0).locator("canvas.image")
        assert await image.get_attribute("data-state") == "ready"
        assert await image.evaluate("(c) => [c.width, c.height]") == [1, 1]
        assert await files.nth(1).locator("canvas").count() == 0
        links = first.locator(".file-link")
        assert await links.evaluate_all("(a) => a.map((l) => l.download)") == [
            "image.png",
            "image.svg",
            "page.html",
        ]
        assert all(
            h.startswith("blob:") for h in await links.evaluate_all("(a) => a.map((l) => l.href)")
        )

        # Sources: http(s) ones are links, titles are text, the rest is no link.
        sources = first.locator(".sources")
        hrefs = await sources.locator("a.source-link").evaluate_all("(a) => a.map((l) => l.href)")
        assert hrefs == ["https://example.com/a?q=%3C1%3E", "https://example.org/b"]
        assert await texts(sources.locator(".source-title")) == [SCRIPT, "Evil", "example.org"]
        assert await texts(sources.locator(".source-queries")) == [f"Searched for “{SCRIPT}”"]

        runs = box.locator("details.code-run")
        assert await runs.evaluate_all("(d) => d.map((e) => e.open)") == [True, True]
        assert await texts(runs.locator(".tool-status")) == ["done", "failed"]
        assert await runs.nth(0).locator(".code-source").text_content() == "print('<b>')"
        assert await runs.nth(0).locator(".code-output").text_content() == "<b>\n"
        assert await texts(runs.nth(1).locator(".tool-label")) == ["Output · failed"]
        assert await runs.nth(1).locator(".tool-status.bad").count() == 1

        # Artifacts: the image fetched with the page's API key and drawn, the text file a
        # download that fetches with it, and nothing fetched from another host.
        artifacts = box.locator(".artifact")
        assert await texts(artifacts.locator(".artifact-meta")) == [
            f"version {chart['version']} · image/png · {len(chart_png)} bytes",
            f"version {notes['version']} · text/plain · 12 bytes",
            "version 0 · image/png · 12 bytes",
        ]
        drawn = artifacts.nth(0).locator("canvas.image")
        assert await drawn.evaluate("(c) => [c.dataset.state, c.width, c.height]") == [
            "ready",
            40,
            20,
        ]
        async with page.expect_download() as downloading:
            await artifacts.nth(1).locator("a.artifact-name").click()
        download = await downloading.value
        assert download.suggested_filename == "notes.txt"
        saved = await asyncio.to_thread(Path(await download.path()).read_bytes)
        assert saved == b"launch notes"
        assert await artifacts.nth(2).locator("a[href], canvas").count() == 0

        drawn_text, reloaded_text = await page.evaluate(_RELOAD)
    assert reloaded_text == drawn_text


# ---- end to end ------------------------------------------------------------------

CHART = countdown_chart(300, 90)
SUNRISE = sunrise(200, 112)
THOUGHTS = [
    "The user wants the days until the launch. ",
    "I should **search** for the date, then count with code rather than by hand.",
]
ANSWER = [
    "Artemis III is set to launch on **14 March 2027**. ",
    "I counted the days from today with code (below).\n\n",
]
CODE = "from datetime import date\nprint((date(2027, 3, 14) - date(2026, 12, 4)).days)"
AFTER = "**100 days** to go. Here is the pad at sunrise, as it will look on the day."
SEARCHED = [
    ("https://www.nasa.gov/artemis-iii", "Artemis III - NASA"),
    ("https://en.wikipedia.org/wiki/Artemis_III", "Artemis III - Wikipedia"),
]


async def save_chart(tool_context: ToolContext) -> dict[str, Any]:
    """Draws the countdown chart and saves it as the session's artifact countdown.png."""
    part = types.Part.from_bytes(data=CHART, mime_type="image/png")
    version = await tool_context.save_artifact("countdown.png", part)
    return {"saved": "countdown.png", "version": version}


class AnalystModel(BaseLlm):
    """Calls `save_chart` first; then thinks, answers with code, its result, sources and an
    image, streamed in chunks (partial=True) and then as one final response, as Gemini's
    streaming does. `think_s` paces the thinking, so that the page says how long it took."""

    model: str = "analyst"
    think_s: float = 0.0

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        if not any(p.function_response for c in llm_request.contents for p in c.parts or []):
            call = types.FunctionCall(name="save_chart", args={})
            yield _response([types.Part(function_call=call)], partial=False)
            return
        for chunk in THOUGHTS:
            yield _response([types.Part(text=chunk, thought=True)], partial=True)
            await asyncio.sleep(self.think_s / len(THOUGHTS))  # pacing, not synchronisation
        for chunk in ANSWER:
            yield _response([types.Part(text=chunk)], partial=True)
        parts = [
            types.Part(text="".join(THOUGHTS), thought=True),
            types.Part(text="".join(ANSWER)),
            types.Part(executable_code=types.ExecutableCode(language="PYTHON", code=CODE)),
            types.Part(
                code_execution_result=types.CodeExecutionResult(
                    outcome="OUTCOME_OK", output="100\n"
                )
            ),
            types.Part(text=AFTER),
            types.Part.from_bytes(data=SUNRISE, mime_type="image/png"),
        ]
        final = _response(parts, partial=False)
        final.grounding_metadata = types.GroundingMetadata(
            grounding_chunks=[
                types.GroundingChunk(web=types.GroundingChunkWeb(uri=uri, title=title))
                for uri, title in SEARCHED
            ],
            web_search_queries=["artemis iii launch date"],
        )
        yield final


def _response(parts: list[types.Part], *, partial: bool) -> LlmResponse:
    content = types.Content(role="model", parts=parts)
    return LlmResponse(content=content, partial=partial, turn_complete=not partial)


async def test_chat_shows_a_rich_answer_end_to_end(page: Page, serve_chat: ServeChat) -> None:
    agent = LlmAgent(
        name="analyst",
        model=AnalystModel(think_s=2.2),
        instruction="Answer with sources, code and pictures.",
        tools=[save_chart],
    )
    await page.set_viewport_size({"width": 1280, "height": 960})
    async with (
        asyncio.timeout(60),
        serve_chat(agents=AgentRegistry([HostedAgent.of(agent)]), api_keys=f"{KEY}=alice") as s,
    ):
        await page.add_init_script(f"localStorage.setItem('adkstream.apiKey', '{KEY}')")
        chat = ChatPage(page, s.url)
        await chat.open()
        await chat.send("How many days until the Artemis III launch? Chart the countdown.")
        streaming = page.locator("#transcript details.thinking.streaming")
        await streaming.wait_for()
        assert await texts(streaming.locator(".thinking-title")) == ["Thinking…"]
        assert await page.text_content("#typing-text") == "analyst is thinking"
        await chat.wait_idle()
        await page.wait_for_function(_IMAGES_SETTLED, arg="#transcript")
        transcript = page.locator("#transcript")

        thinking = transcript.locator("details.thinking")
        assert await thinking.count() == 1
        assert await thinking.get_attribute("open") is None
        assert await texts(thinking.locator(".thinking-title")) == ["Thought for 2 s"]
        assert await thinking.locator(".thinking-body").text_content() == (
            "The user wants the days until the launch. I should search for the date, "
            "then count with code rather than by hand."
        )

        run = transcript.locator("details.code-run")
        assert await run.locator(".code-source").text_content() == CODE
        assert await run.locator(".code-output").text_content() == "100\n"
        assert await texts(run.locator(".tool-status")) == ["done"]

        [answer] = await transcript.locator(".msg.assistant").all()
        text = await answer.locator(".body").text_content()
        assert text is not None and "14 March 2027" in text and "100 days to go" in text
        links = answer.locator(".sources a.source-link")
        assert await links.evaluate_all("(a) => a.map((l) => l.href)") == [u for u, _ in SEARCHED]
        assert await texts(links) == [f"{i}{t}" for i, (_, t) in enumerate(SEARCHED, 1)]
        picture = answer.locator(".files canvas.image")
        assert await picture.evaluate("(c) => [c.dataset.state, c.width]") == ["ready", 200]

        artifact = transcript.locator(".artifact")
        assert await texts(artifact.locator(".artifact-name")) == ["countdown.png"]
        chart = artifact.locator("canvas.image")
        assert await chart.evaluate("(c) => [c.dataset.state, c.width]") == ["ready", 300]
        assert await transcript.locator("details.tool").count() == 1
        assert await chat.notes("error") == []

        await page.mouse.move(0, 0)
        image = await page.screenshot()
    assert image.startswith(b"\x89PNG")
    if os.environ.get("ADKSTREAM_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(image)
