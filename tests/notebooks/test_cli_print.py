"""`adkstream run`'s printer (`cli.print_stream`) fed literal events: everything a run
carries, in the terminal's words."""

from __future__ import annotations

import asyncio
import io
import json
import shlex
from collections.abc import AsyncIterator, Iterable

from adkstream.cli import how_to_answer, print_stream
from adkstream.events import AdkEvent, CodeResult, MessageSources, RunQueued, Source, StreamEvent
from tests.adapters import events as ev


async def printed(events: Iterable[StreamEvent], *, tty: bool = False) -> tuple[int, str]:
    class Out(io.StringIO):
        def isatty(self) -> bool:
            return tty

    async def stream() -> AsyncIterator[StreamEvent]:
        for event in events:
            yield event

    out = Out()
    async with asyncio.timeout(5):
        code = await print_stream(stream(), out)
    return code, out.getvalue()


def run_events(finish_reason: str = "safety") -> list[StreamEvent]:
    sources = MessageSources(
        run_id=ev.RUN,
        ts=0,
        author="analyst",
        message_id="m1",
        sources=[Source(id="s1", url="https://example.com/a", title="A"), Source(id="s2")],
        queries=["launch date"],
    )
    failing = CodeResult(
        run_id=ev.RUN, ts=0, author="analyst", code_id="c2", outcome="deadline_exceeded"
    )
    return ev.numbered(
        ev.agent(0, "analyst"),
        ev.thinking(0, "t1", "Let me ", author="analyst"),
        ev.thinking(0, "t1", "think.", author="analyst"),
        ev.thought(0, "t1", "Let me think.", author="analyst"),
        ev.delta(0, "m1", "Hello", author="analyst"),
        ev.cut(0, "m1", "Hello", "max_tokens", author="analyst"),
        ev.image(0, "m1", author="analyst"),
        sources,
        ev.code(0, "c1", "x = 2\nprint(x)", author="analyst"),
        ev.code_result(0, "c1", "2\n", author="analyst"),
        ev.code(0, "c2", "while True: pass", author="analyst"),
        failing,
        ev.artifact(0, "report.txt", author="analyst"),
        ev.thought(0, "t2", "Once more.", author="analyst"),
        ev.escalated(0, author="analyst"),
        ev.run_completed(0, finish_reason=finish_reason),
    )


async def test_print_stream_shows_every_new_event() -> None:
    code, out = await printed(run_events())
    assert code == 0
    assert out == (
        "\n[analyst] thinking: Let me think. (thought for 2 s)\n"
        "\n[analyst] Hello\n"
        "  (The answer was cut at the token limit)\n"
        "  file: m1-file-0 · image/png · 70 bytes\n"
        "  [1] A <https://example.com/a>\n"
        "  [2] s2\n"
        "  searched for: launch date\n"
        "\n  code (python):\n    x = 2\n    print(x)\n"
        "  output:\n    2\n"
        "\n  code (python):\n    while True: pass\n"
        "  output (timed out):\n    (no output)\n"
        "\n  artifact: report.txt · version 0 · text/plain · 12 bytes · "
        "/v1/sessions/s-1/artifacts/report.txt?version=0\n"
        "\n[analyst] thinking: Once more.\n"
        "\n  ^ analyst escalated\n"
        "\n(The model stopped: safety filter (safety))"
        "\n(done: 12 tokens, 5 thinking, 2 cached)\n"
    )


async def test_print_stream_dims_thinking_on_a_terminal() -> None:
    _, out = await printed(run_events(), tty=True)
    assert "\x1b[2mthinking: \x1b[0m\x1b[2mLet me \x1b[0m" in out
    assert "\x1b[2m (thought for 2 s)\x1b[0m\n" in out
    _, plain = await printed(run_events())
    assert "\x1b[" not in plain


async def test_print_stream_says_a_filter_once() -> None:
    _, cut = await printed(run_events(finish_reason="max_tokens"))
    assert "The model stopped" not in cut
    blocked = ev.cut(2, "m1", "Part", "safety")
    _, out = await printed([blocked, ev.run_completed(3, finish_reason="safety")])
    assert out.count("The model stopped: safety filter (safety)") == 1


async def test_print_stream_waiting_run_shows_the_requests_and_exits_0() -> None:
    asked = ev.confirmation(0, "req-1", "call-1")
    events = ev.numbered(ev.started(), ev.agent(0, "a"), asked, ev.waiting(0, asked))

    code, out = await printed(events)

    assert code == 0
    assert "  ? confirmation: transfer(amount=5)\n     Approve the transfer?\n" in out
    assert f"(waiting for 1 answer(s): run {ev.RUN})" in out


def test_how_to_answer_prints_a_curl_command_for_a_server() -> None:
    waiting = ev.waiting(3, ev.confirmation(1, "req-1", "call-1"), ev.client_tool(2, "req-2"))

    text = how_to_answer(waiting, url="http://127.0.0.1:8000/", with_key=True)

    assert f"run {ev.RUN} waits for 2 answer(s):" in text
    assert "  ? confirmation: transfer(amount=5) [req-1] · Approve the transfer?" in text
    assert "  ? client_tool: get_location(precision='city') [req-2]" in text
    [command] = [line for line in text.splitlines() if line.startswith("  curl ")]
    words = shlex.split(command)
    assert words[:5] == [
        "curl",
        "-N",
        "-X",
        "POST",
        f"http://127.0.0.1:8000/v1/runs/{ev.RUN}/answers",
    ]
    assert "Authorization: Bearer $ADKSTREAM_API_KEY" in words
    body = json.loads(words[words.index("-d") + 1])
    assert body == {
        "answers": [
            {"request_id": "req-1", "confirmed": True},
            {"request_id": "req-2", "result": "..."},
        ]
    }


def test_how_to_answer_in_process_says_only_a_terminal_can() -> None:
    text = how_to_answer(ev.waiting(2, ev.confirmation(1, "req-1", "call-1")), url=None)

    assert "curl" not in text
    assert "run it from a terminal to answer" in text


async def test_print_stream_says_a_queued_run_waits() -> None:
    queued = RunQueued(run_id=ev.RUN, ts=ev.TS, behind="run-0")
    _, out = await printed([ev.started(), queued, ev.run_completed(0)])
    assert out.startswith("(waiting for the session's run in progress, run-0, to end)\n")


async def test_print_stream_skips_adk_events() -> None:
    adk = AdkEvent(run_id=ev.RUN, ts=ev.TS, event={"author": "a", "partial": True})
    plain = await printed([ev.started(), ev.run_completed(0)])
    assert await printed([ev.started(), adk, ev.run_completed(0)]) == plain
