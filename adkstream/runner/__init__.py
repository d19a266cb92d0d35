"""ADK runs as stream events: translation, coalescing, the run lifecycle and the event log.

This package never imports Starlette: the HTTP layer sits on top of it.
"""

from __future__ import annotations

from adkstream.runner.coalesce import Coalescer, merge_adjacent_deltas
from adkstream.runner.log import EventLog
from adkstream.runner.run_record import RunRecord, RunStatus
from adkstream.runner.runs import Run, RunManager, RunRequest
from adkstream.runner.sessions import SessionStore, SessionView
from adkstream.runner.translate import Translator

__all__ = [
    "Coalescer",
    "EventLog",
    "Run",
    "RunManager",
    "RunRecord",
    "RunRequest",
    "RunStatus",
    "SessionStore",
    "SessionView",
    "Translator",
    "merge_adjacent_deltas",
]
