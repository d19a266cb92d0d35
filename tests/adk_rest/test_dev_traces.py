"""The dev UI's traces, against `adk web`'s: the same agents and requests through ADK's
own app (`get_fast_api_app(web=True)`) and through adkstream with the dev UI on give
the same spans for a session (its Trace tab) and the same span attributes for each
event (an event's details). ADK's app also traces its own HTTP layer (FastAPI's spans):
the one documented difference, left out of the comparison."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext

from adkstream.runner import traces
from adkstream.runner.traces import TraceRecorder
from tests.adk_rest.conftest import adk_server, adkstream_server

HTTP_SPANS = ("POST ", "fastapi.")
"""ADK's app instruments FastAPI: spans of its HTTP layer, which adkstream's lacks."""


def _body(session_id: str, app: str, *, user: str = "u") -> dict[str, Any]:
    return {
        "appName": app,
        "userId": user,
        "sessionId": session_id,
        "newMessage": {"role": "user", "parts": [{"text": "Use get_time for Paris"}]},
    }


async def _traced_run(client: httpx.AsyncClient, app: str) -> tuple[list[Any], list[Any]]:
    """One `/run` in a new session: the session's spans, and each event's trace."""
    created = await client.post(f"/apps/{app}/users/u/sessions", json={})
    session_id = created.json()["id"]
    ran = await client.post("/run", json=_body(session_id, app))
    assert ran.status_code == 200, ran.text
    spans = (await client.get(f"/dev/apps/{app}/debug/trace/session/{session_id}")).json()
    events = []
    for event in ran.json():
        answer = await client.get(f"/dev/apps/{app}/debug/trace/{event['id']}")
        assert answer.status_code == 200, answer.text
        events.append(answer.json())
    return spans, events


def _tree(spans: list[dict[str, Any]]) -> Counter[tuple[str, str | None]]:
    """Each span's name and its parent's name (HTTP spans left out)."""
    kept = [s for s in spans if not s["name"].startswith(HTTP_SPANS)]
    names = {s["span_id"]: s["name"] for s in kept}
    return Counter((s["name"], names.get(s["parent_span_id"])) for s in kept)


def _described(event: dict[str, Any]) -> tuple[list[str], Any, Any]:
    return sorted(event), event.get("gen_ai.operation.name"), event.get("gen_ai.tool.name")


@pytest.mark.parametrize("app", ["tool", "transfer", "workflow"])
async def test_traces_are_adk_webs(tmp_path: Path, app: str) -> None:
    async with (
        asyncio.timeout(60),
        adk_server(tmp_path / "adk", web=True) as adk,
        adkstream_server(tmp_path / "ours", dev_ui=True) as ours,
    ):
        adk_spans, adk_events = await _traced_run(adk, app)
        our_spans, our_events = await _traced_run(ours, app)
    assert _tree(our_spans) == _tree(adk_spans)
    # Each model call's completion details, as under `adk web` (not compared with ADK's
    # app here: only the first ADK app of a process gets OpenTelemetry's log provider).
    logs = [(s["name"], len(s["logs"])) for s in our_spans if s["logs"]]
    model_calls = [s["name"] for s in our_spans if s["name"].startswith("generate_content")]
    assert logs == [(name, 1) for name in model_calls]
    assert [_described(e) for e in our_events] == [_described(e) for e in adk_events]


async def test_event_trace_not_kept_is_404(tmp_path: Path) -> None:
    async with adkstream_server(tmp_path, dev_ui=True) as client:
        missing = await client.get("/dev/apps/tool/debug/trace/no-such-event")
        assert missing.status_code == 404
        assert missing.json()["error"]["field"] == "event_id"
        unknown_app = await client.get("/dev/apps/nobody/debug/trace/session/s1")
        assert unknown_app.status_code == 404
        assert unknown_app.json()["error"]["field"] == "app_name"
        assert (await client.get("/dev/apps/tool/debug/trace/session/s1")).json() == []


async def test_traces_with_auth_are_the_callers_own(tmp_path: Path) -> None:
    keys = "key-a=alice,key-b=bob"
    alice, bob = {"X-API-Key": "key-a"}, {"X-API-Key": "key-b"}
    async with asyncio.timeout(30), adkstream_server(tmp_path, api_keys=keys, dev_ui=True) as c:
        created = await c.post("/apps/tool/users/alice/sessions", json={}, headers=alice)
        session_id = created.json()["id"]
        ran = await c.post("/run", json=_body(session_id, "tool", user="alice"), headers=alice)
        event_id = ran.json()[0]["id"]
        session_path = f"/dev/apps/tool/debug/trace/session/{session_id}"
        event_path = f"/dev/apps/tool/debug/trace/{event_id}"
        assert (await c.get(session_path)).status_code == 401
        assert (await c.get(session_path, headers=alice)).json() != []
        assert (await c.get(event_path, headers=alice)).status_code == 200
        for path, field in ((session_path, "session_id"), (event_path, "event_id")):
            refused = await c.get(path, headers=bob)
            assert refused.status_code == 404
            assert refused.json()["error"]["field"] == field


async def test_nothing_is_kept_once_the_dev_ui_stops(tmp_path: Path) -> None:
    async with adkstream_server(tmp_path, dev_ui=True) as client:
        spans, _ = await _traced_run(client, "text")
        assert spans != []
        assert traces.recorder() is not None
    assert traces.recorder() is None


def _span(name: str, trace_id: int, attributes: dict[str, Any]) -> ReadableSpan:
    context = SpanContext(trace_id=trace_id, span_id=trace_id * 10, is_remote=False)
    return ReadableSpan(name=name, context=context, attributes=attributes)


def test_the_recorder_keeps_the_latest_traces_and_events() -> None:
    recorder = TraceRecorder(max_traces=2, max_events=2)
    recorder.on = True
    for n in (1, 2, 3):
        attributes = {"gen_ai.conversation.id": f"s{n}", "gcp.vertex.agent.event_id": f"e{n}"}
        recorder.export([_span("generate_content m", n, attributes)])
    assert recorder.session_spans("s1") == []
    assert [s["name"] for s in recorder.session_spans("s3")] == ["generate_content m"]
    assert recorder.event("e1") is None
    kept = recorder.event("e3")
    assert kept is not None and kept[0] == "s3"
    recorder.on = False
    recorder.export([_span("generate_content m", 4, {"gen_ai.conversation.id": "s4"})])
    assert recorder.session_spans("s4") == []
