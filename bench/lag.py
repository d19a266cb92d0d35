"""Added latency per model chunk: when the client got its text minus when the model yielded it.

Both times are unix seconds on the same machine. A chunk counts as received when the
text received so far first covers it, so a coalesced delta delivers several chunks at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.model import CHUNK_TEXT, YIELD_LOG


def chunk_arrivals(
    received: list[tuple[float, bytes]],
    delta_text: Callable[[dict[str, Any]], str | None],
    *,
    chunk_chars: int = len(CHUNK_TEXT),
) -> list[float]:
    """The arrival time of each chunk, from the data lines of a stream and their arrivals."""
    arrivals: list[float] = []
    chars = 0
    for arrived, line in received:
        text = delta_text(json.loads(line[len(b"data:") :]))
        if not text:
            continue
        chars += len(text)
        arrivals.extend([arrived] * (chars // chunk_chars - len(arrivals)))
    return arrivals


def last_yields(data_dir: Path) -> list[float]:
    """The yield times of the latest answer a server's model logged."""
    lines = (data_dir / YIELD_LOG).read_text().splitlines()
    times: list[float] = json.loads(lines[-1])
    return times


def added_latency(yields: list[float], arrivals: list[float]) -> list[float]:
    """Seconds from each chunk's yield to its arrival, for the chunks seen on both sides."""
    return [arrived - yielded for yielded, arrived in zip(yields, arrivals, strict=False)]
