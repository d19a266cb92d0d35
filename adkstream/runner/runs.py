"""The run lifecycle: start an ADK run as a task, write its events to the log, end it once.

A run is one task (`Run.task`) that drives `Runner.run_async` through a second task (the
pump, so that the coalescing window can expire while ADK is silent). Whatever happens,
the run's `finally` sets ADK's abort signal before tearing the pump down (ADK then
persists its `INVOCATION_ABORTED` marker), closes the ADK generator (`aclosing`), and
writes exactly one terminal event. HTTP responses are subscribers of the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from google.adk.artifacts.base_artifact_service import BaseArtifactService
from google.adk.artifacts.in_memory_artifact_service import InMemoryArtifactService
from google.adk.runners import Runner
from google.adk.sessions.base_session_service import BaseSessionService
from google.genai import types

from adkstream import metrics
from adkstream.agents.a2a_import import remember_missing_a2a
from adkstream.agents.client_tools import CLIENT_TOOLS, ClientToolSpec, install_client_tools
from adkstream.agents.coalescing import COALESCE_WINDOW, install_coalescing
from adkstream.agents.registry import AgentRegistry, HostedAgent, resumable_app
from adkstream.agents.text_tap import MODEL_CALLING, TEXT_TAP, ModelCall, TextTapPlugin
from adkstream.errors import ConflictError, UnavailableError
from adkstream.events import (
    DELTA_TYPES,
    ArtifactSaved,
    RunFailed,
    RunStarted,
    StreamEvent,
    TerminalEvent,
)
from adkstream.runner import failures
from adkstream.runner.artifacts import SessionArtifacts
from adkstream.runner.coalesce import Coalescer
from adkstream.runner.ending import PumpEnd, next_from_pump, stop_pump, terminal_event
from adkstream.runner.inbox import Inbox
from adkstream.runner.log import EventLog, RunRecord
from adkstream.runner.loop_lag import AdaptiveWindow, LoopLag
from adkstream.runner.slots import MemorySlots, RunSlots
from adkstream.runner.telemetry import streaming_run_config
from adkstream.runner.translate import Translator

logger = logging.getLogger("adkstream.run")

DisconnectPolicy = Literal["cancel", "continue"]
RELEASE_TIMEOUT_S = 10.0
"""How long a run's end waits for storage to take its last events."""


@dataclass
class Run:
    """A run in progress in this process."""

    record: RunRecord
    on_disconnect: DisconnectPolicy
    abort_signal: asyncio.Event = field(default_factory=asyncio.Event)
    cancel_reason: str | None = None
    subscribers: int = 0
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _detach_timer: asyncio.TimerHandle | None = None

    @property
    def run_id(self) -> str:
        return self.record.run_id


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


_RUN_CONFIG = streaming_run_config()
# How long `start` lets ADK go first. At idle ADK calls the model 1.5-3 ms after the run
# starts; the bound only holds back the response's headers of an agent that does slow
# work before its first model call (a callback calling a service, a custom agent).
FIRST_STEP_WAIT_S = 0.02


@dataclass
class _Pipe:
    """A run's ADK side and what joins it to the log, made before the run's task starts."""

    translator: Translator
    coalescer: Coalescer
    inbox: Inbox[PumpEnd]
    pump: asyncio.Task[None]
    started: asyncio.Future[None]
    """Done when ADK first calls a model, yields an event or ends, whichever is first."""


