"""One run lifecycle, shared by request runs (`runs.py`) and live runs (`live.py`).

A run is a task that drives its ADK side (the pump task, which feeds an `Inbox`)
through `Lifecycle.drive`: translated events go to the log through the coalescer until
ADK ends, the run is stopped, or `max_run_s` passes (then it ends `run.failed`
`timeout`). Whatever happens, the `finally` tells ADK to stop, gives it a grace period
(`ending.stop_pump`), writes what the coalescer still holds and exactly one terminal
event, counts the run in the run metrics, and frees what the run held (bounded, and
shielded from cancellation).

The two kinds of run differ only where they do their own I/O, which each supplies as a
`RunKind`: how ADK is told to stop (abort signal, or closing the LiveRequestQueue),
what the session needs before the run gives it up, and what the run releases.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from google.adk.artifacts.base_artifact_service import BaseArtifactService
from google.adk.artifacts.in_memory_artifact_service import InMemoryArtifactService
from google.adk.sessions.base_session_service import BaseSessionService

from adkstream import metrics
from adkstream.agents.registry import AgentRegistry
from adkstream.events import ErrorInfo, RunFailed, StreamEvent, TerminalEvent
from adkstream.runner import failures
from adkstream.runner.coalesce import Coalescer
from adkstream.runner.ending import Outcome, PumpEnd, next_from_pump, stop_pump, terminal_event
from adkstream.runner.inbox import Inbox
from adkstream.runner.log import EventLog
from adkstream.runner.run_record import RunRecord

logger = logging.getLogger("adkstream.run")

RELEASE_TIMEOUT_S = 10.0
"""How long a run's end waits for what it holds (storage, slots) to be released."""


@dataclass(frozen=True)
class RunServices:
    """What every run of a process works with, request runs and live runs alike."""

    agents: AgentRegistry
    session_service: BaseSessionService
    """ADK's session service (sessions and state)."""
    log: EventLog
    """Where run events and run records go."""
    artifact_service: BaseArtifactService = field(default_factory=InMemoryArtifactService)
    """ADK's artifact service (what tools save)."""


@dataclass
class RunHandle:
    """A run in progress in this process, as its lifecycle sees it."""

    record: RunRecord
    cancel_reason: str | None = None
    failure: ErrorInfo | None = None
    """Why the run must end failed (the log lost it, the server shuts down)."""
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def stopping(self) -> bool:
        """Cancelled or failed: what ADK still says is not the run's any more."""
        return self.cancel_reason is not None or self.failure is not None


R = TypeVar("R", bound=RunHandle)
R_contra = TypeVar("R_contra", bound=RunHandle, contravariant=True)


def _nothing() -> list[StreamEvent]:
    return []


@dataclass
class Pipe:
    """A run's ADK side and what joins it to the log."""

    outcome: Outcome
    """What the run's translator learned (for the terminal event)."""
    coalescer: Coalescer
    inbox: Inbox[PumpEnd]
    pump: asyncio.Task[None]
    finish: Callable[[], list[StreamEvent]] = _nothing
    """The events that close what ADK left open when it ends by itself (a live turn)."""


class RunKind(Protocol[R_contra]):
    """What a kind of run does its own way."""

    def stop_adk(self, run: R_contra) -> None:
        """Tells ADK to stop (it gets `ending.ABORT_GRACE_S` before it is cancelled)."""

    async def leave_session(self, run: R_contra, terminal: TerminalEvent) -> None:
        """What the session needs before the run gives it up (bounded; never raises)."""

    def forget(self, run: R_contra) -> None:
        """Drops the run from what is in progress (synchronous: it cannot be cut)."""

    async def release(self, run: R_contra) -> None:
        """Frees what the run holds; logs its own failures (never raises)."""


