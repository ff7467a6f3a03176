"""`lumigrade eval --no-reference`: the shipped quality network's scores, read back from real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from app.cli import main
from engine.color.primaries import BT2020
from engine.io.exr import read_exr, write_exr
from engine.models.quality import load_quality, score_frames


def test_no_reference_scores_every_frame_as_the_network_does(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    ramp = torch.linspace(0.01, 1.0, 96 * 160).reshape(1, 96, 160).expand(3, 96, 160).contiguous()
    frames = [ramp, ramp * 4.0, torch.where(ramp > 0.5, 40.0, ramp)]  # x 100 cd/m² in the files
    for i, frame in enumerate(frames):
        write_exr(folder / f"frame_{i:06d}.exr", frame, chromaticities=BT2020, white_luminance=100.0)
    assert main(["eval", "--test", str(folder), "--no-reference", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    stored = [read_exr(folder / f"frame_{i:06d}.exr")[0] * 100.0 for i in range(3)]
    expected = score_frames(load_quality(), stored)
    assert report["frames"] == 3
    assert report["per_frame"] == pytest.approx(expected, abs=1e-4)
    assert report["predicted_pu21_psnr_min"] == pytest.approx(min(expected), abs=1e-4)
    assert len(set(round(v, 3) for v in expected)) == 3  # the three frames are told apart


def test_eval_without_reference_or_flag_is_a_usage_error(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--test", str(tmp_path)]) == 2
    assert "--no-reference" in capsys.readouterr().err
