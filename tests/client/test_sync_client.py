"""The blocking Client, driven from a worker thread while the server runs on the test's loop."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from adkstream.client import AsyncClient, Client, ConflictError, NotFoundError
from adkstream.events import MessageDelta, RunCancelled, StreamEvent
from tests.client.conftest import TIMEOUT_S, AppFactory, assert_each_seq_once, completed_text
from tests.servers import serve_app


def _scenario(url: str) -> None:
    with Client(url, timeout=TIMEOUT_S) as client:
        session = client.create_session(state={"k": "v"})
        with client.stream("sync hello", session_id=session.id, coalesce_ms=0) as stream:
            events = list(stream)
        assert_each_seq_once(events)
        text, final = completed_text(events)
        assert text == final
        assert stream.session_id == session.id
        assert stream.run_id is not None

        with client.events(stream.run_id) as replay:
            assert list(replay)[-1] == events[-1]
        result = client.run("sync run", session_id=session.id)
        assert result.ok
        assert client.get_run(result.run_id).final_text == result.final_text
        assert {s.id for s in client.list_sessions()} == {session.id}
        assert client.get_session(session.id).state["last_answer"] == result.final_text
        with pytest.raises(ConflictError):
            client.cancel(result.run_id)
        client.delete_session(session.id)
        with pytest.raises(NotFoundError):
            client.get_session(session.id)


async def test_sync_client_sessions_stream_run(make_app: AppFactory) -> None:
    app = make_app(offline_tokens_per_s=400, offline_reply_tokens=20)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url:
        await asyncio.to_thread(_scenario, url)


def _cancel_scenario(url: str) -> list[StreamEvent]:
    with Client(url, timeout=TIMEOUT_S) as client:
        events: list[StreamEvent] = []
        with client.stream("slow and sync") as stream:
            for event in stream:
                if isinstance(event, MessageDelta) and not any(
                    isinstance(e, MessageDelta) for e in events
                ):
                    client.cancel(event.run_id)
                events.append(event)
        return events


async def test_sync_client_cancel(make_app: AppFactory) -> None:
    app = make_app(offline_tokens_per_s=20, offline_reply_tokens=60)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url:
        events = await asyncio.to_thread(_cancel_scenario, url)
    assert_each_seq_once(events)
    assert isinstance(events[-1], RunCancelled)


def test_sync_client_refuses_calls_from_its_own_loop_thread() -> None:
    with (
        Client("http://127.0.0.1:9") as client,
        pytest.raises(RuntimeError, match="own event loop"),
    ):
        client._loop.call(_call_back_in, client)


async def _call_back_in(client: Client) -> None:
    client.list_sessions()


def test_sync_client_has_every_method_of_the_async_one() -> None:
    """Each public `AsyncClient` method is `Client`'s too, with the same parameters."""
    own = {"aclose"}  # `Client.close` stops its thread as well
    for name, method in inspect.getmembers(AsyncClient, inspect.isfunction):
        if name.startswith("_") or name in own:
            continue
        mirror = getattr(Client, name, None)
        assert mirror is not None, f"Client has no {name}"
        assert inspect.signature(mirror).parameters == inspect.signature(method).parameters