class RunManager:
    """Starts, cancels and tracks the runs of this process.

    Args:
        agents: the hosted agents.
        session_service: ADK's session service (sessions and state).
        log: where run events and run records go.
        artifact_service: ADK's artifact service (what tools save); None: in memory.
        max_runs: concurrent runs in this process; over it `start` raises UnavailableError.
        slots: concurrent runs per user; over it `start` raises UnavailableError (429).
        max_run_s: the longest a run may take; then it ends with `run.failed` `timeout`.
        detach_grace_s: how long an `on_disconnect="continue"` run may go on unwatched.
        coalesce_max_ms: the widest a run's coalescing window grows while the event loop
            runs late (see `loop_lag`); a run's `coalesce_ms` is the narrowest.
        first_step_wait_s: `start` returns once ADK has called a model, yielded an event
            or ended, or after this long, whichever is first (see `_start`).
        clock: wall clock for event timestamps.
    """

    def __init__(
        self,
        *,
        agents: AgentRegistry,
        session_service: BaseSessionService,
        log: EventLog,
        artifact_service: BaseArtifactService | None = None,
        max_runs: int = 1000,
        slots: RunSlots | None = None,
        max_run_s: float = 600.0,
        detach_grace_s: float = 300.0,
        coalesce_max_ms: int = 1000,
        first_step_wait_s: float = FIRST_STEP_WAIT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.agents = agents
        self.session_service = session_service
        self.artifact_service = artifact_service or InMemoryArtifactService()
        self.log = log
        self.max_runs = max_runs
        self.slots = slots or MemorySlots(1000)
        self.max_run_s = max_run_s
        self.detach_grace_s = detach_grace_s
        self.coalesce_max_s = coalesce_max_ms / 1000
        self.first_step_wait_s = first_step_wait_s
        self._first_stepping = False  # a start is waiting for its ADK's first step
        self.clock = clock
        self.loop_lag = LoopLag()
        self.active: dict[str, Run] = {}
        self._releasing: set[asyncio.Future[None]] = set()
        remember_missing_a2a()
        for agent in agents:
            install_coalescing(agent.root)
            install_client_tools(agent.root)
        self._runners = {
            agent.name: Runner(
                app=resumable_app(agent, plugins=[TextTapPlugin()]),
                session_service=session_service,
                artifact_service=self.artifact_service,
            )
            for agent in agents
        }

    async def start(self, request: RunRequest, *, run_id: str | None = None) -> Run:
        """Creates the run record, starts ADK, writes `run.started` and starts the run's task.

        Args:
            request: what to run.
            run_id: the new run's id (one is made when None).
        """
        if len(self.active) >= self.max_runs:
            raise UnavailableError("the server is at its run limit", code="server_busy")
        run_id = run_id or new_run_id()
        if not await self.slots.acquire(request.user_id, run_id):
            metrics.REJECTED.labels("too_many_runs").inc()
            raise UnavailableError(
                f"you have {self.slots.limit} runs in progress; wait for one to end",
                code="too_many_runs",
                status=429,
            )
        try:
            return await self._start(run_id, request)
        except BaseException:
            await self.slots.release(request.user_id, run_id)
            raise

    async def _start(self, run_id: str, request: RunRequest) -> Run:
        record = RunRecord(
            run_id=run_id,
            session_id=request.session_id,
            user_id=request.user_id,
            agent=request.agent.name,
            created_at=self.clock(),
            client_tools=[asdict(spec) for spec in request.client_tools],
        )
        run = Run(record=record, on_disconnect=request.on_disconnect)
        try:
            await self.log.create_run(record)
        except Exception as exc:
            logger.exception("run %s: the log refused the new run", run_id)
            raise UnavailableError("the run log is unavailable", code="log_unavailable") from exc
        # ADK first: the rest of the request's work (storing `run.started`, the response's
        # headers) then runs while the model works on its first chunk, not before ADK
        # gets to call the model. One start at a time waits: starts that come together
        # share the loop anyway, and holding every one of them back cost about 40% more
        # CPU in a burst of 500 (`make bench`).
        pipe = self._open_pipe(run, request)
        try:
            if not self._first_stepping:
                await self._first_step(pipe)
        except BaseException:
            # The request was cancelled meanwhile: the run ends like any cancelled run.
            self._register(run, request, pipe)
            self.cancel(run_id, "the request that started the run was cancelled")
            raise
        self._register(run, request, pipe)
        return run

    async def _first_step(self, pipe: _Pipe) -> None:
        """Until ADK's first step (`_Pipe.started`), at most `first_step_wait_s`."""
        self._first_stepping = True
        try:
            await asyncio.wait([pipe.started], timeout=self.first_step_wait_s)
        finally:
            self._first_stepping = False

    def _register(self, run: Run, request: RunRequest, pipe: _Pipe) -> None:
        """Writes `run.started` and starts the run's task (which writes all that follows)."""
        run_id, record = run.run_id, run.record
        self.log.append(
            run_id,
            [
                RunStarted(
                    run_id=run_id,
                    ts=record.created_at,
                    session_id=request.session_id,
                    user_id=request.user_id,
                    app=request.agent.name,
                    agent=request.agent.root.name,
                    invocation_id=request.invocation_id,
                    resumes=request.resumes,
                )
            ],
        )
        self.active[run_id] = run
        self.loop_lag.start()
        metrics.RUNS_STARTED.labels(request.agent.name).inc()
        metrics.RUNS_ACTIVE.inc()
        logger.info(
            "run started",
            extra={"run_id": run_id, "agent": request.agent.name, "user": request.user_id},
        )
        run.task = asyncio.get_running_loop().create_task(
            self._drive(run, request, pipe), name=f"adkstream-run-{run_id}"
        )
        run.task.add_done_callback(functools.partial(self._on_task_done, run, request, pipe))

    def _open_pipe(self, run: Run, request: RunRequest) -> _Pipe:
        """Starts the run's ADK side (the pump task) and what joins it to the log."""
        window = AdaptiveWindow(request.coalesce_ms / 1000, self.coalesce_max_s, self.loop_lag)
        translator = Translator(
            run_id=run.run_id,
            output_keys=request.agent.output_keys,
            clock=self.clock,
            session_id=request.session_id,
            thoughts=request.thoughts,
            client_tools=frozenset(spec.name for spec in request.client_tools),
        )
        inbox: Inbox[PumpEnd] = Inbox()
        loop = asyncio.get_running_loop()
        started = loop.create_future()
        pump = loop.create_task(
            self._pump(run, request, translator, inbox, window, started),
            name=f"adkstream-pump-{run.run_id}",
        )
        coalescer = Coalescer(window, slow_start=window.base_s)
        return _Pipe(translator, coalescer, inbox, pump, started)

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
        """A cancel request from the log (any replica): acts on runs of this process only."""
        if run_id in self.active:
            self.cancel(run_id, reason)

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
        if self._releasing:
            await asyncio.wait(self._releasing, timeout=RELEASE_TIMEOUT_S)

    async def _drive(self, run: Run, request: RunRequest, pipe: _Pipe) -> None:
        translator, coalescer, pump = pipe.translator, pipe.coalescer, pipe.pump
        terminal: TerminalEvent | None = None
        try:
            async with asyncio.timeout(self.max_run_s):
                end = await self._relay(run, pipe.inbox, coalescer)
            terminal = self._terminal(run, translator, end)
        except asyncio.CancelledError:
            terminal = RunFailed(run_id=run.run_id, ts=self.clock(), error=failures.INTERRUPTED)
            raise
        except TimeoutError:
            terminal = RunFailed(run_id=run.run_id, ts=self.clock(), error=failures.TIMEOUT)
        except Exception as exc:
            logger.exception("run %s failed in the driver", run.run_id)
            terminal = RunFailed(run_id=run.run_id, ts=self.clock(), error=failures.classify(exc))
        finally:
            await self._stop_pump(run, pump)
            self.log.append(run.run_id, coalescer.flush(asyncio.get_running_loop().time()))
            if terminal is None:
                terminal = RunFailed(run_id=run.run_id, ts=self.clock(), error=failures.INTERNAL)
            self._end(run, request, terminal, coalescer)
            await self._release(run)

    def _end(
        self, run: Run, request: RunRequest, terminal: TerminalEvent, coalescer: Coalescer
    ) -> None:
        """Writes the terminal event and forgets the run (synchronous: it cannot be cut)."""
        self.log.append(run.run_id, [terminal])
        self.active.pop(run.run_id, None)
        if not self.active:
            self.loop_lag.stop()
        if run._detach_timer is not None:
            run._detach_timer.cancel()
        self._count_end(run, request, terminal, coalescer)
        run.done.set()

    async def _release(self, run: Run) -> None:
        """Frees the user's slot and the log's hot copy; bounded, and shielded from cancel."""
        release = asyncio.ensure_future(self._release_now(run))
        self._releasing.add(release)
        release.add_done_callback(self._releasing.discard)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(RELEASE_TIMEOUT_S):
                await asyncio.shield(release)

    async def _release_now(self, run: Run) -> None:
        try:
            await self.slots.release(run.record.user_id, run.run_id)
            await self.log.release(run.run_id)
        except Exception:
            logger.exception("run %s: releasing its slot or log copy failed", run.run_id)

    def _on_task_done(
        self, run: Run, request: RunRequest, pipe: _Pipe, task: asyncio.Task[None]
    ) -> None:
        """Ends a run whose task was cancelled before its first step (its `finally` never ran)."""
        if run.done.is_set():
            return
        run.abort_signal.set()
        pipe.pump.cancel()  # `shutdown` waits for it with the releases
        self._releasing.add(pipe.pump)
        pipe.pump.add_done_callback(self._releasing.discard)
        terminal = RunFailed(run_id=run.run_id, ts=self.clock(), error=failures.INTERRUPTED)
        self._end(run, request, terminal, pipe.coalescer)
        release = asyncio.ensure_future(self._release_now(run))
        self._releasing.add(release)
        release.add_done_callback(self._releasing.discard)

    def _count_end(
        self, run: Run, request: RunRequest, terminal: TerminalEvent, coalescer: Coalescer
    ) -> None:
        status = terminal.type.removeprefix("run.")
        metrics.RUNS_ACTIVE.dec()
        metrics.RUNS_ENDED.labels(request.agent.name, status).inc()
        metrics.DELTAS_IN.inc(coalescer.deltas_in)
        metrics.DELTAS_OUT.inc(coalescer.deltas_out)
        detail = terminal.error.code if isinstance(terminal, RunFailed) else ""
        logger.info(
            "run ended",
            extra={
                "run_id": run.run_id,
                "agent": request.agent.name,
                "user": run.record.user_id,
                "status": status,
                "error_code": detail,
                "duration_s": round(self.clock() - run.record.created_at, 3),
            },
        )

    async def _relay(
        self,
        run: Run,
        inbox: Inbox[PumpEnd],
        coalescer: Coalescer,
    ) -> PumpEnd:
        """Moves translated events from the pump to the log through the coalescer."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        first_delta = True
        write = functools.partial(self.log.append, run.run_id)
        while True:
            item = await next_from_pump(inbox, coalescer, write)
            if isinstance(item, PumpEnd):
                return item
            if run.cancel_reason is not None:
                continue  # cancelled: what ADK still says is not the run's any more
            now = loop.time()
            for event in item:
                ready = coalescer.push(event, now)
                if ready:
                    write(ready)
                    if first_delta and coalescer.deltas_out:
                        first_delta = False
                        metrics.FIRST_DELTA_SECONDS.observe(now - started)

    async def _pump(
        self,
        run: Run,
        request: RunRequest,
        translator: Translator,
        inbox: Inbox[PumpEnd],
        window: AdaptiveWindow,
        started: asyncio.Future[None],
    ) -> None:
        runner = self._runners[request.agent.name]
        settle = functools.partial(_settle, started)
        MODEL_CALLING.set(settle)
        # ADK's tasks for this run inherit both (contextvars are copied into tasks).
        COALESCE_WINDOW.set(window)
        CLIENT_TOOLS.set(request.client_tools)
        merge = request.coalesce_ms > 0  # coalescing off: one delta per model chunk
        TEXT_TAP.set(functools.partial(_tap_into, inbox, translator, merge))
        try:
            async with aclosing(
                runner.run_async(
                    user_id=request.user_id,
                    session_id=request.session_id,
                    new_message=request.message,
                    invocation_id=request.invocation_id,
                    state_delta=request.state_delta,
                    run_config=_RUN_CONFIG,
                    abort_signal=run.abort_signal,
                )
            ) as events:
                async for adk_event in events:
                    translated = translator.translate(adk_event)
                    if adk_event.actions.artifact_delta:
                        translated = await self._described(request, translated)
                    if translated:
                        inbox.put(translated)
                        settle()
        except Exception as exc:
            inbox.put(PumpEnd(exc))
        else:
            inbox.put(PumpEnd())
        finally:
            settle()

    async def _described(self, request: RunRequest, events: list[StreamEvent]) -> list[StreamEvent]:
        """The events, each `artifact.saved` with its content type and size."""
        artifacts = SessionArtifacts(
            self.artifact_service, request.agent.name, request.user_id, request.session_id
        )
        out: list[StreamEvent] = []
        for event in events:
            if isinstance(event, ArtifactSaved):
                file = await artifacts.load(event.name, event.version)
                if file is not None:
                    update = {"mime_type": file.mime_type, "size": len(file.data)}
                    event = event.model_copy(update=update)
            out.append(event)
        return out

    async def _stop_pump(self, run: Run, pump: asyncio.Task[None]) -> None:
        """Abort first (ADK persists its marker), then cancel what did not stop in time."""
        run.abort_signal.set()
        await stop_pump(pump, run_id=run.run_id)

    def _terminal(self, run: Run, translator: Translator, end: PumpEnd) -> TerminalEvent:
        return terminal_event(
            run_id=run.run_id,
            ts=self.clock(),
            outcome=translator,
            end=end,
            cancel_reason=run.cancel_reason,
        )


def new_run_id() -> str:
    return uuid.uuid4().hex


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _tap_into(
    inbox: Inbox[PumpEnd],
    translator: Translator,
    merge: bool,
    call: ModelCall,
    text: str,
    thought: bool,
) -> None:
    """A run's text sink: tapped text joins ADK's events in the inbox, in order.

    With `merge`, text of a message whose last delta is still unread joins that delta
    (one list append).
    """
    events = translator.tapped(call, text, inbox.join_text if merge else None, thought=thought)
    if events and isinstance(events[-1], DELTA_TYPES):
        inbox.put_text(events[-1].message_id, events)
    elif events:
        inbox.put(events)
