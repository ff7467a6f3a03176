"""The no-reference quality network: its input encoding and its weights' round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.errors import FormatError
from engine.metrics.pu21 import pu21_encode
from engine.models.quality import (
    INPUT_SIZE,
    QualityNet,
    heldout_spearman,
    load_quality,
    quality_input,
    save_quality,
)


def test_input_is_pu21_of_the_area_mean_scaled_to_one_at_10000_nits() -> None:
    frame = torch.full((3, 144, 256), 100.0)
    frame[:, :72, :128] = 10000.0  # the top-left quarter: one input pixel is the mean of 2x2
    x = quality_input(frame)
    assert x.shape == (3, *INPUT_SIZE)
    assert float(x[0, 0, 0]) == pytest.approx(1.0)
    top = float(pu21_encode(torch.tensor(10000.0)))
    assert float(x[0, -1, -1]) == pytest.approx(float(pu21_encode(torch.tensor(100.0))) / top)


@pytest.mark.parametrize("global_stats", [False, True])
def test_weights_round_trip_and_predictions_match(tmp_path: Path, global_stats: bool) -> None:
    torch.manual_seed(0)
    model = QualityNet(width=4, global_stats=global_stats).eval()
    save_quality(model, {"seed": 0}, tmp_path)
    loaded = load_quality(tmp_path)
    x = torch.rand(2, 3, *INPUT_SIZE)
    assert loaded.global_stats == global_stats
    assert torch.equal(model(x), loaded(x))
    # One score per frame of the batch.
    assert QualityNet()(x).shape == (2,)


def test_a_config_of_another_kind_is_refused(tmp_path: Path) -> None:
    save_quality(QualityNet(width=4), {}, tmp_path)
    (tmp_path / "quality_net.json").write_text('{"model": "highlight", "width": 4}')
    with pytest.raises(FormatError, match="quality-model config"):
        load_quality(tmp_path)


def test_the_recorded_heldout_correlation_is_read_or_refused_by_name(tmp_path: Path) -> None:
    save_quality(QualityNet(width=4), {"heldout_spearman": 0.25}, tmp_path)
    assert heldout_spearman(tmp_path) == 0.25
    save_quality(QualityNet(width=4), {"heldout_spearman": "high"}, tmp_path)
    with pytest.raises(FormatError, match="no held-out Spearman") as caught:
        heldout_spearman(tmp_path)
    assert "quality_net.json" in str(caught.value)
