"""The ASGI apps the benchmark compares, each built for one `ModelSpec`.

- `adkstream`: the product, `adkstream.api.create_app` on its embedded default storage.
- `raw_adk`: the naive endpoint, a Starlette route that calls `Runner.run_async` itself.
- `adk_api`: ADK's own api server, `google.adk.cli.fast_api.get_fast_api_app`, in memory.
- `floor`: a Starlette SSE route that frames the same model's responses, without ADK;
  for the `gemini` model it proxies the fake Gemini API's SSE stream with httpx and
  re-frames it (no genai, no ADK).
- `adkstream_lean_off`: adkstream with `ADKSTREAM_LEAN_GEMINI` off (genai builds every chunk).
Every app answers `GET /healthz`, which the runner polls until the server is ready.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from google.adk.agents import LlmAgent
from google.adk.agents.run_config import RunConfig, StreamingMode  # type: ignore[attr-defined]
from google.adk.cli.utils.base_agent_loader import BaseAgentLoader
from google.adk.models.llm_request import LlmRequest
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.genai import types
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from adkstream.agents.content import visible_text
from bench.model import GATE_FILE, YIELD_LOG, ModelSpec, build_agent, build_model

APP_NAME = "assistant"
USER_ID = "bench"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def adkstream_app(spec: ModelSpec, data_dir: Path, *, lean_gemini: bool = True) -> ASGIApp:
    """adkstream with its defaults (SQLite sessions and log under `data_dir`).

    `ADKSTREAM_DATABASE_URL`, `ADKSTREAM_REDIS_URL` and `ADKSTREAM_REDIS_PREFIX` in the
    environment (which `bench.proc` passes only when a scenario asks) still apply: the
    settings below leave them to the environment.
    """
    from adkstream.agents import AgentRegistry, HostedAgent
    from adkstream.api import create_app
    from adkstream.settings import Settings

    settings = Settings(
        data_dir=data_dir,
        offline_tokens_per_s=1000 / spec.interval_ms if spec.interval_ms else 0,
        offline_reply_tokens=spec.chunks,
        # Lifted so the load scenarios measure throughput, not admission control; the
        # limiter and the slot accounting still run on every request.
        max_runs=10_000,
        max_runs_per_user=10_000,
        rate_limit="1000000/minute",
        lean_gemini=lean_gemini,
    )
    if spec.kind == "offline":
        return create_app(settings)
    agent = build_agent(spec, data_dir / YIELD_LOG, data_dir / GATE_FILE)
    return create_app(settings, AgentRegistry([HostedAgent.of(agent)]))


class RawAdkEndpoint:
    """`POST /run {"message"}`: a new in-memory session, one `data:` frame per ADK event."""

    def __init__(self, agent: LlmAgent) -> None:
        self.sessions = InMemorySessionService()
        self.runner = Runner(app_name=APP_NAME, agent=agent, session_service=self.sessions)
        self.run_config = RunConfig(streaming_mode=StreamingMode.SSE)

    async def run(self, request: Request) -> Response:
        body = await request.json()
        session = await self.sessions.create_session(app_name=APP_NAME, user_id=USER_ID)
        message = types.Content(role="user", parts=[types.Part(text=body["message"])])
        return StreamingResponse(
            self._frames(session.id, message), media_type="text/event-stream", headers=SSE_HEADERS
        )

    async def _frames(self, session_id: str, message: types.Content) -> AsyncIterator[str]:
        events = self.runner.run_async(
            user_id=USER_ID, session_id=session_id, new_message=message, run_config=self.run_config
        )
        # Framing written by hand on purpose: this is the naive endpoint being measured.
        async for event in events:
            yield f"data: {event.model_dump_json()}\n\n"


def raw_adk_app(spec: ModelSpec, data_dir: Path) -> ASGIApp:
    endpoint = RawAdkEndpoint(build_agent(spec, data_dir / YIELD_LOG))
    return Starlette(
        routes=[Route("/healthz", healthz), Route("/run", endpoint.run, methods=["POST"])]
    )


class _Loader(BaseAgentLoader):
    """Serves the one benchmark agent to ADK's api server (no agents directory to scan)."""

    def __init__(self, agent: LlmAgent) -> None:
        self.agent = agent

    def load_agent(self, agent_name: str) -> LlmAgent:
        if agent_name != APP_NAME:
            raise ValueError(f"no agent {agent_name!r}")
        return self.agent

    def list_agents(self) -> list[str]:
        return [APP_NAME]


