"""How a run ends, shared by request runs (`runs.py`) and live runs (`live.py`).

The run's ADK side (the pump) feeds an `Inbox` that `next_from_pump` drains (flushing the
coalescer's pending merge when its window expires) and reports its end through
`PumpEnd`; `stop_pump` gives ADK a grace period to stop by itself before cancelling it;
`terminal_event` picks the one terminal event from what happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from adkstream.events import (
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunWaiting,
    StreamEvent,
    TerminalEvent,
    Usage,
)
from adkstream.runner import failures
from adkstream.runner.coalesce import Coalescer
from adkstream.runner.inbox import Inbox
from adkstream.runner.pauses import PendingRequest
from adkstream.tasks import cancel_and_wait

logger = logging.getLogger("adkstream.run")

ABORT_GRACE_S = 2.0
"""How long ADK gets to stop by itself once it was told to (abort signal, closed queue)."""


@dataclass
class PumpEnd:
    """The ADK generator ended: normally (`error` None) or by raising `error`."""

    error: BaseException | None = None


class Outcome(Protocol):
    """What a translator learned of the run."""

    @property
    def usage(self) -> Usage: ...

    @property
    def final_text(self) -> str: ...

    @property
    def error_code(self) -> str | None: ...

    @property
    def finish_reason(self) -> str: ...

    @property
    def pending(self) -> list[PendingRequest]: ...

    @property
    def invocation_id(self) -> str | None: ...


async def next_from_pump(
    inbox: Inbox[PumpEnd], coalescer: Coalescer, write: Callable[[list[StreamEvent]], object]
) -> list[StreamEvent] | PumpEnd:
    """The pump's next item; while waiting, a pending merged delta goes out at its deadline.

    Text that the coalescer would hold anyway (see `Coalescer.hold`) waits in the inbox
    until then instead of waking the run's task per chunk.
    """
    loop = asyncio.get_running_loop()
    while True:
        hold = coalescer.hold(loop.time())
        if hold is None:
            item = await inbox.get()
        else:
            message_id, until = hold
            item = await inbox.get(until=until, holding=message_id)
        if item is not None:
            return item
        if ready := coalescer.flush(loop.time()):
            write(ready)


async def stop_pump(pump: asyncio.Task[None], *, run_id: str) -> None:
    """Waits up to ABORT_GRACE_S for the pump to end, then cancels it."""
    await asyncio.wait([pump], timeout=ABORT_GRACE_S)  # raises only if the caller is cancelled
    if not pump.done():
        logger.warning("run %s: ADK did not stop within %ss", run_id, ABORT_GRACE_S)
        await cancel_and_wait(pump)


def terminal_event(
    *, run_id: str, ts: float, outcome: Outcome, end: PumpEnd, cancel_reason: str | None
) -> TerminalEvent:
    """Cancelled if asked, failed if ADK raised or reported an error, waiting if it paused
    (requests are pending), else completed."""
    if cancel_reason is not None:
        return RunCancelled(run_id=run_id, ts=ts, reason=cancel_reason)
    if end.error is not None:
        error = end.error
        logger.error("run %s failed", run_id, exc_info=(type(error), error, error.__traceback__))
        return RunFailed(run_id=run_id, ts=ts, error=failures.classify(error))
    if outcome.error_code is not None:
        return RunFailed(
            run_id=run_id, ts=ts, error=failures.classify_error_code(outcome.error_code)
        )
    if outcome.pending:
        return RunWaiting(
            run_id=run_id,
            ts=ts,
            pending=outcome.pending,
            invocation_id=outcome.invocation_id,
            usage=outcome.usage,
            final_text=outcome.final_text,
        )
    return RunCompleted(
        run_id=run_id,
        ts=ts,
        usage=outcome.usage,
        final_text=outcome.final_text,
        finish_reason=outcome.finish_reason,
    )
