"""Tables: medians over repeats, ratios against a reference row, text for the terminal, JSON."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Cell = float | int | str | None


def median(values: Sequence[float]) -> float | None:
    clean = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(clean) if clean else None


def median_ms(runs: Sequence[dict[str, Any]], key: str) -> float | None:
    """The median over `runs` of a figure in seconds, in milliseconds (None: no figure)."""
    value = median([r[key] for r in runs if r[key] is not None])
    return None if value is None else value * 1000


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Table:
    """One printed table: rows are dicts keyed by column name.

    Attributes:
        raw: per-repeat figures behind the medians, for the JSON file only.
    """

    title: str
    columns: list[str]
    rows: list[dict[str, Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)

    def add_ratio(self, column: str, *, reference: str, label: str, key: str = "target") -> None:
        """Adds `label` = row[column] / row[column] of the row whose `key` is `reference`."""
        ref = next((r.get(column) for r in self.rows if r.get(key) == reference), None)
        if not isinstance(ref, int | float) or not ref:
            return
        self.columns.append(label)
        for row in self.rows:
            value = row.get(column)
            row[label] = value / ref if isinstance(value, int | float) else None

    def render(self) -> str:
        cells = [[_fmt(row.get(c)) for c in self.columns] for row in self.rows]
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(self.columns)]
        lines = [self.title, ""]
        lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        for row in cells:
            lines.append("  ".join(_align(v, w) for v, w in zip(row, widths, strict=True)))
        lines.extend(f"  * {note}" for note in self.notes)
        return "\n".join(lines)


def _fmt(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def _align(value: str, width: int) -> str:
    numeric = value.replace(",", "").replace(".", "").replace("-", "").replace("x", "").isdigit()
    return value.rjust(width) if numeric else value.ljust(width)


def write_json(path: Path, *, meta: dict[str, Any], tables: list[Table]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "tables": [asdict(t) for t in tables]}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
