"""The timer that applies retention: prunes the run log and idle sessions every so often.

One sweep (`prune_once`) asks the log to delete the runs past their retention (memory and
SQLite delete them; Redis expires them by itself) and, with session retention on, the
`SessionPruner` to delete idle sessions. Sweeps start at once (a server that was down
for a while has a backlog) and then come every `Retention.sweep_s`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from adkstream.runner.log import EventLog
from adkstream.runner.retention import Retention
from adkstream.runner.session_retention import SessionPruner
from adkstream.tasks import cancel_and_wait

logger = logging.getLogger("adkstream.storage")


@dataclass(frozen=True)
class Pruned:
    """What one sweep deleted."""

    runs: int
    sessions: int


class Pruner:
    """Applies `retention` to `log` (and to sessions, through `sessions`) on a timer.

    Args:
        clock: wall clock (what `ended_at` and sessions' update times are in).
    """

    def __init__(
        self,
        retention: Retention,
        log: EventLog,
        sessions: SessionPruner | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.retention = retention
        self.log = log
        self.sessions = sessions
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts sweeping (nothing to do when everything is kept for ever)."""
        if self._task is None and self.retention.sweep_s is not None:
            self._task = asyncio.get_running_loop().create_task(
                self._sweep(self.retention.sweep_s), name="adkstream-pruner"
            )

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def prune_once(self, *, now: float | None = None) -> Pruned:
        """One sweep, as of `now` (default: the clock's time)."""
        now = self.clock() if now is None else now
        runs = await self.log.prune(self.retention, now=now)
        sessions = 0
        if self.sessions is not None:
            sessions = await self.sessions.prune(self.retention, now=now)
        if runs or sessions:
            logger.info("retention: deleted %d runs and %d sessions", runs, sessions)
        return Pruned(runs=runs, sessions=sessions)

    async def _sweep(self, every_s: float) -> None:
        while True:
            try:
                await self.prune_once()
            except Exception:
                logger.exception("pruning past retention failed; trying again in %.0f s", every_s)
            await asyncio.sleep(every_s)  # a period, not a wait for anything
