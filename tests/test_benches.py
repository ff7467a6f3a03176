"""Every benchmark under bench/ imports: a helper renamed in the engine or in another bench
must not leave a benchmark that fails before it measures anything (bench/learned_eval.py did)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
# Runs under Mitsuba 3's own interpreter (bench/heldout_stills.py --mitsuba-python), not the venv's.
OWN_INTERPRETER = {"mitsuba_scenes"}
MODULES = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__" and p.stem not in OWN_INTERPRETER)


def test_the_list_is_not_empty() -> None:
    assert {"temporal", "throughput", "train_itm"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.main)
