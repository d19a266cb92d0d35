"""LiveTranslator: live ADK Events (shaped as Gemini Live's connection yields them) in,
stream events out; a pure core fed literal events."""

from __future__ import annotations

import base64
import itertools
from collections import defaultdict

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.genai import types
from hypothesis import given
from hypothesis import strategies as st

from adkstream.events import (
    AgentCompleted,
    AgentStarted,
    MediaDelta,
    MessageCompleted,
    MessageDelta,
    StateDelta,
    StreamEvent,
    TurnCompleted,
)
from adkstream.runner.live_translate import LiveTranslator

AGENT = "assistant"
_ids = itertools.count()


def translator() -> LiveTranslator:
    return LiveTranslator(run_id="r1", output_keys={AGENT: "last_answer"}, clock=lambda: 1.0)


def event(**fields: object) -> Event:
    """A live Event: each gets a new id, as ADK's `receive_from_model` gives them."""
    return Event(id=f"e{next(_ids)}", invocation_id="i1", author=AGENT, **fields)


def text(value: str) -> types.Content:
    return types.Content(role="model", parts=[types.Part(text=value)])


def text_turn(chunks: list[str], *, aggregate: bool = True) -> list[Event]:
    """Partial chunks, the aggregate (with output_key), usage, then turn_complete."""
    events = [event(content=text(c), partial=True) for c in chunks]
    if aggregate:
        whole = "".join(chunks)
        actions = EventActions(state_delta={"last_answer": whole})
        events.append(event(content=text(whole), partial=False, actions=actions))
    usage = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=2, candidates_token_count=3, total_token_count=5
    )
    events.append(event(usage_metadata=usage))
    events.append(event(turn_complete=True))
    return events


def feed(live: LiveTranslator, events: list[Event]) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    for item in events:
        out.extend(live.translate(item))
    return out


def test_live_translator_gives_one_message_id_to_chunks_with_their_own_event_ids() -> None:
    live = translator()
    out = feed(live, text_turn(["You", " said", " hi."]))
    assert [e.type for e in out] == [
        "agent.started",
        "message.delta",
        "message.delta",
        "message.delta",
        "message.completed",
        "state.delta",
        "turn.completed",
    ]
    deltas = [e for e in out if isinstance(e, MessageDelta)]
    (completed,) = [e for e in out if isinstance(e, MessageCompleted)]
    assert {d.message_id for d in deltas} == {completed.message_id}
    assert "".join(d.text for d in deltas) == completed.text == "You said hi."
    assert completed.output_key == "last_answer"
    turn = out[-1]
    assert isinstance(turn, TurnCompleted)
    assert (turn.turn, turn.text, turn.message_id, turn.interrupted) == (
        1,
        "You said hi.",
        completed.message_id,
        False,
    )
    assert live.usage.total_tokens == 5 and live.final_text == "You said hi."


def test_live_translator_sends_no_agent_completed_for_control_events() -> None:
    out = feed(translator(), text_turn(["a"]) + text_turn(["b"]))
    assert not [e for e in out if isinstance(e, AgentCompleted)]
    assert len([e for e in out if isinstance(e, AgentStarted)]) == 1
    assert [e.turn for e in out if isinstance(e, TurnCompleted)] == [1, 2]


def test_live_translator_completes_a_message_the_model_never_aggregated() -> None:
    out = feed(translator(), text_turn(["no", " aggregate"], aggregate=False))
    (completed,) = [e for e in out if isinstance(e, MessageCompleted)]
    assert completed.text == "no aggregate"
    assert completed.output_key is None
    assert out[-1].type == "turn.completed"


