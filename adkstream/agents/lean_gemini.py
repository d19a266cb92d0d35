"""ADK's Gemini, with plain text chunks of a stream read straight from the SSE JSON.

google-genai builds and validates a pydantic `GenerateContentResponse` for every streamed
chunk (about 90 µs of CPU each; issue 23). `LeanGemini` is ADK's `Gemini` in every other
respect; only its client's `aio.models.generate_content_stream` differs. It sends genai's
own request through genai's own transport (auth, base URL, http_options, retries, a
non-2xx answer raised as `genai.errors.APIError`, automatic continuation), and for each
chunk it parses:
- a chunk of text and thought parts only (no signature, no finish reason, usage,
  metadata, more candidates, ...) becomes genai's response objects as `model_construct`
  makes them (`_Constructor`), equal to what genai builds, without validation;
- any other chunk is built by genai's own response builder, as genai does.
ADK's `Gemini.generate_content_async` then runs unchanged on those objects: its
`StreamingResponseAggregator`, partial and final responses, usage, cache metadata and
error mapping are exactly ADK's. That is deliberate: the lean stream replaces genai's
per-chunk work only, and ADK's own (`LlmResponse.create`, the aggregator: about 8 µs a
chunk) stays, so ADK's semantics cannot drift from ours. Requests it cannot take (Vertex
AI, MCP servers or Python callables among the tools) go through genai's
`generate_content_stream` whole.

One divergence from genai, invisible in values: the lean chunks of one stream share one
`sdk_http_response` object (genai makes one per chunk, each with the same headers).

Where the swap happens: `install_lean_gemini`, called by `runner.host.Host.open` for every
hosted agent when `ADKSTREAM_LEAN_GEMINI` is on (the default), before the coalescing
wrapper goes on. An LLM agent whose model is a Gemini model name, or an instance of ADK's
`Gemini` class itself, gets a `LeanGemini` with the same fields as its model, which
uses that model's genai client (no second connection pool); the user's `Gemini` object is
left as it was (the agent's `model` field is replaced, as the
coalescing wrapper replaces it anyway). A subclass of `Gemini` is the user's own code and
is left alone. The genai internals this needs are in `adkstream/genai_private.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from google.adk.features import FeatureName, is_feature_enabled, override_feature_enabled
from google.adk.models.google_llm import Gemini
from google.adk.workflow import BaseNode
from google.genai import types
from pydantic import BaseModel, PrivateAttr

from adkstream.agents.registry import llm_agent_models
from adkstream.genai_private import StreamContinuation, StreamRequest, base_api_client

if TYPE_CHECKING:
    from google import genai

_Model = TypeVar("_Model", bound=BaseModel)


@dataclass
class LeanCounts:
    """How a `LeanGemini`'s streamed chunks were read (for tests and metrics).

    Attributes:
        lean: chunks read straight from their JSON.
        genai: chunks built by genai (anything but plain text).
        whole_streams: streams handed to genai's `generate_content_stream` whole.
    """

    lean: int = 0
    genai: int = 0
    whole_streams: int = 0


class LeanGemini(Gemini):
    """ADK's `Gemini` whose streamed text chunks skip genai's per-chunk model building."""

    _counts: LeanCounts = PrivateAttr(default_factory=LeanCounts)
    _source: Gemini | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, model: Gemini) -> LeanGemini:
        """A `LeanGemini` with the fields `model` was given, and its clients: one HTTP
        client per loop, as before, closed by whoever closes `model`'s."""
        lean = cls(**{name: getattr(model, name) for name in model.model_fields_set})
        lean._source = model
        return lean

    @property
    def counts(self) -> LeanCounts:
        return self._counts

    @property
    def api_client(self) -> genai.Client:
        """ADK's client for this loop, with the lean `aio.models.generate_content_stream`."""
        source = self._source if self._source is not None else self
        client = Gemini.api_client.__get__(source, type(source))
        return cast("genai.Client", _LeanClient(client, self._counts))


