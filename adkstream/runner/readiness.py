"""Readiness (`GET /readyz`): whether this process's storage answers now.

Liveness (`/healthz`) only says the process serves HTTP: it never touches storage, so a
storage outage does not get live replicas restarted. Readiness asks each store a trivial
question (Redis `PING`, `SELECT 1` on the session database), all at once and each within
CHECK_TIMEOUT_S: a load balancer takes a replica whose storage is out of reach out of
rotation, and puts it back once storage answers again (nothing to restart).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Literal

from adkstream.runner.host import Host
from adkstream.runner.session_backends import ping_session_service

logger = logging.getLogger("adkstream.storage")

CHECK_TIMEOUT_S = 2.0

CheckState = Literal["ok", "unchecked", "timeout", "unreachable"]
"""`unchecked`: a store this server cannot ask (a session service of your own)."""


async def check_storage(host: Host) -> dict[str, CheckState]:
    """Each store's state: `run_log` (Redis, or the embedded SQLite log) and `sessions`."""
    names = ("run_log", "sessions")
    states = await asyncio.gather(
        _state("run_log", _checked(host.log.ping())),
        _state("sessions", ping_session_service(host.session_service)),
    )
    return dict(zip(names, states, strict=True))


def ready(states: dict[str, CheckState]) -> bool:
    return all(state in ("ok", "unchecked") for state in states.values())


async def _checked(ping: Awaitable[None]) -> bool:
    await ping
    return True


async def _state(name: str, check: Awaitable[bool]) -> CheckState:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            checked = await check
    except TimeoutError:
        logger.warning("readiness: %s did not answer within %ss", name, CHECK_TIMEOUT_S)
        return "timeout"
    except Exception:
        logger.warning("readiness: %s is unreachable", name, exc_info=True)
        return "unreachable"
    return "ok" if checked else "unchecked"
