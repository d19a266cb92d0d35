"""A `RunView` drawn as HTML (for Jupyter) and as plain text (its `text/plain` twin).

Model and tool text is always escaped: message and thinking text goes through the safe
markdown renderer; names, arguments, results, code, titles and state values through
`html.escape`. Only http(s) sources are links; a model's image is an `<img>` with a
`data:` URL only for a few raster types and valid base64, any other file a download.
"""

from __future__ import annotations

import binascii
import json
import re
from base64 import b64decode
from html import escape
from typing import Any, assert_never
from urllib.parse import SplitResult, urlsplit

from adkstream.notebook.markdown import render_markdown
from adkstream.notebook.phrases import (
    file_size,
    run_stop_notice,
    stop_notice,
    thought_for,
    usage_text,
)
from adkstream.notebook.view import (
    ANSWER_FIELDS,
    AgentOutput,
    Artifact,
    Code,
    Escalation,
    File,
    Item,
    Message,
    Request,
    RunView,
    Section,
    Thinking,
    Tool,
    Transfer,
)

__all__ = ["MAX_VALUE_CHARS", "answer_call", "render_html", "render_text"]

MAX_VALUE_CHARS = 4000
"""Longer tool arguments, results and state values are cut (their end elided)."""
_CURSOR = '<span style="opacity:.6">▍</span>'
_BOX = "font-family:system-ui,sans-serif;line-height:1.45;max-width:60em"
_HEADING = "margin:.8em 0 .2em;font-size:1em;color:#1a5fb4"
_FOLD = "margin:.3em 0;padding:.2em .5em;border-left:3px solid #c0bfbc"
_PRE = "margin:.3em 0;white-space:pre-wrap;max-height:20em;overflow:auto"
_FOOTER = "margin-top:.6em;color:#77767b;font-size:.85em"
_MUTED = "color:#77767b;font-size:.9em"
_NOTICE = (
    "display:inline-block;margin:.3em 0;padding:.15em .6em;border-radius:4px;"
    "background:#fff4e5;color:#8a4b00"
)
_CODE = f"{_PRE};padding:.4em .6em;border-radius:4px;background:#f6f5f4;color:#241f31"
_IMAGE = "display:block;max-width:100%;max-height:24em;margin:.3em 0;border-radius:6px"
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
"""The image types drawn inline; any other file is a download link."""
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_OUTCOMES = {"ok": "done", "failed": "failed", "deadline_exceeded": "timed out"}


def render_html(view: RunView) -> str:
    """The run as one `<div>`: a heading per agent, its text, tools folded, state, status."""
    parts = [f'<div class="adkstream-run" style="{_BOX}">']
    for section in view.sections:
        parts.append(_section_html(section, view))
    if not view.sections and not view.ended:
        parts.append(f"<p>{_CURSOR}</p>")
    if notice := _run_notice(view):
        parts.append(f'<div style="{_NOTICE}">⚠ {escape(notice)}</div>')
    if view.pending:
        parts.append(
            f'<div style="{_NOTICE}">⏸ waiting; answer with '
            f"<code>{escape(answer_call(view))}</code></div>"
        )
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
    match item:
        case Message():
            return _message_html(item, view)
        case Thinking():
            title = thought_for(item.started, item.ended) if item.completed else "Thinking…"
            return (
                f'<details style="{_FOLD}"><summary style="{_MUTED}">💭 {escape(title)}</summary>'
                f'<div style="{_MUTED}">{render_markdown(item.text)}</div></details>'
            )
        case Code():
            return _code_html(item)
        case Tool():
            mark = "✓" if item.done else "…"
            summary = f"🔧 <code>{escape(item.name)}</code>({escape(_call_args(item.args))}) {mark}"
            body = f'<div>arguments</div><pre style="{_PRE}">{escape(_dump(item.args))}</pre>'
            if item.done:
                body += f'<div>result</div><pre style="{_PRE}">{escape(_dump(item.result))}</pre>'
            return f'<details style="{_FOLD}"><summary>{summary}</summary>{body}</details>'
        case Request():
            return _request_html(item)
        case Transfer():
            return f"<p><em>→ transferred to {escape(item.to_agent)}</em></p>"
        case Artifact():
            return (
                f'<div style="{_FOLD}">📎 artifact <code>{escape(item.name)}</code> · '
                f"{escape(_artifact_facts(item))}</div>"
            )
        case Escalation():
            return f'<p style="{_MUTED}"><em>↑ {escape(item.author)} escalated</em></p>'
        case AgentOutput():
            return (
                f'<details style="{_FOLD}"><summary>output</summary>'
                f'<pre style="{_PRE}">{escape(_dump(item.value))}</pre></details>'
            )
        case _:
            assert_never(item)


