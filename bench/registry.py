"""The scenario registry: each scenario is an async function from a `Context` to tables.

To add one (issue 9 lists five), write a module under `bench/scenarios/` with a function
decorated by `@scenario("name", "what it measures")` and import it in that package's
`__init__`; `python -m bench --only name` then runs it alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench.client import Reader
from bench.report import Table

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """What every scenario gets.

    Attributes:
        quick: fewer repeats and smaller counts (`--quick`).
        log_dir: where server logs and data directories go.
        reader: the load generator's stream reader (`bench.client`).
        shared: figures a scenario leaves for later ones in the same run (scenario 5
            shows scenario 4's one-process figure), by the name of the scenario.
    """

    quick: bool
    log_dir: Path
    reader: Reader = "raw"
    shared: dict[str, Any] = field(default_factory=dict)

    def pick(self, full: T, quick: T) -> T:
        return quick if self.quick else full


ScenarioFn = Callable[[Context], Awaitable[list[Table]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    run: ScenarioFn
    order: int


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, title: str, *, order: int) -> Callable[[ScenarioFn], ScenarioFn]:
    """Registers the decorated function under `name`; a run goes in `order`."""

    def register(fn: ScenarioFn) -> ScenarioFn:
        if name in SCENARIOS:
            raise ValueError(f"two scenarios are named {name!r}")
        SCENARIOS[name] = Scenario(name=name, title=title, run=fn, order=order)
        return fn

    return register


def ordered() -> list[Scenario]:
    return sorted(SCENARIOS.values(), key=lambda s: s.order)
