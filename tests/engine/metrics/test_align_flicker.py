"""Scale alignment and flicker: known scales with outliers, static and flickering sequences."""

from __future__ import annotations

import math

import pytest
import torch

from engine.metrics.align import robust_scale
from engine.metrics.flicker import flicker, pu21_luminance
from engine.metrics.pu21 import pu21_decode, pu21_encode
from engine.metrics.regions import clipped_mask


def grey(values: torch.Tensor) -> torch.Tensor:
    """(1, H, W) -> a grey (3, H, W) frame; BT.2020 luminance weights sum to 1, so Y = value."""
    return values.expand(3, -1, -1).clone()


def test_robust_scale_recovers_a_known_scale_despite_outliers() -> None:
    g = torch.Generator().manual_seed(0)
    reference = torch.exp(torch.randn(3, 40, 50, generator=g, dtype=torch.float64)) * 20.0
    test = reference * 3.7
    outliers = torch.rand(1, 40, 50, generator=g, dtype=torch.float64) < 0.2
    factor = torch.exp(torch.empty(1, 40, 50, dtype=torch.float64).uniform_(-3.0, 3.0, generator=g))
    test = torch.where(outliers, test * factor, test)
    assert robust_scale(test, reference) == pytest.approx(3.7, rel=1e-9)


def test_robust_scale_does_not_depend_on_the_reference_s_absolute_scale() -> None:
    """A scene-referred reference may sit wholly below a nit (a still kept in its own units):
    the alignment is the same factor whatever scale the reference is stored at."""
    g = torch.Generator().manual_seed(2)
    scene = torch.exp(torch.randn(3, 40, 50, generator=g, dtype=torch.float64)) * 20.0
    test = scene * torch.exp(0.05 * torch.randn(1, 40, 50, generator=g, dtype=torch.float64))
    expected = robust_scale(test, scene)
    assert expected == pytest.approx(1.0, abs=0.02)
    for storage in (1e-2, 1e-5, 1e-7):  # the whole reference below 1e-3 at the last two
        assert robust_scale(test, scene * storage) == pytest.approx(expected / storage, rel=1e-9)


def test_robust_scale_uses_only_the_mask() -> None:
    reference = torch.full((3, 8, 8), 10.0, dtype=torch.float64)
    test = reference * 2.0
    test[:, :, 4:] = reference[:, :, 4:] * 0.5
    mask = torch.zeros(1, 8, 8, dtype=torch.float64)
    mask[:, :, 4:] = 1.0
    assert robust_scale(test, reference, mask) == pytest.approx(0.5, rel=1e-12)
    assert math.isnan(robust_scale(test, reference, torch.zeros_like(mask)))


def test_flicker_is_zero_for_an_output_that_follows_the_ground_truth() -> None:
    g = torch.Generator().manual_seed(1)
    scene = torch.exp(torch.randn(1, 16, 16, generator=g, dtype=torch.float64)) * 30.0
    static = [pu21_luminance(grey(scene)) for _ in range(4)]
    assert all(flicker(static[t - 1], static[t], static[t - 1], static[t]) == 0.0 for t in range(1, 4))
    moving = [pu21_luminance(grey(scene * (1.0 + 0.1 * t))) for t in range(4)]
    assert flicker(moving[0], moving[1], moving[0], moving[1]) == 0.0


def test_flicker_of_frame_alternating_noise_is_twice_its_amplitude() -> None:
    g = torch.Generator().manual_seed(2)
    scene = torch.exp(torch.randn(1, 16, 16, generator=g, dtype=torch.float64)) * 30.0
    delta = 1.5  # PU21 units, alternating sign every frame
    reference = [pu21_luminance(grey(scene)) for _ in range(4)]
    test = [pu21_luminance(grey(pu21_decode(pu21_encode(scene) + (delta if t % 2 else -delta))))
            for t in range(4)]
    values = [flicker(test[t - 1], test[t], reference[t - 1], reference[t]) for t in range(1, 4)]
    assert values == pytest.approx([2 * delta] * 3, rel=1e-6)


def test_clipped_mask_counts_near_white_codes() -> None:
    sdr = torch.zeros(3, 2, 3)
    sdr[0, 0, 0] = 255 / 255
    sdr[1, 0, 1] = 251 / 255  # the codec clip band: up to 4 codes below 255 (CODEC_CLIP_BAND_START)
    sdr[2, 0, 2] = 250 / 255
    sdr[:, 1, :] = 0.5
    assert clipped_mask(sdr)[0].tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
