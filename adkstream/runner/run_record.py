"""A run's metadata, kept beside its events in the run log."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adkstream.events import (
    ErrorInfo,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunWaiting,
    StreamEvent,
    Usage,
)
from adkstream.runner import failures
from adkstream.runner.pauses import PendingRequest


class RunStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunRecord(BaseModel):
    """A run's metadata, kept beside its events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    session_id: str
    user_id: str
    agent: str
    status: RunStatus = RunStatus.RUNNING
    final_text: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    error: ErrorInfo | None = None
    pending: list[PendingRequest] = Field(default_factory=list)
    """What a `waiting` run waits for."""
    invocation_id: str | None = None
    """ADK's invocation a `waiting` run paused (its answers continue it)."""
    client_tools: list[dict[str, Any]] = Field(default_factory=list)
    """The tools the run's client runs (a continuation declares them again)."""
    fingerprint: str | None = None
    """For a run started with an `Idempotency-Key`: the hash of its request."""
    last_seq: int = 0
    created_at: float
    ended_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status is not RunStatus.RUNNING

    def at_seq(self, last_seq: int) -> RunRecord:
        """This record with `last_seq` (itself if it has it already)."""
        if last_seq == self.last_seq:
            return self
        return self.model_copy(update={"last_seq": last_seq})

    def after_event(self, event: StreamEvent) -> RunRecord:
        """The record once `event` is in the log."""
        update: dict[str, object] = {"last_seq": event.seq}
        if isinstance(event, RunCompleted):
            update |= {
                "status": RunStatus.COMPLETED,
                "final_text": event.final_text,
                "usage": event.usage,
                "finish_reason": event.finish_reason,
                "ended_at": event.ts,
            }
        elif isinstance(event, RunWaiting):
            update |= {
                "status": RunStatus.WAITING,
                "final_text": event.final_text,
                "usage": event.usage,
                "invocation_id": event.invocation_id,
                "pending": event.pending,
                "ended_at": event.ts,
            }
        elif isinstance(event, RunFailed):
            update |= {"status": RunStatus.FAILED, "error": event.error, "ended_at": event.ts}
        elif isinstance(event, RunCancelled):
            update |= {"status": RunStatus.CANCELLED, "ended_at": event.ts}
        return self.model_copy(update=update)


def interruption(record: RunRecord, *, last_seq: int) -> tuple[RunFailed, RunRecord]:
    """The terminal event that ends a run a dead process left running, and its new record.

    Args:
        record: the run's stored record.
        last_seq: the seq of the run's last stored event.

    Returns:
        `run.failed` (code `interrupted`) numbered `last_seq + 1`, and the record after it.
    """
    event = RunFailed(
        run_id=record.run_id, seq=last_seq + 1, ts=time.time(), error=failures.INTERRUPTED
    )
    return event, record.after_event(event)
