"""Without the a2a package, ADK's per-run import of RemoteA2aAgent fails at once."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from adkstream.agents.a2a_import import REMOTE_A2A_MODULE, remember_missing_a2a


def test_missing_a2a_is_remembered_and_the_import_still_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if importlib.util.find_spec("a2a") is not None:
        pytest.skip("a2a is installed here: nothing to remember")
    monkeypatch.delitem(sys.modules, REMOTE_A2A_MODULE, raising=False)
    assert remember_missing_a2a() is True
    assert remember_missing_a2a() is False  # once
    with pytest.raises(ImportError):
        from google.adk.agents.remote_a2a_agent import RemoteA2aAgent  # noqa: F401
