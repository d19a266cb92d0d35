"""A session's artifacts: list them, fetch one (latest or a version), upload one.

An artifact belongs to the caller's session: another user's session, or one that does
not exist, answers 404, as everywhere. The content goes out with the content type it
was saved with, `Content-Disposition: inline` for images and text (a browser shows
them) and `attachment` otherwise, and `X-Content-Type-Options: nosniff`. An upload is
the raw body (`PUT`-like, named by the path) with its `Content-Type`; it makes a new
version, as a tool's `save_artifact` does.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adkstream.api.inputs import current_user, host_of, read_body
from adkstream.api.routes import resource
from adkstream.errors import NotFoundError, RequestError
from adkstream.runner.artifacts import DEFAULT_MIME_TYPE, ArtifactFile, SessionArtifacts
from adkstream.runner.translate import artifact_url

_INLINE_PREFIXES = ("image/", "text/", "audio/", "video/")
_MAX_NAME = 256


async def _artifacts(request: Request) -> SessionArtifacts:
    host = host_of(request)
    user = current_user(request)
    session_id = request.path_params["session_id"]
    agent = await host.sessions.agent_of(user, session_id)
    if agent is None:
        raise NotFoundError(f"no session {session_id!r}", code="session_not_found")
    return SessionArtifacts(host.artifact_service, agent.name, user, session_id)


async def list_artifacts(request: Request) -> Response:
    artifacts = await _artifacts(request)
    listed = []
    for name in sorted(await artifacts.names()):
        versions = sorted(await artifacts.versions(name))
        if not versions:
            continue
        latest = versions[-1]
        listed.append(
            {
                "name": name,
                "versions": versions,
                "latest": latest,
                "url": artifact_url(artifacts.session_id, name, latest),
            }
        )
    return JSONResponse({"artifacts": listed})


async def get_artifact(request: Request) -> Response:
    artifacts = await _artifacts(request)
    name = request.path_params["name"]
    version = _version(request)
    file = await artifacts.load(name, version)
    if file is None:
        which = "" if version is None else f" version {version}"
        raise NotFoundError(f"no artifact {name!r}{which}", code="artifact_not_found")
    disposition = "inline" if file.mime_type.startswith(_INLINE_PREFIXES) else "attachment"
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=0" if version is None else "private, max-age=3600",
    }
    return Response(file.data, media_type=file.mime_type, headers=headers)


async def upload_artifact(request: Request) -> Response:
    artifacts = await _artifacts(request)
    name = request.path_params["name"]
    if not name.strip() or len(name) > _MAX_NAME or "/" in name or "\\" in name:
        raise RequestError(
            f"an artifact name is 1-{_MAX_NAME} characters, without / or \\", field="name"
        )
    data = await read_body(request, host_of(request).settings.max_body_bytes)
    mime_type = request.headers.get("content-type") or DEFAULT_MIME_TYPE
    version = await artifacts.save(name, ArtifactFile(data, mime_type))
    url = artifact_url(artifacts.session_id, name, version)
    body = {"name": name, "version": version, "mime_type": mime_type, "size": len(data)}
    return JSONResponse(body | {"url": url}, status_code=201, headers={"Location": url})


def _version(request: Request) -> int | None:
    raw = request.query_params.get("version")
    if raw is None:
        return None
    if not raw.isdigit():
        raise RequestError("version must be a whole number of 0 or more", field="version")
    return int(raw)


routes = [
    resource("/v1/sessions/{session_id}/artifacts", GET=list_artifacts),
    resource("/v1/sessions/{session_id}/artifacts/{name}", GET=get_artifact, POST=upload_artifact),
]
