"""Artifacts: ADK's artifact service, chosen the ADK way, and what the API reads of it.

Every runner gets the artifact service, so a tool's `tool_context.save_artifact(...)`
works. The embedded default is ADK's `FileArtifactService` under the data dir; a shared
store for several replicas is named by an artifact service URI, exactly as
`adk api_server --artifact_service_uri` takes it (`gs://bucket` for ADK's
`GcsArtifactService`, `memory://`, `file:///path`, or a scheme registered with ADK's
service registry). An artifact belongs to a session of one agent (ADK's app name) and
one user; ADK's user-scoped artifacts (`user:` names) show in every session of the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from google.adk.artifacts.base_artifact_service import BaseArtifactService
from google.adk.artifacts.file_artifact_service import FileArtifactService
from google.genai import types

from adkstream.errors import ConfigurationError

DEFAULT_MIME_TYPE = "application/octet-stream"


def open_artifact_service(*, data_dir: Path, uri: str | None) -> BaseArtifactService:
    """The artifact service `uri` names, or the file store under `data_dir`.

    Raises:
        ConfigurationError: the URI's scheme is unknown to ADK or its service fails to open.
    """
    if not uri:
        return FileArtifactService(root_dir=data_dir / "artifacts")
    from google.adk.cli.service_registry import get_service_registry

    try:
        service = get_service_registry().create_artifact_service(uri)
    except Exception as exc:  # a service's own constructor may raise anything
        raise ConfigurationError(f"ADKSTREAM_ARTIFACT_URI: {uri!r}: {exc}") from exc
    if service is None:
        raise ConfigurationError(
            f"ADKSTREAM_ARTIFACT_URI: {uri!r}: unknown scheme (known: gs://, file://, memory://)"
        )
    return service


@dataclass(frozen=True)
class ArtifactFile:
    """One version of an artifact, as bytes with a content type."""

    data: bytes
    mime_type: str


def file_of(part: types.Part) -> ArtifactFile | None:
    """An artifact's content: inline bytes, or text (as UTF-8); None for anything else."""
    if part.inline_data is not None and part.inline_data.data is not None:
        mime = part.inline_data.mime_type or DEFAULT_MIME_TYPE
        return ArtifactFile(part.inline_data.data, mime)
    if part.text is not None:
        return ArtifactFile(part.text.encode(), "text/plain; charset=utf-8")
    return None


@dataclass(frozen=True)
class SessionArtifacts:
    """The artifacts of one user's session of one agent.

    Args:
        service: ADK's artifact service.
        app: the agent's name (ADK's app name).
        user_id: the session's owner.
        session_id: the session.
    """

    service: BaseArtifactService
    app: str
    user_id: str
    session_id: str

    async def names(self) -> list[str]:
        return await self.service.list_artifact_keys(
            app_name=self.app, user_id=self.user_id, session_id=self.session_id
        )

    async def versions(self, name: str) -> list[int]:
        return await self.service.list_versions(
            app_name=self.app, user_id=self.user_id, session_id=self.session_id, filename=name
        )

    async def load(self, name: str, version: int | None = None) -> ArtifactFile | None:
        """The artifact's content (the latest version for None); None if there is none."""
        part = await self.service.load_artifact(
            app_name=self.app,
            user_id=self.user_id,
            session_id=self.session_id,
            filename=name,
            version=version,
        )
        return file_of(part) if part is not None else None

    async def save(self, name: str, file: ArtifactFile) -> int:
        """Saves a new version; returns its number."""
        part = types.Part(inline_data=types.Blob(mime_type=file.mime_type, data=file.data))
        return await self.service.save_artifact(
            app_name=self.app,
            user_id=self.user_id,
            session_id=self.session_id,
            filename=name,
            artifact=part,
        )
