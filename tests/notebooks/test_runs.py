"""`show_run`, `show_remote` and `rejoin` end to end: in process and against a real server."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from adkstream.agents import AgentRegistry, builtin_agents
from adkstream.client import AuthenticationError
from adkstream.events import RunCancelled, is_terminal
from adkstream.notebook import LiveDisplay, RunView, local_for, rejoin, show_remote, show_run
from adkstream.notebook import runs as notebook_runs
from adkstream.runner.local import InProcess
from adkstream.settings import Settings
from tests.notebooks.conftest import TIMEOUT_S, AppFactory
from tests.servers import serve_app


def fast_agents(**settings: Any) -> AgentRegistry:
    settings.setdefault("offline_tokens_per_s", 0)
    settings.setdefault("offline_reply_tokens", 8)
    return builtin_agents(Settings(**settings))


class RecordingHandle:
    def __init__(self) -> None:
        self.drawn: list[dict[str, str]] = []

    def update(self, obj: Any, **kwargs: Any) -> None:
        self.drawn.append(obj)


@pytest.fixture
def handle(monkeypatch: pytest.MonkeyPatch) -> RecordingHandle:
    """`mode="html"` draws into this handle instead of IPython's display."""
    recording = RecordingHandle()

    def open_display(view: RunView) -> LiveDisplay:
        return LiveDisplay(view, recording, clock=time.monotonic)

    monkeypatch.setattr(notebook_runs, "open_display", open_display)
    return recording


async def test_show_run_prints_the_stream_outside_a_notebook() -> None:
    out = io.StringIO()
    async with asyncio.timeout(TIMEOUT_S):
        outcome = await show_run(fast_agents(), "hello there", out=out)  # mode="auto"
    printed = out.getvalue()
    assert "[assistant] You said: hello there." in printed
    assert "(done: " in printed
    assert f'"last_answer": "{outcome.final_text}"' in printed
    assert outcome.ok and outcome.state == {"last_answer": outcome.final_text}
    assert outcome.outputs == {"assistant": outcome.final_text}
    assert is_terminal(outcome.events[-1]) and outcome.events[0].seq == 1


async def test_show_run_html_draws_the_final_state_escaped(handle: RecordingHandle) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        outcome = await show_run(fast_agents(), "Say <script>alert(1)</script>", mode="html")
    final = handle.drawn[-1]["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in final and "<script" not in final
    assert "completed ·" in final and "last_answer" in final and "session state" in final
    assert outcome.run_id is not None and outcome.run_id in final


async def test_show_run_folds_tool_calls(handle: RecordingHandle) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await show_run(fast_agents(), "What time is it? Use get_current_time.", mode="html")
    final = handle.drawn[-1]["text/html"]
    assert "<details" in final and "<code>get_current_time</code>" in final
    assert "&quot;timezone&quot;: &quot;UTC&quot;" in final  # the result, escaped JSON


async def test_show_run_keeps_sessions_of_the_same_agents_object() -> None:
    agents = fast_agents()
    async with asyncio.timeout(TIMEOUT_S):
        first = await show_run(agents, "one", mode="text", out=io.StringIO())
        second = await show_run(
            agents, "two", session_id=first.session_id, mode="text", out=io.StringIO()
        )
        named = await show_run(
            agents, "three", session_id="my-notes", mode="text", out=io.StringIO()
        )
    assert second.session_id == first.session_id and second.state["last_answer"].startswith(
        "You said: two"
    )
    assert named.session_id == "my-notes"
    assert local_for(agents) is local_for(agents)
    await local_for(agents).aclose()


async def test_show_run_runs_a_bare_adk_agent() -> None:
    from adkstream.agents import OfflineModel
    from adkstream.agents.builtin import build_pipeline

    pipeline = build_pipeline(OfflineModel(tokens_per_s=0, reply_tokens=6))
    async with asyncio.timeout(TIMEOUT_S):
        outcome = await show_run(pipeline, "draft this", mode="text", out=io.StringIO())
    assert list(outcome.outputs) == ["writer", "editor"]
    assert outcome.state["final"] == outcome.final_text == outcome.outputs["editor"]


async def test_rejoin_in_process_after_k() -> None:
    local = InProcess(fast_agents())
    try:
        async with asyncio.timeout(TIMEOUT_S):
            run = await local.start("hello", agent="pipeline")
            outcome = await rejoin(local, run.run_id, after=3, mode="text", out=io.StringIO())
    finally:
        await local.aclose()
    assert outcome.events[0].seq == 4 and outcome.status == "completed"
    assert outcome.session_id == run.session_id and "final" in outcome.state


async def test_show_run_interrupted_cancels_its_run() -> None:
    local = InProcess(fast_agents(offline_tokens_per_s=20, offline_reply_tokens=200))
    streaming = asyncio.Event()

    class Out(io.StringIO):
        def write(self, text: str) -> int:
            if "[assistant]" in text:
                streaming.set()
            return super().write(text)

    try:
        async with asyncio.timeout(TIMEOUT_S):
            task = asyncio.create_task(show_run(local, "a long answer", mode="text", out=Out()))
            await streaming.wait()
            run_id = next(iter(local.runs.active))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            events = [event async for event in local.events(run_id)]
    finally:
        await local.aclose()
    assert isinstance(events[-1], RunCancelled)
    assert events[-1].reason == "the notebook stopped watching"


# --- against a real server ---


async def test_show_remote_streams_and_reads_the_session_state(make_app: AppFactory) -> None:
    out = io.StringIO()
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url:
        outcome = await show_remote(url, "hello server", agent="pipeline", mode="text", out=out)
    assert "[writer] You said: hello server." in out.getvalue()
    assert list(outcome.outputs) == ["writer", "editor"]
    assert outcome.state["draft"] == outcome.outputs["writer"]
    assert outcome.state["final"] == outcome.final_text
    assert outcome.session_id is not None and outcome.ok


async def test_show_remote_html(make_app: AppFactory, handle: RecordingHandle) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url:
        outcome = await show_remote(url, "Say <b>hi</b>", mode="html")
    final = handle.drawn[-1]["text/html"]
    assert "&lt;b&gt;hi&lt;/b&gt;" in final and "<b>" not in final
    assert "last_answer" in final and outcome.ok


async def test_rejoin_remote_background_run_after_k(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            answer = await http.post(
                "/v1/runs", json={"message": "later", "agent": "pipeline", "background": True}
            )
        assert answer.status_code == 202
        run_id = answer.json()["run_id"]
        outcome = await rejoin(url, run_id, after=3, mode="text", out=io.StringIO())
    assert outcome.events[0].seq > 3 and outcome.status == "completed"
    assert outcome.session_id == answer.json()["session_id"]  # from GET /v1/runs/{id}
    assert outcome.state["final"] == outcome.final_text


async def test_show_remote_sends_the_api_key(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app(api_keys="secret=alice")) as url:
        outcome = await show_remote(url, "hi", api_key="secret", mode="text", out=io.StringIO())
        with pytest.raises(AuthenticationError):
            await show_remote(url, "hi", mode="text", out=io.StringIO())
    assert outcome.ok


def test_import_notebook_is_light() -> None:
    code = (
        "import sys\n"
        "import adkstream.notebook\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('IPython', 'starlette', 'uvicorn', 'httpx') or m.startswith('google.adk'))\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
