"""Runs shown live in Jupyter: text that grows as it streams, one heading per agent, tool
calls and results folded, and the session's state at the end.

    from adkstream.agents import builtin_agents
    from adkstream.notebook import show_run, show_remote, rejoin

    agents = builtin_agents()
    result = await show_run(agents, "What time is it? Use get_current_time.")
    result.state["last_answer"]

    result = await show_remote("http://127.0.0.1:8000", "hello", agent="pipeline")
    await rejoin("http://127.0.0.1:8000", result.run_id, after=5)

The display is redrawn at most every 100 ms, and once more with the final state.
Outside a Jupyter kernel (or with `mode="text"`) the stream is printed as
`adkstream run` prints it. Model and tool text is escaped, never injected as HTML.
Importing this package loads neither ADK nor IPython: `show_run` loads ADK,
a display in a kernel loads IPython's.
"""

from __future__ import annotations

from adkstream.notebook.display import REDRAW_S, LiveDisplay, Throttle, in_notebook
from adkstream.notebook.markdown import render_markdown
from adkstream.notebook.render import render_html, render_text
from adkstream.notebook.runs import Mode, RunOutcome, local_for, rejoin, show_remote, show_run
from adkstream.notebook.view import RunView

__all__ = [
    "REDRAW_S",
    "LiveDisplay",
    "Mode",
    "RunOutcome",
    "RunView",
    "Throttle",
    "in_notebook",
    "local_for",
    "rejoin",
    "render_html",
    "render_markdown",
    "render_text",
    "show_remote",
    "show_run",
]
