"""`/openapi.json`: the HTTP API described from the same pydantic models the routes use."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from adkstream import __version__
from adkstream.api.bodies import (
    AgentList,
    ErrorBody,
    RunAccepted,
    RunBody,
    RunResult,
    RunView,
    SessionBody,
)
from adkstream.api.openapi_adk import adk_paths
from adkstream.api.openapi_more import other_paths, protocol_paths
from adkstream.events import StreamEvent
from adkstream.runner.answers import AnswersBody
from adkstream.runner.sessions import SessionView

_REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel] | str) -> dict[str, str]:
    name = model if isinstance(model, str) else model.__name__
    return {"$ref": _REF.format(model=name)}


def _json(model: type[BaseModel] | str) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model)}}


_ERROR = {"description": "Error", "content": _json(ErrorBody)}
_STREAM = {
    # Each SSE event (OpenAPI 3.2's reading): `id` is the seq, `event` the type, and
    # `data` one StreamEvent as JSON.
    "text/event-stream": {
        "schema": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "pattern": "^[0-9]+$"},
                "event": {"type": "string"},
                "retry": {"type": "integer"},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": _ref("StreamEvent"),
                },
            },
        }
    },
    "application/x-ndjson": {
        "schema": {"type": "string", "description": "One StreamEvent JSON object per line"}
    },
}
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}
_SESSION_ID = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses | {"default": _ERROR}}
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": _json(body)}
    if params:
        op["parameters"] = params
    return op


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route the app serves (a test holds it to
    `app.routes`): the native v1 API here, the rest in `openapi_more`."""
    _, defs = models_json_schema(
        [
            (m, "validation" if m in (RunBody, SessionBody, AnswersBody) else "serialization")
            for m in (
                RunBody,
                AnswersBody,
                SessionBody,
                RunAccepted,
                RunResult,
                RunView,
                AgentList,
                ErrorBody,
                SessionView,
            )
        ],
        ref_template=_REF,
    )
    schemas = dict(defs.get("$defs", {}))
    event_schema = TypeAdapter(StreamEvent).json_schema(ref_template=_REF)
    schemas.update(event_schema.pop("$defs", {}))
    schemas["StreamEvent"] = event_schema
    after = {
        "name": "after",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
    }
    version = {
        "name": "version",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
    }
    last_event_id = {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
    paths: dict[str, Any] = {
        "/healthz": {"get": _op("Liveness", {"200": {"description": "ok"}})},
        "/readyz": {
            "get": _op(
                "Readiness: the run log and the session store answer",
                {
                    "200": {"description": "ready"},
                    "503": {"description": "a store does not answer (named in `checks`)"},
                },
            )
        },
        "/v1/agents": {
            "get": _op(
                "The hosted agents", {"200": {"description": "agents", "content": _json(AgentList)}}
            )
        },
        "/v1/sessions": {
            "post": _op(
                "Create a session",
                {"201": {"description": "created", "content": _json(SessionView)}},
                body=SessionBody,
                body_required=False,
            ),
            "get": _op("The caller's sessions", {"200": {"description": "sessions"}}),
        },
        "/v1/sessions/{session_id}": {
            "get": _op(
                "A session with its state and messages",
                {"200": {"description": "session", "content": _json(SessionView)}},
                params=[_SESSION_ID],
            ),
            "delete": _op(
                "Delete a session", {"204": {"description": "deleted"}}, params=[_SESSION_ID]
            ),
        },
        "/v1/sessions/{session_id}/runs": {
            "get": _op(
                "The runs of a session", {"200": {"description": "runs"}}, params=[_SESSION_ID]
            ),
        },
        "/v1/sessions/{session_id}/artifacts": {
            "get": _op(
                "The artifacts of a session (name, versions, latest, url)",
                {"200": {"description": "artifacts"}},
                params=[_SESSION_ID],
            ),
        },
        "/v1/sessions/{session_id}/artifacts/{name}": {
            "get": _op(
                "An artifact's content, with its content type (the latest, or ?version=N)",
                {"200": {"description": "the artifact's bytes"}},
                params=[_SESSION_ID, _NAME, version],
            ),
            "post": _op(
                "Upload a new version of an artifact: the raw body, with its Content-Type",
                {"201": {"description": "saved: name, version, mime_type, size, url"}},
                params=[_SESSION_ID, _NAME],
            ),
        },
        "/v1/runs": {
            "post": _op(
                "Start a run and stream it (SSE, NDJSON) or wait for its result (JSON)",
                {
                    "200": {"description": "the run", "content": _STREAM | _json(RunResult)},
                    "202": {"description": "background run started", "content": _json(RunAccepted)},
                },
                body=RunBody,
            )
        },
        "/v1/runs/{run_id}": {
            "get": _op(
                "A run's status and result",
                {"200": {"description": "run", "content": _json(RunView)}},
                params=[_RUN_ID],
            ),
        },
        "/v1/runs/{run_id}/events": {
            "get": _op(
                "Replay a run's events after an id, then follow it",
                {
                    "200": {"description": "events", "content": _STREAM},
                    "204": {"description": "the run ended and nothing follows that id"},
                },
                params=[_RUN_ID, after, last_event_id],
            )
        },
        "/v1/runs/{run_id}/cancel": {
            "post": _op("Cancel a run", {"202": {"description": "cancelling"}}, params=[_RUN_ID]),
        },
        "/v1/runs/{run_id}/answers": {
            "post": _op(
                "Answer a waiting run's requests: a new run continues ADK's paused invocation",
                {
                    "200": {"description": "the new run", "content": _STREAM | _json(RunResult)},
                    "202": {"description": "background run started", "content": _json(RunAccepted)},
                },
                body=AnswersBody,
                params=[_RUN_ID],
            ),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "adkstream", "version": __version__},
        "paths": paths | protocol_paths() | other_paths() | adk_paths(),
        "components": {"schemas": schemas},
    }