def _message_html(item: Message, view: RunView) -> str:
    cursor = "" if item.completed or view.ended else _CURSOR
    parts = [f'<div class="adkstream-message">{render_markdown(item.text)}{cursor}</div>']
    parts.extend(_file_html(file) for file in item.files)
    if item.sources:
        parts.append(_sources_html(item))
    if notice := stop_notice(item.finish_reason):
        parts.append(f'<div style="{_NOTICE}">⚠ {escape(notice)}</div>')
    return "".join(parts)


def _request_html(item: Request) -> str:
    hint = f'<div style="{_MUTED}">{escape(item.hint)}</div>' if item.hint else ""
    return (
        f'<div class="adkstream-request" style="{_FOLD};border-left-color:#e5a50a">'
        f"⏸ {escape(item.kind)}: <code>{escape(item.name)}</code>"
        f"({escape(_call_args(item.args))}){hint}"
        f'<div style="{_MUTED}">request <code>{escape(item.request_id)}</code>, answered with '
        f"<code>{escape(ANSWER_FIELDS.get(item.kind, '{...}'))}</code></div></div>"
    )


def answer_call(view: RunView) -> str:
    """The client call that answers every pending request of a waiting `view`."""
    answers = ", ".join(
        f"{request.request_id!r}: {ANSWER_FIELDS.get(request.kind, '{...}')}"
        for request in view.pending
    )
    return f"client.answer({view.run_id!r}, {{{answers}}})"


def _code_html(item: Code) -> str:
    status = _OUTCOMES.get(item.outcome, item.outcome) if item.outcome else "running…"
    body = f'<pre style="{_CODE}"><code>{escape(item.code)}</code></pre>'
    if item.done:
        label = "output" if item.outcome == "ok" else f"output ({escape(status)})"
        output = escape(item.output or "(no output)")
        body += f'<div style="{_MUTED}">{label}</div><pre style="{_CODE}">{output}</pre>'
    summary = f"{escape(item.language or 'code')} code · {escape(status)}"
    return f'<details open style="{_FOLD}"><summary>{summary}</summary>{body}</details>'


def _file_html(file: File) -> str:
    name = file.name or f"{file.mime_type.split('/')[0]} file"
    size = _decoded_size(file.data)
    if size is None:
        return f'<div style="{_MUTED}">{escape(f"{name} · {file.mime_type}")} (not base64)</div>'
    facts = escape(f"{name} · {file.mime_type} · {file_size(size)}")
    if file.mime_type in IMAGE_TYPES:
        return (
            f'<img src="data:{file.mime_type};base64,{file.data}" alt="{escape(name)}" '
            f'style="{_IMAGE}"><div style="{_MUTED}">{facts}</div>'
        )
    # Offered as bytes, whatever the model called its type: never opened as a page.
    href = f"data:application/octet-stream;base64,{file.data}"
    return f'<div style="{_MUTED}">📄 <a href="{href}" download="{escape(name)}">{facts}</a></div>'


def _sources_html(item: Message) -> str:
    links = []
    for index, source in enumerate(item.sources, start=1):
        title = escape(source.title or _host(source.url) or source.id)
        url = _web_url(source.url)
        if url is None:
            links.append(f"[{index}] {title}")
        else:
            links.append(
                f'[{index}] <a href="{escape(url)}" target="_blank" '
                f'rel="noopener noreferrer">{title}</a>'
            )
    searched = ""
    if item.queries:
        quoted = ", ".join(f"“{escape(q)}”" for q in item.queries)
        searched = f'<div style="{_MUTED}">searched for {quoted}</div>'
    return f'<div style="{_MUTED}">sources: {" · ".join(links)}</div>{searched}'


