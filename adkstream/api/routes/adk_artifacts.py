"""ADK's REST API artifacts: `/apps/{app_name}/users/{user_id}/sessions/{session_id}/artifacts/...`.

List, load (latest, `?version=N`, or `/versions/{v}`), versions and their metadata,
save and delete, answered as ADK answers them (genai `Part` and ADK `ArtifactVersion`
JSON, camelCase). Artifact names may contain `/`: the version routes come first.
"""

from __future__ import annotations

from google.adk.cli.api_server import SaveArtifactRequest
from google.adk.errors.input_validation_error import InputValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adkstream.api.adk_rest_access import path_scope
from adkstream.api.inputs import host_of, read_model
from adkstream.api.routes import resource
from adkstream.errors import NotFoundError, RequestError


def _where(request: Request) -> dict[str, str]:
    """The service's keyword arguments for the path's app, user and session."""
    agent, user = path_scope(request)
    return {
        "app_name": agent.name,
        "user_id": user,
        "session_id": request.path_params["session_id"],
    }


def _version(raw: str | None, *, field: str) -> int | None:
    if raw is None or raw == "latest":
        return None
    if not raw.isdigit():
        raise RequestError(f"{field} must be a version number or latest", field=field)
    return int(raw)


async def list_names(request: Request) -> Response:
    names = await host_of(request).artifact_service.list_artifact_keys(**_where(request))
    return JSONResponse(names)


async def load(request: Request) -> Response:
    version = _version(request.query_params.get("version"), field="version")
    return await _load(request, version)


async def load_version(request: Request) -> Response:
    version = _version(request.path_params["version_id"], field="version_id")
    return await _load(request, version)


async def _load(request: Request, version: int | None) -> Response:
    part = await host_of(request).artifact_service.load_artifact(
        **_where(request), filename=request.path_params["name"], version=version
    )
    if part is None:
        raise NotFoundError("Artifact not found", code="artifact_not_found")
    return JSONResponse(part.model_dump(mode="json", exclude_none=True, by_alias=True))


async def list_versions(request: Request) -> Response:
    versions = await host_of(request).artifact_service.list_versions(
        **_where(request), filename=request.path_params["name"]
    )
    return JSONResponse(versions)


async def versions_metadata(request: Request) -> Response:
    found = await host_of(request).artifact_service.list_artifact_versions(
        **_where(request), filename=request.path_params["name"]
    )
    return JSONResponse(
        [v.model_dump(mode="json", exclude_none=True, by_alias=True) for v in found]
    )


async def version_metadata(request: Request) -> Response:
    version = _version(request.path_params["version_id"], field="version_id")
    found = await host_of(request).artifact_service.get_artifact_version(
        **_where(request), filename=request.path_params["name"], version=version
    )
    if found is None:
        raise NotFoundError("Artifact version not found", code="artifact_not_found")
    return JSONResponse(found.model_dump(mode="json", exclude_none=True, by_alias=True))


async def save(request: Request) -> Response:
    """`POST .../artifacts` `{filename, artifact: Part, customMetadata?}`: the new version's
    metadata."""
    where = _where(request)
    body = await read_model(request, SaveArtifactRequest)
    service = host_of(request).artifact_service
    try:
        version = await service.save_artifact(
            **where,
            filename=body.filename,
            artifact=body.artifact,
            custom_metadata=body.custom_metadata,
        )
    except InputValidationError as exc:
        raise RequestError(str(exc), code="invalid_field", field="filename", status=422) from None
    found = await service.get_artifact_version(**where, filename=body.filename, version=version)
    if found is None:
        raise NotFoundError("Artifact version not found", code="artifact_not_found")
    return JSONResponse(found.model_dump(mode="json", exclude_none=True, by_alias=True))


async def delete(request: Request) -> Response:
    await host_of(request).artifact_service.delete_artifact(
        **_where(request), filename=request.path_params["name"]
    )
    return JSONResponse(None)


_BASE = "/apps/{app_name}/users/{user_id}/sessions/{session_id}/artifacts"
_ONE = _BASE + "/{name:path}"
routes = [
    resource(_BASE, GET=list_names, POST=save),
    Route(_ONE + "/versions/metadata", versions_metadata, methods=["GET"]),
    Route(_ONE + "/versions/{version_id}/metadata", version_metadata, methods=["GET"]),
    Route(_ONE + "/versions/{version_id}", load_version, methods=["GET"]),
    Route(_ONE + "/versions", list_versions, methods=["GET"]),
    resource(_ONE, GET=load, DELETE=delete),
]
