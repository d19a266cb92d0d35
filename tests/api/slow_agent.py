"""`slow`: an agent whose runs go quiet, for the storage fault tests (served processes).

On the offline model: a message that mentions `pause` makes it call the `pause` tool,
which awaits SLOW_TOOL_S seconds (default 20) with no event meanwhile; any other
message gets an answer streamed at SLOW_TOKENS_PER_S words a second (default 20),
SLOW_REPLY_TOKENS words long (default 12). Serve it as `tests.api.slow_agent:root_agent`.
"""

from __future__ import annotations

import asyncio
import os

from google.adk.agents import LlmAgent

from adkstream.agents.offline import OfflineModel


async def pause() -> dict[str, object]:
    """Waits a while, then says how long.

    Returns:
        How long it waited.
    """
    seconds = float(os.environ.get("SLOW_TOOL_S", "20"))
    await asyncio.sleep(seconds)
    return {"paused_s": seconds}


root_agent = LlmAgent(
    name="slow",
    description="Pauses in a tool, or streams slowly.",
    model=OfflineModel(
        tokens_per_s=float(os.environ.get("SLOW_TOKENS_PER_S", "20")),
        reply_tokens=int(os.environ.get("SLOW_REPLY_TOKENS", "12")),
    ),
    instruction="Use pause when asked to pause.",
    tools=[pause],
)
