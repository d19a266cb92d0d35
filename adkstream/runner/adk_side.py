"""The ADK side of request runs: one pump task per run that drives `Runner.run_async`.

The pump translates each ADK event the moment it arrives (ADK's partial events share one
mutable `EventActions`) and puts it in the run's `Inbox`; the run's task (its
`lifecycle.Lifecycle.drive`) takes it from there. Text the model streams reaches the
inbox sooner, through the text tap (`agents/text_tap.py` explains that path), which the
pump hands its sink through a ContextVar that ADK's tasks for the run inherit.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from contextlib import aclosing
from typing import TYPE_CHECKING

from google.adk.runners import Runner

from adkstream.agents.client_tools import CLIENT_TOOLS
from adkstream.agents.coalescing import COALESCE_WINDOW, no_window
from adkstream.agents.registry import resumable_app
from adkstream.agents.text_tap import (
    INVOCATION_STARTING,
    MODEL_CALLING,
    TEXT_TAP,
    ModelCall,
    TextTapPlugin,
)
from adkstream.events import DELTA_TYPES, ArtifactSaved, StreamEvent
from adkstream.runner import adk_events
from adkstream.runner.artifacts import SessionArtifacts
from adkstream.runner.coalesce import Coalescer
from adkstream.runner.ending import PumpEnd
from adkstream.runner.inbox import Inbox
from adkstream.runner.lifecycle import Pipe, RunServices
from adkstream.runner.loop_lag import AdaptiveWindow
from adkstream.runner.translate import Translator

if TYPE_CHECKING:
    from adkstream.runner.runs import Run, RunRequest


class AdkSide:
    """The ADK runners of the hosted agents, and the pumps of the runs that use them.

    Args:
        services: the agents, ADK's services and the run log.
        clock: wall clock for event timestamps.
        recent_events: how many of a session's latest events ADK loads for a run (None:
            all of them); see `adk_events.run_config`.
    """

    def __init__(
        self,
        services: RunServices,
        *,
        clock: Callable[[], float] = time.time,
        recent_events: int | None = None,
    ) -> None:
        self.services = services
        self.clock = clock
        self.recent_events = recent_events
        self._runners = {
            agent.name: Runner(
                app=resumable_app(agent, plugins=[TextTapPlugin()]),
                session_service=services.session_service,
                artifact_service=services.artifact_service,
            )
            for agent in services.agents
        }
        self._adk_runners = {  # runs of ADK's REST API (`RunRequest.adk_events`)
            agent.name: adk_events.adk_runner(
                agent,
                plugins=[TextTapPlugin()],
                session_service=services.session_service,
                artifact_service=services.artifact_service,
            )
            for agent in services.agents
        }

    def runner(self, agent: str) -> Runner:
        """The runner of `agent`'s runs (resumable; see `registry.resumable_app`)."""
        return self._runners[agent]

    def open(
        self, run: Run, request: RunRequest, window: AdaptiveWindow
    ) -> tuple[Pipe, asyncio.Future[None]]:
        """Starts the run's pump and what joins it to the log; the future is done when
        ADK first calls a model, yields an event or ends."""
        translator = Translator(
            run_id=run.run_id,
            output_keys=request.agent.output_keys,
            clock=self.clock,
            session_id=request.session_id,
            thoughts=request.thoughts,
            client_tools=frozenset(spec.name for spec in request.client_tools),
        )
        run.translator = translator
        inbox: Inbox[PumpEnd] = Inbox()
        loop = asyncio.get_running_loop()
        started = loop.create_future()
        pump = loop.create_task(
            self._pump(run, request, translator, inbox, window, started),
            name=f"adkstream-pump-{run.run_id}",
        )
        coalescer = Coalescer(window, slow_start=window.base_s)
        return Pipe(outcome=translator, coalescer=coalescer, inbox=inbox, pump=pump), started

    async def _pump(
        self,
        run: Run,
        request: RunRequest,
        translator: Translator,
        inbox: Inbox[PumpEnd],
        window: AdaptiveWindow,
        started: asyncio.Future[None],
    ) -> None:
        runners = self._adk_runners if request.adk_events else self._runners
        runner = runners[request.agent.name]
        settle = functools.partial(_settle, started)
        MODEL_CALLING.set(settle)
        INVOCATION_STARTING.set(functools.partial(_note_invocation, run))
        # ADK's tasks for this run inherit both (contextvars are copied into tasks).
        COALESCE_WINDOW.set(no_window if request.adk_events else window)
        CLIENT_TOOLS.set(request.client_tools)
        merge = request.coalesce_ms > 0  # coalescing off: one delta per model chunk
        tap = None if request.adk_events else functools.partial(_tap_into, inbox, translator, merge)
        TEXT_TAP.set(tap)
        try:
            async with aclosing(
                runner.run_async(
                    user_id=request.user_id,
                    session_id=request.session_id,
                    new_message=request.message,
                    invocation_id=request.invocation_id,
                    state_delta=request.state_delta,
                    run_config=adk_events.run_config(
                        streaming=request.streaming,
                        recent_events=adk_events.history_limit(
                            self.recent_events,
                            message=request.message,
                            invocation_id=request.invocation_id,
                        ),
                    ),
                    abort_signal=run.abort_signal,
                )
            ) as events:
                async for adk_event in events:
                    translated = translator.translate(adk_event)
                    if adk_event.actions.artifact_delta:
                        translated = await self._described(request, translated)
                    if request.adk_events:
                        kept = adk_events.adk_event(adk_event, run_id=run.run_id, ts=self.clock())
                        translated = [kept, *translated]
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
            self.services.artifact_service,
            request.agent.name,
            request.user_id,
            request.session_id,
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


def _note_invocation(run: Run, invocation_id: str) -> None:
    run.invocation_id = invocation_id


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
