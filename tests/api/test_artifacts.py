"""Artifacts: a tool saves one during a run (ADK's `save_artifact` through the real Gemini
class), the stream says so, the routes list and serve it, a later run loads it; the
embedded file store keeps it across a restart; on two replicas sharing a GCS store
(an emulator on 127.0.0.1), PostgreSQL and Redis, one replica serves what the other saved.
Another user's artifacts are a 404 everywhere."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.adk.models.google_llm import Gemini

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.events import (
    ArtifactSaved,
    RunCompleted,
    RunStarted,
    StreamEvent,
    ToolResult,
    parse_event,
)
from adkstream.settings import Settings
from tests.api.artifact_agent import NOTE_NAME, build_notes
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply
from tests.processes import two_replicas
from tests.servers import serve_app

__all__ = ["fake_gemini"]

KEYS = "key-alice=alice,key-bob=bob"
ALICE = {"Authorization": "Bearer key-alice"}
BOB = {"Authorization": "Bearer key-bob"}


@asynccontextmanager
async def _notes_server(data_dir: Path, gemini_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A server hosting `notes` on ADK's real Gemini class, the embedded default storage."""
    model = Gemini(model="gemini-2.5-flash", base_url=gemini_url)
    agents = AgentRegistry([HostedAgent.of(build_notes(model))])
    app = create_app(Settings(data_dir=data_dir, api_keys=KEYS), agents)
    try:
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield client
    finally:
        await model.api_client.aio.aclose()


async def _run(
    client: httpx.AsyncClient, message: str, *, session_id: str | None = None
) -> list[StreamEvent]:
    body: dict[str, Any] = {"message": message}
    if session_id is not None:
        body["session_id"] = session_id
    headers = ALICE | {"Accept": "application/x-ndjson"}
    async with client.stream("POST", "/v1/runs", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        return [parse_event(line) async for line in response.aiter_lines() if line]


def _session_of(events: list[StreamEvent]) -> str:
    started = events[0]
    assert isinstance(started, RunStarted)
    return started.session_id


async def test_artifacts_saved_in_a_run_are_listed_served_and_loaded_later(
    tmp_path: Path, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(
        ToolCallReply("save_note", {"text": "buy milk"}),
        # The echo answer follows each tool call; the second run reads the note back.
    )
    async with asyncio.timeout(60), _notes_server(tmp_path / "data", fake_gemini.url) as client:
        first = await _run(client, "Write down: buy milk")
        session_id = _session_of(first)
        listed = await client.get(f"/v1/sessions/{session_id}/artifacts", headers=ALICE)
        [saved] = [e for e in first if isinstance(e, ArtifactSaved)]
        fetched = await client.get(saved.url, headers=ALICE)
        latest = await client.get(f"/v1/sessions/{session_id}/artifacts/{NOTE_NAME}", headers=ALICE)
        as_bob = await client.get(saved.url, headers=BOB)
        listed_as_bob = await client.get(f"/v1/sessions/{session_id}/artifacts", headers=BOB)
        missing = await client.get(
            f"/v1/sessions/{session_id}/artifacts/{NOTE_NAME}?version=7", headers=ALICE
        )
        bad_version = await client.get(
            f"/v1/sessions/{session_id}/artifacts/{NOTE_NAME}?version=x", headers=ALICE
        )

        fake_gemini.script(ToolCallReply("read_note", {}))
        second = await _run(client, "What did I write down?", session_id=session_id)

    assert isinstance(first[-1], RunCompleted)
    assert (saved.name, saved.version, saved.size) == (NOTE_NAME, 0, len("buy milk"))
    assert saved.mime_type is not None and saved.mime_type.startswith("text/plain")
    assert saved.url == f"/v1/sessions/{session_id}/artifacts/{NOTE_NAME}?version=0"
    assert listed.json() == {
        "artifacts": [{"name": NOTE_NAME, "versions": [0], "latest": 0, "url": saved.url}]
    }
    assert (fetched.status_code, fetched.text) == (200, "buy milk")
    assert fetched.headers["content-type"].startswith("text/plain")
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert latest.text == "buy milk"
    assert (as_bob.status_code, listed_as_bob.status_code) == (404, 404)
    assert as_bob.json()["error"]["code"] == "session_not_found"
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "artifact_not_found")
    assert (bad_version.status_code, bad_version.json()["error"]["field"]) == (400, "version")
    [read] = [e for e in second if isinstance(e, ToolResult)]
    assert read.result == {"note": "buy milk"}
    assert isinstance(second[-1], RunCompleted)
    assert "buy milk" in second[-1].final_text  # the model received the tool's result


async def test_artifacts_upload_makes_a_new_version_kept_across_a_restart(
    tmp_path: Path, fake_gemini: FakeGemini
) -> None:
    data_dir = tmp_path / "data"
    png = b"\x89PNG\r\n\x1a\n-not-really"
    async with asyncio.timeout(60):
        async with _notes_server(data_dir, fake_gemini.url) as client:
            created = await client.post("/v1/sessions", json={}, headers=ALICE)
            session_id = created.json()["id"]
            path = f"/v1/sessions/{session_id}/artifacts/photo.png"
            first = await client.post(
                path, content=png, headers=ALICE | {"content-type": "image/png"}
            )
            second = await client.post(
                path, content=png + b"2", headers=ALICE | {"content-type": "image/png"}
            )
            bad_name = await client.post(
                f"/v1/sessions/{session_id}/artifacts/%20", content=b"x", headers=ALICE
            )
        async with _notes_server(data_dir, fake_gemini.url) as client:
            old = await client.get(f"{path}?version=0", headers=ALICE)
            latest = await client.get(path, headers=ALICE)

    assert (first.status_code, first.json()["version"]) == (201, 0)
    assert second.json() == {
        "name": "photo.png",
        "version": 1,
        "mime_type": "image/png",
        "size": len(png) + 1,
        "url": f"{path}?version=1",
    }
    assert (bad_name.status_code, bad_name.json()["error"]["field"]) == (400, "name")
    assert (old.content, old.headers["content-type"]) == (png, "image/png")
    assert old.headers["content-disposition"].startswith("inline")
    assert latest.content == png + b"2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def gcs_emulator() -> Iterator[str]:
    """A GCS emulator on 127.0.0.1 with the bucket `artifacts`; yields its URL."""
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket="artifacts")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


