"""Drawing a run: model and tool text escaped, markdown rendered safely, agents apart."""

from __future__ import annotations

from html import escape

import pytest

from adkstream.events import (
    AdkEvent,
    AgentCompleted,
    AgentStarted,
    CodeResult,
    MessageCompleted,
    MessageDelta,
    MessageSources,
    RunCompleted,
    RunFailed,
    RunQueued,
    Source,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
)
from adkstream.notebook import RunView, render_html, render_markdown, render_text
from adkstream.notebook.view import Message
from tests.adapters import events as ev

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


# ---- what the new events carry ----------------------------------------------------

SVG = "PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+"  # <svg onload="alert(1)"/>


def rich_view(*, finish_reason: str = "safety") -> RunView:
    """A run with every new event, its model text trying to be markup."""
    view = RunView()
    svg = ev.image(0, "m1", author="analyst").model_copy(
        update={"file_id": "f-svg", "mime_type": "image/svg+xml", "data": SVG, "name": "x.svg"}
    )
    forged = ev.image(0, "m1", author="analyst").model_copy(
        update={"file_id": "f-bad", "data": 'AAAA"><script>x</script>', "name": "forged.png"}
    )
    sources = MessageSources(
        run_id=ev.RUN,
        ts=0,
        author="analyst",
        message_id="m1",
        sources=[
            Source(id="s1", url="https://example.com/a?x=1&y=<2>", title=SCRIPT),
            Source(id="s2", url="javascript:alert(1)", title="Evil"),
            Source(id="s3", url="https://example.org/b"),
        ],
        queries=[SCRIPT],
    )
    failing = CodeResult(
        run_id=ev.RUN, ts=0, author="analyst", code_id="c2", outcome="failed", output="Boom"
    )
    for event in ev.numbered(
        ev.agent(0, "analyst"),
        ev.thinking(0, "t1", "Weighing **both** ", author="analyst"),
        ev.thinking(0, "t1", SCRIPT, author="analyst"),
        ev.thought(0, "t1", f"Weighing **both** {SCRIPT}", author="analyst"),
        ev.thought(0, "t2", "At once", author="analyst"),
        ev.delta(0, "m1", "Hello ", author="analyst"),
        ev.cut(0, "m1", f"Hello {SCRIPT}", "max_tokens", author="analyst"),
        ev.image(0, "m1", author="analyst"),
        svg,
        forged,
        sources,
        ev.code(0, "c1", "print('<b>')", author="analyst"),
        ev.code_result(0, "c1", "<b>", author="analyst"),
        ev.code(0, "c2", "1/0", author="analyst"),
        failing,
        ev.artifact(0, "<report>.txt", author="analyst"),
        ev.escalated(0, author="analyst"),
        ev.cut(0, "m2", "Partly", "recitation", author="analyst"),
        ev.run_completed(0, finish_reason=finish_reason),
    ):
        view.add(event)
    return view


@pytest.mark.parametrize(
    "fragment",
    [
        pytest.param(
            '<summary style="color:#77767b;font-size:.9em">💭 Thought for 2 s</summary>',
            id="thought-time",
        ),
        pytest.param("💭 Thoughts</summary>", id="thought-whole"),
        pytest.param(f"Weighing <strong>both</strong> {escape(SCRIPT)}", id="thought-escaped"),
        pytest.param(f"<p>Hello {escape(SCRIPT)}</p>", id="text-escaped"),
        pytest.param("⚠ The answer was cut at the token limit", id="cut"),
        pytest.param("⚠ The model stopped: recitation filter (recitation)", id="blocked"),
        pytest.param("⚠ The model stopped: safety filter (safety)", id="run-blocked"),
        pytest.param(f'<img src="data:image/png;base64,{ev.PNG_1PX}" alt="image file"', id="image"),
        pytest.param(
            f'href="data:application/octet-stream;base64,{SVG}" download="x.svg"', id="svg"
        ),
        pytest.param("forged.png · image/png (not base64)</div>", id="not-base64"),
        pytest.param(
            '[1] <a href="https://example.com/a?x=1&amp;y=&lt;2&gt;" target="_blank" '
            'rel="noopener noreferrer">' + escape(SCRIPT) + "</a>",
            id="source-link",
        ),
        pytest.param('[2] Evil · [3] <a href="https://example.org/b"', id="source-not-web"),
        pytest.param(">example.org</a>", id="source-untitled"),
        pytest.param(f"searched for “{escape(SCRIPT)}”", id="queries"),
        pytest.param("<code>print(&#x27;&lt;b&gt;&#x27;)</code>", id="code"),
        pytest.param('font-size:.9em">output</div><pre style="', id="output"),
        pytest.param('color:#241f31">&lt;b&gt;</pre>', id="output-escaped"),
        pytest.param("output (failed)", id="failed"),
        pytest.param(
            "📎 artifact <code>&lt;report&gt;.txt</code> · version 0 · text/plain · 12 bytes · "
            "/v1/sessions/s-1/artifacts/&lt;report&gt;.txt?version=0",
            id="artifact",
        ),
        pytest.param("<em>↑ analyst escalated</em>", id="escalated"),
        pytest.param("completed · 12 tokens (5 thinking, 2 cached)", id="usage"),
    ],
)
def test_render_html_shows_new_events(fragment: str) -> None:
    assert fragment in render_html(rich_view())


