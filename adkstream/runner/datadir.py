"""One server per data directory: an exclusive lock on `<data_dir>/.lock`.

Two servers on one embedded data directory would end each other's runs (each takes the
other's running runs for ones a dead process left) and contend for SQLite's one writer.
The kernel drops the lock with the process, so a crash never leaves it behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from adkstream.errors import ConfigurationError


class DataDirLock:
    """Held from `acquire` to `release` (or the end of the process)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Raises:
        ConfigurationError: the directory cannot be written, or another server holds it.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:
            raise ConfigurationError(
                f"ADKSTREAM_DATA_DIR: cannot write to {str(self.path.parent)!r} "
                f"({exc.strerror or exc}); choose a directory this user can write"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigurationError(
                f"another adkstream server uses {str(self.path.parent)!r}; give each server "
                "its own ADKSTREAM_DATA_DIR, or share PostgreSQL and Redis between them"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
