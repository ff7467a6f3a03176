"""Over-exposure and clipping masks (Santos et al. 2020) and the clue map overlay."""

from __future__ import annotations

import pytest
import torch

from engine.masks import CLUE_COLOURS, ClueMap, ClueSource, clipped_map, overexposure_mask


def test_overexposure_mask_values() -> None:
    # M = 1 - min(max(0, I - tau) / (1 - tau), 1) with tau = 0.95
    signal = torch.tensor([0.0, 0.5, 0.95, 0.975, 0.99, 1.0, 1.2]).view(1, 1, -1)
    expected = [1.0, 1.0, 1.0, 0.5, 0.2, 0.0, 0.0]
    assert overexposure_mask(signal)[0, 0].tolist() == pytest.approx(expected, abs=1e-6)
    assert overexposure_mask(signal, tau=0.5)[0, 0, 1:4].tolist() == pytest.approx([1.0, 0.1, 0.05])


def test_overexposure_mask_takes_the_brightest_channel() -> None:
    rgb = torch.zeros(3, 2, 2)
    rgb[2, 0, 0] = 1.0  # a saturated blue pixel is over-exposed even though its luma is low
    rgb[0, 1, 1] = 0.975
    mask = overexposure_mask(rgb)
    assert mask.shape == (1, 2, 2)
    assert mask.flatten().tolist() == pytest.approx([0.0, 1.0, 1.0, 0.5], abs=1e-6)


def test_overexposure_mask_treats_nan_as_clipped_and_checks_arguments() -> None:
    rgb = torch.full((3, 1, 2), 0.2)
    rgb[1, 0, 1] = float("nan")
    assert overexposure_mask(rgb)[0, 0].tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="tau"):
        overexposure_mask(rgb, tau=1.0)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        overexposure_mask(torch.zeros(2, 4, 4))


def test_clipped_map_at_the_top_code_value() -> None:
    codes = torch.tensor([253, 254, 255]).float() / 255.0
    assert clipped_map(codes.view(1, 1, 3))[0, 0].tolist() == [False, True, True]
    rgb = torch.zeros(3, 1, 2)
    rgb[0, 0, 1] = 1.0
    out = clipped_map(rgb)
    assert out.dtype == torch.bool and out[0, 0].tolist() == [False, True]


def test_clue_map_masks_fractions_and_overlay() -> None:
    labels = torch.tensor([[[0, 1, 2, 1]]], dtype=torch.uint8)
    confidence = torch.tensor([[[1.0, 0.5, 0.25, 1.0]]])
    clues = ClueMap(labels, confidence)
    assert clues.mask(ClueSource.REFERENCE)[0, 0].tolist() == [0.0, 0.5, 0.0, 1.0]
    assert clues.fraction(ClueSource.REFERENCE) == 0.5
    rgba = clues.overlay(opacity=0.8)
    assert rgba.shape == (4, 1, 4)
    # OWN is transparent; a reference shows by its confidence, a fallback by the share it filled.
    assert rgba[3, 0].tolist() == pytest.approx([0.0, 0.4, 0.6, 0.8])
    assert rgba[:3, 0, 2].tolist() == pytest.approx(CLUE_COLOURS[ClueSource.FALLBACK])
    grey = torch.full((3, 1, 4), 0.5)
    shown = clues.composite(grey, opacity=1.0)
    assert shown[:, 0, 0].tolist() == pytest.approx([0.5] * 3)
    assert shown[:, 0, 3].tolist() == pytest.approx(CLUE_COLOURS[ClueSource.REFERENCE])


def test_clue_map_validation() -> None:
    own = ClueMap.own(3, 5)
    assert own.fraction(ClueSource.OWN) == 1.0 and own.labels.shape == (1, 3, 5)
    with pytest.raises(ValueError, match="uint8"):
        ClueMap(torch.zeros(1, 2, 2), torch.ones(1, 2, 2))
    with pytest.raises(ValueError, match="shaped like"):
        ClueMap(torch.zeros(1, 2, 2, dtype=torch.uint8), torch.ones(1, 2, 3))
    with pytest.raises(ValueError, match="unknown source"):
        ClueMap(torch.full((1, 2, 2), 7, dtype=torch.uint8), torch.ones(1, 2, 2))
