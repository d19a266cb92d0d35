"""Where the run log keeps runs: the storage protocol, and storage chosen by URL.

`EventLog` (log.py) does everything that is the same on every backend: the hot copy of
the runs this process writes, the background flusher, following, and handing cancel
requests and lost runs to the run manager. A backend is one module with one class that
implements `RunStorage`, as httpx's transports plug into its client: it stores and
loads runs and their events, lists a session's runs, ends the runs a dead process left
running, waits for another process's run to move, keeps answer claims, and carries
cancel requests to every process.

A backend reaches back into the log only through `LogHooks`: the runs this process
holds (to write back what storage lost, or to deliver a cancel that arrived while a
subscription was down), and the two deliveries.

Backends are chosen by the scheme of `ADKSTREAM_LOG_URL`, in ADK's service-URI style
(`sqlite:///path/runs.db`, `redis://host:6379/0`, `postgresql://user@host/db`,
`memory://`): `BACKENDS` maps each scheme to the module that opens it, imported only
when chosen (a process on SQLite never imports a Redis or PostgreSQL client). Adding a
backend is a module with an `open_storage(url, options)` function and one line here.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from adkstream.events import ErrorInfo, StreamEvent

if TYPE_CHECKING:
    from adkstream.runner.retention import Retention
    from adkstream.runner.run_record import RunRecord

Batches = Sequence[tuple["RunRecord", Sequence[StreamEvent]]]
"""Each run's new events with its record after them, as the flusher hands them over."""


class HeldRun(Protocol):
    """A run this process writes, as storage may see it (read only)."""

    @property
    def run_id(self) -> str: ...

    @property
    def record(self) -> RunRecord: ...

    @property
    def events(self) -> Sequence[StreamEvent]:
        """Every event the run has had (a hot copy starts at the run's first event)."""

    @property
    def stored_seq(self) -> int: ...

    @property
    def finished(self) -> bool: ...


class LogHooks(Protocol):
    """What a backend may ask of the log that uses it."""

    def held(self, run_id: str) -> HeldRun | None:
        """The run if this process writes it (not yet released)."""

    def held_runs(self) -> list[HeldRun]: ...

    def deliver_cancel(self, run_id: str, reason: str) -> None:
        """Hands a cancel request (for any process's run) to the log's callbacks."""

    def deliver_lost(self, run_id: str, error: ErrorInfo) -> None:
        """This process may no longer write `run_id`: its driver ends it with `error`."""


class RunStorage(Protocol):
    """A run log backend; see the module docstring. Every method may raise the errors of
    `failures.STORAGE_ERRORS` when storage is out of reach."""

    def attach(self, hooks: LogHooks) -> None:
        """Called once by the log that uses this storage, before anything else."""

    async def reserve(self, run_id: str) -> bool:
        """Reserves a run id that no stored run has, against other processes: False if
        another process reserved it. Storage of one process answers True."""

    async def create(self, record: RunRecord) -> None:
        """A new run (running, no events). A backend may write it with its first batch."""

    async def store(self, batches: Batches) -> None:
        """Writes each run's new events and its updated record, in one go if it can.

        A batch that raised is passed again (with any events appended since), so writing
        events already stored must be harmless. A finished run is final: events after
        its terminal one, or a record turning it back to running, are dropped. A run this
        process may no longer write is reported through `LogHooks.deliver_lost`.
        """

    async def load_run(self, run_id: str) -> RunRecord | None:
        """The stored record, `last_seq` being the run's last stored event."""

    async def load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]: ...

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        """The stored runs of a session (the log adds the newer copies it holds)."""

    async def wait(self, run_id: str, *, after: int, timeout: float) -> None:  # noqa: ASYNC109
        """Returns when another process's run may have moved past `after`, or after
        `timeout` (a parameter: a backend may turn it into a server-side wait)."""

    async def interrupt_left(self, held: Collection[str]) -> list[str]:
        """Ends the runs a dead process left running (none of `held`) with `run.failed`
        `interrupted`; returns their ids. What counts as dead is the backend's."""

    async def claim(self, run_id: str, by: str) -> str:
        """Stores `by` as the claimant of `run_id`'s answers unless one is; returns the
        stored claimant. Exactly one claim wins, across processes."""

    async def claimed(self, run_id: str) -> str | None: ...

    async def request_cancel(self, run_id: str, reason: str) -> None:
        """Carries the request to every process sharing the storage (this one too),
        each handing it to `LogHooks.deliver_cancel`."""

    async def prune(self, retention: Retention, *, now: float, held: Collection[str]) -> int:
        """Deletes the runs past `retention` (none of `held`); a backend whose storage
        expires runs by itself returns 0."""

    async def ping(self) -> None:
        """Raises if storage cannot be reached."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class StorageOptions:
    """What backends may need besides their URL (each takes what it uses)."""

    prefix: str = "adkstream"
    """Key or table prefix: deployments sharing one server differ by it."""
    lease_s: float = 5.0
    """How long a process's lease lasts (shared backends judge dead processes by it)."""
    retention: Retention | None = None


StorageOpener = Callable[[str, StorageOptions], Awaitable[RunStorage]]

BACKENDS: dict[str, str] = {
    "memory": "adkstream.runner.storage_memory",
    "sqlite": "adkstream.runner.storage_sqlite",
    "redis": "adkstream.runner.storage_redis",
    "rediss": "adkstream.runner.storage_redis",
    "unix": "adkstream.runner.storage_redis",
    "postgresql": "adkstream.runner.storage_postgres",
    "postgres": "adkstream.runner.storage_postgres",
}
"""URL scheme (before any `+driver`) → the module whose `open_storage` opens it."""


def scheme(url: str) -> str:
    """`url`'s scheme without a `+driver` suffix (`postgresql+asyncpg` → `postgresql`)."""
    return urlsplit(url).scheme.split("+", 1)[0].lower()


async def open_storage(url: str, options: StorageOptions) -> RunStorage:
    """Opens the storage `url` names.

    Raises:
        ValueError: no backend has the URL's scheme.
        Whatever the backend raises when it cannot open its storage.
    """
    name = scheme(url)
    module = BACKENDS.get(name)
    if module is None:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"no run log backend for {name or 'a URL without scheme'!r} ({known})")
    opener: StorageOpener = importlib.import_module(module).open_storage
    return await opener(url, options)


def sqlite_url(path: Path) -> str:
    """The `sqlite:` URL of a file (absolute, as `sqlite:////abs/path` spells it)."""
    return f"sqlite:///{path.resolve()}"


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///relative` or `sqlite:////absolute` URL."""
    path = urlsplit(url).path
    if not path or path == "/":
        raise ValueError(f"{url!r} names no file (sqlite:///path/runs.db)")
    return Path(path[1:])


async def poll_stored(
    load_run: Callable[[str], Awaitable[RunRecord | None]],
    run_id: str,
    *,
    after: int,
    timeout: float,  # noqa: ASYNC109
) -> None:
    """`RunStorage.wait` for storage that cannot wake a waiter: polls the run's record."""
    deadline = time.monotonic() + timeout
    interval = 0.05
    while time.monotonic() < deadline:
        record = await load_run(run_id)
        if record is None or record.finished or record.last_seq > after:
            return
        await asyncio.sleep(min(interval, max(deadline - time.monotonic(), 0)))
        interval = min(interval * 2, 0.5)