def _run_notice(view: RunView) -> str:
    last = view.last_message
    return run_stop_notice(view.finish_reason, noted=last.finish_reason if last else None)


def _artifact_facts(item: Artifact) -> str:
    facts = [f"version {item.version}", item.mime_type or "type unknown"]
    if item.size is not None:
        facts.append(file_size(item.size))
    return " · ".join([*facts, item.url])


def _decoded_size(data: str) -> int | None:
    """The size of base64 `data`; None when it is not base64 (nothing else may enter a
    `data:` URL: its alphabet cannot end an attribute)."""
    if len(data) % 4 or _BASE64.fullmatch(data) is None:
        return None
    try:
        return len(b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return None


def _web_url(url: str | None) -> str | None:
    parts = _split(url)
    return url if parts is not None and parts.scheme in ("http", "https") else None


def _host(url: str | None) -> str:
    parts = _split(url)
    return (parts.hostname or "") if parts is not None else ""


def _split(url: str | None) -> SplitResult | None:
    if not url:
        return None
    try:
        return urlsplit(url)
    except ValueError:  # an invalid IPv6 host, say
        return None


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
    if notice := _run_notice(view):
        lines.append(f"  ({notice})")
    if view.pending:
        lines.append(f"waiting; answer with {answer_call(view)}")
    if view.state:
        lines.append("state:")
        lines.extend(f"  {key} = {_text_value(value)}" for key, value in view.state.items())
    lines.append(f"({_status_line(view)})")
    return "\n".join(lines)


def _item_text(item: Item) -> str:
    match item:
        case Message():
            return _message_text(item)
        case Thinking():
            title = thought_for(item.started, item.ended) if item.completed else "thinking…"
            return f"  {title.lower()}:\n{_indent(item.text, '  | ')}"
        case Code():
            lines = [f"  code ({item.language or 'code'}):", _indent(item.code, "    ")]
            if item.done:
                status = _OUTCOMES.get(item.outcome or "", item.outcome)
                label = "output" if item.outcome == "ok" else f"output ({status})"
                lines += [f"  {label}:", _indent(item.output or "(no output)", "    ")]
            return "\n".join(lines)
        case Tool():
            result = f"\n  <- {item.name}: {_dump(item.result, indent=None)}" if item.done else ""
            return f"  -> {item.name}({_call_args(item.args)}){result}"
        case Request():
            hint = f"\n    {item.hint}" if item.hint else ""
            shape = ANSWER_FIELDS.get(item.kind, "{...}")
            return (
                f"  ? {item.kind}: {item.name}({_call_args(item.args)}){hint}\n"
                f"    request {item.request_id}, answered with {shape}"
            )
        case Transfer():
            return f"  => transfer to {item.to_agent}"
        case Artifact():
            return f"  artifact: {item.name} · {_artifact_facts(item)}"
        case Escalation():
            return f"  ^ {item.author} escalated"
        case AgentOutput():
            return f"  output: {_dump(item.value, indent=None)}"
        case _:
            assert_never(item)


def _message_text(item: Message) -> str:
    lines = [item.text]
    for file in item.files:
        size = _decoded_size(file.data)
        facts = "not base64" if size is None else file_size(size)
        lines.append(f"  file: {file.name or file.file_id} · {file.mime_type} · {facts}")
    for index, source in enumerate(item.sources, start=1):
        where = f" <{source.url}>" if source.url else ""
        lines.append(f"  [{index}] {source.title or _host(source.url) or source.id}{where}")
    if item.queries:
        lines.append(f"  searched for: {', '.join(item.queries)}")
    if notice := stop_notice(item.finish_reason):
        lines.append(f"  ({notice})")
    return "\n".join(lines)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in (text.splitlines() or [""]))


def _status_line(view: RunView) -> str:
    if view.status == "completed":
        head = f"completed · {usage_text(view.usage)}"
    elif view.status == "failed" and view.error is not None:
        head = f"failed: {view.error.code}: {view.error.message}"
    elif view.status == "cancelled":
        head = f"cancelled: {view.cancel_reason}"
    elif view.status == "waiting":
        count = len(view.pending)
        head = f"waiting for {count} answer{'s' if count != 1 else ''}"
    elif view.queued_behind is not None:
        head = f"queued behind run {view.queued_behind}…"
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
