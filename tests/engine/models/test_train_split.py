"""bench/train_itm.py keeps the held-out TEST stills out of training (issue 19's split) and trains
reproducibly from its seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bench.heldout_stills import LICENCES
from bench.train_itm import holds_test_stills, main
from engine.io.exr import write_exr


def test_the_test_folder_is_refused_before_anything_is_written(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    test = tmp_path / "test"
    test.mkdir()
    (test / "LICENCES.md").write_text(LICENCES)
    out, checkpoints = tmp_path / "out", tmp_path / "checkpoints"
    assert holds_test_stills(test)
    assert main(["--model", "unet", "--data", str(test), "--out", str(out),
                 "--checkpoints", str(checkpoints)]) == 2
    assert "TEST stills" in capsys.readouterr().err
    assert not out.exists() and not checkpoints.exists()


def test_a_tuning_folder_with_another_licence_file_is_not_mistaken_for_test(tmp_path: Path) -> None:
    (tmp_path / "LICENCES.md").write_text("# Tuning stills\n")
    assert not holds_test_stills(tmp_path)
    assert not holds_test_stills(tmp_path / "missing")


def test_two_runs_with_the_same_seed_train_the_same_network(tmp_path: Path) -> None:
    """The initial weights come from the seed too, not from a generator seeded by the OS."""
    data = tmp_path / "data"
    data.mkdir()
    ramp = torch.linspace(0.0, 8.0, 48)
    write_exr(data / "ramp.exr", torch.stack([ramp.expand(32, 48), ramp.flip(0).expand(32, 48),
                                              torch.full((32, 48), 0.5)]), half=False)
    weights = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert main(["--model", "unet", "--data", str(data), "--out", str(out),
                     "--checkpoints", str(tmp_path / f"checkpoints-{run}"), "--steps", "2", "--batch", "2",
                     "--crop", "16", "--patches", "4", "--widths", "4,4", "--seed", "3"]) == 0
        weights.append(load_file(out / "masked_unet.safetensors"))
    assert weights[0].keys() == weights[1].keys()
    for name, tensor in weights[0].items():
        assert torch.equal(tensor, weights[1][name]), name
