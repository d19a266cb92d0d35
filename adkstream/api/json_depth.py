"""Parsing client JSON with a bound on nesting.

`json.loads` recurses once per level: a 2 KB body of `[[[[…` past the interpreter's
recursion limit (about 1,000 levels) raises RecursionError, which is no ValueError and
would reach the client as a 500. A body just under that limit parses, then makes every
later step that walks it (validation, state merges, serialising the session) recurse as
deep. No body of this API nests anywhere near `MAX_JSON_DEPTH` levels, so anything
deeper is refused as a client error before any of that runs.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 100
"""The most levels of arrays and objects a client's JSON may nest (`[[1]]` is 2)."""


class JsonTooDeep(ValueError):
    """The JSON nests deeper than allowed (a ValueError: callers that treat bad JSON as
    text or as a 400 treat this alike)."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"the JSON nests deeper than {max_depth} levels")


def parse_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing nesting deeper than `max_depth`.

    Raises:
        JsonTooDeep: nested too deep (however deep: never RecursionError).
        ValueError: not JSON (`json.JSONDecodeError`, or UnicodeDecodeError for bytes).
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeep(max_depth) from None
    if _may_nest_deeper(text, max_depth) and depth_of(value) > max_depth:
        raise JsonTooDeep(max_depth)
    return value


def _may_nest_deeper(text: str | bytes, max_depth: int) -> bool:
    """False when the text holds too few brackets to nest deeper (the common case: a
    C-speed count instead of a walk of the parsed value)."""
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{") > max_depth
    return text.count("[") + text.count("{") > max_depth


def depth_of(value: Any) -> int:
    """Levels of nested lists and dicts (a scalar is 0); iterative, so never too deep."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
