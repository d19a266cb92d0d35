"""The text tap: a model's streamed text goes to the run directly, not through ADK's events.

ADK spends about 200 µs of CPU and, on an idle server, 0.3 ms (uvloop) to 0.9 ms
(asyncio's own loop) of wall time on every partial event it passes on (pydantic copies,
telemetry, its event queue; `make bench`, raw ADK endpoint against the floor), and none of
that work changes a partial text chunk when no `after_model_callback` can see it. So for
such agents `CoalescingModel` hands each partial text chunk to the run's `TEXT_TAP` sink
instead of to ADK, and ADK gets only what it persists or acts on: the final aggregated
response, function calls, anything that is not plain text. The run turns tapped chunks
into `message.delta` events; the final response still goes through ADK (session,
`output_key`, callbacks) and closes the message.

Which model call a chunk belongs to comes from `TextTapPlugin`, which every runner gets:
its `before_model_callback` notes the calling agent, its branch and the `EventActions`
that ADK shares between a model call's partial events and its final event (that shared
object is how the final event is matched to the tapped text). ADK runs that callback in
the task that then calls the model, so the note is a context variable.

The whole path, in one place. Text reaches a client by two roads, and context variables
carry what a run hands to the code ADK calls (ADK copies the context into its tasks, and
has no other way to pass a run's objects down to a model):

1. The run's pump (`runner/adk_side.py`, `AdkSide._pump`) sets, before it starts
   `Runner.run_async`: `TEXT_TAP` (its sink: `_tap_into`), `COALESCE_WINDOW`
   (`agents/coalescing.py`: how long the model wrapper may hold text), `MODEL_CALLING`
   (the first model call settles the run's start), `INVOCATION_STARTING` (the invocation
   id, for rewinds and stopped answers) and `CLIENT_TOOLS` (`agents/client_tools.py`: the
   tools the client runs).
2. ADK calls the agent's model through `CoalescingModel` (`agents/coalescing.py`), which
   every hosted agent gets. For a streamed call with no `after_model_callback`, partial
   text chunks go to `TEXT_TAP` (road one) with the `ModelCall` that `TextTapPlugin`
   noted; everything else goes on to ADK as its events (road two).
3. The sink (`_tap_into`) has the run's `Translator` (`runner/translate.py`) turn the
   chunk into `message.delta` / `reasoning.delta` and puts it into the run's inbox; ADK's
   events are translated by the same `Translator` in `_pump`, and join the same inbox in
   the order they came. The final aggregated response closes the tapped message
   (`Translator.translate` matches it by the shared `EventActions`).
4. From the inbox the run (`runner/lifecycle.py`) coalesces, numbers and logs the events
   (`runner/log.py`), and every client reads them from the log.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from google.adk.agents.callback_context import CallbackContext
from google.adk.agents.invocation_context import InvocationContext
from google.adk.events.event_actions import EventActions
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.plugins.base_plugin import BasePlugin
from google.genai import types


@dataclass(frozen=True, eq=False)
class ModelCall:
    """One call of an agent's model, as ADK's callback context describes it."""

    author: str
    branch: str | None
    actions: EventActions
    """Shared by the call's partial events and its final event (identity, not value)."""
    request: LlmRequest


TextSink = Callable[[ModelCall, str, bool], None]
"""Takes a model call's next chunk of text and whether it is thought (the model's
thinking) rather than answer; ("", False) for a chunk with no text at all."""

TEXT_TAP: ContextVar[TextSink | None] = ContextVar("adkstream_text_tap", default=None)
"""Set by a run before it starts ADK; ADK's tasks for the run inherit it."""

MODEL_CALLING: ContextVar[Callable[[], None] | None] = ContextVar(
    "adkstream_model_calling", default=None
)
"""Set by a run before it starts ADK: called each time ADK is about to call a model."""

INVOCATION_STARTING: ContextVar[Callable[[str], None] | None] = ContextVar(
    "adkstream_invocation_starting", default=None
)
"""Set by a run before it starts ADK: called with ADK's invocation id before ADK stores
the run's message in the session (what a rollback rewinds to before)."""

_MODEL_CALL: ContextVar[ModelCall | None] = ContextVar("adkstream_model_call", default=None)


class TextTapPlugin(BasePlugin):
    """Notes each model call for `CoalescingModel` and tells the run (`MODEL_CALLING`) that
    ADK is about to call a model, and which invocation it runs (`INVOCATION_STARTING`);
    it changes nothing ADK does."""

    def __init__(self) -> None:
        super().__init__(name="adkstream_text_tap")

    async def on_user_message_callback(
        self, *, invocation_context: InvocationContext, user_message: types.Content
    ) -> types.Content | None:
        starting = INVOCATION_STARTING.get()
        if starting is not None:
            starting(invocation_context.invocation_id)
        return None

    async def before_model_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest
    ) -> LlmResponse | None:
        call = ModelCall(
            author=callback_context.agent_name,
            branch=callback_context.branch,
            actions=callback_context.actions,
            request=llm_request,
        )
        _MODEL_CALL.set(call)
        calling = MODEL_CALLING.get()
        if calling is not None:
            calling()
        return None


def model_call_of(llm_request: LlmRequest) -> ModelCall | None:
    """The noted call for `llm_request`, or None (no plugin, or another request's note)."""
    call = _MODEL_CALL.get()
    return call if call is not None and call.request is llm_request else None