class _LeanClient:
    """A genai `Client` whose `aio.models` streams lean; everything else is the client's."""

    def __init__(self, client: genai.Client, counts: LeanCounts) -> None:
        self._client = client
        self.aio = _Delegate(client.aio, models=_LeanModels(client, counts))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _Delegate:
    """`inner` with some attributes replaced."""

    def __init__(self, inner: object, **replaced: object) -> None:
        self._inner = inner
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _LeanModels:
    def __init__(self, client: genai.Client, counts: LeanCounts) -> None:
        self._client = client
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client.aio.models, name)

    async def generate_content_stream(
        self,
        *,
        model: str,
        contents: Any,
        config: types.GenerateContentConfigOrDict | None = None,
    ) -> AsyncIterator[types.GenerateContentResponse]:
        """genai's `generate_content_stream`, reading plain text chunks itself."""
        if self._client.vertexai or not _lean_config(config):
            self._counts.whole_streams += 1
            return await self._client.aio.models.generate_content_stream(
                model=model, contents=contents, config=config
            )
        if isinstance(config, types.GenerateContentConfig):
            config = config.model_copy(deep=True)  # as genai does: hops may change it
        return self._continued(model, contents, config)

    async def _continued(
        self, model: str, contents: Any, config: types.GenerateContentConfigOrDict | None
    ) -> AsyncIterator[types.GenerateContentResponse]:
        """genai's automatic continuation across stream hops
        (`AsyncModels._generate_content_stream_with_continuation`)."""
        state = StreamContinuation(config)
        while True:
            hop_config = state.start_hop()
            error: Exception | None = None
            try:
                async for chunk in self._hop(model, contents, hop_config):
                    yield state.observe(chunk)
            except Exception as exc:  # genai's own rule: end_hop re-raises or resumes
                error = exc
            if not state.end_hop(error):
                return

    async def _hop(
        self, model: str, contents: Any, config: types.GenerateContentConfigOrDict | None
    ) -> AsyncIterator[types.GenerateContentResponse]:
        api = base_api_client(self._client)
        request = StreamRequest.build(api, model=model, contents=contents, config=config)
        response = await request.send()
        headers: dict[str, str] = response.headers
        http_response = types.HttpResponse(headers=headers)
        counts = self._counts
        async for chunk in request.segments(response):
            lean = lean_response(chunk, http_response)
            if lean is None:
                counts.genai += 1
                yield request.response(chunk, headers)
            else:
                counts.lean += 1
                yield lean


def _lean_config(config: types.GenerateContentConfigOrDict | None) -> bool:
    """Whether genai's `generate_content_stream` would make one plain stream of `config`:
    no MCP servers or Python callables among the tools (genai's function calling loop)."""
    if config is None:
        return True
    if not isinstance(config, types.GenerateContentConfig):
        return False
    if getattr(config, "should_return_http_response", None):
        return False
    return all(isinstance(tool, types.Tool) and not tool.mcp_servers for tool in config.tools or ())


class _Constructor(Generic[_Model]):
    """`cls.model_construct(**values)` without its per-field walk (about 5 µs for genai's
    response types, four of which make one chunk): the same `__dict__` (every field, in
    order, defaults where not given), fields set and no extra or private values.

    Only for models whose every field defaults to None, with no post-init or private
    attributes (genai's `Part`, `Content`, `Candidate`, `GenerateContentResponse`);
    `tests/agents/test_lean_gemini.py` checks it against `model_construct`.
    """

    def __init__(self, cls: type[_Model]) -> None:
        fields = cls.model_fields
        if (
            any(f.default is not None or f.default_factory is not None for f in fields.values())
            or cls.__pydantic_post_init__
            or cls.__private_attributes__
            or cls.__pydantic_root_model__
        ):
            raise TypeError(f"{cls.__name__} has defaults or hooks: use model_construct")
        self.cls = cls
        self.defaults: dict[str, None] = dict.fromkeys(fields)

    def __call__(self, **values: Any) -> _Model:
        model = self.cls.__new__(self.cls)
        fields = self.defaults.copy()
        fields.update(values)
        _set(model, "__dict__", fields)
        _set(model, "__pydantic_fields_set__", set(values))
        _set(model, "__pydantic_extra__", None)
        _set(model, "__pydantic_private__", None)
        return model


