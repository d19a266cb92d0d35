"""An agent whose model has no credentials: a start-up warning naming it and what to
set, runs that end `run.failed` with `model_auth_error`, and only JSON lines on stderr."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import pytest

from tests.processes import serve_process

AGENT_REF = "tests.api.keyless_agent:root_agent"
TIMEOUT_S = 60.0


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)


def _records(lines: list[str]) -> list[dict[str, object]]:
    """Every stderr line, which must each be one JSON object."""
    records = []
    for line in lines:
        assert line.startswith("{"), "".join(lines)
        records.append(json.loads(line))
    return records


async def test_keyless_model_warns_and_fails_with_model_auth_error(tmp_path: Path) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_process(tmp_path, args=(AGENT_REF,)) as server:
        warnings = [r for r in _records(server.output) if r.get("event") == "model_credentials"]
        assert len(warnings) == 1, server.output
        assert warnings[0]["agent"] == "keyless"
        assert warnings[0]["level"] == "warning"
        assert "GOOGLE_API_KEY" in str(warnings[0]["msg"])
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT_S) as client:
            response = await client.post(
                "/v1/runs",
                json={"message": "hello"},
                headers={"Accept": "application/x-ndjson"},
            )
        events = [json.loads(line) for line in response.text.splitlines() if line]
        assert events[-1]["type"] == "run.failed", events
        assert events[-1]["error"]["code"] == "model_auth_error"
        await server.stop()
    failed = [r for r in _records(server.output) if r.get("error_code") == "model_auth_error"]
    assert failed, server.output  # and every line JSON: no plain-text traceback (_records)


async def test_run_in_process_fails_with_model_auth_error_in_one_line_logs() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adkstream",
        "run",
        "--agent-ref",
        AGENT_REF,
        "hello",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    async with asyncio.timeout(TIMEOUT_S):
        out, err = await process.communicate()
    assert process.returncode == 1, err
    assert "(failed: model_auth_error: " in out.decode()
    _records(err.decode().splitlines())
