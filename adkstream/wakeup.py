"""`Wakeup`: one consumer waits until a producer wakes it or a deadline passes."""

from __future__ import annotations

import asyncio


class Wakeup:
    """A consumer's wait, woken by `wake()` (from producers) or at `until`.

    The deadline is a timer on the loop, not a timeout scope: a wait costs one future,
    which matters for the per-run queues that hundreds of streams wait on at once.
    """

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, until: float | None = None) -> None:
        """Until `wake()` or, with `until` (the loop's clock), until then."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if until is None else loop.call_at(until, self.wake)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
