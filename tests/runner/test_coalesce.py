"""Coalescer and merge_adjacent_deltas: spec-style literals, then properties (hypothesis)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adkstream.events import MessageCompleted, MessageDelta, RunCompleted, StreamEvent
from adkstream.runner.coalesce import Coalescer, merge_adjacent_deltas

WINDOW = 0.030


def _delta(text: str, message_id: str = "m1", *, ts: float = 0.0, seq: int = 0) -> MessageDelta:
    return MessageDelta(run_id="r", ts=ts, seq=seq, author="bot", message_id=message_id, text=text)


def _completed(text: str, message_id: str = "m1", *, seq: int = 0) -> MessageCompleted:
    return MessageCompleted(
        run_id="r", ts=0.0, seq=seq, author="bot", message_id=message_id, text=text
    )


def _texts(events: list[StreamEvent]) -> list[tuple[str, str]]:
    return [(e.type, getattr(e, "text", "")) for e in events]


def _message_text(events: list[StreamEvent], message_id: str) -> str:
    return "".join(
        e.text for e in events if isinstance(e, MessageDelta) and e.message_id == message_id
    )


# --------------------------------------------------------------------------- Coalescer


def test_coalesce_first_delta_goes_out_at_once() -> None:
    coalescer = Coalescer(WINDOW)
    first = _delta("Hel")

    assert coalescer.push(first, now=10.0) == [first]
    assert coalescer.deadline is None


def test_coalesce_merges_deltas_within_the_window() -> None:
    coalescer = Coalescer(WINDOW)
    coalescer.push(_delta("Hel"), now=10.0)

    assert coalescer.push(_delta("lo", ts=1.0), now=10.010) == []
    assert coalescer.push(_delta(" wor", ts=2.0), now=10.020) == []
    assert coalescer.deadline == 10.0 + WINDOW
    [merged] = coalescer.flush(now=10.0 + WINDOW)

    assert isinstance(merged, MessageDelta)
    assert (merged.message_id, merged.text, merged.ts) == ("m1", "lo wor", 2.0)
    assert coalescer.deadline is None
    assert (coalescer.deltas_in, coalescer.deltas_out) == (3, 2)


def test_coalesce_flush_at_deadline_then_next_window_starts_there() -> None:
    coalescer = Coalescer(WINDOW)
    coalescer.push(_delta("a"), now=0.0)
    coalescer.push(_delta("b"), now=0.010)
    deadline = coalescer.deadline

    assert deadline == WINDOW
    assert _texts(coalescer.flush(now=deadline)) == [("message.delta", "b")]
    # Within a window of that flush: held again; after it: sent at once.
    assert coalescer.push(_delta("c"), now=deadline + 0.010) == []
    assert coalescer.deadline == deadline + WINDOW
    assert _texts(coalescer.flush(now=deadline + WINDOW)) == [("message.delta", "c")]
    assert _texts(coalescer.push(_delta("d"), now=1.0)) == [("message.delta", "d")]


def test_coalesce_delta_after_a_quiet_window_goes_out_at_once() -> None:
    coalescer = Coalescer(WINDOW)
    coalescer.push(_delta("a"), now=0.0)

    assert _texts(coalescer.push(_delta("b"), now=WINDOW)) == [("message.delta", "b")]
    assert coalescer.deadline is None


def test_coalesce_non_delta_event_flushes_first() -> None:
    coalescer = Coalescer(WINDOW)
    coalescer.push(_delta("Hel"), now=0.0)
    coalescer.push(_delta("lo"), now=0.001)
    done = _completed("Hello")

    out = coalescer.push(done, now=0.002)

    assert _texts(out) == [("message.delta", "lo"), ("message.completed", "Hello")]
    assert out[1] is done
    assert coalescer.deadline is None


def test_coalesce_another_messages_delta_flushes_first() -> None:
    coalescer = Coalescer(WINDOW)
    coalescer.push(_delta("a1", "m1"), now=0.0)
    coalescer.push(_delta("a2", "m1"), now=0.001)

    out = coalescer.push(_delta("b1", "m2"), now=0.002)

    assert [(e.message_id, e.text) for e in out if isinstance(e, MessageDelta)] == [
        ("m1", "a2"),
        ("m2", "b1"),
    ]
    assert len(out) == 2
    assert coalescer.deadline is None


def test_coalesce_hold_names_the_message_whose_next_delta_would_wait() -> None:
    coalescer = Coalescer(WINDOW)
    assert coalescer.hold(now=0.0) is None  # nothing sent: a first delta goes at once

    coalescer.push(_delta("Hel"), now=10.0)
    assert coalescer.hold(now=10.001) == ("m1", 10.0 + WINDOW)  # sent: the window runs
    coalescer.push(_delta("lo"), now=10.010)
    assert coalescer.hold(now=10.011) == ("m1", 10.0 + WINDOW)  # pending until its deadline
    coalescer.flush(now=10.0 + WINDOW)
    assert coalescer.hold(now=10.031) == ("m1", pytest.approx(10.0 + 2 * WINDOW))
    assert coalescer.hold(now=10.0 + 2 * WINDOW) is None  # window over: it would go at once

    coalescer.push(_completed("Hello"), now=10.1)
    coalescer.push(_delta("x", "m2"), now=10.1)
    assert coalescer.hold(now=10.1) == ("m2", pytest.approx(10.1 + WINDOW))  # the last message sent


def test_coalesce_window_zero_holds_nothing() -> None:
    coalescer = Coalescer(0)
    coalescer.push(_delta("a"), now=5.0)

    assert coalescer.hold(now=5.0) is None


def test_coalesce_window_zero_passes_everything() -> None:
    coalescer = Coalescer(0)
    events: list[StreamEvent] = [_delta("a"), _delta("b"), _delta("c", "m2"), _completed("abc")]

    out = [e for event in events for e in coalescer.push(event, now=5.0)]

    assert out == events
    assert coalescer.deadline is None
    assert coalescer.flush(now=5.0) == []


def test_coalesce_flush_with_nothing_pending_is_empty() -> None:
    coalescer = Coalescer(WINDOW)

    assert coalescer.flush(now=0.0) == []
    coalescer.push(_delta("a"), now=0.0)
    assert coalescer.flush(now=1.0) == []


# --------------------------------------------------------------------------- property


_chunks = st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=12)
_messages = st.lists(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=5), st.floats(min_value=0.0, max_value=0.05)),
        min_size=1,
        max_size=12,
    ),
    min_size=1,
    max_size=4,
)


def _sent_times(coalescer: Coalescer, arrivals: list[float]) -> list[float]:
    """When the deltas of one message, arriving at `arrivals`, go out (flushed when due)."""
    sent: list[float] = []
    for index, now in enumerate(arrivals):
        while (deadline := coalescer.deadline) is not None and now >= deadline:
            sent += [deadline for _ in coalescer.flush(deadline)]
        sent += [now for _ in coalescer.push(_delta(f"w{index} ", ts=now), now)]
    return sent


def test_coalesce_slow_start_doubles_a_new_message_window_up_to_the_widened_one() -> None:
    widened = 0.240  # the loop has just run late: every run's window is 240 ms
    coalescer = Coalescer(lambda: widened, slow_start=WINDOW)
    arrivals = [10.0 + 0.010 * i for i in range(100)]  # a chunk every 10 ms

    sent = _sent_times(coalescer, arrivals)

    gaps = [round(later - earlier, 3) for earlier, later in itertools.pairwise(sent)]
    assert gaps[:6] == [0.030, 0.030, 0.060, 0.120, 0.240, 0.240]


def test_coalesce_without_slow_start_holds_a_new_message_for_the_whole_window() -> None:
    coalescer = Coalescer(lambda: 0.240)

    sent = _sent_times(coalescer, [10.0 + 0.010 * i for i in range(60)])

    assert [round(t, 3) for t in sent[:3]] == [10.0, 10.24, 10.48]


def test_coalesce_slow_start_never_widens_a_fixed_window() -> None:
    arrivals = [10.0 + 0.010 * i for i in range(40)]

    slow = _sent_times(Coalescer(WINDOW, slow_start=WINDOW), arrivals)

    assert slow == _sent_times(Coalescer(WINDOW), arrivals)


@settings(max_examples=300, deadline=None)
@given(
    messages=_messages,
    window=st.sampled_from([0.0, 0.001, 0.010, 0.030, 0.100]),
    slow_start=st.sampled_from([None, 0.001, 0.010]),
    with_completed=st.booleans(),
)
def test_coalesce_any_chunking_and_timing_keeps_the_text(
    messages: list[list[tuple[str, float]]],
    window: float,
    slow_start: float | None,
    with_completed: bool,
) -> None:
    """Messages arrive one after the other, each split into chunks at non-decreasing times."""
    coalescer = Coalescer(window, slow_start=slow_start)
    out: list[StreamEvent] = []
    now = 0.0

    def flush_due() -> None:
        while (deadline := coalescer.deadline) is not None and now >= deadline:
            out.extend(coalescer.flush(deadline))

    for index, chunks in enumerate(messages):
        message_id = f"m{index}"
        for position, (text, gap) in enumerate(chunks):
            now += gap
            flush_due()
            ready = coalescer.push(_delta(text, message_id, ts=now), now)
            if position == 0:  # a message's first delta is never held back
                assert ready
                assert isinstance(ready[-1], MessageDelta)
                assert (ready[-1].message_id, ready[-1].text) == (message_id, text)
            out.extend(ready)
        if with_completed:
            out.extend(coalescer.push(_completed("".join(t for t, _ in chunks), message_id), now))
    out.extend(coalescer.flush(now))

    assert coalescer.deadline is None
    deltas = [e for e in out if isinstance(e, MessageDelta)]
    assert coalescer.deltas_out == len(deltas)
    assert coalescer.deltas_in == sum(len(chunks) for chunks in messages)
    for index, chunks in enumerate(messages):
        message_id = f"m{index}"
        pieces = [t for t, _ in chunks]
        boundaries = {len("".join(pieces[:i])) for i in range(len(pieces) + 1)}
        sent = [d.text for d in deltas if d.message_id == message_id]
        assert "".join(sent) == "".join(pieces)
        # Each delta is whole chunks of its own message: nothing of another mixed in.
        offset = 0
        for text in sent:
            assert offset in boundaries
            offset += len(text)
        assert offset in boundaries
    # Messages stay in order and never interleave in the output.
    order = [d.message_id for d in deltas]
    assert order == sorted(order, key=lambda m: int(m[1:]))
    if window == 0:
        assert len(deltas) == coalescer.deltas_in
    if with_completed:  # each completed comes after all of its message's deltas
        for index, event in enumerate(out):
            if isinstance(event, MessageCompleted):
                later = out[index + 1 :]
                assert not [d for d in later if getattr(d, "message_id", None) == event.message_id]


@settings(max_examples=200, deadline=None)
@given(chunks=_chunks, window=st.sampled_from([0.010, 0.030]))
def test_coalesce_a_burst_within_one_window_is_at_most_two_deltas(
    chunks: list[str], window: float
) -> None:
    coalescer = Coalescer(window)
    out: list[StreamEvent] = []
    for text in chunks:
        out.extend(coalescer.push(_delta(text), now=0.0))
    out.extend(coalescer.flush(now=window))

    expected = [chunks[0], "".join(chunks[1:])] if len(chunks) > 1 else [chunks[0]]
    assert _texts(out) == [("message.delta", text) for text in expected]


# --------------------------------------------------------------------------- merge_adjacent_deltas


def test_merge_adjacent_deltas_carries_the_last_seq() -> None:
    events: list[StreamEvent] = [
        _delta("He", seq=4, ts=1.0),
        _delta("ll", seq=5, ts=2.0),
        _delta("o", seq=6, ts=3.0),
        _completed("Hello", seq=7),
    ]

    merged = merge_adjacent_deltas(events)

    assert len(merged) == 2
    first = merged[0]
    assert isinstance(first, MessageDelta)
    assert (first.text, first.seq, first.ts) == ("Hello", 6, 3.0)
    assert merged[1] == events[3]


def test_merge_adjacent_deltas_keeps_messages_and_other_events_apart() -> None:
    events: list[StreamEvent] = [
        _delta("a", "m1", seq=1),
        _delta("b", "m2", seq=2),
        _delta("c", "m2", seq=3),
        _completed("a", "m1", seq=4),
        _delta("d", "m2", seq=5),
        RunCompleted(run_id="r", ts=0.0, seq=6),
    ]

    merged = merge_adjacent_deltas(events)

    assert [(e.type, getattr(e, "text", None), e.seq) for e in merged] == [
        ("message.delta", "a", 1),
        ("message.delta", "bc", 3),
        ("message.completed", "a", 4),
        ("message.delta", "d", 5),
        ("run.completed", None, 6),
    ]


def test_merge_adjacent_deltas_single_and_empty() -> None:
    only = _delta("x", seq=1)

    assert merge_adjacent_deltas([]) == []
    assert merge_adjacent_deltas([only]) == [only]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["m1", "m2", None]), st.text(min_size=1, max_size=4)),
        max_size=30,
    )
)
def test_merge_adjacent_deltas_preserves_text_and_last_seqs(
    items: list[tuple[str | None, str]],
) -> None:
    events: list[StreamEvent] = [
        _delta(text, message_id, seq=seq)
        if message_id is not None
        else RunCompleted(run_id="r", ts=0.0, seq=seq)
        for seq, (message_id, text) in enumerate(items, start=1)
    ]

    merged = merge_adjacent_deltas(events)

    for message_id in ("m1", "m2"):
        assert _message_text(merged, message_id) == _message_text(events, message_id)
    seqs = [e.seq for e in merged]
    assert seqs == sorted(seqs)
    if events:
        assert merged[-1].seq == events[-1].seq
    # A resume from any merged event's seq misses nothing: that seq ends a merged run.
    boundaries = {e.seq for e in events if not isinstance(e, MessageDelta)}
    for index, event in enumerate(events):
        following = events[index + 1] if index + 1 < len(events) else None
        if isinstance(event, MessageDelta) and not (
            isinstance(following, MessageDelta) and following.message_id == event.message_id
        ):
            boundaries.add(event.seq)
    assert set(seqs) == boundaries
