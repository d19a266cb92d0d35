"""Long sessions (issue 23): a run loads only the session's latest `history_events` events
for the model, and the history (`GET /v1/sessions/{id}`) still shows every message.

Over a real server with ADK's real Runner and the embedded SQLite sessions; the model is
a scripted `BaseLlm` that keeps a copy of every request ADK gives it, so what the model
receives is read at the seam, not inferred.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.tools.function_tool import FunctionTool
from google.genai import types
from pydantic import Field

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.runner.host import Host
from adkstream.settings import HISTORY_EVENTS, Settings
from tests.servers import serve_app

TIMEOUT_S = 60
JSON = {"Accept": "application/json"}
NDJSON = {"Accept": "application/x-ndjson"}


class RecordingModel(BaseLlm):
    """Answers `answer to <message>`; a message `transfer N` calls the `transfer` tool
    (which needs a confirmation); a function response is answered `done: <response>`.
    Keeps a deep copy of every request."""

    model: str = "recording"
    requests: list[LlmRequest] = Field(default_factory=list)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.requests.append(llm_request.model_copy(deep=True))
        parts = llm_request.contents[-1].parts or []
        responses = [p.function_response for p in parts if p.function_response]
        text = "".join(p.text or "" for p in parts)
        if responses:
            part = types.Part(text=f"done: {responses[0].response}")
        elif text.startswith("transfer "):
            call = types.FunctionCall(name="transfer", args={"amount": int(text.split()[1])})
            part = types.Part(function_call=call)
        else:
            part = types.Part(text=f"answer to {text}")
        yield LlmResponse(content=types.Content(role="model", parts=[part]), turn_complete=True)


def transfer(amount: int) -> dict[str, object]:
    """Transfers money (a person confirms it first).

    Args:
        amount: how much.
    """
    return {"transferred": amount}


class Chat:
    """A server hosting one agent on `RecordingModel`, and a client on it."""

    def __init__(self, client: httpx.AsyncClient, model: RecordingModel, host: Host) -> None:
        self.client = client
        self.model = model
        self.host = host

    async def session(self) -> str:
        response = await self.client.post("/v1/sessions", json={})
        assert response.status_code == 201, response.text
        session_id: str = response.json()["id"]
        return session_id

    async def say(self, session_id: str, text: str, **more: Any) -> dict[str, Any]:
        """One run to its end; its JSON answer."""
        body = {"message": text, "session_id": session_id, **more}
        response = await self.client.post("/v1/runs", json=body, headers=JSON)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def last_request_texts(self) -> list[tuple[str, str]]:
        """(role, text) of each content of the model's latest request."""
        return contents_texts(self.model.requests[-1])


def contents_texts(request: LlmRequest) -> list[tuple[str, str]]:
    out = []
    for content in request.contents:
        texts = []
        for part in content.parts or []:
            if part.text:
                texts.append(part.text)
            elif part.function_call:
                texts.append(f"call {part.function_call.name}")
            elif part.function_response:
                texts.append(f"response {part.function_response.name}")
        out.append((content.role or "", " ".join(texts)))
    return out


@pytest.fixture
def open_chat(tmp_path: Path) -> Callable[..., Any]:
    """`async with open_chat(history_events=N) as chat:` — a fresh server per call."""
    count = 0

    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[Chat]:
        nonlocal count
        count += 1
        model = RecordingModel(requests=[])
        agent = LlmAgent(
            name="teller",
            model=model,
            instruction="Answer {name?} briefly.",
            output_key="last_answer",
            tools=[FunctionTool(transfer, require_confirmation=True)],
        )
        values = {"data_dir": tmp_path / f"data-{count}"} | settings
        app = create_app(Settings(**values), AgentRegistry([HostedAgent.of(agent)]))
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Chat(client, model, app.state.host)

    return start


