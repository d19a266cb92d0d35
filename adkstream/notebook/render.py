"""A `RunView` drawn as HTML (for Jupyter) and as plain text (its `text/plain` twin).

Model and tool text is always escaped: message text goes through the safe markdown
renderer, names, arguments, results and state values through `html.escape`.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from adkstream.notebook.markdown import render_markdown
from adkstream.notebook.view import Item, Message, RunView, Section, Tool, Transfer

__all__ = ["MAX_VALUE_CHARS", "render_html", "render_text"]

MAX_VALUE_CHARS = 4000
"""Longer tool arguments, results and state values are cut (their end elided)."""
_CURSOR = '<span style="opacity:.6">▍</span>'
_BOX = "font-family:system-ui,sans-serif;line-height:1.45;max-width:60em"
_HEADING = "margin:.8em 0 .2em;font-size:1em;color:#1a5fb4"
_FOLD = "margin:.3em 0;padding:.2em .5em;border-left:3px solid #c0bfbc"
_PRE = "margin:.3em 0;white-space:pre-wrap;max-height:20em;overflow:auto"
_FOOTER = "margin-top:.6em;color:#77767b;font-size:.85em"


def render_html(view: RunView) -> str:
    """The run as one `<div>`: a heading per agent, its text, tools folded, state, status."""
    parts = [f'<div class="adkstream-run" style="{_BOX}">']
    for section in view.sections:
        parts.append(_section_html(section, view))
    if not view.sections and not view.ended:
        parts.append(f"<p>{_CURSOR}</p>")
    if view.state:
        parts.append(_state_html(view))
    parts.append(f'<div style="{_FOOTER}">{escape(_status_line(view))}</div>')
    parts.append("</div>")
    return "\n".join(parts)


def _section_html(section: Section, view: RunView) -> str:
    title = f' title="branch {escape(section.branch)}"' if section.branch else ""
    heading = f'<h4 style="{_HEADING}"{title}>{escape(section.author)}</h4>'
    return heading + "".join(_item_html(item, view) for item in section.items)


def _item_html(item: Item, view: RunView) -> str:
    if isinstance(item, Message):
        cursor = "" if item.completed or view.ended else _CURSOR
        return f'<div class="adkstream-message">{render_markdown(item.text)}{cursor}</div>'
    if isinstance(item, Tool):
        mark = "✓" if item.done else "…"
        summary = f"🔧 <code>{escape(item.name)}</code>({escape(_call_args(item.args))}) {mark}"
        body = f'<div>arguments</div><pre style="{_PRE}">{escape(_dump(item.args))}</pre>'
        if item.done:
            body += f'<div>result</div><pre style="{_PRE}">{escape(_dump(item.result))}</pre>'
        return f'<details style="{_FOLD}"><summary>{summary}</summary>{body}</details>'
    if isinstance(item, Transfer):
        return f"<p><em>→ transferred to {escape(item.to_agent)}</em></p>"
    return (
        f'<details style="{_FOLD}"><summary>output</summary>'
        f'<pre style="{_PRE}">{escape(_dump(item.value))}</pre></details>'
    )


def _state_html(view: RunView) -> str:
    title = "session state" if view.state_is_final else "state changes"
    rows = "".join(
        f'<tr><td style="vertical-align:top;padding-right:1em"><code>{escape(key)}</code></td>'
        f'<td><pre style="{_PRE};margin:0">{escape(_text_value(value))}</pre></td></tr>'
        for key, value in view.state.items()
    )
    opened = " open" if view.state_is_final else ""
    return (
        f'<details{opened} style="{_FOLD}"><summary>{title}</summary>'
        f"<table>{rows}</table></details>"
    )


def render_text(view: RunView) -> str:
    """The run as plain text, in the CLI's style."""
    lines: list[str] = []
    for section in view.sections:
        lines.append(f"[{section.author}]")
        lines.extend(_item_text(item) for item in section.items)
    if view.state:
        lines.append("state:")
        lines.extend(f"  {key} = {_text_value(value)}" for key, value in view.state.items())
    lines.append(f"({_status_line(view)})")
    return "\n".join(lines)


def _item_text(item: Item) -> str:
    if isinstance(item, Message):
        return item.text
    if isinstance(item, Tool):
        result = f"\n  <- {item.name}: {_dump(item.result, indent=None)}" if item.done else ""
        return f"  -> {item.name}({_call_args(item.args)}){result}"
    if isinstance(item, Transfer):
        return f"  => transfer to {item.to_agent}"
    return f"  output: {_dump(item.value, indent=None)}"


def _status_line(view: RunView) -> str:
    if view.status == "completed":
        tokens = view.usage.total_tokens if view.usage else 0
        head = f"completed · {tokens} tokens"
    elif view.status == "failed" and view.error is not None:
        head = f"failed: {view.error.code}: {view.error.message}"
    elif view.status == "cancelled":
        head = f"cancelled: {view.cancel_reason}"
    else:
        head = "running…"
    ids = [f"run {view.run_id}"] if view.run_id else []
    if view.session_id:
        ids.append(f"session {view.session_id}")
    return " · ".join([head, *ids])


def _call_args(args: dict[str, Any]) -> str:
    return _cut(", ".join(f"{key}={value!r}" for key, value in args.items()), 200)


def _text_value(value: Any) -> str:
    return _cut(value, MAX_VALUE_CHARS) if isinstance(value, str) else _dump(value, indent=None)


def _dump(value: Any, *, indent: int | None = 2) -> str:
    try:
        text = json.dumps(value, indent=indent, ensure_ascii=False, default=str)
    except ValueError:  # a circular structure
        text = repr(value)
    return _cut(text, MAX_VALUE_CHARS)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"
