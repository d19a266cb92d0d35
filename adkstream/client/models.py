"""The bodies the HTTP API answers with, as the client reads them (runs and sessions).

They ignore fields they do not know, so that a newer server does not break an older
client; the stream events themselves are the strict models of `adkstream.events`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from adkstream.events import ErrorInfo, InputRequest, Usage

__all__ = ["RunInfo", "RunResult", "Session", "SessionMessage"]


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RunResult(_Answer):
    """A finished run, as `run()` returns it.

    Attributes:
        status: `completed`, `failed` or `cancelled` (`running` only if the server
            answered before the end).
        final_text: the agent's final answer (for `completed`).
        usage: tokens the run used.
        finish_reason: why the model stopped (for `completed`): `stop`, `max_tokens`
            (the final answer was cut at the token limit) or a content filter's reason
            (`safety`, `recitation`, ...: the model refused or was stopped, see
            `adkstream.events.FinishReason`); None from a server that does not say.
        error: the stable code and message of a `failed` run.
    """

    run_id: str
    session_id: str
    status: str
    final_text: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    error: ErrorInfo | None = None

    @property
    def ok(self) -> bool:
        """Whether the run completed normally."""
        return self.status == "completed"


class RunInfo(RunResult):
    """A run as `GET /v1/runs/{run_id}` shows it, running or not."""

    agent: str
    last_seq: int
    created_at: float
    ended_at: float | None = None


class SessionMessage(_Answer):
    """One message of a session's history; `stopped` says why an answer was cut short
    (its run was cancelled or interrupted), else None."""

    author: str
    role: str
    text: str
    ts: float
    stopped: str | None = None


class WaitingRun(_Answer):
    """A run of the session that waits for answers (`AsyncClient.answer`)."""

    run_id: str
    pending: list[InputRequest]


class Session(_Answer):
    """A session: its agent, state and (from `get_session`) its messages.

    `messages` is None where the server leaves them out (`list_sessions`).
    """

    id: str
    agent: str
    user_id: str
    state: dict[str, Any]
    messages: list[SessionMessage] | None = None
    waiting: list[WaitingRun] = []
    created_at: float
    updated_at: float
