"""The page's pure modules, run in the browser: the SSE parser (sse.js) fed the WHATWG
examples in every chunking, and the markdown renderer (markdown.js), which must never
turn model text into markup."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.chat_page import ChatPage
from tests.browser.conftest import ServeChat

if TYPE_CHECKING:
    from playwright.async_api import Page

_PARSE = """async (chunks) => {
  const { readEvents, SSEParser } = await import('/static/sse.js');
  const body = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new Uint8Array(chunk));
      controller.close();
    },
  });
  const parser = new SSEParser();
  const events = [];
  for await (const e of readEvents(new Response(body), { parser })) {
    events.push([e.type, e.data, e.id]);
  }
  return { events, retry: parser.retry, comments: parser.comments };
}"""

_RENDER = """async (texts) => {
  const { renderMarkdown } = await import('/static/markdown.js');
  return texts.map((text) => {
    const box = document.createElement('div');
    box.append(renderMarkdown(text));
    return box.innerHTML;
  });
}"""


@pytest.fixture
async def module_page(page: Page, serve_chat: ServeChat) -> AsyncIterator[Page]:
    """A page on the server's origin, so that it can import /static modules."""
    async with serve_chat() as server:
        await ChatPage(page, server.url).open()
        yield page


def chunkings(stream: bytes) -> list[list[list[int]]]:
    """The stream whole, byte by byte, and in threes (CRLF and UTF-8 split across reads)."""
    return [
        [list(stream)],
        [[b] for b in stream],
        [list(stream[i : i + 3]) for i in range(0, len(stream), 3)],
    ]


SSE_CASES = [
    pytest.param(
        "data: YHOO\ndata: +2\ndata: 10\n\n",
        [["message", "YHOO\n+2\n10", ""]],
        id="multi-line-data",
    ),
    pytest.param(
        ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
        "data:  third event\n\n",
        [
            ["message", "first event", "1"],
            ["message", "second event", ""],
            ["message", " third event", ""],
        ],
        id="comments-and-ids",
    ),
    pytest.param(
        "data\n\ndata\ndata\n\ndata:",
        [["message", "", ""], ["message", "\n", ""]],
        id="empty-data-and-unfinished-event",
    ),
    pytest.param(
        "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
        [["add", "73857293", ""], ["remove", "2153", ""], ["add", "113411", ""]],
        id="event-types",
    ),
    pytest.param(
        'id: 7\r\nevent: message.delta\r\ndata: {"text":"é😀"}\r\n\r\n: ping\r\n\r\n',
        [["message.delta", '{"text":"é😀"}', "7"]],
        id="crlf-and-utf8",
    ),
    pytest.param(
        "id: 1\rdata: a\r\rdata: b\r\r",
        [["message", "a", "1"], ["message", "b", "1"]],
        id="cr-and-sticky-id",
    ),
    pytest.param(
        "\ufeffid: 2\x00x\ndata: bom\n\nid: 3\nevent\ndata: x\n\n",
        [["message", "bom", ""], ["message", "x", "3"]],
        id="bom-nul-id-and-empty-event-name",
    ),
]


@pytest.mark.parametrize(("stream", "expected"), SSE_CASES)
async def test_sse_parser_spec_examples(
    module_page: Page, stream: str, expected: list[list[str]]
) -> None:
    async with asyncio.timeout(30):
        for chunks in chunkings(stream.encode()):
            parsed: dict[str, Any] = await module_page.evaluate(_PARSE, chunks)
            assert parsed["events"] == expected, chunks


async def test_sse_parser_retry_and_comments(module_page: Page) -> None:
    stream = b"retry: 2000\n\n: ping\n\nretry: 3x\n\n:\n\n"
    async with asyncio.timeout(30):
        for chunks in chunkings(stream):
            parsed: dict[str, Any] = await module_page.evaluate(_PARSE, chunks)
            assert parsed == {"events": [], "retry": 2000, "comments": 2}


MARKDOWN_CASES = [
    ("Hello **world**", "<p>Hello <strong>world</strong></p>"),
    ("a\nb", "<p>a<br>b</p>"),
    ("a\n\nb", "<p>a</p><p>b</p>"),
    ("`<b>` and ``a ` b``", "<p><code>&lt;b&gt;</code> and <code>a ` b</code></p>"),
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"),
    (
        "```js\nlet a = '<x>';\n\n```\nafter",
        "<pre><code data-lang=\"js\">let a = '&lt;x&gt;';\n</code></pre><p>after</p>",
    ),
    ("```\nstill streaming", "<pre><code>still streaming</code></pre>"),
    ("- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
    ("* a\n\n* b", "<ul><li>a</li><li>b</li></ul>"),
    ("1. a\n2. b", "<ol><li>a</li><li>b</li></ol>"),
    ("3. c", '<ol start="3"><li>c</li></ol>'),
    ("- a\n  - b\n- c", "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>"),
    ("- a\n1. b", "<ul><li>a</li></ul><ol><li>b</li></ol>"),
    ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
    (
        "[docs](https://example.com/a) and https://example.com/b.",
        '<p><a href="https://example.com/a" target="_blank" rel="noopener noreferrer nofollow">'
        'docs</a> and <a href="https://example.com/b" target="_blank" '
        'rel="noopener noreferrer nofollow">https://example.com/b</a>.</p>',
    ),
    ("snake_case_name", "<p>snake_case_name</p>"),
    ("*em* and _em_", "<p><em>em</em> and <em>em</em></p>"),
    ("**unclosed", "<p>**unclosed</p>"),
    ("a ~~b~~ \\*c\\*", "<p>a <del>b</del> *c*</p>"),
    ("# Title\n## Sub", "<h3>Title</h3><h4>Sub</h4>"),
    (
        "> quoted **bit**\n> more",
        "<blockquote><p>quoted <strong>bit</strong><br>more</p></blockquote>",
    ),
    ("above\n\n---\n\nbelow", "<p>above</p><hr><p>below</p>"),
]


async def test_markdown_renders_safely(module_page: Page) -> None:
    texts = [text for text, _ in MARKDOWN_CASES]
    async with asyncio.timeout(30):
        rendered = await module_page.evaluate(_RENDER, texts)
    assert list(zip(texts, rendered, strict=True)) == MARKDOWN_CASES
