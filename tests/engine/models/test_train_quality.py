"""bench/train_quality.py trains the same score whether it makes its pairs or reads them from the
cache, and refuses a cache made for other inputs by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import bench.train_quality as train_quality
from engine.models.quality import FEATURES


def _fake_pairs(folder: Path, families_per_still: int, frames: int, max_width: int, seed: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # Rendering and coding real shots draws from torch's generator too (camera noise, warps).
    torch.rand(1000)
    generator = torch.Generator().manual_seed(len(folder.name))
    features = torch.rand(24, FEATURES, generator=generator)
    return features, features.sum(dim=1) * 3.0, torch.arange(24) // 8


def _run(tmp_path: Path, cache: Path, out: Path) -> int:
    for folder in ("tuning", "test", out.name):
        (tmp_path / folder).mkdir(exist_ok=True)
    return train_quality.main(["--data", str(tmp_path / "tuning"), "--test-data", str(tmp_path / "test"),
                               "--cache", str(cache), "--out", str(out), "--epochs", "20"])


def test_a_run_from_the_cache_trains_the_weights_of_the_run_that_made_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train_quality, "make_pairs", _fake_pairs)
    assert _run(tmp_path, tmp_path / "cache", tmp_path / "made") == 0
    assert (tmp_path / "cache" / "tuning.safetensors").is_file()
    assert _run(tmp_path, tmp_path / "cache", tmp_path / "cached") == 0
    made = load_file(tmp_path / "made" / "quality_net.safetensors")
    cached = load_file(tmp_path / "cached" / "quality_net.safetensors")
    for name, tensor in made.items():
        assert torch.equal(tensor, cached[name]), name


def test_a_cache_of_other_inputs_is_refused_by_name(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    save_file({"features": torch.zeros(2, FEATURES), "targets": torch.zeros(2), "shots": torch.zeros(2)},
              cache / "tuning.safetensors")  # no record of its inputs: the shares as read
    with pytest.raises(SystemExit, match=re.escape("tuning.safetensors: pairs from an older version")):
        _run(tmp_path, cache, tmp_path / "out")
