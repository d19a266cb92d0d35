"""Every private google-genai API adkstream uses, in one place (checked against google-genai 2.34).

The lean Gemini stream (`agents/lean_gemini.py`) sends genai's own request and builds
genai's own response for every chunk it does not read itself, so it needs the pieces
`AsyncModels._generate_content_stream` is made of. genai keeps them underscored; each is
reached only through this module, and `tests/agents/test_genai_private.py` pins each one
with a message naming what to fix here when genai changes:

- `genai.Client._api_client`: the `BaseApiClient` (auth headers, base URL, http_options,
  retries, the httpx client) every call of the client goes through.
- `BaseApiClient._build_request` / `._async_request(stream=True)`: the request as genai
  sends it, with genai's retries and its error mapping of a non-2xx answer
  (`errors.APIError`); the answer's `async_segments()` are the SSE chunks as dicts.
- `types._GenerateContentParameters`, `models._GenerateContentParameters_to_mldev`,
  `_common.convert_to_dict`, `_common.encode_unserializable_types`: the request body.
- `models._GenerateContentResponse_from_mldev`, `GenerateContentResponse._from_response`,
  `BaseApiClient._verify_response`: one chunk built as genai builds it.
- `_extra_utils.StreamContinuation`: genai's automatic continuation across stream hops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from google import genai
from google.genai import _common, _extra_utils, errors, models, types
from google.genai._api_client import BaseApiClient

__all__ = ["BaseApiClient", "StreamContinuation", "StreamRequest", "base_api_client"]

StreamContinuation = _extra_utils.StreamContinuation


def base_api_client(client: genai.Client) -> BaseApiClient:
    """The transport under `client` (auth, base URL, http_options, retries)."""
    api: BaseApiClient = client._api_client
    return api


@dataclass(frozen=True)
class StreamRequest:
    """One `streamGenerateContent?alt=sse` call of the Gemini Developer API, as genai makes it."""

    api: BaseApiClient
    path: str
    body: dict[str, object]
    http_options: types.HttpOptions | None
    parameters: Any  # types._GenerateContentParameters

    @classmethod
    def build(
        cls,
        api: BaseApiClient,
        *,
        model: str,
        contents: Any,
        config: types.GenerateContentConfigOrDict | None,
    ) -> StreamRequest:
        """genai's request (the body in camelCase, the path with `alt=sse`)."""
        parameters = types._GenerateContentParameters(model=model, contents=contents, config=config)
        body = models._GenerateContentParameters_to_mldev(api, parameters, None, parameters)
        url = body.get("_url")
        path = "{model}:streamGenerateContent?alt=sse"
        if url:
            path = path.format_map(url)
        if query := body.get("_query"):
            from urllib.parse import urlencode

            path = f"{path}?{urlencode(query)}"
        body.pop("config", None)
        body = _common.encode_unserializable_types(_common.convert_to_dict(body))
        options = parameters.config.http_options if parameters.config is not None else None
        return cls(api=api, path=path, body=body, http_options=options, parameters=parameters)

    async def send(self) -> Any:
        """Sends the request (genai's retries; a non-2xx answer raises `errors.APIError`);
        returns genai's `HttpResponse`, whose `headers` are a dict."""
        http_request = self.api._build_request("post", self.path, self.body, self.http_options)
        return await self.api._async_request(
            http_request=http_request, http_options=self.http_options, stream=True
        )

    async def segments(self, response: Any) -> AsyncIterator[dict[str, Any]]:
        """The chunks of `response` as dicts; an error chunk raises as genai raises it."""
        segments: AsyncIterator[dict[str, Any]] = response.async_segments()
        async for segment in segments:
            if segment and next(iter(segment)) == "error":  # genai: a dump starting {"error":
                error = segment.get("error", {})
                code = error.get("code") if isinstance(error, dict) else None
                # As genai does: the code as the chunk has it (None too).
                await errors.APIError.raise_error_async(code, segment, response)  # type: ignore[arg-type]
            yield segment

    def response(
        self, chunk: Mapping[str, Any], headers: dict[str, str]
    ) -> types.GenerateContentResponse:
        """`chunk` built into genai's response model, exactly as genai builds it."""
        config = getattr(self.parameters, "config", None)
        kwargs: dict[str, Any] = {}
        if config is not None:
            kwargs = {
                "config": {
                    "response_schema": getattr(config, "response_schema", None),
                    "response_json_schema": getattr(config, "response_json_schema", None),
                    "include_all_fields": getattr(config, "include_all_fields", None),
                }
            }
        converted = models._GenerateContentResponse_from_mldev(chunk, None, self.parameters)
        value = types.GenerateContentResponse._from_response(response=converted, kwargs=kwargs)
        value.sdk_http_response = types.HttpResponse(headers=headers)
        self.api._verify_response(value)
        return value
