"""The agents a server hosts, and loading them from `package.module:attr` or an agents directory."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
    """

    name: str
    root: BaseNode
    description: str = ""
    output_keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, root: BaseNode, *, name: str | None = None) -> HostedAgent:
        keys = {node.name: key for node in walk_nodes(root) if (key := _output_key(node))}
        return cls(
            name=name or root.name,
            root=root,
            description=root.description,
            output_keys=keys,
        )


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
    """Loads `package.module:attr` (an agent, a workflow, or a zero-argument factory)."""
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
    return HostedAgent.of(_as_node(value, ref))


def load_agents_dir(directory: Path) -> list[HostedAgent]:
    """Loads every agent of an ADK agents directory, as `adk web` does: `<name>/agent.py`
    with a `root_agent`, or a `<name>/root_agent.yaml` agent config."""
    if not directory.is_dir():
        raise AgentLoadError(f"agents directory {str(directory)!r} does not exist")
    agents = []
    for package in sorted(p for p in directory.iterdir() if p.is_dir()):
        if (package / "agent.py").is_file():
            agents.append(HostedAgent.of(_load_package_root(package), name=package.name))
        elif (package / _AGENT_CONFIG).is_file():
            agents.append(HostedAgent.of(_load_agent_config(package), name=package.name))
    if not agents:
        raise AgentLoadError(
            f"no <name>/agent.py with a root_agent, nor <name>/{_AGENT_CONFIG}, under "
            f"{str(directory)!r}"
        )
    return agents


_AGENT_CONFIG = "root_agent.yaml"


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


def _load_package_root(package: Path) -> BaseNode:
    if str(package.parent) not in sys.path:
        sys.path.insert(0, str(package.parent))
    try:
        module = importlib.import_module(f"{package.name}.agent")
    except Exception as exc:
        raise AgentLoadError(f"cannot import agent package {package.name!r}: {exc}") from exc
    value = getattr(module, "root_agent", None)
    if value is None:
        raise AgentLoadError(f"{package.name}/agent.py defines no root_agent")
    return _as_node(value, f"{package.name}.agent:root_agent")


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
    return App(
        name=agent.name, root_agent=agent.root, plugins=plugins, resumability_config=resumability
    )
