"""Agents the server can host, the model backends, and loading agents by reference."""

from __future__ import annotations

from adkstream.agents.builtin import build_assistant, build_fanout, build_pipeline
from adkstream.agents.models import default_model, describe_model
from adkstream.agents.offline import OfflineModel
from adkstream.agents.registry import (
    AgentRegistry,
    HostedAgent,
    load_agent_ref,
    load_agents_dir,
)
from adkstream.settings import Settings

__all__ = [
    "AgentRegistry",
    "HostedAgent",
    "OfflineModel",
    "builtin_agents",
    "default_model",
    "describe_model",
    "load_agent_ref",
    "load_agents_dir",
]


def builtin_agents(settings: Settings | None = None) -> AgentRegistry:
    """`assistant` (the default), `pipeline` and `fanout`, on the default model."""
    model = default_model(settings)
    return AgentRegistry(
        [
            HostedAgent.of(build_assistant(model)),
            HostedAgent.of(build_pipeline(model)),
            HostedAgent.of(build_fanout(model)),
        ]
    )
