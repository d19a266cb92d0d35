"""ADK's own events, kept for ADK's REST API (`/run`, `/run_sse`) by the runs it starts.

A run started with `RunRequest.adk_events` writes, beside the stream events every run
writes, each ADK Event as an `adk.event`: ADK's JSON of it, made the moment it arrives
(ADK's partial events share one mutable `EventActions`, so it cannot wait). One change:
the event ADK makes of an exception (`errorMessage` = the exception's text) says
`failures.MODEL_ERROR`'s message instead, so no internals leak (a model's finish or
block reason and ADK's abort marker keep theirs). Those runs
use the agent's `App` as `adk api_server` does (`adk_runner`: ADK's default `App` of an
agent package, not resumable; or the package's own `app`), so ADK's clients see the
events ADK's own server sends; adkstream's other runs use a resumable one
(`registry.resumable_app`), which adds `endOfAgent` events.
"""

from __future__ import annotations

import functools

from google.adk.agents.run_config import RunConfig
from google.adk.artifacts.base_artifact_service import BaseArtifactService
from google.adk.events.event import Event
from google.adk.plugins.base_plugin import BasePlugin
from google.adk.runners import Runner
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig
from google.adk.telemetry.context import TelemetryConfig
from google.genai import types

from adkstream.adk_private import StreamingMode, event_json
from adkstream.agents.registry import HostedAgent
from adkstream.events import AdkEvent
from adkstream.runner import failures
from adkstream.runner.telemetry import telemetry_config
from adkstream.runner.translate import finish_reason_of

KEPT_ERROR_CODES = frozenset({"INVOCATION_ABORTED"})
"""ADK's own error codes whose message is a fixed text, not an exception's."""


def adk_event(event: Event, *, run_id: str, ts: float) -> AdkEvent:
    """The stream event that carries `event` as ADK's REST API sends it."""
    dumped = event_json(event)
    if _is_failure(event):
        dumped["errorMessage"] = failures.MODEL_ERROR.message
    return AdkEvent(run_id=run_id, ts=ts, event=dumped)


def _is_failure(event: Event) -> bool:
    code = event.error_code
    return (
        code is not None
        and event.error_message is not None
        and finish_reason_of(code) is None
        and code not in KEPT_ERROR_CODES
    )


@functools.cache
def _base_config(streaming: bool, telemetry: TelemetryConfig) -> RunConfig:
    mode = StreamingMode.SSE if streaming else StreamingMode.NONE
    return RunConfig(streaming_mode=mode, telemetry=telemetry)


def run_config(*, streaming: bool, recent_events: int | None = None) -> RunConfig:
    """ADK's run config for a run: partial events when `streaming`, else one response per
    model call (what ADK's `/run_sse` does with `streaming: false`); with `recent_events`,
    ADK loads only that many of the session's latest events for the run."""
    config = _base_config(streaming, telemetry_config())
    if recent_events is None:
        return config
    limit = GetSessionConfig(num_recent_events=recent_events)
    return config.model_copy(update={"get_session_config": limit})


def history_limit(
    recent_events: int | None, *, message: types.Content | None, invocation_id: str | None
) -> int | None:
    """The `recent_events` of a run: None (the whole session) for a run that resumes an
    invocation (`invocation_id` given, or a message of function responses, which ADK
    resolves to the invocation of their calls). ADK finds the paused call, and the
    invocation's first message, by scanning the events it loaded (`runners.py`,
    `_resolve_invocation_id_from_fr`, `_find_user_message_for_invocation`): once later
    turns push them out of the window, the resumed run fails."""
    if invocation_id is not None:
        return None
    if message is not None and any(p.function_response for p in message.parts or []):
        return None
    return recent_events


def adk_runner(
    agent: HostedAgent,
    *,
    plugins: list[BasePlugin],
    session_service: BaseSessionService,
    artifact_service: BaseArtifactService,
) -> Runner:
    """The runner of `agent`'s runs for ADK's REST API, on the `App` ADK's server would use."""
    app = agent.adk_app(plugins=plugins)
    return Runner(app=app, session_service=session_service, artifact_service=artifact_service)
