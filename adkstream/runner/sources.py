"""A model answer's sources: Gemini's grounding and citation metadata as wire `Source`s.

Grounding (`google_search` and other retrieval tools) gives chunks (web pages or
retrieved documents) and supports (a segment of the answer and the chunks behind it);
citations give a URL or title with the span of the answer it backs. Both become one list
of sources with stable ids (`g0`, `g1`, ... for grounding chunks, `c0`, ... for
citations) and the spans they support.
"""

from __future__ import annotations

from google.adk.events.event import Event
from google.genai import types

from adkstream.events import Source, SourceSpan

Sources = tuple[list[Source], list[SourceSpan], list[str]]


def sources_of(event: Event) -> Sources | None:
    """The event's sources, spans and search queries; None when it has none."""
    found: list[Source] = []
    spans: list[SourceSpan] = []
    queries: list[str] = []
    if (grounding := event.grounding_metadata) is not None:
        _grounding(grounding, found, spans)
        queries = list(grounding.web_search_queries or [])
    if (citations := event.citation_metadata) is not None:
        _citations(citations, found, spans)
    return (found, spans, queries) if found else None


def _grounding(
    grounding: types.GroundingMetadata, found: list[Source], spans: list[SourceSpan]
) -> None:
    for index, chunk in enumerate(grounding.grounding_chunks or []):
        if chunk.web is not None:
            found.append(
                Source(id=f"g{index}", url=chunk.web.uri, title=chunk.web.title, kind="web")
            )
        elif (context := chunk.retrieved_context) is not None:
            found.append(
                Source(id=f"g{index}", url=context.uri, title=context.title, kind="document")
            )
    known = {source.id for source in found}
    for support in grounding.grounding_supports or []:
        ids = [f"g{i}" for i in support.grounding_chunk_indices or [] if f"g{i}" in known]
        segment = support.segment
        if not ids or segment is None:
            continue
        spans.append(
            SourceSpan(
                start=segment.start_index, end=segment.end_index, text=segment.text, source_ids=ids
            )
        )


def _citations(
    citations: types.CitationMetadata, found: list[Source], spans: list[SourceSpan]
) -> None:
    for index, citation in enumerate(citations.citations or []):
        source_id = f"c{index}"
        found.append(Source(id=source_id, url=citation.uri, title=citation.title, kind="citation"))
        if citation.start_index is not None or citation.end_index is not None:
            spans.append(
                SourceSpan(
                    start=citation.start_index, end=citation.end_index, source_ids=[source_id]
                )
            )
