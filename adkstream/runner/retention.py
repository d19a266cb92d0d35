"""How long the run log keeps a run, and ADK keeps an idle session: one policy, every backend.

- A run that ended (`completed`, `failed`, `cancelled`) is kept for `runs_s` after its end.
- A run waiting for answers (`waiting`) is kept while it can be answered, and never less
  than `runs_s`: with a pause expiry, for max(`runs_s`, `pause_expiry_s`) after it began
  waiting; without one (the default), until it is answered. Once answered it is kept for
  `runs_s` after the answer (its continuation is a run of its own), so that a second
  answer meets the first one's claim (409 `already_answered`), never a run that is gone.
- A running run is never pruned: a dead process's runs are ended as `interrupted` first.
- A session not updated for `sessions_s` is deleted, unless one of its runs is running
  or waits for answers it can still take (`session_in_use`).
- None: kept for ever.

The memory and SQLite logs prune on a timer (`Pruner`); Redis expires a run's keys as it
ends (and as it is answered), with the same lifetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from adkstream.runner.run_record import RunRecord, RunStatus

if TYPE_CHECKING:
    from adkstream.settings import Settings

DAY_S = 24 * 3600.0
DEFAULT_RUN_RETENTION_S = 7 * DAY_S
SWEEP_MIN_S = 1.0
SWEEP_MAX_S = 300.0


@dataclass(frozen=True)
class Retention:
    """How long finished runs and idle sessions are kept (None: for ever)."""

    runs_s: float | None = DEFAULT_RUN_RETENTION_S
    pause_expiry_s: float | None = None
    sessions_s: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        """`ADKSTREAM_RUN_RETENTION_S` and `ADKSTREAM_SESSION_RETENTION_S` (0: for ever)."""
        return cls(
            runs_s=settings.run_retention_s or None,
            pause_expiry_s=settings.pause_expiry_s,
            sessions_s=settings.session_retention_s or None,
        )

    @property
    def waiting_s(self) -> float | None:
        """How long an unanswered waiting run is kept after it began waiting (None: until
        it is answered)."""
        if self.runs_s is None or self.pause_expiry_s is None:
            return None
        return max(self.runs_s, self.pause_expiry_s)

    @property
    def sweep_s(self) -> float | None:
        """How often to prune: a tenth of the shortest retention, within 1 s .. 5 min
        (None: nothing to prune)."""
        spans = [s for s in (self.runs_s, self.sessions_s) if s is not None]
        if not spans:
            return None
        return min(max(min(spans) / 10, SWEEP_MIN_S), SWEEP_MAX_S)

    def ended_before(self, now: float) -> float | None:
        """Runs that ended (or waiting runs answered) before this are past their retention."""
        return None if self.runs_s is None else now - self.runs_s

    def waited_before(self, now: float) -> float | None:
        """Unanswered waiting runs that began waiting before this are past theirs."""
        waiting_s = self.waiting_s
        return None if waiting_s is None else now - waiting_s

    def expired(self, record: RunRecord, *, answered_at: float | None, now: float) -> bool:
        """Whether `record` is past its retention at `now` (see the module docstring).

        Args:
            answered_at: when the run's answers were claimed, for a waiting run.
        """
        ended_before = self.ended_before(now)
        if ended_before is None or record.ended_at is None:
            return False
        if record.status is RunStatus.RUNNING:
            return False
        if record.status is RunStatus.WAITING:
            if answered_at is not None:
                return answered_at < ended_before
            waited_before = self.waited_before(now)
            return waited_before is not None and record.ended_at < waited_before
        return record.ended_at < ended_before

    def sessions_idle_before(self, now: float) -> float | None:
        """Sessions last updated before this are past their retention (None: keep all)."""
        return None if self.sessions_s is None else now - self.sessions_s

    def session_in_use(self, record: RunRecord, *, answered: bool, now: float) -> bool:
        """Whether run `record` still needs its session: it runs, or waits for answers it
        can still take (a continuation runs in the same session)."""
        if record.status is RunStatus.RUNNING:
            return True
        if record.status is not RunStatus.WAITING or answered:
            return False
        if self.pause_expiry_s is None or record.ended_at is None:
            return True
        return record.ended_at + self.pause_expiry_s > now
