"""Values from ADK (state, tool arguments and results) as JSON the wire events can carry."""

from __future__ import annotations

import json
from typing import Any


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy of `value` (state and tool results may hold anything)."""
    try:
        return json.loads(json.dumps(value, default=_fallback))
    except (TypeError, ValueError):
        return repr(value)


def _fallback(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return repr(value)
