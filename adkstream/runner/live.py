"""Live (bidi) runs: `Runner.run_live` with a LiveRequestQueue, logged like any run.

A live run is one task that drives `run_live` through a pump task (so that coalescing
windows expire while ADK is silent), translates its events, and appends them to the
run's log: `run.started`, the stream events, a `turn.completed` per model turn,
`media.delta` for audio, and exactly one terminal event. It shares its lifecycle with
request runs (`lifecycle.Lifecycle.drive`: `max_run_s`, the run metrics, one terminal
event); what is its own: whatever ends it (the client's close, a cancel, an error,
`max_run_s`, server shutdown), ADK is told to stop by closing the LiveRequestQueue
(ADK's own `/run_live` never closes it).

What it does about ADK's live mode (docs/ADK_NOTES.md, "Live"; `google/adk/live/`):
- Every live response becomes an Event with a new id, so the partial chunks of one
  message do not share an id as they do in `run_async`: `LiveTranslator` gives each
  message the id of its first chunk and feeds the shared `Translator` with that id.
- Control events (`turn_complete`, `interrupted`, usage only) are not messages; each
  model turn ends with `turn.completed`. `agent.completed` is not sent: in live mode an
  agent's turn is not the end of the agent (its `is_final_response()` holds for every
  control event).
- Output transcription (audio answers) is the text of a message: deltas and a completed.
- `output_key`: ADK accumulates the agent's text across every turn of a live session
  into one string (`LlmAgent.__maybe_accumulate_streaming_output`); `TurnOutputPlugin`
  makes it hold the text of the latest turn, as after a `run_async` run, and also sets
  it from a finished output transcription (ADK does not: it reads content text only).
- Live runs use a copy of the agent tree in which the offline model is replaced by
  `OfflineLiveModel` (the same answers, plus `connect()`) and a Gemini model that is not
  a Live model by `gemini_live_model`: the built-in `assistant` runs live unchanged.
  A workflow root is refused (`live_not_supported`): ADK runs its nodes once without
  reading the LiveRequestQueue, so nothing the client sends would be answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Literal

from google.adk.agents import LlmAgent
from google.adk.agents.base_agent import BaseAgent
from google.adk.agents.live_request_queue import LiveRequest, LiveRequestQueue
from google.adk.agents.run_config import RunConfig
from google.adk.apps import App
from google.adk.models.base_llm import BaseLlm
from google.adk.models.google_llm import Gemini
from google.adk.runners import Runner
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types

from adkstream.agents.coalescing import unwrapped
from adkstream.agents.offline import OfflineModel
from adkstream.agents.offline_live import OfflineLiveModel
from adkstream.agents.registry import HostedAgent
from adkstream.errors import ConflictError, UnavailableError
from adkstream.events import (
    ErrorInfo,
    RunStarted,
    TerminalEvent,
)
from adkstream.runner import adk_events, failures
from adkstream.runner.coalesce import Coalescer
from adkstream.runner.ending import ABORT_GRACE_S, PumpEnd
from adkstream.runner.inbox import Inbox
from adkstream.runner.lifecycle import Lifecycle, Pipe, RunHandle, RunServices
from adkstream.runner.live_translate import LiveTranslator, TurnOutputPlugin
from adkstream.runner.run_record import RunRecord
from adkstream.runner.telemetry import telemetry_config

logger = logging.getLogger("adkstream.live")

GEMINI_LIVE_MODEL = "gemini-live-2.5-flash-preview"
"""The Live model a root agent on a non-Live Gemini model is run on (TEXT answers)."""

Modality = Literal["text", "audio"]


def run_config(modality: Modality, *, recent_events: int | None = None) -> RunConfig:
    """The RunConfig of a live run: text answers, or audio with its transcription; with
    `recent_events`, ADK loads only that many of the session's latest events."""
    limit = None if recent_events is None else GetSessionConfig(num_recent_events=recent_events)
    if modality == "audio":
        return RunConfig(
            response_modalities=[types.Modality.AUDIO],
            output_audio_transcription=types.AudioTranscriptionConfig(),
            telemetry=telemetry_config(),
            get_session_config=limit,
        )
    return RunConfig(
        response_modalities=[types.Modality.TEXT],
        telemetry=telemetry_config(),
        get_session_config=limit,
    )


