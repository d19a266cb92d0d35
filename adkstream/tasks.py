"""Stopping helper tasks: cancel them and wait for them to end, without swallowing a
cancellation aimed at the caller.

The usual idiom, `task.cancel()` then `with suppress(CancelledError): await task`, also
suppresses the CancelledError of the *caller* being cancelled while it waits, so the
caller goes on as if nothing happened. `cancel_and_wait` lets that one through, and
logs a task that ended with an error of its own instead of dropping it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

logger = logging.getLogger("adkstream.tasks")


async def cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancels `tasks` and returns once every one has ended.

    Raises:
        asyncio.CancelledError: the caller itself was cancelled meanwhile.
    """
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for task, outcome in zip(tasks, outcomes, strict=True):
        if isinstance(outcome, Exception):
            name = task.get_name() if isinstance(task, asyncio.Task) else repr(task)
            logger.warning("task %s ended with an error while stopping", name, exc_info=outcome)