async def test_a_run_in_a_long_session_sends_the_model_only_the_latest_events(
    open_chat: Callable[..., Any],
) -> None:
    async with asyncio.timeout(TIMEOUT_S), open_chat(history_events=6) as chat:
        session_id = await chat.session()
        for turn in range(10):
            await chat.say(session_id, f"q{turn}")
        await chat.say(session_id, "q10")
        sent = chat.last_request_texts()
        view = (await chat.client.get(f"/v1/sessions/{session_id}")).json()

    # A chat turn is 3 session events (message, answer, end-of-agent marker): the last 6
    # are the two latest turns, then the new message.
    assert sent == [
        ("user", "q8"),
        ("model", "answer to q8"),
        ("user", "q9"),
        ("model", "answer to q9"),
        ("user", "q10"),
    ]
    # The history still shows every message.
    assert [(m["role"], m["text"]) for m in view["messages"]] == [
        pair
        for turn in range(11)
        for pair in (("user", f"q{turn}"), ("assistant", f"answer to q{turn}"))
    ]


async def test_a_short_session_sends_the_same_request_with_and_without_the_limit(
    open_chat: Callable[..., Any],
) -> None:
    """Up to the limit, the model's request is byte-for-byte what it was without one."""
    turns = HISTORY_EVENTS // 3 - 1  # the latest run loads all but nothing of the limit's
    requests = []
    async with asyncio.timeout(TIMEOUT_S):
        for history_events in (HISTORY_EVENTS, 0):
            async with open_chat(history_events=history_events) as chat:
                session_id = await chat.session()
                for turn in range(turns):
                    await chat.say(session_id, f"q{turn}")
                events = await chat.host.session_service.get_session(
                    app_name="teller", user_id="local", session_id=session_id
                )
                requests.append(chat.model.requests)
    assert events is not None and len(events.events) == 3 * turns <= HISTORY_EVENTS
    limited, unlimited = requests
    assert len(limited) == len(unlimited) == turns
    for with_limit, without in zip(limited, unlimited, strict=True):
        assert with_limit.model_dump_json() == without.model_dump_json()
    assert len(limited[-1].contents) == 2 * turns - 1


async def test_history_events_zero_sends_the_whole_session(
    open_chat: Callable[..., Any],
) -> None:
    async with asyncio.timeout(TIMEOUT_S), open_chat(history_events=0) as chat:
        session_id = await chat.session()
        for turn in range(5):
            await chat.say(session_id, f"q{turn}")
        sent = chat.last_request_texts()
    assert [text for _, text in sent[::2]] == [f"q{turn}" for turn in range(5)]
    assert len(sent) == 9


async def test_state_and_output_key_do_not_depend_on_the_loaded_events(
    open_chat: Callable[..., Any],
) -> None:
    """State lives in the session's own row, not in its events: a state delta and an
    `output_key` written turns ago still reach the instruction and the session."""
    async with asyncio.timeout(TIMEOUT_S), open_chat(history_events=3) as chat:
        session_id = await chat.session()
        await chat.say(session_id, "q0", state_delta={"name": "Ann"})
        for turn in range(1, 5):
            await chat.say(session_id, f"q{turn}")
        instruction = chat.model.requests[-1].config.system_instruction
        view = (await chat.client.get(f"/v1/sessions/{session_id}")).json()
    assert "Answer Ann briefly." in str(instruction)
    assert view["state"] == {"name": "Ann", "last_answer": "answer to q4"}


async def test_a_pause_answered_within_the_window_continues(
    open_chat: Callable[..., Any],
) -> None:
    """A tool confirmation answered right away: the paused invocation's events (its
    message, the call, the confirmation request) are the latest, so a window that
    holds them is enough for ADK to resume it."""
    async with asyncio.timeout(TIMEOUT_S), open_chat(history_events=4) as chat:
        session_id = await chat.session()
        for turn in range(3):
            await chat.say(session_id, f"q{turn}")
        answer = await _confirm(chat, await chat.say(session_id, "transfer 5"))
    assert answer["status"] == "completed", answer
    assert answer["final_text"] == "done: {'transferred': 5}"


async def test_a_pause_answered_after_later_turns_still_continues(
    open_chat: Callable[..., Any],
) -> None:
    """ADK finds the paused call by scanning the loaded events (`runners.py`,
    `_resolve_invocation_id_from_fr`): once later turns push it out of the window, a
    resumed run must load everything."""
    async with asyncio.timeout(TIMEOUT_S), open_chat(history_events=6) as chat:
        session_id = await chat.session()
        waiting = await chat.say(session_id, "transfer 5")
        for turn in range(3):
            await chat.say(session_id, f"q{turn}")
        answer = await _confirm(chat, waiting)
    assert answer["status"] == "completed", answer
    assert answer["final_text"] == "done: {'transferred': 5}"


