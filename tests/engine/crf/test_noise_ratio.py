"""The exposure ratio read from sensor noise (engine.temporal.noise_ratio): no exponent biases it."""

from __future__ import annotations

import math

import pytest
import torch

from engine.crf.curves import gamma
from engine.crf.data import record_curve
from engine.synth.degrade import SensorNoise
from engine.temporal.noise_ratio import combined_log_ratio, immerkaer_residual, noise_log_ratio
from tests.engine.crf.scenes import textured_scene

RATIO = 4.0  # two stops


def bracket(stops: float = 5.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A dark frame and one RATIO x brighter of a smooth scene, through γ 2.2 with sensor noise."""
    scene = textured_scene(360, 480, stops=stops, seed=3) * 0.2
    curve = gamma(2.2)
    generator = torch.Generator().manual_seed(7)
    dark = record_curve(scene, curve, SensorNoise(), generator)
    bright = record_curve(scene * RATIO, curve, SensorNoise(), generator)
    return dark, bright


def test_immerkaer_residual_reads_white_noise_sigma() -> None:
    noise = torch.randn(3, 200, 200, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2.0
    ramp = torch.linspace(0.2, 0.6, 200, dtype=torch.float64)
    plane = (ramp[None, :] + ramp[:, None])[None].expand(3, 200, 200) / 2
    residual = immerkaer_residual(plane + noise / 255.0)
    assert float(residual.std()) == pytest.approx(2.0, rel=0.03)


@pytest.mark.parametrize("exponent", [0.8, 1.0, 1.3])
def test_noise_ratio_recovers_the_ratio_whatever_the_curve_exponent(exponent: float) -> None:
    """Linearised through g^γ the frames' own ratio reads RATIO^γ; the noise ratio still reads RATIO."""
    dark, bright = bracket()
    inverse = torch.from_numpy(gamma(2.2).inverse) ** exponent
    estimate = noise_log_ratio(dark, bright, inverse)
    assert estimate is not None
    value, error = estimate
    assert value == pytest.approx(math.log(RATIO), abs=0.12)  # within 0.17 EV
    assert 0.0 < error < 0.15


def test_noise_ratio_needs_well_exposed_pixels() -> None:
    dark = torch.full((3, 64, 64), 0.02)
    assert noise_log_ratio(dark, dark * 4, torch.linspace(0, 1, 256) ** 2.2) is None


def test_combination_weighs_by_inverse_variance() -> None:
    measured = math.log(3.0)
    assert combined_log_ratio(measured, None) == measured
    sigma = 0.4 * math.log(2.0)
    # a noise ratio as certain as the measured one lands halfway
    assert combined_log_ratio(measured, (math.log(5.0), sigma)) == pytest.approx(
        0.5 * (math.log(3.0) + math.log(5.0)))
    assert combined_log_ratio(measured, (math.log(5.0), 1e-4)) == pytest.approx(math.log(5.0), abs=1e-6)
