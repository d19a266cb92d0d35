"""The README's Python client section runs as written, in order, against a real server.

Each fenced `python` block of the section is executed in one namespace (as a reader runs
them in one Python session), with `http://localhost:8000` (what `make run` serves)
replaced by the test server's URL. The server is the real app on the `make run`
defaults: the offline model at its default pace, so that a run is still going when an
example cancels or interrupts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path
from typing import Any

from adkstream.api import create_app
from adkstream.runner import EventLog
from adkstream.settings import Settings
from tests.servers import serve_app

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Python client"
MAKE_RUN_URL = "http://localhost:8000"


def client_section(text: str) -> str:
    """The README's Python client section: its heading up to the next `## ` heading."""
    start = text.index(f"\n{SECTION}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def python_blocks(section: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def test_the_section_has_its_examples() -> None:
    section = client_section(README.read_text(encoding="utf-8"))
    blocks = python_blocks(section)
    assert len(blocks) >= 6
    code = "\n".join(blocks)
    for call in (
        "AsyncClient(",
        "Client(",
        ".stream(",
        ".events(run_id, after=",
        ".run(",
        ".cancel(",
        ".create_session(",
        ".get_session(",
        ".list_sessions(",
        ".delete_session(",
        "if_busy=",
    ):
        assert call in code, call
    assert "…" not in code, "a placeholder no one can paste"
    assert code.isascii()
    assert all(MAKE_RUN_URL in b for b in blocks if "Client(" in b)


def run_blocks(blocks: list[str], url: str) -> tuple[dict[str, Any], str]:
    """Executes the blocks in order in one namespace; returns it and what they printed."""
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for number, block in enumerate(blocks, 1):
            code = compile(block.replace(MAKE_RUN_URL, url), f"README client #{number}", "exec")
            exec(code, namespace)
    return namespace, printed.getvalue()


async def test_readme_client_examples_run_in_order(tmp_path: Path) -> None:
    blocks = python_blocks(client_section(README.read_text(encoding="utf-8")))
    app = create_app(Settings(data_dir=tmp_path), log=EventLog.in_memory())
    async with asyncio.timeout(120), serve_app(app) as url:
        # In a thread: the examples call asyncio.run and block on the sync Client.
        namespace, printed = await asyncio.to_thread(run_blocks, blocks, url)

    assert isinstance(namespace["run_id"], str) and namespace["run_id"], printed
    assert namespace["result"].status == "completed", printed
    assert namespace["events"].terminal.type == "run.cancelled", printed
    # What the comments of the examples say they print.
    for line in (
        "409 session_busy",
        "completed run.cancelled",
        "404 run_not_found",
        "422 invalid_field message",
        "ConflictError 409 run_finished",
    ):
        assert line in printed, printed
