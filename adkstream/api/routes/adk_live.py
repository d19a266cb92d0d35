"""ADK's `/run_live` WebSocket (`adk api_server`), on adkstream's live runs.

The same query (`app_name`, `user_id`, `session_id`, `modalities`) and frames as ADK's:
the client sends `LiveRequest` JSON, the server sends each ADK Event as ADK's JSON
(the run's `adk.event`s; see `runner/adk_events.py`). The socket is served by the native
live socket's connection (`routes/live.py`), so it has the same limits, idle timeout and
endings. What differs from ADK's own route:
- the run is logged like any run (`GET /v1/runs/{run_id}/events` reads it), and its
  `LiveRequestQueue` is always closed when it ends;
- a refusal closes the socket with a reason (1008; 1002 "Session not found" as ADK)
  before any run starts; with auth on, a `user_id` that is not the caller's is refused
  as an unknown session is (no frame confirms that it exists);
- a frame that is not a `LiveRequest` closes the socket (1008, naming the field) where
  ADK stops reading the client without saying so;
- a failed run closes with 1011 and its error code, never the exception's text.
"""

from __future__ import annotations

import contextlib
import json

from google.adk.agents.live_request_queue import LiveRequest
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from adkstream.api.adk_rest_access import app_agent, checked_user, find_session
from adkstream.api.errors import error_response
from adkstream.api.inputs import host_of
from adkstream.api.routes.live import POLICY, TRY_AGAIN, LiveConnection, Stop, live_config
from adkstream.errors import AdkStreamError, NotFoundError, UnavailableError
from adkstream.events import AdkEvent, StreamEvent
from adkstream.runner.live import Modality

SESSION_NOT_FOUND = 1002
"""The close code ADK's `/run_live` gives an unknown session."""


async def run_live(websocket: WebSocket) -> None:
    host = host_of(websocket)
    query = websocket.query_params
    await websocket.accept()
    try:
        agent = app_agent(websocket, query.get("app_name"), field="app_name")
        user = checked_user(websocket, query.get("user_id", ""), field="user_id")
        session_id = query.get("session_id", "")
        await find_session(websocket, agent, user, session_id, with_events=False)
        run = await host.live.start(
            agent=agent,
            user_id=user,
            session_id=session_id,
            coalesce_ms=host.settings.coalesce_ms,
            modality=_modality(query.getlist("modalities")),
            adk_events=True,
        )
    except NotFoundError as exc:
        if exc.field in ("session_id", "user_id"):
            reason = f"Session not found: {query.get('session_id', '')}"
            await _close(websocket, SESSION_NOT_FOUND, reason)
        else:
            await _close(websocket, POLICY, exc.message)
        return
    except UnavailableError as exc:
        await _close(websocket, TRY_AGAIN, exc.message)
        return
    except AdkStreamError as exc:
        await _close(websocket, POLICY, exc.message)
        return
    async with host.live.connection():
        await AdkLiveConnection(websocket, host, run, live_config(websocket)).serve()


def _modality(modalities: list[str]) -> Modality:
    """ADK's `modalities` (default `AUDIO`, as ADK's route): text only when TEXT alone."""
    return "text" if [m.upper() for m in modalities] == ["TEXT"] else "audio"


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected, RuntimeError):
        await websocket.close(code, reason.encode()[:123].decode(errors="ignore"))


class AdkLiveConnection(LiveConnection):
    """The live connection in ADK's frames: `LiveRequest` in, ADK Event JSON out."""

    async def _take(self, message: Message) -> Stop | None:
        try:
            request = LiveRequest.model_validate_json(message.get("text") or "")
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "frame"
            return Stop("policy", f"not a LiveRequest: {where}")
        if request.close:
            self.run.close()
        else:
            self.run.send(request)
        return None

    def _event_text(self, event: StreamEvent) -> str | None:
        if isinstance(event, AdkEvent):
            return json.dumps(event.event, separators=(",", ":"))
        return None


async def not_upgraded(request: Request) -> Response:
    """A plain HTTP request to the WebSocket's path: what the socket would refuse (an
    unknown app), else 426 saying how to connect."""
    app_agent(request, request.query_params.get("app_name"), field="app_name")
    return error_response(
        426,
        "upgrade_required",
        "/run_live is a WebSocket: connect with ws:// (Upgrade: websocket)",
        headers={"Upgrade": "websocket"},
    )


routes = [WebSocketRoute("/run_live", run_live), Route("/run_live", not_upgraded)]