def live_root(agent: HostedAgent, *, gemini_live_model: str = GEMINI_LIVE_MODEL) -> BaseAgent:
    """The agent a live run of `agent` runs: a copy of its tree on live-capable models.

    Raises:
        ConflictError: the root is a workflow, not an agent (`live_not_supported`).
    """
    root = agent.root
    if not isinstance(root, BaseAgent):
        # ADK runs a workflow's nodes once, without reading the LiveRequestQueue, and
        # ends: a socket would never get an answer to what it sends.
        raise ConflictError(
            f"agent {agent.name!r} is a workflow; only an agent can run live",
            code="live_not_supported",
        )
    return _live_copy(root, gemini_live_model)


def _live_copy(agent: BaseAgent, gemini_live_model: str) -> BaseAgent:
    update: dict[str, object] = {
        "sub_agents": [_live_copy(sub, gemini_live_model) for sub in agent.sub_agents]
    }
    if isinstance(agent, LlmAgent):
        # Live runs have no partials for the coalescing wrapper to merge: its inner model.
        model = unwrapped(agent.model)
        update["model"] = _live_model(model, gemini_live_model) or model
    return agent.clone(update=update)


def _live_model(model: BaseLlm | str, gemini_live_model: str) -> BaseLlm | str | None:
    """A live-capable stand-in for `model`, or None when it is one already (or unknown)."""
    if isinstance(model, OfflineModel) and not isinstance(model, OfflineLiveModel):
        return OfflineLiveModel(tokens_per_s=model.tokens_per_s, reply_tokens=model.reply_tokens)
    if isinstance(model, Gemini) and not _is_live_model(model.model):
        return model.model_copy(update={"model": gemini_live_model})
    if isinstance(model, str) and model.startswith("gemini") and not _is_live_model(model):
        return gemini_live_model
    return None


def _is_live_model(name: str) -> bool:
    return "live" in name or "native-audio" in name


@dataclass
class LiveRun(RunHandle):
    """A live run in progress in this process: its queue, and how it is asked to end.

    `close()` ends it normally (`run.completed`), `cancel()` with `run.cancelled`,
    `fail()` with `run.failed`; each closes the queue. ADK gets ABORT_GRACE_S to stop
    by itself, then its task is cancelled.
    """

    queue: LiveRequestQueue = field(default_factory=LiveRequestQueue)
    adk_events: bool = False
    """Also log each ADK Event as an `adk.event` (ADK's `/run_live`; see `adk_events`)."""
    pump: asyncio.Task[None] | None = None
    _force_timer: asyncio.TimerHandle | None = None

    @property
    def closing(self) -> bool:
        """The queue is closed: the run takes no more input and is ending."""
        return self.queue.closed

    def send_content(self, content: types.Content) -> None:
        if not self.closing:
            self.queue.send_content(content)

    def send(self, request: LiveRequest) -> None:
        """Any request of ADK's live queue (ADK's `/run_live` frames)."""
        if not self.closing:
            self.queue.send(request)

    def send_realtime(self, blob: types.Blob) -> None:
        if not self.closing:
            self.queue.send_realtime(blob)

    def send_activity_start(self) -> None:
        if not self.closing:
            self.queue.send_activity_start()

    def send_activity_end(self) -> None:
        if not self.closing:
            self.queue.send_activity_end()

    def close(self) -> None:
        """Ends the run normally: no more input; it ends with `run.completed`."""
        self._stop()

    def cancel(self, reason: str) -> None:
        if not self.done.is_set() and self.cancel_reason is None and self.failure is None:
            self.cancel_reason = reason
        self._stop()

    def fail(self, error: ErrorInfo) -> None:
        if not self.done.is_set() and self.cancel_reason is None and self.failure is None:
            self.failure = error
        self._stop()

    def _stop(self) -> None:
        if self.done.is_set():
            return
        if not self.queue.closed:
            self.queue.close()
        if self._force_timer is None:
            self._force_timer = asyncio.get_running_loop().call_later(
                ABORT_GRACE_S, self._force_stop
            )

    def _force_stop(self) -> None:
        if self.pump is not None and not self.pump.done():
            logger.warning("live run %s: ADK did not stop within %ss", self.run_id, ABORT_GRACE_S)
            self.pump.cancel()


