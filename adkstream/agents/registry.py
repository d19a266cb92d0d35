"""The agents a server hosts, and loading them from `package.module:attr` or an agents directory."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from google.adk.agents import LlmAgent
from google.adk.apps import App, ResumabilityConfig
from google.adk.models.base_llm import BaseLlm
from google.adk.plugins.base_plugin import BasePlugin
from google.adk.workflow import BaseNode

from adkstream.adk_private import static_children
from adkstream.errors import AgentLoadError, NotFoundError


@dataclass(frozen=True)
class HostedAgent:
    """One agent (or workflow) the server can run.

    Attributes:
        name: the agent's public name, also the ADK `app_name` of its sessions.
        root: the ADK agent or workflow node run for it.
        output_keys: agent name -> `output_key`, for every agent in the tree.
        app: the ADK `App` it came in, if it did: its plugins and its context cache,
            events compaction and resumability configs apply to its runs (`adk_app`).
        directory: the agents directory entry it was loaded from, if it was (the dev
            UI shows its `README.md`).
    """

    name: str
    root: BaseNode
    description: str = ""
    output_keys: dict[str, str] = field(default_factory=dict)
    app: App | None = None
    directory: Path | None = None

    @classmethod
    def of(
        cls, root: BaseNode | App, *, name: str | None = None, directory: Path | None = None
    ) -> HostedAgent:
        """The hosted agent of an agent, a workflow or an ADK `App` (whose root it runs)."""
        app = root if isinstance(root, App) else None
        node = root.root_agent if isinstance(root, App) else root
        if node is None:
            raise AgentLoadError(f"the App {root.name!r} has no root_agent")
        keys = {n.name: key for n in walk_nodes(node) if (key := _output_key(n))}
        return cls(
            name=name or root.name,
            root=node,
            description=node.description,
            output_keys=keys,
            app=app,
            directory=directory,
        )

    def adk_app(
        self, *, plugins: list[BasePlugin], resumability: ResumabilityConfig | None = None
    ) -> App:
        """The ADK `App` its runs run as: its own `App` (if it came in one) under its
        hosted name, adkstream's `plugins` ahead of the app's own (they only observe, so
        the app's plugins still see every callback), and `resumability` if given."""
        if self.app is None:
            return App(
                name=self.name,
                root_agent=self.root,
                plugins=plugins,
                resumability_config=resumability,
            )
        update: dict[str, object] = {"name": self.name, "plugins": [*plugins, *self.app.plugins]}
        if resumability is not None:
            update["resumability_config"] = resumability
        return self.app.model_copy(update=update)


def _output_key(node: BaseNode) -> str | None:
    key = getattr(node, "output_key", None)
    return key if isinstance(key, str) and key else None


def walk_nodes(node: BaseNode) -> Iterator[BaseNode]:
    """`node` and every node below it (sub-agents, workflow nodes)."""
    yield node
    for child in static_children(node):
        yield from walk_nodes(child)


def llm_agent_models(root: BaseNode) -> Iterator[tuple[LlmAgent, BaseLlm]]:
    """Each LLM agent under `root` with its model resolved (a string named model made
    an object, or the one inherited). Agents with no model anywhere up the tree are left
    out: ADK says so at run time."""
    for node in walk_nodes(root):
        if not isinstance(node, LlmAgent):
            continue
        try:
            model = node.canonical_model
        except Exception:
            continue
        yield node, model


class AgentRegistry:
    """Agents by name, in the order added; the first is the default."""

    def __init__(self, agents: list[HostedAgent] | None = None) -> None:
        self._agents: dict[str, HostedAgent] = {}
        for agent in agents or []:
            self.add(agent)

    def add(self, agent: HostedAgent) -> None:
        if agent.name in self._agents:
            raise AgentLoadError(f"two agents are named {agent.name!r}")
        self._agents[agent.name] = agent

    def get(self, name: str | None) -> HostedAgent:
        """The named agent, or the default for None; NotFoundError naming the field."""
        if name is None:
            return self.default
        try:
            return self._agents[name]
        except KeyError:
            raise NotFoundError(
                f"no agent named {name!r}; known: {', '.join(self._agents)}",
                code="unknown_agent",
                field="agent",
            ) from None

    @property
    def default(self) -> HostedAgent:
        return next(iter(self._agents.values()))

    def __iter__(self) -> Iterator[HostedAgent]:
        return iter(self._agents.values())

    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, name: object) -> bool:
        return name in self._agents


