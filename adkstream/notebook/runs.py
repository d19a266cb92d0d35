"""Show a run while it streams: in this process (`show_run`), from a server (`show_remote`),
or a run already going, by id (`rejoin`).

In Jupyter each call draws one output that grows as the run streams; elsewhere it
prints the stream as `adkstream run` does. Each returns a `RunOutcome`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeAlias, TypeGuard, cast

from adkstream.errors import AdkStreamError, ConflictError, NotFoundError
from adkstream.events import ErrorInfo, StreamEvent, Usage
from adkstream.notebook.display import in_notebook, open_display
from adkstream.notebook.view import RunView

if TYPE_CHECKING:  # ADK and httpx load when used, not when this module is imported
    from google.adk.workflow import BaseNode

    from adkstream.agents.registry import AgentRegistry, HostedAgent
    from adkstream.client import AsyncClient
    from adkstream.runner.local import InProcess

__all__ = ["Mode", "RunOutcome", "rejoin", "show_remote", "show_run"]

logger = logging.getLogger("adkstream.notebook")

Mode: TypeAlias = Literal["auto", "html", "text"]
"""`html`: a live Jupyter display; `text`: print the stream; `auto`: html in a kernel."""
Target: TypeAlias = "InProcess | AgentRegistry | HostedAgent | BaseNode"
StateReader: TypeAlias = Callable[[RunView], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, and what it left.

    Attributes:
        status: `completed`, `failed`, `cancelled` (`running` if the stream stopped early).
        final_text: the run's final answer (`run.completed`).
        outputs: each agent's last message, by author.
        state: the session's state after the run (the `output_key` values).
        finish_reason: why the model stopped (`run.completed`): `stop`, `max_tokens`
            (the answer was cut) or a content filter's reason (`safety`, ...).
        events: the events shown, in seq order.
    """

    run_id: str | None
    session_id: str | None
    status: str
    final_text: str
    outputs: dict[str, str]
    state: dict[str, Any]
    usage: Usage | None = None
    error: ErrorInfo | None = None
    finish_reason: str | None = None
    events: list[StreamEvent] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "completed"


async def show_run(
    target: Target,
    message: str,
    *,
    agent: str | None = None,
    session_id: str | None = None,
    state_delta: Mapping[str, Any] | None = None,
    mode: Mode = "auto",
    out: TextIO | None = None,
) -> RunOutcome:
    """Runs an agent in this process (no server) and shows the run as it streams.

    Works in Jupyter's running event loop: `result = await show_run(agents, "hi")`.

    Args:
        target: an `InProcess`, or agents to run in one: an `AgentRegistry`, a
            `HostedAgent`, an ADK agent or workflow. The same agents object keeps its
            sessions between calls, so `session_id=result.session_id` continues one.
        message: the user's message.
        agent: which agent of a registry (default: the first).
        session_id: continue (or create) this session; None starts a new one.
        state_delta: state changes applied with the message.
        mode: `auto`, `html` or `text` (see `Mode`).
        out: where `text` mode prints (default: stdout).
    """
    local = local_for(target)
    run = await local.start(message, agent=agent, session_id=session_id, state_delta=state_delta)
    view = RunView(run_id=run.run_id, session_id=run.session_id)
    events = local.events(run.run_id)
    try:
        return await _show(events, view, _local_state(local), mode=mode, out=out)
    finally:
        await _aclose(events)
        if not view.ended:  # interrupted (the kernel's stop button): stop the run too
            with contextlib.suppress(ConflictError):
                local.cancel(run.run_id, "the notebook stopped watching")


async def show_remote(
    server: str | AsyncClient,
    message: str,
    *,
    agent: str | None = None,
    session_id: str | None = None,
    state_delta: Mapping[str, Any] | None = None,
    api_key: str | None = None,
    token: str | None = None,
    mode: Mode = "auto",
    out: TextIO | None = None,
) -> RunOutcome:
    """Starts a run on an adkstream server and shows it as it streams.

    Args:
        server: the server's URL, or an `AsyncClient` (left open).
        api_key: sent as `X-API-Key` (with a URL).
        token: sent as a bearer token (with a URL).
        The others are `show_run`'s.
    """
    async with _client(server, api_key, token) as client:
        view = RunView(session_id=session_id)
        stream = client.stream(message, agent=agent, session_id=session_id, state_delta=state_delta)
        async with stream:
            return await _show(stream, view, _remote_state(client), mode=mode, out=out)


async def rejoin(
    source: str | AsyncClient | InProcess,
    run_id: str,
    *,
    after: int = 0,
    api_key: str | None = None,
    token: str | None = None,
    mode: Mode = "auto",
    out: TextIO | None = None,
) -> RunOutcome:
    """Shows a run already started (running or ended), from the events after seq `after`.

    Args:
        source: the server's URL, an `AsyncClient`, or the `InProcess` running it.
        run_id: the run.
        after: the last seq already seen (0: from the start).
        The others are `show_remote`'s.
    """
    if _is_in_process(source):
        return await _rejoin_local(source, run_id, after=after, mode=mode, out=out)
    async with _client(cast("str | AsyncClient", source), api_key, token) as client:
        view = RunView(run_id=run_id)
        async with client.events(run_id, after=after) as stream:
            return await _show(stream, view, _remote_state(client), mode=mode, out=out)


