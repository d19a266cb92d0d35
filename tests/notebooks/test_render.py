"""Drawing a run: model and tool text escaped, markdown rendered safely, agents apart."""

from __future__ import annotations

import pytest

from adkstream.events import (
    AgentCompleted,
    AgentStarted,
    MessageCompleted,
    MessageDelta,
    RunCompleted,
    RunFailed,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
)
from adkstream.notebook import RunView, render_html, render_markdown, render_text

RUN = "run-1"
SCRIPT = "<script>alert('x')</script>"


def view_of(*events: StreamEvent) -> RunView:
    view = RunView()
    for seq, event in enumerate(events, start=1):
        view.add(event.model_copy(update={"seq": seq}))
    return view


def message(author: str, text: str, message_id: str = "m1", **extra: object) -> MessageDelta:
    return MessageDelta(run_id=RUN, ts=0, author=author, message_id=message_id, text=text, **extra)


def test_render_html_escapes_model_text() -> None:
    html = render_html(
        view_of(message("assistant", f"Look: {SCRIPT} <img src=x onerror=alert(1)>"))
    )
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_render_html_escapes_tools_state_authors_and_errors() -> None:
    view = view_of(
        AgentStarted(run_id=RUN, ts=0, author="<b>agent</b>", branch='"><script>'),
        ToolCall(
            run_id=RUN, ts=0, author="<b>agent</b>", call_id="c1", name=SCRIPT, args={"q": SCRIPT}
        ),
        ToolResult(
            run_id=RUN,
            ts=0,
            author="<b>agent</b>",
            call_id="c1",
            name=SCRIPT,
            result={SCRIPT: SCRIPT},
        ),
        StateDelta(run_id=RUN, ts=0, author="<b>agent</b>", delta={SCRIPT: [SCRIPT]}),
        AgentCompleted(run_id=RUN, ts=0, author="<b>agent</b>", output=SCRIPT),
        RunFailed(run_id=RUN, ts=0, error={"code": "model_error", "message": SCRIPT}),
    )
    html = render_html(view)
    assert "<script" not in html.lower() and "<b>" not in html
    assert html.count("&lt;script&gt;") >= 6
    assert "failed: model_error" in html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "**bold** and *it*", "<p><strong>bold</strong> and <em>it</em></p>", id="emphasis"
        ),
        pytest.param("use `a < b`", "<p>use <code>a &lt; b</code></p>", id="code-span"),
        pytest.param(
            "```py\nx = '<b>'\n```", "<pre><code>x = &#x27;&lt;b&gt;&#x27;</code></pre>", id="fence"
        ),
        pytest.param(
            "```\nstill streaming", "<pre><code>still streaming</code></pre>", id="open-fence"
        ),
        pytest.param(
            "- one\n- **two**", "<ul><li>one</li><li><strong>two</strong></li></ul>", id="list"
        ),
        pytest.param("1. a\n2. b", "<ol><li>a</li><li>b</li></ol>", id="numbered"),
        pytest.param("## Title", "<h2>Title</h2>", id="heading"),
        pytest.param("> quoted", "<blockquote>quoted</blockquote>", id="quote"),
        pytest.param(
            "line one\nline two\n\nnext",
            "<p>line one<br>line two</p>\n<p>next</p>",
            id="paragraphs",
        ),
        pytest.param(
            "[docs](https://example.com/?a=1&b=2)",
            '<p><a href="https://example.com/?a=1&amp;b=2" target="_blank" '
            'rel="noopener noreferrer">docs</a></p>',
            id="link",
        ),
    ],
)
def test_render_markdown(text: str, expected: str) -> None:
    assert render_markdown(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[x](javascript:alert(1))", id="javascript-url"),
        pytest.param('[x](https://a.example/"onmouseover="alert(1))', id="quote-in-url"),
        pytest.param("[x](data:text/html,<script>alert(1)</script>)", id="data-url"),
        pytest.param("**<script>alert(1)</script>**", id="html-in-bold"),
    ],
)
def test_render_markdown_never_emits_active_html(text: str) -> None:
    html = render_markdown(text)
    assert "<script" not in html.lower()
    assert "<a " not in html  # http(s) links only, and a quote cannot end the attribute


def test_render_groups_each_agent_under_its_heading() -> None:
    view = view_of(
        AgentStarted(run_id=RUN, ts=0, author="optimist", branch="optimist@1"),
        AgentStarted(run_id=RUN, ts=0, author="skeptic", branch="skeptic@1"),
        message("optimist", "Bright", "m1", branch="optimist@1"),
        message("skeptic", "Grim", "m2", branch="skeptic@1"),
        message("optimist", " future", "m1", branch="optimist@1"),
        message("skeptic", " outlook", "m2", branch="skeptic@1"),
        MessageCompleted(
            run_id=RUN,
            ts=0,
            author="optimist",
            branch="optimist@1",
            message_id="m1",
            text="Bright future",
        ),
        MessageCompleted(
            run_id=RUN,
            ts=0,
            author="skeptic",
            branch="skeptic@1",
            message_id="m2",
            text="Grim outlook",
        ),
        RunCompleted(run_id=RUN, ts=0, final_text="Grim outlook"),
    )
    assert [s.author for s in view.sections] == ["optimist", "skeptic"]
    assert view.outputs == {"optimist": "Bright future", "skeptic": "Grim outlook"}
    text = render_text(view)
    assert text.index("[optimist]\nBright future") < text.index("[skeptic]\nGrim outlook")


def test_render_gives_an_agent_speaking_again_a_new_heading() -> None:
    view = view_of(
        message("writer", "draft", "m1"),
        AgentCompleted(run_id=RUN, ts=0, author="writer"),
        message("editor", "edit", "m2"),
        AgentCompleted(run_id=RUN, ts=0, author="editor"),
        message("writer", "again", "m3"),
    )
    assert [s.author for s in view.sections] == ["writer", "editor", "writer"]


def test_render_cuts_huge_values() -> None:
    big = "x" * 100_000
    view = view_of(
        ToolCall(run_id=RUN, ts=0, author="a", call_id="c", name="t", args={}),
        ToolResult(run_id=RUN, ts=0, author="a", call_id="c", name="t", result=big),
    )
    html = render_html(view)
    assert len(html) < 20_000 and "more characters" in html