def adk_api_app(spec: ModelSpec, data_dir: Path) -> ASGIApp:
    """ADK's api server with in-memory sessions, artifacts and memory (no web UI)."""
    from google.adk.cli.fast_api import get_fast_api_app

    app = get_fast_api_app(
        agents_dir=str(data_dir),
        agent_loader=_Loader(build_agent(spec, data_dir / YIELD_LOG)),
        session_service_uri="memory://",
        use_local_storage=False,
        web=False,
    )
    app.add_route("/healthz", healthz)
    return app


class FloorEndpoint:
    """`POST /run`: one frame per response of the same fake model, without ADK.

    The issue asks for every server "with the same fake model", the floor included: it
    iterates the model the other servers' agents run and frames each partial response as
    a delta and the final one as the completed message, so what it costs beyond the
    model is the transport alone.
    """

    def __init__(self, spec: ModelSpec, yield_log: Path) -> None:
        self.model = build_model(spec, yield_log)

    async def run(self, request: Request) -> Response:
        await request.body()
        return StreamingResponse(
            self._frames(), media_type="text/event-stream", headers=SSE_HEADERS
        )

    async def _frames(self) -> AsyncIterator[bytes]:
        seq = 0
        responses = self.model.generate_content_async(LlmRequest(), stream=True)
        async for response in responses:
            text = visible_text(response)
            if response.partial:
                seq += 1
                data = json.dumps({"type": "message.delta", "seq": seq, "text": text})
            else:
                data = json.dumps({"type": "message.completed", "text": text})
            yield b"data: %s\n\n" % data.encode()


class GeminiFloorEndpoint:
    """`POST /run`: the fake Gemini API's SSE stream proxied with httpx and re-framed, one
    delta per chunk and the completed message at the end: the transport alone, on the
    same HTTP stream the other servers' `Gemini` class reads."""

    def __init__(self, gemini_url: str) -> None:
        import httpx

        self.url = f"{gemini_url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=1000)
        self.client = httpx.AsyncClient(timeout=None, limits=limits)

    async def run(self, request: Request) -> Response:
        body = await request.json()
        return StreamingResponse(
            self._frames(body["message"]), media_type="text/event-stream", headers=SSE_HEADERS
        )

    async def _frames(self, message: str) -> AsyncIterator[bytes]:
        seq, texts = 0, []
        request = {"contents": [{"role": "user", "parts": [{"text": message}]}]}
        async with self.client.stream("POST", self.url, json=request) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                chunk = json.loads(line[6:])
                parts = chunk["candidates"][0]["content"]["parts"]
                text = "".join(part.get("text", "") for part in parts)
                texts.append(text)
                seq += 1
                data = json.dumps({"type": "message.delta", "seq": seq, "text": text})
                yield b"data: %s\n\n" % data.encode()
        data = json.dumps({"type": "message.completed", "text": "".join(texts)})
        yield b"data: %s\n\n" % data.encode()


def floor_app(spec: ModelSpec, data_dir: Path) -> ASGIApp:
    run: Callable[[Request], Awaitable[Response]]
    if spec.kind == "gemini" and spec.gemini_url:
        run = GeminiFloorEndpoint(spec.gemini_url).run
    else:
        run = FloorEndpoint(spec, data_dir / YIELD_LOG).run
    return Starlette(routes=[Route("/healthz", healthz), Route("/run", run, methods=["POST"])])


def adkstream_lean_off_app(spec: ModelSpec, data_dir: Path) -> ASGIApp:
    return adkstream_app(spec, data_dir, lean_gemini=False)


BUILDERS: dict[str, Callable[[ModelSpec, Path], ASGIApp]] = {
    "adkstream": adkstream_app,
    "raw_adk": raw_adk_app,
    "adk_api": adk_api_app,
    "floor": floor_app,
    "adkstream_lean_off": adkstream_lean_off_app,
}
