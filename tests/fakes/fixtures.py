"""Pytest fixtures for the fakes; import them into a conftest or test module by name."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.fakes.gemini_server import FakeGemini

__all__ = ["fake_gemini"]


@pytest_asyncio.fixture
async def fake_gemini(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeGemini]:
    """A started FakeGemini, with the env set up for the Gemini Developer API (API key)."""
    monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
    async with FakeGemini() as server:
        yield server
