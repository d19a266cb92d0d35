"""`cancel_and_wait`: stops helper tasks, lets the caller's own cancellation through, and
logs a task that failed on the way out."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adkstream.tasks import cancel_and_wait


async def _forever(started: asyncio.Event) -> None:
    started.set()
    await asyncio.Event().wait()


async def test_cancel_and_wait_returns_once_the_tasks_have_ended() -> None:
    started = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(_forever(s)) for s in started]
    for event in started:
        await event.wait()
    await cancel_and_wait(*tasks)
    assert all(task.cancelled() for task in tasks)


async def test_cancel_and_wait_lets_the_callers_cancellation_through() -> None:
    waiting = asyncio.Event()
    stopping = asyncio.Event()
    release = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            waiting.set()
            await asyncio.Event().wait()
        finally:
            stopping.set()
            await release.wait()  # cleanup that takes a while

    helper = asyncio.create_task(slow_to_stop())
    await waiting.wait()
    went_on = False

    async def caller() -> None:
        nonlocal went_on
        await cancel_and_wait(helper)
        went_on = True

    outer = asyncio.create_task(caller())
    await stopping.wait()
    outer.cancel()  # the caller is cancelled while it waits for the helper
    with pytest.raises(asyncio.CancelledError):
        await outer
    release.set()
    await asyncio.gather(helper, return_exceptions=True)
    assert not went_on


async def test_cancel_and_wait_logs_a_task_that_failed_while_stopping(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = asyncio.Event()

    async def fails_on_cancel() -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        finally:
            raise RuntimeError("cleanup broke")

    task = asyncio.create_task(fails_on_cancel(), name="broken-helper")
    await started.wait()
    with caplog.at_level(logging.WARNING, logger="adkstream.tasks"):
        await cancel_and_wait(task)
    assert "broken-helper" in caplog.text