class LiveRuns:
    """Starts and tracks the live runs of this process (`active`, by run id).

    Args:
        services: the agents, ADK's services and the run log.
        max_runs: concurrent live runs in this process; over it `start` raises
            UnavailableError.
        max_run_s: the longest a live run may take; then it ends `run.failed` `timeout`.
        gemini_live_model: the Live model for agents on a non-Live Gemini model.
        recent_events: how many of a session's latest events ADK loads for a live run
            (None: all of them).
        clock: wall clock for event timestamps.
    """

    def __init__(
        self,
        services: RunServices,
        *,
        max_runs: int = 1000,
        max_run_s: float = 600.0,
        gemini_live_model: str = GEMINI_LIVE_MODEL,
        recent_events: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.services = services
        log = self.log = services.log
        self.max_runs = max_runs
        self.gemini_live_model = gemini_live_model
        self.recent_events = recent_events
        self.clock = clock
        self.life = Lifecycle(log=log, clock=clock, max_run_s=max_run_s)
        self.active: dict[str, LiveRun] = {}
        self._connections: set[asyncio.Task[Any]] = set()
        """The socket handlers serving live runs (`connection`)."""
        self._runners: dict[tuple[str, bool], Runner] = {}
        log.on_cancel_request(self.on_cancel_request)
        log.on_run_lost(self.on_run_lost)

    async def start(
        self,
        *,
        agent: HostedAgent,
        user_id: str,
        session_id: str,
        coalesce_ms: int = 30,
        modality: Modality = "text",
        adk_events: bool = False,
    ) -> LiveRun:
        """Creates the run record, writes `run.started` and starts the run's task.

        With `adk_events` (ADK's `/run_live`), the run also logs each ADK Event as an
        `adk.event`, and runs the agent as ADK's own server does: without the plugin that
        keeps `output_key` to the latest turn's text.

        Raises:
            UnavailableError: at `max_runs`.
            ConflictError: the agent cannot run live (a workflow).
        """
        if len(self.active) >= self.max_runs:
            raise UnavailableError("the server is at its live run limit", code="server_busy")
        runner = self._runner(agent, adk_events=adk_events)
        run_id = uuid.uuid4().hex
        record = RunRecord(
            run_id=run_id,
            session_id=session_id,
            user_id=user_id,
            agent=agent.name,
            created_at=self.clock(),
        )
        await self.log.create_run(record)
        started = RunStarted(
            run_id=run_id,
            ts=record.created_at,
            session_id=session_id,
            user_id=user_id,
            app=agent.name,
            agent=agent.root.name,
        )
        run = LiveRun(record=record, adk_events=adk_events)
        self.life.announce(run, [started])
        self.active[run_id] = run
        run.task = asyncio.get_running_loop().create_task(
            self._drive(
                run,
                agent,
                runner,
                coalesce_ms,
                run_config(modality, recent_events=self.recent_events),
            ),
            name=f"adkstream-live-{run_id}",
        )
        return run

    def on_cancel_request(self, run_id: str, reason: str) -> None:
        """A cancel request from the log (any replica): acts on live runs of this process."""
        run = self.active.get(run_id)
        if run is not None:
            run.cancel(reason)

    def on_run_lost(self, run_id: str, error: ErrorInfo) -> None:
        """The log may no longer write a live run of this process: it ends failed."""
        run = self.active.get(run_id)
        if run is not None:
            run.fail(error)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[None]:
        """Counts the calling task as a socket serving a live run while the block runs."""
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            yield
        finally:
            self._connections.discard(task)

    async def shutdown(self, *, sockets_s: float = 0.0) -> None:
        """Ends every live run of this process with `run.failed` code `interrupted`, then
        waits up to `sockets_s` for their sockets to send it and close (a server that
        closed them first would leave their clients without the terminal event)."""
        runs = list(self.active.values())
        for run in runs:
            run.fail(failures.INTERRUPTED)
        for run in runs:
            await run.done.wait()
        await self.life.settle()
        others = self._connections - {asyncio.current_task()}
        if others and sockets_s > 0:
            await asyncio.wait(others, timeout=sockets_s)

    def _runner(self, agent: HostedAgent, *, adk_events: bool) -> Runner:
        key = (agent.name, adk_events)
        runner = self._runners.get(key)
        if runner is None:
            root = live_root(agent, gemini_live_model=self.gemini_live_model)
            plugins = [] if adk_events else [TurnOutputPlugin(agent.output_keys)]
            app = App(name="adkstream_live", root_agent=root, plugins=plugins)
            runner = Runner(
                app=app,
                app_name=agent.name,
                session_service=self.services.session_service,
                artifact_service=self.services.artifact_service,
            )
            self._runners[key] = runner
        return runner

    async def _drive(
        self,
        run: LiveRun,
        agent: HostedAgent,
        runner: Runner,
        coalesce_ms: int,
        config: RunConfig,
    ) -> None:
        translator = LiveTranslator(
            run_id=run.run_id, output_keys=agent.output_keys, clock=self.clock
        )
        inbox: Inbox[PumpEnd] = Inbox()
        pump = run.pump = asyncio.get_running_loop().create_task(
            self._pump(run, runner, translator, inbox, config),
            name=f"adkstream-live-pump-{run.run_id}",
        )
        coalescer = Coalescer(coalesce_ms / 1000)
        pipe = Pipe(translator, coalescer, inbox, pump, finish=translator.finish)
        await self.life.drive(run, pipe, self)

    def stop_adk(self, run: LiveRun) -> None:
        """Closes the run's queue: ADK's live loop ends by itself."""
        if not run.queue.closed:
            run.queue.close()

    async def leave_session(self, run: LiveRun, terminal: TerminalEvent) -> None:
        """Nothing: a live run's turns are in the session as ADK stored them."""

    def forget(self, run: LiveRun) -> None:
        self.active.pop(run.run_id, None)
        if run._force_timer is not None:
            run._force_timer.cancel()

    async def release(self, run: LiveRun) -> None:
        """Gives back the log's hot copy of the run."""
        try:
            await self.log.release(run.run_id)
        except Exception:
            logger.exception("live run %s: releasing its log copy failed", run.run_id)

    async def _pump(
        self,
        run: LiveRun,
        runner: Runner,
        translator: LiveTranslator,
        inbox: Inbox[PumpEnd],
        config: RunConfig,
    ) -> None:
        error: Exception | None = None
        try:
            async with aclosing(
                runner.run_live(
                    user_id=run.record.user_id,
                    session_id=run.record.session_id,
                    live_request_queue=run.queue,
                    run_config=config,
                )
            ) as events:
                async for adk_event in events:
                    translated = translator.translate(adk_event)
                    if run.adk_events:
                        kept = adk_events.adk_event(adk_event, run_id=run.run_id, ts=self.clock())
                        translated = [kept, *translated]
                    if translated:
                        inbox.put(translated)
        except Exception as exc:
            error = exc
        finally:
            inbox.put(PumpEnd(error))