_set = object.__setattr__
_part = _Constructor(types.Part)
_content = _Constructor(types.Content)
_candidate = _Constructor(types.Candidate)
_response = _Constructor(types.GenerateContentResponse)

_RESPONSE_KEYS = frozenset({"candidates", "modelVersion", "responseId"})
_CANDIDATE_KEYS = frozenset({"content", "index"})
_CONTENT_KEYS = frozenset({"role", "parts"})
_PART_KEYS = frozenset({"text", "thought"})


def lean_response(
    chunk: dict[str, Any], http_response: types.HttpResponse
) -> types.GenerateContentResponse | None:
    """`chunk` as the response genai would build, if it is one candidate of text and
    thought parts only; None for anything else (genai builds that one).

    Args:
        chunk: one SSE chunk's JSON (a `GenerateContentResponse`, camelCase).
        http_response: what genai sets as `sdk_http_response` (shared by a stream's chunks).
    """
    if not chunk.keys() <= _RESPONSE_KEYS:
        return None
    candidates = chunk.get("candidates")
    if type(candidates) is not list or len(candidates) != 1:
        return None
    candidate = candidates[0]
    if type(candidate) is not dict or not candidate.keys() <= _CANDIDATE_KEYS:
        return None
    index = candidate.get("index")
    content = candidate.get("content")
    if (index is not None and type(index) is not int) or type(content) is not dict:
        return None
    role = content.get("role")
    parts = _text_parts(content.get("parts"))
    if parts is None or not content.keys() <= _CONTENT_KEYS or type(role) not in (str, type(None)):
        return None
    built_content = _content(
        **({"parts": parts} if role is None else {"parts": parts, "role": role})
    )
    fields: dict[str, Any] = {"content": built_content}
    if index is not None:
        fields["index"] = index
    response: dict[str, Any] = {
        "candidates": [_candidate(**fields)],
        "sdk_http_response": http_response,
    }
    if (version := chunk.get("modelVersion")) is not None:
        response["model_version"] = version
    if (response_id := chunk.get("responseId")) is not None:
        response["response_id"] = response_id
    if (
        type(response.get("model_version", "")) is not str
        or type(response.get("response_id", "")) is not str
    ):
        return None
    return _response(**response)


def _text_parts(parts: object) -> list[types.Part] | None:
    if type(parts) is not list or not parts:
        return None
    built = []
    for part in parts:
        if type(part) is not dict or not part.keys() <= _PART_KEYS:
            return None
        text = part.get("text")
        thought = part.get("thought")
        if type(text) is not str or (thought is not None and type(thought) is not bool):
            return None
        built.append(_part(text=text) if thought is None else _part(text=text, thought=thought))
    return built


def install_lean_gemini(root: BaseNode) -> None:
    """Gives every LLM agent under `root` whose model is ADK's `Gemini` (by name or an
    instance of that class itself) a `LeanGemini` with the same fields; see the module
    docstring. Also settles ADK's streaming feature flag (`settle_streaming_flag`)."""
    settle_streaming_flag()
    for node, model in llm_agent_models(root):
        if type(model) is Gemini:
            node.model = LeanGemini.of(model)


def settle_streaming_flag() -> None:
    """Resolves ADK's `PROGRESSIVE_SSE_STREAMING` feature once, as ADK would now (its
    `ADK_ENABLE_`/`ADK_DISABLE_` environment variables, else its default), and pins it.

    ADK's stream aggregator asks `is_feature_enabled` for every chunk, and an unpinned
    feature costs two environment lookups each time: 8% of the CPU of a lean Gemini
    stream (py-spy, issue 23). A pinned one is a dict lookup. The value is the one the
    environment gives at start-up; changing the variable later no longer applies.
    """
    feature = FeatureName.PROGRESSIVE_SSE_STREAMING
    override_feature_enabled(feature, is_feature_enabled(feature))
