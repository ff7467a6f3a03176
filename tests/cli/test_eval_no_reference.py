"""`lumigrade eval --no-reference`: the shipped quality network's scores, read back from real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from app.cli import EXIT_BAD_INPUT, main
from engine.color.primaries import BT2020
from engine.io.exr import read_exr, write_exr
from engine.metrics.evaluate import sdr_source
from engine.models.quality import load_quality, score_frames
from tests.cli.conftest import write_sdr_clip


def _graded(folder: Path, count: int) -> list[torch.Tensor]:
    folder.mkdir()
    ramp = torch.linspace(0.01, 1.0, 48 * 64).reshape(1, 48, 64).expand(3, 48, 64).contiguous()
    frames = [ramp, ramp * 4.0, torch.where(ramp > 0.5, 40.0, ramp)][:count]  # x 100 cd/m² in the files
    for i, frame in enumerate(frames):
        write_exr(folder / f"frame_{i:06d}.exr", frame, chromaticities=BT2020, white_luminance=100.0)
    return [read_exr(folder / f"frame_{i:06d}.exr")[0] * 100.0 for i in range(count)]


def _source(path: Path, count: int) -> Path:
    frames = np.full((count, 48, 64, 3), 100, np.uint8)
    for i in range(count):
        frames[i, : 8 * (i + 1)] = 255  # more of the frame clipped from one frame to the next
    return write_sdr_clip(path, frames)


def test_no_reference_scores_every_frame_as_the_network_does(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    stored = _graded(tmp_path / "out", 3)
    clip = _source(tmp_path / "sdr.mp4", 3)
    args = ["eval", "--test", str(tmp_path / "out"), "--sdr", str(clip), "--no-reference", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    expected = score_frames(load_quality(), stored, list(sdr_source(clip).frames))
    assert report["frames"] == 3
    assert report["per_frame"] == pytest.approx(expected, abs=1e-4)
    assert report["predicted_pu21_psnr_min"] == pytest.approx(min(expected), abs=1e-4)
    assert len(set(round(v, 3) for v in expected)) == 3  # the three frames are told apart
    # How far to trust it travels with it: the figures recorded beside the shipped weights.
    heldout = (report["heldout_spearman"], report["heldout_rmse_db"])
    assert heldout == pytest.approx((0.7779, 6.0886), abs=1e-4)
    assert main(args[:-1]) == 0
    assert capsys.readouterr().out.strip().endswith(
        f"worst frame {min(expected):.2f} dB over 3 frames "
        "(held out: rank correlation 0.78, RMS error 6.1 dB)")


def test_a_source_of_another_length_is_refused_by_name(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _graded(tmp_path / "out", 3)
    clip = _source(tmp_path / "short.mp4", 2)
    args = ["eval", "--test", str(tmp_path / "out"), "--sdr", str(clip), "--no-reference"]
    assert main(args) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert "holds 3 frames but the SDR clip" in err and "short.mp4 holds 2" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("flags", [["--no-reference"], []])
def test_eval_without_its_inputs_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  flags: list[str]) -> None:
    assert main(["eval", "--test", str(tmp_path), *flags]) == 2
    assert "--sdr is needed" in capsys.readouterr().err
    assert main(["eval", "--test", str(tmp_path), "--sdr", str(tmp_path / "x.mp4")]) == 2
    assert "--no-reference" in capsys.readouterr().err
