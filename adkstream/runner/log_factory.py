"""Opens the run log the settings ask for: `EventLog` over the storage a URL names.

The default is SQLite in the data dir (`runs.db`). Backends are imported only when
chosen (see storage.py): a process on SQLite never imports the PostgreSQL driver or the
Redis log backend. It does import the Redis client library, for its error types
(`failures.STORAGE_ERRORS`) and the Redis run slots (`slots.py`): about 70 ms of the
server's 1.4 s import.
"""

from __future__ import annotations

from pathlib import Path

from adkstream.runner.log import EventLog
from adkstream.runner.retention import Retention
from adkstream.runner.storage import StorageOptions, open_storage, sqlite_url

SQLITE_FILE = "runs.db"


def default_log_url(data_dir: Path) -> str:
    """The embedded default: `runs.db` in the data dir."""
    return sqlite_url(data_dir / SQLITE_FILE)


async def open_log(
    url: str,
    *,
    prefix: str = "adkstream",
    lease_s: float = 5.0,
    retention: Retention | None = None,
) -> EventLog:
    """Opens the event log on the storage `url` names (`storage.BACKENDS`).

    Args:
        url: `sqlite:///…`, `redis://…`, `postgresql://…` or `memory://`.
        prefix: the key (Redis) or table (PostgreSQL) prefix: deployments sharing one
            server differ by it.
        lease_s: how long a process's lease lasts on shared storage: a process that
            died has its runs ended this long after its last refresh (and a few seconds
            more).
        retention: how long runs are kept (default: `Retention()`). Redis expires them
            by itself; the other backends are pruned by the host's `Pruner`.

    Returns:
        The opened log; the caller closes it (`await log.close()`).

    Raises:
        ValueError: no backend has the URL's scheme.
        Whatever the backend raises when its storage cannot be reached or opened.
    """
    options = StorageOptions(prefix=prefix, lease_s=lease_s, retention=retention)
    return EventLog(await open_storage(url, options))
