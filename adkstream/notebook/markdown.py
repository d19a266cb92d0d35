"""A small, safe markdown renderer for model text: HTML out, never HTML in.

Every character of the text is escaped (`html.escape`) before any markup is added, so
a model that writes `<script>` shows the tag. What it knows: paragraphs (a single line
break is kept), `#` headings, fenced code blocks (an unclosed fence, as in a message
still streaming, runs to the end), `-`/`*`/`1.` lists, `>` quotes, `**bold**`,
`*italic*`, `` `code` `` and `[text](https://...)` links (http and https only).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

__all__ = ["render_markdown"]

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s*&gt;\s?(.*)$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s()]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")


def render_markdown(text: str) -> str:
    """HTML for `text`; safe to put inside any element."""
    lines = html.escape(text, quote=True).splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        index = _block(lines, index, out)
    return "\n".join(out)


def _block(lines: list[str], index: int, out: list[str]) -> int:
    """Renders the block starting at `index`; returns the index after it."""
    line = lines[index]
    if not line.strip():
        return index + 1
    if _FENCE.match(line):
        return _code_block(lines, index, out)
    if heading := _HEADING.match(line):
        level = len(heading.group(1))
        out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        return index + 1
    for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
        if pattern.match(line):
            return _list(lines, index, out, pattern, tag)
    if _QUOTE.match(line):
        end = _run_of(lines, index, lambda s: _QUOTE.match(s) is not None)
        quoted = [m.group(1) for s in lines[index:end] if (m := _QUOTE.match(s))]
        out.append(f"<blockquote>{'<br>'.join(_inline(q) for q in quoted)}</blockquote>")
        return end
    end = _run_of(lines, index, lambda s: bool(s.strip()) and not _starts_block(s))
    end = max(end, index + 1)
    out.append(f"<p>{'<br>'.join(_inline(s) for s in lines[index:end])}</p>")
    return end


def _code_block(lines: list[str], index: int, out: list[str]) -> int:
    fence = _FENCE.match(lines[index])
    marker = fence.group(1) if fence else "```"
    end = index + 1
    while end < len(lines) and not lines[end].strip().startswith(marker):
        end += 1
    body = "\n".join(lines[index + 1 : end])
    out.append(f"<pre><code>{body}</code></pre>")
    return end + 1


def _list(lines: list[str], index: int, out: list[str], pattern: re.Pattern[str], tag: str) -> int:
    end = _run_of(lines, index, lambda s: pattern.match(s) is not None)
    items = [m.group(1) for s in lines[index:end] if (m := pattern.match(s))]
    out.append(f"<{tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{tag}>")
    return end


def _run_of(lines: list[str], index: int, keep: Callable[[str], bool]) -> int:
    end = index
    while end < len(lines) and keep(lines[end]):
        end += 1
    return end


def _starts_block(line: str) -> bool:
    return any(p.match(line) for p in (_FENCE, _HEADING, _BULLET, _NUMBERED, _QUOTE))


def _inline(text: str) -> str:
    """Inline markup on escaped text; code spans are left as they are."""
    parts: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        parts.append(_emphasis(text[last : span.start()]))
        parts.append(f"<code>{span.group(2)}</code>")
        last = span.end()
    parts.append(_emphasis(text[last:]))
    return "".join(parts)


def _emphasis(text: str) -> str:
    # The URL is escaped text: it holds no `<`, `>` or `"`, so it cannot leave the attribute.
    text = _LINK.sub(r'<a href="\2" target="_blank" rel="noopener noreferrer">\1</a>', text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return _ITALIC.sub(r"<em>\1</em>", text)
