"""Structured logs: one JSON object per line, with the fields a record carries in `extra`.

Access lines carry `request_id`, `method`, `path`, `status`, `user`, `duration_ms`; run
lines carry `run_id`, `agent`, `user`, `status`, `error_code`, `duration_s`. Exception
text and tracebacks go here (field `exc`), never to clients.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "info") -> None:
    """JSON lines on stderr for adkstream's loggers (access, run, api, server)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("adkstream")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
