"""The routes of `/openapi.json` beyond the native v1 API: the protocol surfaces, live,
the chat page and its files, metrics and the document itself.

Protocol bodies belong to their protocols (AG-UI's RunAgentInput, the Vercel AI SDK's
chat request, OpenAI's chat completion request): they are described as JSON objects with
a pointer to the protocol, not re-specified here (README: "Protocol surfaces").
"""

from __future__ import annotations

from typing import Any

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_ERROR = {
    "description": "Error",
    "content": {"application/json": {"schema": _ERROR_REF}},
}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _object_body(description: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses | {"default": _ERROR}}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    return op


def _text(media_type: str) -> dict[str, Any]:
    return {media_type: {"schema": {"type": "string"}}}


_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_SSE = _text("text/event-stream")


def protocol_paths() -> dict[str, Any]:
    """AG-UI, the Vercel AI SDK and OpenAI's chat completions, over the same runs."""
    agent = _path("agent")
    return {
        "/v1/agui/{agent}": {
            "post": _op(
                "AG-UI: run an agent for an AG-UI client (RunAgentInput in, AG-UI events out)",
                {"200": {"description": "AG-UI events", "content": _SSE}},
                params=[agent],
                body=_object_body("AG-UI RunAgentInput (threadId is the session id)"),
            )
        },
        "/v1/vercel/{agent}": {
            "post": _op(
                "Vercel AI SDK: a chat request in, a UI message stream out",
                {"200": {"description": "UI message stream", "content": _SSE}},
                params=[agent],
                body=_object_body("The AI SDK's chat request: {id, messages, ...}"),
            )
        },
        "/v1/vercel/{agent}/{chat_id}/stream": {
            "get": _op(
                "Vercel AI SDK: resume the chat's active stream",
                {
                    "200": {"description": "UI message stream", "content": _SSE},
                    "204": {"description": "no active stream"},
                },
                params=[agent, _path("chat_id")],
            )
        },
        "/v1/chat/completions": {
            "post": _op(
                "OpenAI chat completions: `model` is the agent (stream or not)",
                {"200": {"description": "a completion or its chunks", "content": _OBJECT | _SSE}},
                body=_object_body("OpenAI's chat completion request"),
            )
        },
        "/v1/models": {
            "get": _op(
                "OpenAI: the agents as models",
                {"200": {"description": "models", "content": _OBJECT}},
            )
        },
        "/v1/models/{model}": {
            "get": _op(
                "OpenAI: one agent as a model",
                {"200": {"description": "model", "content": _OBJECT}},
                params=[_path("model")],
            )
        },
    }


def other_paths() -> dict[str, Any]:
    """Live (WebSocket), the chat page and its files, metrics, this document."""
    return {
        "/v1/sessions/{session_id}/live": {
            "get": _op(
                "Live (bidi) run over a WebSocket",
                {"101": {"description": "switching protocols: the WebSocket opens"}},
                params=[_path("session_id")],
                description="A WebSocket upgrade (`GET` with `Upgrade: websocket`); JSON text "
                "frames both ways as the README's Live section lists them. Close codes: 1008 "
                "refused (credentials, origin, frame rate), 1000 at the end of the run.",
            )
        },
        "/": {
            "get": _op(
                "The chat page", {"200": {"description": "page", "content": _text("text/html")}}
            )
        },
        "/favicon.ico": {
            "get": _op(
                "The page's icon",
                {"200": {"description": "icon", "content": _text("image/svg+xml")}},
            )
        },
        "/static/{path}": {
            "get": _op(
                "The chat page's scripts, styles and images",
                {"200": {"description": "a file"}},
                params=[_path("path")],
            )
        },
        "/metrics": {
            "get": _op(
                "Prometheus metrics",
                {"200": {"description": "text exposition format", "content": _text("text/plain")}},
            )
        },
        "/openapi.json": {
            "get": _op(
                "This document (OpenAPI 3.1)",
                {"200": {"description": "the document", "content": _OBJECT}},
            )
        },
    }
