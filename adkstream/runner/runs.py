"""Request runs: start an ADK run (`Runner.run_async`) as a task, one per session at a time.

A run is one task (`Run.task`) that drives `Runner.run_async` through a second task (the
pump, so that the coalescing window can expire while ADK is silent), by the lifecycle
it shares with live runs (`lifecycle.Lifecycle.drive`). What is its own: the session's
turn and the user's slot, queued runs, ADK's abort signal as the way to stop it (ADK then
persists its `INVOCATION_ABORTED` marker), and a stopped run's turn kept in (or rolled
back out of) the session. HTTP responses are subscribers of the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from google.adk.errors import InvocationNotFoundError
from google.genai import types

from adkstream import metrics
from adkstream.agents.a2a_import import remember_missing_a2a
from adkstream.agents.client_tools import ClientToolSpec, install_client_tools
from adkstream.agents.coalescing import install_coalescing
from adkstream.agents.registry import HostedAgent
from adkstream.errors import ConflictError, UnavailableError
from adkstream.events import (
    ErrorInfo,
    RunCancelled,
    RunFailed,
    RunQueued,
    RunStarted,
    StreamEvent,
    TerminalEvent,
)
from adkstream.runner import failures, stopped_answers
from adkstream.runner.adk_side import AdkSide
from adkstream.runner.lifecycle import (
    RELEASE_TIMEOUT_S,
    Lifecycle,
    Pipe,
    RunHandle,
    RunServices,
)
from adkstream.runner.loop_lag import AdaptiveWindow, LoopLag
from adkstream.runner.run_record import RunRecord
from adkstream.runner.session_turns import MemoryTurns, SessionTurns
from adkstream.runner.slots import MemorySlots, RunSlots
from adkstream.runner.translate import Translator

logger = logging.getLogger("adkstream.run")

DisconnectPolicy = Literal["cancel", "continue"]
IfBusy = Literal["reject", "enqueue", "interrupt", "rollback"]
"""What a run does when its session has a run in progress (one run at a time per session):
refuse (409 `session_busy`), wait its turn, cancel that run first, or cancel it and take
its turn out of the session (ADK's rewind)."""
INTERRUPTED = "interrupted by a newer message"
ROLLED_BACK = "rolled back for a newer message"
"""The cancel reasons of a run another one interrupts; a rolled-back run rewinds its own
turn out of the session before it gives the session up."""
STARTING_S = 2.0
STARTING_POLL_S = 0.02
"""How long a session's turn whose run (on another replica) has no record yet is taken
for a run starting, and how often its record is looked for meanwhile."""


@dataclass
class Run(RunHandle):
    """A run in progress in this process."""

    request: RunRequest | None = None
    on_disconnect: DisconnectPolicy = "cancel"
    abort_signal: asyncio.Event = field(default_factory=asyncio.Event)
    subscribers: int = 0
    invocation_id: str | None = None
    """ADK's invocation, once ADK is about to store the run's message in the session."""
    translator: Translator | None = None
    """What ADK said, once the run's ADK side is open."""
    _detach_timer: asyncio.TimerHandle | None = None


class RunExists(ConflictError):
    """A run with the id `start` was asked for exists, or another start has it."""


@dataclass(frozen=True)
class RunRequest:
    """What to run: the agent, the session and the new message."""

    agent: HostedAgent
    user_id: str
    session_id: str
    message: types.Content
    state_delta: dict[str, Any] | None = None
    coalesce_ms: int = 30
    on_disconnect: DisconnectPolicy = "cancel"
    thoughts: bool = True
    """Whether the model's thinking is streamed (`reasoning.*` events)."""
    invocation_id: str | None = None
    """ADK's paused invocation this run continues (with `message` holding the answers)."""
    resumes: str | None = None
    """The waiting run whose answers `message` holds."""
    client_tools: tuple[ClientToolSpec, ...] = ()
    """Tools the client runs: the model may call them, and a call pauses the run."""
    if_busy: IfBusy = "reject"
    """What to do when the session has a run in progress (see `IfBusy`)."""
    fingerprint: str | None = None
    """The hash of an idempotent request (`Idempotency-Key`): its run id is the key's,
    and of two starts of it exactly one wins (`RunExists` for the other)."""
    adk_events: bool = False
    """Also log each ADK event as `adk.event` (ADK's REST API, `runner/adk_events.py`);
    ADK's partial events then reach ADK as the model makes them (no text tap, no merge)."""
    streaming: bool = True
    """The model streams (partial events); False: one response per model call."""


# How long `start` lets ADK go first. At idle ADK calls the model 1.5-3 ms after the run
# starts; the bound only holds back the response's headers of an agent that does slow
# work before its first model call (a callback calling a service, a custom agent).
FIRST_STEP_WAIT_S = 0.02


class RunManager:
    """Starts, cancels and tracks the runs of this process.

    Args:
        services: the agents, ADK's services and the run log.
        max_runs: concurrent runs in this process; over it `start` raises UnavailableError.
        slots: concurrent runs per user; over it `start` raises UnavailableError (429).
        turns: whose turn each session is (one run at a time per session).
        max_run_s: the longest a run may take; then it ends with `run.failed` `timeout`.
        detach_grace_s: how long an `on_disconnect="continue"` run may go on unwatched.
        coalesce_max_ms: the widest a run's coalescing window grows while the event loop
            runs late (see `loop_lag`); a run's `coalesce_ms` is the narrowest.
        first_step_wait_s: `start` returns once ADK has called a model, yielded an event
            or ended, or after this long, whichever is first (see `_start`).
        recent_events: how many of a session's latest events ADK loads for a run (None:
            all of them); see `adk_events.run_config`.
        clock: wall clock for event timestamps.
    """

    def __init__(
        self,
        services: RunServices,
        *,
        max_runs: int = 1000,
        slots: RunSlots | None = None,
        turns: SessionTurns | None = None,
        max_run_s: float = 600.0,
        detach_grace_s: float = 300.0,
        coalesce_max_ms: int = 1000,
        first_step_wait_s: float = FIRST_STEP_WAIT_S,
        recent_events: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.services = services
        agents, log = services.agents, services.log
        self.log = log
        self.max_runs = max_runs
        self.slots = slots or MemorySlots(1000)
        self.turns = turns or MemoryTurns()
        self._starting: dict[str, asyncio.Event] = {}
        """Runs of this process being started (`start` has not returned yet)."""
        self._early_cancels: dict[str, str] = {}
        """Cancel requests for runs being started, applied once they have started."""
        self.life = Lifecycle(log=log, clock=clock, max_run_s=max_run_s)
        self.detach_grace_s = detach_grace_s
        self.coalesce_max_s = coalesce_max_ms / 1000
        self.first_step_wait_s = first_step_wait_s
        self._first_stepping = False  # a start is waiting for its ADK's first step
        self.clock = clock
        self.loop_lag = LoopLag()
        self.active: dict[str, Run] = {}
        log.on_run_lost(self.on_run_lost)
        remember_missing_a2a()
        for agent in agents:
            install_coalescing(agent.root)
            install_client_tools(agent.root)
        self.adk = AdkSide(services, clock=clock, recent_events=recent_events)

    async def start(self, request: RunRequest, *, run_id: str | None = None) -> Run:
        """Creates the run record, starts ADK, writes `run.started` and starts the run's task;
        returns once the record and `run.started` are stored.

        Args:
            request: what to run.
            run_id: the new run's id (one is made when None).
        """
        if len(self.active) >= self.max_runs:
            raise UnavailableError("the server is at its run limit", code="server_busy")
        run_id = run_id or new_run_id()
        if request.fingerprint is None:
            return await self._start_new(run_id, request)
        if not await self.log.reserve_run(run_id):
            raise RunExists(f"run {run_id!r} exists already", code="run_exists")
        try:
            return await self._start_new(run_id, request)
        finally:
            self.log.unreserve(run_id)

    async def _start_new(self, run_id: str, request: RunRequest) -> Run:
        if not await self.slots.acquire(request.user_id, run_id):
            metrics.REJECTED.labels("too_many_runs").inc()
            raise UnavailableError(
                f"you have {self.slots.limit} runs in progress; wait for one to end",
                code="too_many_runs",
                status=429,
            )
        starting = self._starting[run_id] = asyncio.Event()
        try:
            behind = await self._take_turn(run_id, request)
            if behind is not None:
                run = await self._start_queued(run_id, request, behind)
            else:
                run = await self._start(run_id, request)
            await self._stored(run)
            return run
        except BaseException:
            if run_id not in self.active:  # a run that started gives them back as it ends
                await self.turns.release(request.session_id, run_id)
                await self.slots.release(request.user_id, run_id)
            raise
        finally:
            starting.set()
            del self._starting[run_id]
            self._early_cancels.pop(run_id, None)

    async def _stored(self, run: Run) -> None:
        """Returns once the run's record and `run.started` are in durable storage, so
        that no answer names a run that a crash right after it could lose.

        Raises:
            UnavailableError: storage did not take them in time (503); the run is cancelled.
        """
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT_S):
                await self.log.flushed(run.run_id)
        except TimeoutError:
            self._cancel_if_active(run.run_id, "storage did not take the run in time")
            raise UnavailableError(
                "the run log did not store the run in time", code="storage_unavailable"
            ) from None

    async def _take_turn(self, run_id: str, request: RunRequest) -> str | None:
        """Takes the session's turn for `run_id` as `request.if_busy` says: None once it
        has it, or (`enqueue`) the run in progress to wait behind.

        Raises:
            ConflictError: (`reject`) the session has a run in progress (409 `session_busy`).
        """
        session_id = request.session_id
        holder = await self.turns.take(session_id, run_id)
        while holder is not None:
            record = await self._record_of_holder(holder)
            ending = holder in self.active and self.active[holder].cancel_reason is not None
            if record is not None and not record.finished and ending:
                await self._until_ended(holder)  # cancelled already (a chat's Stop): let it end
            elif record is not None and not record.finished:
                if request.if_busy == "reject":
                    raise ConflictError(
                        f"session {session_id!r} has a run in progress ({holder}); send"
                        ' again when it ends, or with if_busy "enqueue", "interrupt" or'
                        ' "rollback"',
                        code="session_busy",
                        field="session_id",
                    )
                if request.if_busy == "enqueue":
                    return holder
                reason = ROLLED_BACK if request.if_busy == "rollback" else INTERRUPTED
                await self._cancel_anywhere(holder, reason)
                await self._until_ended(holder)
            holder = await self.turns.take_over(session_id, stale=holder, run_id=run_id)
        return None

    async def _record_of_holder(self, holder: str) -> RunRecord | None:
        """The record of the run that has a session's turn. A run that took its turn has
        no record for a moment (it stores one next): that is waited for, on this process
        by its event, on another by asking again for up to `STARTING_S`; no record then
        means the turn is stale (its process died before storing one)."""
        starting = self._starting.get(holder)
        if starting is not None:
            await starting.wait()
        record = await self.log.get_run(holder)
        deadline = asyncio.get_running_loop().time() + STARTING_S
        while record is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(STARTING_POLL_S)
            record = await self.log.get_run(holder)
        return record

    async def _cancel_anywhere(self, run_id: str, reason: str) -> None:
        if run_id in self.active:
            self.cancel(run_id, reason)
        else:  # the process that has it acts (this one too, if it is still starting it)
            await self.log.request_cancel(run_id, reason)

    async def _until_ended(self, run_id: str) -> None:
        """Returns once the log holds run `run_id`'s terminal event (or has no such run)."""
        record = await self.log.get_run(run_id)
        if record is None or record.finished:
            return
        async for _ in self.log.follow(run_id, after=record.last_seq, merge_over=None):
            pass

    async def _start_queued(self, run_id: str, request: RunRequest, behind: str) -> Run:
        """A run that waits its turn: `run.started`, `run.queued`, and its task, which
        starts ADK once the session's run in progress has ended."""
        run = await self._create(run_id, request)
        self._announce(run, request, RunQueued(run_id=run_id, ts=self.clock(), behind=behind))
        run.task = asyncio.get_running_loop().create_task(
            self._queued(run, request, behind), name=f"adkstream-run-{run_id}"
        )
        run.task.add_done_callback(functools.partial(self._on_task_done, run, None))
        return run

    async def _queued(self, run: Run, request: RunRequest, behind: str) -> None:
        """Waits for the session's turn (or the run's cancel), then runs as any run."""
        holder: str | None = behind
        try:
            while holder is not None:
                ended = asyncio.ensure_future(self._until_ended(holder))
                aborted = asyncio.ensure_future(run.abort_signal.wait())
                try:
                    await asyncio.wait([ended, aborted], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    ended.cancel()
                    aborted.cancel()
                if run.cancel_reason is not None:
                    cancelled = RunCancelled(
                        run_id=run.run_id, ts=self.clock(), reason=run.cancel_reason
                    )
                    self.life.end(run, cancelled, None, self)
                    await self.life.release(run, self)
                    return
                holder = await self.turns.take_over(
                    request.session_id, stale=holder, run_id=run.run_id
                )
        except Exception:
            logger.exception("run %s: waiting for its turn failed", run.run_id)
            failed = RunFailed(run_id=run.run_id, ts=self.clock(), error=failures.INTERNAL)
            self.life.end(run, failed, None, self)
            await self.life.release(run, self)
            return
        pipe, _ = self._open_pipe(run, request)
        await self.life.drive(run, pipe, self)

    async def _start(self, run_id: str, request: RunRequest) -> Run:
        run = await self._create(run_id, request)
        # ADK first: the rest of the request's work (storing `run.started`, the response's
        # headers) then runs while the model works on its first chunk, not before ADK
        # gets to call the model. One start at a time waits: starts that come together
        # share the loop anyway, and holding every one of them back cost about 40% more
        # CPU in a burst of 500 (`make bench`).
        pipe, started = self._open_pipe(run, request)
        try:
            if not self._first_stepping:
                await self._first_step(started)
        except BaseException:
            # The request was cancelled meanwhile: the run ends like any cancelled run.
            self._register(run, request, pipe)
            self.cancel(run_id, "the request that started the run was cancelled")
            raise
        self._register(run, request, pipe)
        return run

    async def _create(self, run_id: str, request: RunRequest) -> Run:
        """The run, its record stored in the log."""
        record = RunRecord(
            run_id=run_id,
            session_id=request.session_id,
            user_id=request.user_id,
            agent=request.agent.name,
            created_at=self.clock(),
            client_tools=[asdict(spec) for spec in request.client_tools],
            fingerprint=request.fingerprint,
        )
        try:
            await self.log.create_run(record)
        except Exception as exc:
            logger.exception("run %s: the log refused the new run", run_id)
            raise UnavailableError(
                "the run log is unavailable", code="storage_unavailable", retry_after=2
            ) from exc
        return Run(record=record, request=request, on_disconnect=request.on_disconnect)

    async def _first_step(self, started: asyncio.Future[None]) -> None:
        """Until ADK's first step (see `_open_pipe`), at most `first_step_wait_s`."""
        self._first_stepping = True
        try:
            await asyncio.wait([started], timeout=self.first_step_wait_s)
        finally:
            self._first_stepping = False

    def _register(self, run: Run, request: RunRequest, pipe: Pipe) -> None:
        """Writes `run.started` and starts the run's task (which writes all that follows)."""
        self._announce(run, request)
        run.task = asyncio.get_running_loop().create_task(
            self.life.drive(run, pipe, self), name=f"adkstream-run-{run.run_id}"
        )
        run.task.add_done_callback(functools.partial(self._on_task_done, run, pipe))

    def _announce(self, run: Run, request: RunRequest, *more: StreamEvent) -> None:
        """Writes `run.started` (and `more`) and counts the run as active."""
        run_id, record = run.run_id, run.record
        started = RunStarted(
            run_id=run_id,
            ts=record.created_at,
            session_id=request.session_id,
            user_id=request.user_id,
            app=request.agent.name,
            agent=request.agent.root.name,
            invocation_id=request.invocation_id,
            resumes=request.resumes,
        )
        self.life.announce(run, [started, *more])
        self.active[run_id] = run
        if (reason := self._early_cancels.pop(run_id, None)) is not None:
            self.cancel(run_id, reason)
        self.loop_lag.start()

    def _open_pipe(self, run: Run, request: RunRequest) -> tuple[Pipe, asyncio.Future[None]]:
        window = AdaptiveWindow(request.coalesce_ms / 1000, self.coalesce_max_s, self.loop_lag)
        return self.adk.open(run, request, window)

    def cancel(self, run_id: str, reason: str) -> Run:
        """Asks a run of this process to stop; it ends with `run.cancelled`."""
        run = self.active.get(run_id)
        if run is None:
            raise ConflictError("the run has already ended", code="run_finished")
        if run.cancel_reason is None:
            run.cancel_reason = reason
            run.abort_signal.set()
        return run

    def on_cancel_request(self, run_id: str, reason: str) -> None:
        """A cancel request from the log (any replica): acts on runs of this process only;
        a run still starting here is cancelled as soon as it has started."""
        if run_id in self.active:
            self.cancel(run_id, reason)
        elif run_id in self._starting:
            self._early_cancels.setdefault(run_id, reason)

    def on_run_lost(self, run_id: str, error: ErrorInfo) -> None:
        """The log may no longer write a run of this process: it stops, failed with `error`."""
        run = self.active.get(run_id)
        if run is not None and run.cancel_reason is None and run.failure is None:
            run.failure = error
            run.abort_signal.set()

    @contextlib.asynccontextmanager
    async def watching(self, run_id: str) -> AsyncIterator[None]:
        """Counts a subscriber of a run of this process while the block runs.

        When the last subscriber leaves: a `cancel` run is cancelled; a `continue` run
        is cancelled after `detach_grace_s` unless a subscriber comes back.
        """
        run = self.active.get(run_id)
        if run is None:
            yield
            return
        run.subscribers += 1
        if run._detach_timer is not None:
            run._detach_timer.cancel()
            run._detach_timer = None
        try:
            yield
        finally:
            run.subscribers -= 1
            if run.subscribers == 0 and not run.done.is_set():
                self._on_unwatched(run)

    def _on_unwatched(self, run: Run) -> None:
        if run.on_disconnect == "cancel":
            self.cancel(run.run_id, "client disconnected")
            return
        run._detach_timer = asyncio.get_running_loop().call_later(
            self.detach_grace_s,
            self._cancel_if_active,
            run.run_id,
            "no subscriber within detach_grace_s",
        )

    def _cancel_if_active(self, run_id: str, reason: str) -> None:
        if run_id in self.active:
            self.cancel(run_id, reason)

    async def shutdown(self) -> None:
        """Ends every run of this process with `run.failed` code `interrupted`."""
        runs = list(self.active.values())
        for run in runs:
            if run.task is not None:
                run.task.cancel()
        for run in runs:
            await run.done.wait()
        await self.life.settle()

    def stop_adk(self, run: Run) -> None:
        """ADK's abort signal: ADK stops at its next step and persists its marker."""
        run.abort_signal.set()

    async def leave_session(self, run: Run, terminal: TerminalEvent) -> None:
        """Before a stopped run gives its session up: a rolled-back run rewinds its turn
        out of the session; a cancelled or interrupted one keeps what it said so far
        there, marked stopped. Bounded, and never fails the run's end."""
        stopped = isinstance(terminal, RunCancelled) or (
            isinstance(terminal, RunFailed) and terminal.error.code == "interrupted"
        )
        request = run.request
        if not stopped or run.invocation_id is None or request is None:
            return  # ADK never stored the run's message: nothing of it is in the session
        reason = terminal.reason if isinstance(terminal, RunCancelled) else "interrupted"
        texts = run.translator.unfinished_texts() if run.translator is not None else []
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT_S):
                if reason == ROLLED_BACK:
                    await self._roll_back(request, run.invocation_id)
                else:
                    await stopped_answers.keep(
                        self.services.session_service,
                        app_name=request.agent.name,
                        user_id=request.user_id,
                        session_id=request.session_id,
                        invocation_id=run.invocation_id,
                        author=request.agent.root.name,
                        texts=texts,
                        reason=reason,
                    )
        except Exception:
            logger.exception("run %s: keeping its stopped turn in the session failed", run.run_id)

    async def _roll_back(self, request: RunRequest, invocation_id: str) -> None:
        with contextlib.suppress(InvocationNotFoundError):  # ADK stored nothing of it
            await self.adk.runner(request.agent.name).rewind_async(
                user_id=request.user_id,
                session_id=request.session_id,
                rewind_before_invocation_id=invocation_id,
            )

    def forget(self, run: Run) -> None:
        self.active.pop(run.run_id, None)
        if not self.active:
            self.loop_lag.stop()
        if run._detach_timer is not None:
            run._detach_timer.cancel()

    async def release(self, run: Run) -> None:
        """Gives back the session's turn, the user's slot and the log's hot copy."""
        try:
            await self.turns.release(run.record.session_id, run.run_id)
            await self.slots.release(run.record.user_id, run.run_id)
        except Exception:
            logger.exception("run %s: releasing its turn or slot failed", run.run_id)
        try:  # even so: a hot copy never released would stay in memory for good
            await self.log.release(run.run_id)
        except Exception:
            logger.exception("run %s: releasing its log copy failed", run.run_id)

    def _on_task_done(self, run: Run, pipe: Pipe | None, task: asyncio.Task[None]) -> None:
        """Ends a run whose task was cancelled before its first step (its `finally` never
        ran); `pipe` is None for a queued run."""
        if run.done.is_set():
            return
        run.abort_signal.set()
        if pipe is not None:
            pipe.pump.cancel()  # `shutdown` waits for it with the releases
            self.life.keep_until_done(pipe.pump)
        self.life.end_unstarted(run, self)


def new_run_id() -> str:
    return uuid.uuid4().hex