def test_render_html_new_events_stay_inert() -> None:
    html = render_html(rich_view())
    assert "<script" not in html.lower() and "<svg" not in html.lower()
    assert "javascript:" not in html and "data:image/svg" not in html
    assert html.count("<img ") == 1
    thinking = [d for d in html.split("<details") if "💭" in d]
    assert len(thinking) == 2 and not any(d.startswith(" open") for d in thinking)
    assert html.count("<details open") == 2  # the code runs


def test_render_html_says_a_run_filter_once() -> None:
    assert render_html(rich_view()).count("⚠") == 3
    # Not news: max_tokens (the message said it), the last message's own filter.
    assert render_html(rich_view(finish_reason="max_tokens")).count("⚠") == 2
    assert render_html(rich_view(finish_reason="recitation")).count("⚠") == 2


ARTIFACT_URL = "/v1/sessions/s-1/artifacts/<report>.txt?version=0"


def test_render_text_shows_new_events() -> None:
    text = render_text(rich_view())
    expected = f"""[analyst]
  thought for 2 s:
  | Weighing **both** {SCRIPT}
  thoughts:
  | At once
Hello {SCRIPT}
  file: m1-file-0 · image/png · 70 bytes
  file: x.svg · image/svg+xml · 24 bytes
  file: forged.png · image/png · not base64
  [1] {SCRIPT} <https://example.com/a?x=1&y=<2>>
  [2] Evil <javascript:alert(1)>
  [3] example.org <https://example.org/b>
  searched for: {SCRIPT}
  (The answer was cut at the token limit)
  code (python):
    print('<b>')
  output:
    <b>
  code (python):
    1/0
  output (failed):
    Boom
  artifact: <report>.txt · version 0 · text/plain · 12 bytes · {ARTIFACT_URL}
  ^ analyst escalated
Partly
  (The model stopped: recitation filter (recitation))
  (The model stopped: safety filter (safety))
(completed · 12 tokens (5 thinking, 2 cached) · run run-1)"""
    assert text == expected


def test_view_keeps_files_and_sources_on_their_message() -> None:
    view = rich_view()
    [section] = view.sections
    messages = [item for item in section.items if isinstance(item, Message)]
    assert [m.message_id for m in messages] == ["m1", "m2"]
    assert [f.file_id for f in messages[0].files] == ["m1-file-0", "f-svg", "f-bad"]
    assert [s.id for s in messages[0].sources] == ["s1", "s2", "s3"]
    assert (messages[0].finish_reason, messages[1].finish_reason) == ("max_tokens", "recitation")
    assert view.finish_reason == "safety"


def test_view_an_image_alone_is_a_whole_message() -> None:
    view = RunView()
    for event in ev.numbered(ev.completed(0, "m1", "Here it is"), ev.image(0, "m2")):
        view.add(event)
    assert view.outputs == {"a": "Here it is"}  # the image has no text to count
    assert "▍" not in render_html(view)  # and no cursor: no text will come


def test_render_waiting_run_shows_each_request_and_how_to_answer() -> None:
    hostile = ev.confirmation(3, "req-1", "call-1").model_copy(update={"hint": SCRIPT})
    view = view_of(
        ev.started(),
        ev.agent(2, "a"),
        hostile,
        ev.client_tool(4, "req-2"),
        ev.waiting(5, hostile, ev.client_tool(4, "req-2")),
    )
    html, text = render_html(view), render_text(view)

    assert view.status == "waiting" and view.ended
    assert SCRIPT not in html and escape(SCRIPT) in html
    assert "<code>transfer</code>(amount=5)" in html
    assert "<code>get_location</code>(precision=&#x27;city&#x27;)" in html
    call = """client.answer('run-1', {'req-1': {"confirmed": True}, 'req-2': {"result": ...}})"""
    assert escape(call) in html
    assert "  ? confirmation: transfer(amount=5)" in text
    assert f"    {SCRIPT}" in text  # plain text is not markup
    assert "  ? client_tool: get_location(precision='city')" in text
    assert f"waiting; answer with {call}" in text
    assert "(waiting for 2 answers · run run-1 · session s-1)" in text


def test_render_pause_calls_of_adk_are_not_drawn_as_tools() -> None:
    call = ToolCall(
        run_id=RUN, ts=0, author="a", call_id="c2", name="adk_request_confirmation", args={}
    )
    view = view_of(ev.started(), call, ev.confirmation(3, "req-1", "call-1"))

    assert "adk_request_confirmation" not in render_text(view)
    assert "adk_request_confirmation" not in render_html(view)


def test_render_queued_run_says_what_it_waits_for_until_it_runs() -> None:
    queued = view_of(ev.started(), RunQueued(run_id=RUN, ts=0, behind="run-0"))
    running = view_of(ev.started(), RunQueued(run_id=RUN, ts=0, behind="run-0"), message("a", "Hi"))

    assert "queued behind run run-0" in render_text(queued)
    assert "queued behind run run-0" in render_html(queued)
    assert "queued" not in render_text(running)


def test_render_skips_adk_events() -> None:
    """`adk.event` (ADK's own event JSON, logged for ADK REST runs) shows nothing more."""
    adk = AdkEvent(run_id=RUN, ts=0, event={"author": "a", "partial": True})
    plain = view_of(ev.started(), message("a", "Hi"))
    with_adk = view_of(ev.started(), adk, message("a", "Hi"))
    assert render_text(with_adk) == render_text(plain)
    assert render_html(with_adk) == render_html(plain)