class Lifecycle:
    """Starts the count of, drives and ends the runs of one manager.

    Args:
        log: where run events go.
        clock: wall clock for event timestamps.
        max_run_s: the longest a run may take; then it ends `run.failed` `timeout`.
    """

    def __init__(self, *, log: EventLog, clock: Callable[[], float], max_run_s: float) -> None:
        self.log = log
        self.clock = clock
        self.max_run_s = max_run_s
        self.releasing: set[asyncio.Future[None]] = set()
        """Releases still running (a shutdown waits for them)."""

    def announce(self, run: RunHandle, events: list[StreamEvent]) -> None:
        """Writes the run's first events (`run.started`, ...) and counts it as started."""
        self.log.append(run.run_id, events)
        record = run.record
        metrics.RUNS_STARTED.labels(record.agent).inc()
        metrics.RUNS_ACTIVE.inc()
        extra = {"run_id": record.run_id, "agent": record.agent, "user": record.user_id}
        logger.info("run started", extra=extra)

    async def drive(self, run: R, pipe: Pipe, kind: RunKind[R]) -> None:
        """The run's life from its first event to its end (see the module's docstring)."""
        terminal: TerminalEvent | None = None
        try:
            async with asyncio.timeout(self.max_run_s):
                end = await self._relay(run, pipe)
            terminal = self.terminal(run, pipe.outcome, end)
        except asyncio.CancelledError:
            terminal = self._failed(run, failures.INTERRUPTED)
            raise
        except TimeoutError:
            terminal = self._failed(run, failures.TIMEOUT)
        except Exception as exc:
            logger.exception("run %s failed in the driver", run.run_id)
            terminal = self._failed(run, failures.classify(exc))
        finally:
            terminal = terminal or self._failed(run, failures.INTERNAL)
            kind.stop_adk(run)
            try:
                await stop_pump(pipe.pump, run_id=run.run_id)
                now = asyncio.get_running_loop().time()
                self.log.append(run.run_id, pipe.coalescer.flush(now))
                await kind.leave_session(run, terminal)
            finally:  # even if a second cancel cuts the waits short: one terminal event
                self.end(run, terminal, pipe.coalescer, kind)
            await self.release(run, kind)

    async def _relay(self, run: RunHandle, pipe: Pipe) -> PumpEnd:
        """Moves translated events from the pump to the log through the coalescer."""
        loop = asyncio.get_running_loop()
        coalescer = pipe.coalescer
        started = loop.time()
        first_delta = True
        write = functools.partial(self.log.append, run.run_id)
        while True:
            item = await next_from_pump(pipe.inbox, coalescer, write)
            if isinstance(item, PumpEnd):
                if not run.stopping:
                    for event in pipe.finish():
                        write(coalescer.push(event, loop.time()))
                return item
            if run.stopping:
                continue
            now = loop.time()
            for event in item:
                ready = coalescer.push(event, now)
                if ready:
                    write(ready)
                    if first_delta and coalescer.deltas_out:
                        first_delta = False
                        metrics.FIRST_DELTA_SECONDS.observe(now - started)

    def terminal(self, run: RunHandle, outcome: Outcome, end: PumpEnd) -> TerminalEvent:
        """The one terminal event of a run whose ADK side ended with `end`."""
        if run.failure is not None:
            return self._failed(run, run.failure)
        return terminal_event(
            run_id=run.run_id,
            ts=self.clock(),
            outcome=outcome,
            end=end,
            cancel_reason=run.cancel_reason,
        )

    def _failed(self, run: RunHandle, error: ErrorInfo) -> RunFailed:
        return RunFailed(run_id=run.run_id, ts=self.clock(), error=error)

    def end(
        self,
        run: R,
        terminal: TerminalEvent,
        coalescer: Coalescer | None,
        kind: RunKind[R],
    ) -> None:
        """Writes the terminal event, forgets the run and counts its end (synchronous: it
        cannot be cut). `coalescer` is None for a run that never reached ADK."""
        self.log.append(run.run_id, [terminal])
        kind.forget(run)
        self._count_end(run, terminal, coalescer)
        run.done.set()

    def end_unstarted(self, run: R, kind: RunKind[R]) -> None:
        """Ends a run whose task was cancelled before `drive` ran (`run.failed`
        `interrupted`), and releases what it holds in the background."""
        self.end(run, self._failed(run, failures.INTERRUPTED), None, kind)
        self.keep_until_done(asyncio.ensure_future(kind.release(run)))

    def keep_until_done(self, future: asyncio.Future[None]) -> None:
        """Counts `future` among the releases a shutdown waits for."""
        self.releasing.add(future)
        future.add_done_callback(self.releasing.discard)

    async def release(self, run: R, kind: RunKind[R]) -> None:
        """Frees what the run holds; bounded, shielded from cancel, and logged if cut short."""
        release = asyncio.ensure_future(kind.release(run))
        self.keep_until_done(release)
        done, _ = await asyncio.wait([release], timeout=RELEASE_TIMEOUT_S)  # never cancels it
        if not done:
            logger.warning("run %s: releasing it took over %ss", run.run_id, RELEASE_TIMEOUT_S)

    async def settle(self) -> None:
        """Waits, bounded, for the releases still running."""
        if self.releasing:
            await asyncio.wait(self.releasing, timeout=RELEASE_TIMEOUT_S)

    def _count_end(
        self, run: RunHandle, terminal: TerminalEvent, coalescer: Coalescer | None
    ) -> None:
        record = run.record
        status = terminal.type.removeprefix("run.")
        metrics.RUNS_ACTIVE.dec()
        metrics.RUNS_ENDED.labels(record.agent, status).inc()
        if coalescer is not None:
            metrics.DELTAS_IN.inc(coalescer.deltas_in)
            metrics.DELTAS_OUT.inc(coalescer.deltas_out)
        detail = terminal.error.code if isinstance(terminal, RunFailed) else ""
        logger.info(
            "run ended",
            extra={
                "run_id": run.run_id,
                "agent": record.agent,
                "user": record.user_id,
                "status": status,
                "error_code": detail,
                "duration_s": round(self.clock() - record.created_at, 3),
            },
        )
