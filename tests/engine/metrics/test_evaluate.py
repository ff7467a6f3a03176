"""The evaluation over regions, in memory and through `lumigrade eval` on real files."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from app.cli import main
from engine.color.primaries import BT2020
from engine.io.encode import VideoTarget, open_video_writer
from engine.io.exr import write_exr
from engine.metrics.evaluate import evaluate
from engine.metrics.vdp import CVVDP_DISPLAY, cvvdp_status
from engine.synth.masks import write_mask

FRAMES, H, W = 4, 24, 32


def scene(t: int) -> torch.Tensor:
    """A moving gradient with a bright spot; scene-linear, arbitrary scale."""
    ys, xs = torch.meshgrid(torch.arange(float(H)), torch.arange(float(W)), indexing="ij")
    spot = 8.0 * torch.exp(-((xs - 10.0 - 2 * t) ** 2 + (ys - 12.0) ** 2) / 18.0)
    return (0.05 + 0.4 * xs / W + spot).expand(3, -1, -1).clone()


def sdr_of(frame: torch.Tensor) -> torch.Tensor:
    """What a camera at exposure 1 with a 1/2.2 gamma records: clipped where the scene exceeds 1."""
    return frame.clamp(0.0, 1.0) ** (1.0 / 2.2)


def recoverable(t: int) -> torch.Tensor:
    return (scene(t)[:1] >= 1.0).float()


def test_a_correct_output_at_another_scale_scores_perfectly() -> None:
    gt = [scene(t) for t in range(FRAMES)]
    out = [5.0 * f for f in gt]  # absolute level is a convention: alignment removes it
    report = evaluate(out, gt, [sdr_of(f) for f in gt], [recoverable(t) for t in range(FRAMES)])
    assert report.regions == ("frame", "highlights", "recoverable")
    assert [f.scale for f in report.per_frame] == pytest.approx([5.0] * FRAMES, rel=1e-7)
    # Exact up to float32 rounding of the scale: over 100 dB, SSIM 1, no flicker.
    for region in report.regions:
        assert report.mean(region, "pu21_psnr") > 100.0
        assert report.mean(region, "psnr_mu") > 100.0
        assert report.mean(region, "pu21_ssim") == pytest.approx(1.0, abs=1e-6)
        assert report.mean(region, "flicker") == pytest.approx(0.0, abs=1e-4)
    assert report.scale_drift == pytest.approx(0.0, abs=1e-7)
    assert math.isnan(report.per_frame[0].values["frame"]["flicker"])
    json.dumps(report.to_dict(), allow_nan=False)


def test_errors_in_the_highlights_show_in_the_highlight_regions_and_as_flicker() -> None:
    gt = [scene(t) for t in range(FRAMES)]
    # Highlights reconstructed at alternating wrong levels: a popping highlight.
    out = [torch.where(f >= 1.0, f * (0.5 if t % 2 else 2.0), f) for t, f in enumerate(gt)]
    report = evaluate(out, gt, [sdr_of(f) for f in gt], [recoverable(t) for t in range(FRAMES)])
    assert [f.scale for f in report.per_frame] == pytest.approx([1.0] * FRAMES, rel=1e-7)
    assert report.mean("highlights", "pu21_psnr") < report.mean("frame", "pu21_psnr") < math.inf
    assert report.mean("recoverable", "flicker") > report.mean("frame", "flicker") > 0.0
    assert report.mean("highlights", "pu21_ssim") < 1.0


def write_sequence(folder: Path, frames: list[torch.Tensor]) -> None:
    folder.mkdir()
    for i, frame in enumerate(frames):
        write_exr(folder / f"frame_{i:06d}.exr", frame, chromaticities=BT2020, white_luminance=100.0)


def test_eval_cli_on_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt = [scene(t) for t in range(FRAMES)]
    write_sequence(tmp_path / "gt", gt)
    write_sequence(tmp_path / "out", [torch.where(f >= 1.0, f * 0.7, f) for f in gt])
    writer = open_video_writer(tmp_path / "sdr.mp4", VideoTarget(kind="sdr", preset="ultrafast"), W, H,
                               Fraction(24))
    for f in gt:
        writer.write(sdr_of(f))
    writer.close()
    (tmp_path / "masks").mkdir()
    for t in range(FRAMES):
        write_mask(tmp_path / "masks" / f"frame_{t:06d}.png", recoverable(t))
    args = ["eval", "--test", str(tmp_path / "out"), "--reference", str(tmp_path / "gt"),
            "--sdr", str(tmp_path / "sdr.mp4"), "--masks", str(tmp_path / "masks")]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == FRAMES
    available, reason = cvvdp_status()
    if available:
        assert report["cvvdp"]["available"] is True and report["cvvdp"]["display"] == CVVDP_DISPLAY
        assert 0.0 < report["cvvdp"]["jod"] < 10.0  # the highlights differ: below "no difference"
    else:
        assert report["cvvdp"] == {"available": False, "reason": reason}
        assert reason.startswith("pycvvdp is not installed")
    summary = report["summary"]
    # Only the highlights differ: outside them the output is exact, and the regions show it.
    assert summary["recoverable"]["pu21_psnr"] < summary["frame"]["pu21_psnr"]
    assert summary["frame"]["pu21_ssim"] < 1.0
    assert report["per_frame"][1]["scale"] == pytest.approx(1.0, rel=1e-3)
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "PU21-PSNR (dB)" in table and "recoverable" in table
    vdp_line = next(line for line in table.splitlines() if line.startswith("ColorVideoVDP"))
    if available:
        assert vdp_line.endswith(f" JOD ({CVVDP_DISPLAY})")
    else:
        assert vdp_line == f"ColorVideoVDP: unavailable ({reason})"
    # Bad input: a reference with another frame count, an SDR clip in place of HDR frames.
    write_sequence(tmp_path / "short", gt[:2])
    assert main(["eval", "--test", str(tmp_path / "out"), "--reference", str(tmp_path / "short"),
                 "--sdr", str(tmp_path / "sdr.mp4")]) == 2
    assert "has 2 frames" in capsys.readouterr().err
    assert main(["eval", "--test", str(tmp_path / "sdr.mp4"), "--reference", str(tmp_path / "gt"),
                 "--sdr", str(tmp_path / "sdr.mp4")]) == 2
    assert "HDR" in capsys.readouterr().err
