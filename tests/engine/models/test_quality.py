"""The no-reference quality network: its input statistics and its weights' round trip."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from engine.errors import FormatError
from engine.metrics.pu21 import pu21_encode
from engine.models.quality import (
    FEATURES,
    INPUT_SIZE,
    SHARE_FLOOR,
    QualityNet,
    heldout_figures,
    load_quality,
    quality_features,
    quality_input,
    save_quality,
    score_frames,
)

TOP = float(pu21_encode(torch.tensor(10000.0)))


def test_input_is_pu21_of_the_area_mean_scaled_to_one_at_10000_nits() -> None:
    frame = torch.full((3, 144, 256), 100.0)
    frame[:, :72, :128] = 10000.0  # the top-left quarter: one input pixel is the mean of 2x2
    x = quality_input(frame)
    assert x.shape == (3, *INPUT_SIZE)
    assert float(x[0, 0, 0]) == pytest.approx(1.0)
    assert float(x[0, -1, -1]) == pytest.approx(float(pu21_encode(torch.tensor(100.0))) / TOP)


def test_features_are_pu21_moments_shares_above_levels_and_the_source_highlight_share() -> None:
    frame = torch.full((3, 144, 256), 1.0)
    frame[1, :72] = 10000.0  # the top half's green channel at the scale's top
    source = torch.full((3, 48, 64), 0.5)
    source[0, :12] = 251.0 / 255.0  # a quarter of the rows at CODEC_CLIP_BAND_START: highlight
    source[2, 12:24] = 250.0 / 255.0  # one code under it: measured, not highlight
    f = quality_features(frame, source)
    assert f.shape == (FEATURES,)
    low = float(pu21_encode(torch.tensor(1.0))) / TOP
    values = torch.tensor([low] * 5 + [1.0]).repeat_interleave(INPUT_SIZE[0] * INPUT_SIZE[1] // 2)
    assert float(f[0]) == pytest.approx(float(values.mean()), rel=1e-5)
    assert float(f[1]) == pytest.approx(float(values.std()), rel=1e-4)
    # 1 cd/m² lies under 0.3 of the scale: only the bright half counts at each of the seven levels.
    assert low < 0.3
    # Shares enter as log10(share + SHARE_FLOOR).
    assert f[2:9].tolist() == pytest.approx([math.log10(0.5 + SHARE_FLOOR)] * 7)
    assert float(f[9]) == pytest.approx(math.log10(0.25 + SHARE_FLOOR))
    nothing = quality_features(torch.full((3, 144, 256), 1.0), torch.full((3, 48, 64), 0.5))
    assert nothing[2:].tolist() == pytest.approx([-3.0] * 8)  # no highlight: the floor, finite


def test_weights_round_trip_and_predictions_match(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = QualityNet(hidden=4).eval()
    model.feature_mean.uniform_()
    save_quality(model, {"seed": 0}, tmp_path)
    loaded = load_quality(tmp_path)
    x = torch.rand(2, FEATURES)
    assert loaded.hidden == 4
    assert torch.equal(model(x), loaded(x))
    assert QualityNet()(x).shape == (2,)  # one score per frame of the batch
    frames, sources = [torch.rand(3, 36, 64) * 500.0] * 2, [torch.rand(3, 36, 64)] * 2
    assert score_frames(loaded, frames, sources) == pytest.approx(
        model(torch.stack([quality_features(f, s) for f, s in zip(frames, sources, strict=True)])).tolist())
    with pytest.raises(ValueError, match="2 graded frames but 1 source"):
        score_frames(loaded, frames, sources[:1])


def test_a_config_of_another_kind_is_refused(tmp_path: Path) -> None:
    save_quality(QualityNet(hidden=4), {}, tmp_path)
    # The convolutional score's config (shipped until 2026-12-07) names no statistics inputs, and
    # the first statistics score's (also 2026-12-07) read its shares unlogged.
    for config in ('{"model": "quality", "width": 16}',
                   '{"model": "quality", "inputs": "statistics", "hidden": 4}'):
        (tmp_path / "quality_net.json").write_text(config)
        with pytest.raises(FormatError, match="quality-model config"):
            load_quality(tmp_path)


def test_the_recorded_heldout_figures_are_read_or_refused_by_name(tmp_path: Path) -> None:
    save_quality(QualityNet(hidden=4), {"heldout_spearman": 0.25, "heldout_rmse_db": 7}, tmp_path)
    figures = heldout_figures(tmp_path)
    assert figures == (0.25, 7.0)
    assert figures.describe() == "rank correlation 0.25, RMS error 7.0 dB"
    for config, what in (({"heldout_spearman": "high", "heldout_rmse_db": 7}, "Spearman"),
                         ({"heldout_spearman": 0.25}, "RMSE"),
                         ({"heldout_spearman": 0.25, "heldout_rmse_db": float("nan")}, "RMSE")):
        save_quality(QualityNet(hidden=4), config, tmp_path)
        with pytest.raises(FormatError, match=f"no held-out {what}") as caught:
            heldout_figures(tmp_path)
        assert "quality_net.json" in str(caught.value)