async def _show(
    events: AsyncIterator[StreamEvent],
    view: RunView,
    read_state: StateReader,
    *,
    mode: Mode,
    out: TextIO | None,
) -> RunOutcome:
    """Feeds the events to the view and to the display (or printer); the final state last."""
    seen: list[StreamEvent] = []

    async def recorded() -> AsyncGenerator[StreamEvent, None]:
        async for event in events:
            seen.append(event)
            view.add(event)
            yield event

    if mode == "html" or (mode == "auto" and in_notebook()):
        live = open_display(view)
        try:
            async with aclosing(recorded()) as shown:
                async for _ in shown:
                    live.changed()
            await _final_state(view, read_state)
        finally:
            live.close()
    else:
        from adkstream.cli import print_stream

        stream = out or sys.stdout
        async with aclosing(recorded()) as shown:
            await print_stream(shown, stream)
        await _final_state(view, read_state)
        if view.state:
            stream.write(f"state: {json.dumps(view.state, ensure_ascii=False, default=str)}\n")
            stream.flush()
    return _outcome(view, seen)


async def _final_state(view: RunView, read_state: StateReader) -> None:
    if view.session_id is None and view.run_id is None:
        return
    state = await read_state(view)
    if state is not None:
        view.set_final_state(state)


def _outcome(view: RunView, events: list[StreamEvent]) -> RunOutcome:
    return RunOutcome(
        run_id=view.run_id,
        session_id=view.session_id,
        status=view.status,
        final_text=view.final_text,
        outputs=view.outputs,
        state=dict(view.state),
        usage=view.usage,
        error=view.error,
        finish_reason=view.finish_reason,
        events=events,
    )


# --- in process ---

_LOCALS: dict[int, tuple[object, InProcess, weakref.ref[asyncio.AbstractEventLoop]]] = {}


def local_for(target: Target) -> InProcess:
    """The `InProcess` that runs `target`: the same one for the same object and event loop."""
    from adkstream.runner.local import InProcess

    if isinstance(target, InProcess):
        return target
    loop = asyncio.get_running_loop()
    cached = _LOCALS.get(id(target))
    if cached is not None and cached[0] is target and cached[2]() is loop:
        return cached[1]
    local = InProcess(_registry(target))
    _LOCALS[id(target)] = (target, local, weakref.ref(loop))
    return local


def _registry(target: AgentRegistry | HostedAgent | BaseNode) -> AgentRegistry:
    from adkstream.agents.registry import AgentRegistry, HostedAgent

    if isinstance(target, AgentRegistry):
        return target
    if isinstance(target, HostedAgent):
        return AgentRegistry([target])
    return AgentRegistry([HostedAgent.of(target)])


def _is_in_process(source: object) -> TypeGuard[InProcess]:
    local = sys.modules.get("adkstream.runner.local")  # not loaded: not an InProcess
    return local is not None and isinstance(source, local.InProcess)


async def _rejoin_local(
    local: InProcess, run_id: str, *, after: int, mode: Mode, out: TextIO | None
) -> RunOutcome:
    record = await local.log.get_run(run_id)
    if record is None:
        raise NotFoundError(f"no run {run_id!r}", code="run_not_found")
    view = RunView(run_id=run_id, session_id=record.session_id)
    events = local.events(run_id, after=after)
    try:
        return await _show(events, view, _local_state(local), mode=mode, out=out)
    finally:
        await _aclose(events)


def _local_state(local: InProcess) -> StateReader:
    async def read(view: RunView) -> dict[str, Any] | None:
        return None if view.session_id is None else await local.state(view.session_id)

    return read


async def _aclose(events: AsyncIterator[StreamEvent]) -> None:
    close = getattr(events, "aclose", None)  # the log's `follow` is an async generator
    if close is not None:
        await close()


# --- remote ---


@contextlib.asynccontextmanager
async def _client(
    server: str | AsyncClient, api_key: str | None, token: str | None
) -> AsyncIterator[AsyncClient]:
    from adkstream.client import AsyncClient

    if isinstance(server, AsyncClient):
        yield server
        return
    async with AsyncClient(server, api_key=api_key, token=token) as client:
        yield client


def _remote_state(client: AsyncClient) -> StateReader:
    async def read(view: RunView) -> dict[str, Any] | None:
        try:
            if view.session_id is None and view.run_id is not None:
                view.session_id = (await client.get_run(view.run_id)).session_id
            if view.session_id is None:
                return None
            return (await client.get_session(view.session_id)).state
        except AdkStreamError as exc:  # the run is shown; its state is a bonus
            logger.info("no session state for run %s: %s", view.run_id, exc)
            return None

    return read