def load_agent_ref(ref: str) -> HostedAgent:
    """Loads `package.module:attr` (an agent, a workflow, an ADK `App`, or a zero-argument
    factory of an agent or a workflow)."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise AgentLoadError(f"agent reference {ref!r} is not of the form package.module:attr")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an agent module's own code may raise anything on import
        raise AgentLoadError(f"cannot import {module_name!r} for agent {ref!r}: {exc}") from exc
    try:
        value = getattr(module, attr)
    except AttributeError:
        raise AgentLoadError(f"module {module_name!r} has no attribute {attr!r}") from None
    return HostedAgent.of(value if isinstance(value, App) else _as_node(value, ref))


def load_agents_dir(directory: Path) -> list[HostedAgent]:
    """Loads the agents of an ADK agents directory, as `adk web` does.

    Each subdirectory that holds an `agent.py` or a `root_agent.yaml`, or is a package
    exporting one, is one agent, named after it, found as ADK's loader finds it: an `app`
    (an ADK `App`) or a `root_agent` in the package itself, then in its `agent` module,
    then the agent config `root_agent.yaml`. A package with neither (shared code beside
    the agents) is not an agent. A directory that holds an agent itself (`adk web
    my_agent/`) is that one agent.
    """
    if not directory.is_dir():
        raise AgentLoadError(f"agents directory {str(directory)!r} does not exist")
    packages = [directory] if _holds_an_agent(directory) else sorted(directory.iterdir())
    agents = [
        agent
        for package in packages
        if package.is_dir() and not package.name.startswith((".", "_"))
        if (agent := _load_agent_dir(package)) is not None
    ]
    if not agents:
        raise AgentLoadError(
            f"no <name>/agent.py with a root_agent or an app, nor <name>/{_AGENT_CONFIG}, "
            f"under {str(directory)!r}"
        )
    return agents


_AGENT_CONFIG = "root_agent.yaml"


def _holds_an_agent(directory: Path) -> bool:
    return (directory / "agent.py").is_file() or (directory / _AGENT_CONFIG).is_file()


def _load_agent_dir(package: Path) -> HostedAgent | None:
    """The agent `package` holds (None: it holds none and claims none, not being more
    than a plain package or directory)."""
    name = package.name
    if (package / "__init__.py").is_file():
        found = _exported(_import_agent_module(package, name), name)
        if found is not None:
            return HostedAgent.of(found, name=name, directory=package)
    if (package / "agent.py").is_file():
        found = _exported(_import_agent_module(package, f"{name}.agent"), f"{name}.agent")
        if found is not None:
            return HostedAgent.of(found, name=name, directory=package)
    if (package / _AGENT_CONFIG).is_file():
        return HostedAgent.of(_load_agent_config(package), name=name, directory=package)
    if (package / "agent.py").is_file():
        raise AgentLoadError(f"{name}/agent.py defines no root_agent or app")
    return None


def _import_agent_module(package: Path, module_name: str) -> ModuleType:
    if str(package.parent) not in sys.path:
        sys.path.insert(0, str(package.parent))
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # an agent module's own code may raise anything on import
        raise AgentLoadError(f"cannot import agent package {package.name!r}: {exc}") from exc


def _exported(module: ModuleType, where: str) -> BaseNode | App | None:
    """The module's `app` if it is an ADK `App`, else its `root_agent` (None: neither)."""
    app = getattr(module, "app", None)
    if isinstance(app, App):
        return app
    value = getattr(module, "root_agent", None)
    return None if value is None else _as_node(value, f"{where}:root_agent")


def _load_agent_config(package: Path) -> BaseNode:
    from google.adk.agents import config_agent_utils

    try:
        with warnings.catch_warnings():
            # ADK 2.13's own loader goes through its deprecated LlmAgentConfig: not ours
            # to fix, nor the agent author's.
            warnings.filterwarnings("ignore", "LlmAgentConfig is deprecated", DeprecationWarning)
            return config_agent_utils.from_config(str(package / _AGENT_CONFIG))
    except Exception as exc:
        raise AgentLoadError(f"cannot load {package.name}/{_AGENT_CONFIG}: {exc}") from exc


def _as_node(value: object, ref: str) -> BaseNode:
    if callable(value) and not isinstance(value, BaseNode):
        try:
            value = value()
        except Exception as exc:
            raise AgentLoadError(f"the agent factory {ref} failed: {exc}") from exc
    if not isinstance(value, BaseNode):
        raise AgentLoadError(f"{ref} is a {type(value).__name__}, not an ADK agent or workflow")
    return value


def resumable_app(agent: HostedAgent, *, plugins: list[BasePlugin]) -> App:
    """The ADK `App` a hosted agent runs as: resumable, so that a run that pauses (a tool
    confirmation, a long-running tool, a credential request) continues in the same
    invocation once answered (ADK's `ResumabilityConfig`)."""
    with warnings.catch_warnings():
        # ADK marks resumability experimental, once per process: we rely on it knowingly.
        warnings.filterwarnings("ignore", r"\[EXPERIMENTAL\] ResumabilityConfig", UserWarning)
        resumability = ResumabilityConfig(is_resumable=True)
    return agent.adk_app(plugins=plugins, resumability=resumability)
