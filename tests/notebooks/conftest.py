"""Shared fixtures of the notebook tests: a kernel on this venv's Python, a real app."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from adkstream.api import create_app
from adkstream.runner import EventLog
from adkstream.settings import Settings

TIMEOUT_S = 30.0
KERNEL_NAME = "adkstream-test"


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec of its own, running this interpreter (the venv's), found through
    JUPYTER_PATH; no user's Jupyter or IPython configuration takes part."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "adkstream tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return KERNEL_NAME


AppFactory = Callable[..., Starlette]


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """The real app on a memory log and the offline model; keyword arguments are settings."""

    def make(**settings: Any) -> Starlette:
        settings.setdefault("offline_tokens_per_s", 0)
        settings.setdefault("offline_reply_tokens", 12)
        return create_app(Settings(data_dir=tmp_path, **settings), log=EventLog.in_memory())

    return make
