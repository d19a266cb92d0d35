"""Structured logs: one JSON object per line, with the fields a record carries in `extra`.

Access lines carry `request_id`, `method`, `path`, `status`, `user`, `duration_ms`; run
lines carry `run_id`, `agent`, `user`, `status`, `error_code`, `duration_s`. Exception
text and tracebacks go here (field `exc`), never to clients. uvicorn's own lines, other
libraries' warnings and errors (ADK's, asyncio's) and Python's warnings take the same
form: stderr holds nothing but JSON lines.
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
    "color_message",  # uvicorn's coloured copy of its message
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
    """JSON lines on stderr for adkstream's loggers (access, run, api, server) at `level`,
    for uvicorn's (give uvicorn `log_config=None`, or it installs its own handlers), and
    for every other library's warnings and errors."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):  # uvicorn's "trace" is below debug
        number = 5 if level.lower() == "trace" else logging.INFO
    for name in ("adkstream", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(number)
        logger.propagate = False
    logging.root.handlers[:] = [handler]
    logging.root.setLevel(max(number, logging.WARNING))
    logging.captureWarnings(True)
