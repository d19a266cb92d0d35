"""The notebooks under `notebooks/` run clean, on the offline model, in a real kernel."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CELL_TIMEOUT_S = 120
NOTEBOOK_TIMEOUT_S = 300


class RecordingClient(NotebookClient):
    """Keeps the HTML of every display update, by cell index, as the kernel sent them."""

    updates: dict[int, list[str]]

    def process_message(
        self, msg: dict[str, Any], cell: nbformat.NotebookNode, cell_index: int
    ) -> nbformat.NotebookNode | None:
        if msg["msg_type"] == "update_display_data":
            html = msg["content"]["data"].get("text/html", "")
            self.updates.setdefault(cell_index, []).append(html)
        return super().process_message(msg, cell, cell_index)


async def execute(
    name: str, kernel_name: str, workdir: Path
) -> tuple[nbformat.NotebookNode, dict[int, list[str]]]:
    """Runs every cell in order (a cell's error raises `CellExecutionError`); returns the
    notebook with its outputs and the display updates of each cell."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = RecordingClient(
        notebook,
        kernel_name=kernel_name,
        timeout=CELL_TIMEOUT_S,
        startup_timeout=60,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.updates = {}
    async with asyncio.timeout(NOTEBOOK_TIMEOUT_S):
        await client.async_execute()
    return notebook, client.updates


def html_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """The HTML of every display output, in cell order (after its last update)."""
    return [
        output["data"]["text/html"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "display_data" and "text/html" in output.get("data", {})
    ]


def assert_ran_clean(notebook: nbformat.NotebookNode) -> None:
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, cell.source
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.source


def assert_final_displays(
    notebook: nbformat.NotebookNode, updates: dict[int, list[str]]
) -> list[str]:
    """Every display was drawn once more at the end, with the final state; returns them."""
    runs = html_outputs(notebook)
    assert runs, "no live display"
    for html in runs:
        assert 'class="adkstream-run"' in html
        assert "completed ·" in html and "running…" not in html
    assert len(updates) == len(runs), "a display that was never updated"
    return runs


async def test_quickstart_runs_clean(kernel_name: str, tmp_path: Path) -> None:
    notebook, updates = await execute("quickstart.ipynb", kernel_name, tmp_path)
    assert_ran_clean(notebook)
    runs = assert_final_displays(notebook, updates)
    # The first run's display grew while it streamed, and ended drawn complete.
    drawn = updates[min(updates)]
    streaming = [html for html in drawn if "running…" in html]
    assert len(streaming) >= 2, f"{len(drawn)} updates, {len(streaming)} mid-stream"
    lengths = [len(html) for html in streaming]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    assert "completed ·" in drawn[-1]
    # The tool call is folded; the state shows `last_answer`.
    assert "<details" in runs[1] and "get_current_time" in runs[1]
    assert "last_answer" in runs[1]
    # Model text that holds HTML is shown as text; markdown is rendered.
    assert "&lt;script&gt;alert(" in runs[-1]
    assert "<script" not in runs[-1].lower()
    assert "<strong>bold</strong>" in runs[-1]


async def test_pipeline_runs_clean(kernel_name: str, tmp_path: Path) -> None:
    notebook, updates = await execute("pipeline.ipynb", kernel_name, tmp_path)
    assert_ran_clean(notebook)
    pipeline, fanout = assert_final_displays(notebook, updates)
    assert pipeline.index(">writer<") < pipeline.index(">editor<")
    assert ">optimist<" in fanout and ">skeptic<" in fanout
    assert "draft" in pipeline and "final" in pipeline  # the session state


async def test_remote_runs_clean(kernel_name: str, tmp_path: Path) -> None:
    notebook, updates = await execute("remote.ipynb", kernel_name, tmp_path)
    assert_ran_clean(notebook)
    assert len(assert_final_displays(notebook, updates)) == 3
    stopped = notebook.cells[-1].outputs[0]["text"]
    assert stopped.strip() in {"server stopped, exit code 0", "server stopped, exit code -15"}