async def test_a_window_that_starts_after_a_call_sends_no_orphaned_response(
    open_chat: Callable[..., Any], tmp_path: Path
) -> None:
    """A cut between a function call and its response: ADK drops the response whose call
    it did not load (`_drop_orphaned_function_responses`), so the model never gets one."""
    data_dir = tmp_path / "shared"
    async with asyncio.timeout(TIMEOUT_S):
        async with open_chat(history_events=0, data_dir=data_dir) as chat:
            session_id = await chat.session()
            await _confirm(chat, await chat.say(session_id, "transfer 5"))
            session = await chat.host.session_service.get_session(
                app_name="teller", user_id="local", session_id=session_id
            )
        assert session is not None
        [call_at] = [
            i
            for i, e in enumerate(session.events)
            if any(c.name == "transfer" for c in e.get_function_calls())
        ]
        after_call = len(session.events) - call_at - 1  # the window starts right after it
        async with open_chat(history_events=after_call, data_dir=data_dir) as chat:
            await chat.say(session_id, "q1")
            cut = chat.last_request_texts()
        # That run added a 3-event turn: one event more than it holds the call too.
        async with open_chat(history_events=after_call + 3 + 1, data_dir=data_dir) as chat:
            await chat.say(session_id, "q2")
            whole = chat.last_request_texts()
    done = ("model", "done: {'transferred': 5}")
    assert cut == [done, ("user", "q1")]
    # The confirmation request and its answer are ADK's own, never sent to the model.
    assert whole == [
        ("model", "call transfer"),
        ("user", "response transfer"),
        done,
        ("user", "q1"),
        ("model", "answer to q1"),
        ("user", "q2"),
    ]


async def _confirm(chat: Chat, waiting: dict[str, Any]) -> dict[str, Any]:
    """Approves the waiting run's one confirmation; the continuing run's JSON answer."""
    assert waiting["status"] == "waiting", waiting
    run = (await chat.client.get(f"/v1/runs/{waiting['run_id']}")).json()
    [pending] = run["pending"]
    response = await chat.client.post(
        f"/v1/runs/{waiting['run_id']}/answers",
        json={"answers": [{"request_id": pending["request_id"], "confirmed": True}]},
        headers=JSON,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_rolled_back_turn_stays_out_of_the_window(
    open_chat: Callable[..., Any],
) -> None:
    """A rollback (ADK's `rewind_async`, which reloads the whole session whatever the
    run config says) appends a rewind marker; the next run's window holds the marker and
    the rewound turn, so ADK's `_apply_rewinds` takes the turn out. The window counts
    stored events, so it then holds less of what came before."""
    async with asyncio.timeout(TIMEOUT_S), open_chat(history_events=6) as chat:
        session_id = await chat.session()
        for turn in range(4):
            await chat.say(session_id, f"q{turn}")
        session = await chat.host.session_service.get_session(
            app_name="teller", user_id="local", session_id=session_id
        )
        assert session is not None
        await chat.host.runs.adk.runner("teller").rewind_async(
            user_id="local",
            session_id=session_id,
            rewind_before_invocation_id=session.events[-1].invocation_id,
        )
        await chat.say(session_id, "q4")
        sent = chat.last_request_texts()
        view = (await chat.client.get(f"/v1/sessions/{session_id}")).json()
    assert sent == [("model", "answer to q2"), ("user", "q4")]
    assert [m["text"] for m in view["messages"] if m["role"] == "user"] == ["q0", "q1", "q2", "q4"]


def test_a_run_that_resumes_an_invocation_gets_no_limit() -> None:
    """`adk_events.history_limit`: what the run's pump is to pass as `recent_events`."""
    from adkstream.runner.adk_events import history_limit

    text = types.Content(role="user", parts=[types.Part(text="hi")])
    answer = types.FunctionResponse(id="c1", name="transfer", response={"ok": True})
    answers = types.Content(role="user", parts=[types.Part(function_response=answer)])
    assert history_limit(45, message=text, invocation_id=None) == 45
    assert history_limit(45, message=text, invocation_id="e-1") is None
    assert history_limit(45, message=answers, invocation_id=None) is None
    assert history_limit(None, message=text, invocation_id=None) is None