def test_live_translator_ends_an_interrupted_turn_once() -> None:
    live = translator()
    # Gemini's shape: the text so far as one interrupted aggregate, no turn_complete.
    interrupted = [
        event(content=text("Let me"), partial=True),
        event(content=text("Let me"), partial=False, interrupted=True),
    ]
    out = feed(live, interrupted)
    turns = [e for e in out if isinstance(e, TurnCompleted)]
    assert [(t.text, t.interrupted) for t in turns] == [("Let me", True)]
    # A late content-less turn_complete opens no empty turn; the next answer is turn 2.
    assert not feed(live, [event(turn_complete=True)])
    out = feed(live, text_turn(["Sure."]))
    assert [(e.turn, e.interrupted) for e in out if isinstance(e, TurnCompleted)] == [(2, False)]


def test_live_translator_interrupted_without_text_ends_the_open_message() -> None:
    live = translator()
    out = feed(live, [event(content=text("Well"), partial=True), event(interrupted=True)])
    completed = [e for e in out if isinstance(e, MessageCompleted)]
    assert [c.text for c in completed] == ["Well"]
    assert [(e.text, e.interrupted) for e in out if isinstance(e, TurnCompleted)] == [
        ("Well", True)
    ]


def test_live_translator_audio_is_media_with_the_transcript_as_the_message() -> None:
    live = translator()
    pcm = types.Blob(mime_type="audio/pcm;rate=24000", data=b"\x01\x02")
    audio = types.Content(role="model", parts=[types.Part(inline_data=pcm)])
    transcript = types.Transcription
    events = [
        event(content=audio),
        event(output_transcription=transcript(text="Hi", finished=False), partial=True),
        event(content=audio),
        event(output_transcription=transcript(text=" there", finished=False), partial=True),
        event(
            output_transcription=transcript(text="Hi there", finished=True),
            partial=False,
            actions=EventActions(state_delta={"last_answer": "Hi there"}),
        ),
        event(turn_complete=True),
    ]
    out = feed(live, events)
    media = [e for e in out if isinstance(e, MediaDelta)]
    (completed,) = [e for e in out if isinstance(e, MessageCompleted)]
    assert [base64.b64decode(m.data) for m in media] == [b"\x01\x02", b"\x01\x02"]
    assert {m.message_id for m in media} == {completed.message_id}
    assert {m.mime_type for m in media} == {"audio/pcm;rate=24000"}
    deltas = [e.text for e in out if isinstance(e, MessageDelta)]
    assert "".join(deltas) == completed.text == "Hi there"
    assert completed.output_key == "last_answer"
    assert [e.delta for e in out if isinstance(e, StateDelta)] == [{"last_answer": "Hi there"}]
    assert out[-1].type == "turn.completed"


def test_live_translator_ignores_the_users_transcription() -> None:
    heard = types.Transcription(text="hello", finished=True)
    user = Event(id="u1", invocation_id="i1", author="user", input_transcription=heard)
    assert translator().translate(user) == []


def test_live_translator_finish_closes_a_turn_cut_short() -> None:
    live = translator()
    feed(live, [event(content=text("half"), partial=True)])
    out = live.finish()
    assert [e.type for e in out] == ["message.completed", "turn.completed"]
    assert isinstance(out[-1], TurnCompleted) and out[-1].interrupted
    assert translator().finish() == []


@given(
    turns=st.lists(
        st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6), min_size=1, max_size=4
    ),
    aggregate=st.booleans(),
)
def test_live_translator_deltas_concatenate_to_the_completed_text(
    turns: list[list[str]], aggregate: bool
) -> None:
    live = translator()
    out = feed(live, [e for chunks in turns for e in text_turn(chunks, aggregate=aggregate)])
    deltas: dict[str, list[str]] = defaultdict(list)
    completed: list[MessageCompleted] = []
    for item in out:
        if isinstance(item, MessageDelta):
            deltas[item.message_id].append(item.text)
        elif isinstance(item, MessageCompleted):
            completed.append(item)
    assert [c.text for c in completed] == ["".join(chunks) for chunks in turns]
    for message in completed:
        assert "".join(deltas[message.message_id]) == message.text
    ends = [e for e in out if isinstance(e, TurnCompleted)]
    assert [(e.turn, e.text) for e in ends] == [
        (n, "".join(chunks)) for n, chunks in enumerate(turns, 1)
    ]
