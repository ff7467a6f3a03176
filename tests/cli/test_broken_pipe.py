"""`lumigrade ... | head -1`: a reader that goes away early ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import EXIT_BROKEN_PIPE

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo" / "candle_push.mp4"


@pytest.mark.parametrize(("args", "status"), [
    (["operators", "--json"], EXIT_BROKEN_PIPE),
    (["probe", str(DEMO)], EXIT_BROKEN_PIPE),
    (["--help"], 0),  # argparse ignores an OSError from writing its help, and exits 0 itself
], ids=["operators", "probe", "help"])
def test_closed_pipe_ends_quietly(args: list[str], status: int) -> None:
    read_end, write_end = os.pipe()
    # Closed before the command writes a byte: its first write (or its last flush) meets EPIPE,
    # whatever the size of the output, where `| head -1` would leave that to the pipe's buffer.
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())",
                               *args], stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == status
