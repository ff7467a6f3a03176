"""A short fuzz run of every target: hypothesis over mutated real seed files (about a minute in all).

The long, coverage-guided run is bench/fuzz.py; whatever either finds becomes a regression test
in tests/fuzz/test_regressions.py.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.mutate import mutate_bytes, mutate_json, nudge_json
from tests.fuzz.targets import MAX_INPUT_BYTES, TARGETS, Target, check, write_seeds

# Inputs per target, sized so each takes about five seconds on the 2-core machine (about 40 s in all).
EXAMPLES = {"sps": 4000, "exr": 2000, "radiance": 2400, "sequence": 1200, "grade": 400, "project": 800,
            "queue": 600, "weights": 1200, "camera-lut": 2000, "exif": 3000}


def mutated(target: Target, seed: bytes, rng: random.Random) -> bytes:
    """JSON seeds: a third nudged numbers, half hostile structure, the rest bytes."""
    draw = rng.random()
    if target.json_seeds and draw < 0.3:
        return nudge_json(seed, rng)
    if target.json_seeds and draw < 0.8:
        return mutate_json(seed, rng)
    return mutate_bytes(seed, rng, MAX_INPUT_BYTES)


def test_every_target_has_a_budget() -> None:
    assert set(EXAMPLES) == set(TARGETS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_keeps_the_contract(name: str, tmp_path: Path) -> None:
    target = TARGETS[name]
    seeds = write_seeds(target, tmp_path)
    kinds: dict[str, int] = {}

    @settings(max_examples=EXAMPLES[name], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(seed=st.sampled_from(seeds), rng=st.randoms(use_true_random=False))
    def one_input(seed: bytes, rng: random.Random) -> None:
        outcome = check(target, mutated(target, seed, rng), tmp_path)
        kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1
        assert not outcome.violation, f"{name}: {outcome.kind}: {outcome.detail}"

    one_input()
    # The mutations must reach past the first check: some inputs read, some are refused.
    assert kinds.get("refused", 0) > 0 or name == "sps", kinds
    assert kinds.get("ok", 0) > 0, kinds
