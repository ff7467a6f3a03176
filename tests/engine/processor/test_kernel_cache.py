"""Generated kernels are compiled once per machine: a second process loads the machine code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.processor.kernel_cache import CACHE_ENV, jit_source

SOURCE = '''
def scaled(x, out, k):
    for i in prange(x.shape[0]):
        out[i] = x[i] * k
'''
# Compiles (or loads) SOURCE in a fresh interpreter, runs it and prints numba's cache hits.
CHILD = f"""
import numpy as np
from engine.processor.kernel_cache import jit_source
fn = jit_source({SOURCE!r}, "scaled", parallel=True, fastmath=True, nogil=True)
out = np.empty(4, np.float32)
fn(np.arange(4, dtype=np.float32), out, np.float32(2.0))
print(out.tolist(), sum(fn.stats.cache_hits.values()))
"""


def test_a_second_process_loads_the_compiled_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    runs = [subprocess.run([sys.executable, "-c", CHILD], cwd=root, capture_output=True, text=True,
                           check=True, env=env) for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["[0.0,", "2.0,", "4.0,", "6.0]", "0"],
                                                ["[0.0,", "2.0,", "4.0,", "6.0]", "1"]]
    assert len(list(tmp_path.glob("kernel_*.py"))) == 1
    assert list(tmp_path.glob("__pycache__/kernel_*.nbi"))


def test_an_unwritable_cache_folder_compiles_in_memory(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocked / "kernels"))
    fn = jit_source(SOURCE, "scaled", parallel=True)
    out = np.empty(3, np.float32)
    fn(np.ones(3, np.float32), out, np.float32(3.0))
    assert out.tolist() == [3.0, 3.0, 3.0]
