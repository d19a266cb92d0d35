"""`import adkstream.client` stays light: no ADK, no Starlette, no server."""

from __future__ import annotations

import subprocess
import sys


def test_import_client_does_not_import_adk() -> None:
    code = (
        "import sys\n"
        "import adkstream.client\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'uvicorn', 'sse_starlette') or m.startswith('google.adk'))\n"
        "assert 'google.adk' not in sys.modules, heavy\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
