"""The routes of `/openapi.json` for ADK's own REST API (`adk api_server`'s paths and
bodies, served on adkstream's runs). Bodies are ADK's pydantic models (camelCase or
snake_case): described as JSON objects with the model's name, not re-specified here."""

from __future__ import annotations

from typing import Any

from adkstream.api.openapi_more import _OBJECT, _SSE, _object_body, _op, _path

_APP_USER = [_path("app_name"), _path("user_id")]
_SESSION = [*_APP_USER, _path("session_id")]
_ARTIFACT = [*_SESSION, _path("name")]
_SESSIONS = "/apps/{app_name}/users/{user_id}/sessions"
_ARTIFACTS = _SESSIONS + "/{session_id}/artifacts"
_ONE = _ARTIFACTS + "/{name}"
_JSON = {"200": {"description": "as ADK answers", "content": _OBJECT}}
_RUN_ID = [_path("run_id")]
_NAME = {"type": "string", "minLength": 1}
_NAMES_OR_APPS = {
    "application/json": {
        "schema": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]}
    }
}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": True, "schema": schema}


def _body(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON body: what ADK requires of it (its other fields, in either case, allowed)."""
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": {"type": "object", **schema}}},
    }


_RUN_BODY = _body(
    "ADK's RunAgentRequest (camelCase or snake_case): appName, userId, sessionId, "
    "newMessage, streaming?, stateDelta?, invocationId?, ...",
    {
        "required": ["appName", "userId", "sessionId", "newMessage"],
        "properties": {
            "appName": _NAME,
            "userId": _NAME,
            "sessionId": _NAME,
            "newMessage": {
                "type": "object",
                "description": "a genai Content: {role, parts: [{text}, ...]}",
                "additionalProperties": False,
                "required": ["role", "parts"],
                "properties": {
                    "role": {"const": "user"},
                    "parts": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["text"],
                            "additionalProperties": False,
                            "properties": {"text": _NAME},
                        },
                    },
                },
            },
            "streaming": {"type": "boolean"},
        },
    },
)


def adk_paths() -> dict[str, Any]:
    """ADK's REST API: runs, sessions, artifacts, the server's facts (README: "ADK's REST API")."""
    return _run_paths() | _session_paths() | _artifact_paths() | _meta_paths()


def _run_paths() -> dict[str, Any]:
    run_body = _RUN_BODY
    return {
        "/run": {
            "post": _op("ADK: run an agent, answer its Events as one array", _JSON, body=run_body)
        },
        "/run_sse": {
            "post": _op(
                "ADK: run an agent, stream its Events (`data:` lines, with `id:` for resume)",
                {"200": {"description": "ADK Events", "content": _SSE}},
                body=run_body,
            )
        },
        "/run_sse/{run_id}": {
            "get": _op(
                "ADK: resume a /run_sse stream after Last-Event-ID (adkstream's addition)",
                {
                    "200": {"description": "ADK Events", "content": _SSE},
                    "204": {"description": "the run ended and nothing follows that id"},
                },
                params=_RUN_ID,
            )
        },
        "/run_sse/{run_id}/cancel": {
            "post": _op(
                "ADK: cancel a run (adkstream's addition)",
                {"202": {"description": "cancelling"}},
                params=_RUN_ID,
            )
        },
        "/run_live": {
            "get": _op(
                "ADK: a live (bidi) run over a WebSocket",
                {
                    "101": {"description": "switching protocols: the WebSocket opens"},
                    "426": {
                        "description": "a plain HTTP request: upgrade to a WebSocket",
                        "content": _OBJECT,
                    },
                },
                params=[
                    _query("app_name", _NAME),
                    _query("user_id", _NAME),
                    _query("session_id", _NAME),
                ],
                description="A WebSocket upgrade with ADK's query (`app_name`, `user_id`, "
                "`session_id`, `modalities`): `LiveRequest` JSON frames in, ADK Event JSON "
                "out. Close codes: 1002 unknown session, 1008 refused or a frame that is "
                "not a LiveRequest, 1011 the run failed, 1000 at the end of the run.",
            )
        },
    }


def _session_paths() -> dict[str, Any]:
    return {
        _SESSIONS: {
            "get": _op("ADK: a user's sessions of an app", _JSON, params=_APP_USER),
            "post": _op(
                "ADK: create a session",
                _JSON,
                params=_APP_USER,
                body=_object_body("ADK's CreateSessionRequest: sessionId?, state?"),
            ),
        },
        _SESSIONS + "/{session_id}": {
            "get": _op("ADK: a session with its events and state", _JSON, params=_SESSION),
            "post": _op(
                "ADK: create a session with this id (the body is its state)",
                _JSON,
                params=_SESSION,
            ),
            "patch": _op(
                "ADK: change a session's state",
                _JSON,
                params=_SESSION,
                body=_object_body("ADK's UpdateSessionRequest: stateDelta"),
            ),
            "delete": _op("ADK: delete a session", _JSON, params=_SESSION),
        },
    }


def _artifact_paths() -> dict[str, Any]:
    version = [
        *_ARTIFACT,
        {
            "name": "version_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
    ]
    return {
        _ARTIFACTS: {
            "get": _op("ADK: a session's artifact names", _JSON, params=_SESSION),
            "post": _op(
                "ADK: save an artifact",
                _JSON,
                params=_SESSION,
                body=_object_body("ADK's SaveArtifactRequest: filename, artifact (a Part)"),
            ),
        },
        _ONE: {
            "get": _op("ADK: an artifact (latest, or ?version=N)", _JSON, params=_ARTIFACT),
            "delete": _op("ADK: delete an artifact", _JSON, params=_ARTIFACT),
        },
        _ONE + "/versions": {"get": _op("ADK: an artifact's versions", _JSON, params=_ARTIFACT)},
        _ONE + "/versions/metadata": {
            "get": _op("ADK: an artifact's versions' metadata", _JSON, params=_ARTIFACT)
        },
        _ONE + "/versions/{version_id}": {
            "get": _op("ADK: one version of an artifact", _JSON, params=version)
        },
        _ONE + "/versions/{version_id}/metadata": {
            "get": _op("ADK: one version's metadata", _JSON, params=version)
        },
    }


def _meta_paths() -> dict[str, Any]:
    return {
        "/list-apps": {
            "get": _op(
                "ADK: the hosted agents' names (?detailed=true: {apps: [AppInfo]})",
                {"200": {"description": "names, or the details", "content": _NAMES_OR_APPS}},
            )
        },
        "/apps/{app_name}/app-info": {
            "get": _op("ADK: an app's agents and tools", _JSON, params=[_path("app_name")])
        },
        "/health": {"get": _op("ADK: liveness", _JSON)},
        "/version": {"get": _op("ADK: ADK's and adkstream's versions", _JSON)},
        "/config/telemetry": {
            "get": _op("ADK: the dev UI's telemetry consent", _JSON),
            "post": _op(
                "ADK: set the telemetry consent (needs X-ADK-Telemetry-Request: true)",
                _JSON,
                params=[
                    {
                        "name": "X-ADK-Telemetry-Request",
                        "in": "header",
                        "required": True,
                        "schema": {"const": "true"},
                    }
                ],
                body=_body(
                    "{telemetry: bool}",
                    {"required": ["telemetry"], "properties": {"telemetry": {"type": "boolean"}}},
                ),
            ),
        },
    }