async def test_artifacts_saved_on_one_replica_are_served_by_another(
    tmp_path: Path, redis_url: str, postgres_url: str, gcs_emulator: str
) -> None:
    env = {
        "ADKSTREAM_DATABASE_URL": postgres_url,
        "ADKSTREAM_REDIS_URL": redis_url,
        "ADKSTREAM_REDIS_PREFIX": f"adkstream-test-{uuid.uuid4().hex[:8]}",
        "ADKSTREAM_ARTIFACT_URI": "gs://artifacts",
        "ADKSTREAM_API_KEYS": KEYS,
        "STORAGE_EMULATOR_HOST": gcs_emulator,
    }
    agent = ("tests.api.artifact_agent:root_agent",)
    async with (
        asyncio.timeout(120),
        two_replicas(tmp_path, env=env, args=agent, client_timeout_s=30) as replicas,
    ):
        on_a, on_b = replicas.on_a, replicas.on_b
        events = await _run(on_a, "save_note please")
        session_id = _session_of(events)
        listed = await on_b.get(f"/v1/sessions/{session_id}/artifacts", headers=ALICE)
        [saved] = [e for e in events if isinstance(e, ArtifactSaved)]
        fetched = await on_b.get(saved.url, headers=ALICE)
        as_bob = await on_b.get(saved.url, headers=BOB)
        later = await _run(on_b, "read_note please", session_id=session_id)

    assert [a["name"] for a in listed.json()["artifacts"]] == [NOTE_NAME]
    assert (fetched.status_code, fetched.text) == (200, "example")
    assert as_bob.status_code == 404
    [read] = [e for e in later if isinstance(e, ToolResult)]
    assert json.dumps(read.result) == json.dumps({"note": "example"})
