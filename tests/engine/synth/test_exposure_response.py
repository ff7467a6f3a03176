"""Exposure schedules, metering, camera responses and the sensor model."""

from __future__ import annotations

import math

import colour
import numpy as np
import pytest
import torch

from engine.synth.degrade import SensorNoise, add_sensor_noise, quantize_8bit, record
from engine.synth.exposure import (
    AutoExposureParams,
    alternating_exposure,
    auto_exposure,
    fixed_exposure,
    meter,
    metered_ev,
)
from engine.synth.response import GammaResponse, SigmoidResponse, SrgbResponse, make_response


def test_meter_of_a_uniform_frame_is_its_luminance_and_weights_the_centre() -> None:
    assert meter(torch.full((3, 12, 16), 0.25)) == pytest.approx(0.25, rel=1e-9)
    centre, edge = torch.full((3, 30, 40), 0.1), torch.full((3, 30, 40), 0.1)
    centre[:, 10:20, 13:27] = 1.0
    edge[:, :10, :14] = 1.0  # a bright patch of the same area in a corner
    assert meter(centre) > meter(edge)
    assert metered_ev(0.045) == pytest.approx(2.0)  # 0.045 -> 0.18 is two stops


def test_auto_exposure_adapts_smoothly_with_bounded_steps() -> None:
    params = AutoExposureParams(time_constant_s=0.7, max_ev_per_frame=0.15)
    metered = [0.18] * 5 + [0.18 * 16] * 120  # the scene brightens by 4 stops at frame 5
    evs = auto_exposure(metered, 24.0, params)
    steps = np.diff(evs)
    assert evs[:5] == pytest.approx([0.0] * 5)
    assert np.all(steps <= 1e-12) and np.all(np.abs(steps) <= 0.15 + 1e-12)
    assert abs(evs[-1] - (-4.0)) < 0.01  # settled after 5 s, about 6 time constants
    # Away from the rate limit each step is the first-order lag's fraction of the remaining error.
    gain = 1.0 - math.exp(-1.0 / (24.0 * 0.7))
    late = 40
    assert evs[late + 1] - evs[late] == pytest.approx(gain * (-4.0 - evs[late]), rel=1e-9)


def test_alternating_gives_plus_and_minus_ev_exactly_and_fixed_holds() -> None:
    metered = [0.09, 0.5, 0.02, 0.3]
    base = math.log2(0.18 / 0.09)
    assert alternating_exposure(metered, 2.0) == [base + 2.0, base - 2.0, base + 2.0, base - 2.0]
    assert fixed_exposure(metered) == [base] * 4


def test_srgb_response_matches_colour_science() -> None:
    e = np.linspace(0.0, 1.0, 101)
    ours = SrgbResponse().encode(torch.from_numpy(e)).numpy()
    np.testing.assert_allclose(ours, colour.cctf_encoding(e, function="sRGB"), atol=1e-12)


@pytest.mark.parametrize("response", [SrgbResponse(), GammaResponse(2.2), SigmoidResponse(0.9, 0.6),
                                      SigmoidResponse(1.3, 0.4)])
def test_responses_map_zero_and_one_to_themselves_and_invert(response: object) -> None:
    e = torch.linspace(0.0, 1.0, 257, dtype=torch.float64)
    v = response.encode(e)
    assert float(v[0]) == pytest.approx(0.0, abs=1e-12) and float(v[-1]) == pytest.approx(1.0, abs=1e-12)
    assert bool((v.diff() > 0).all())
    torch.testing.assert_close(response.decode(v), e, atol=1e-9, rtol=0.0)


def test_sigmoid_formula_and_seeded_sampling() -> None:
    # Eilertsen et al. 2017: f(E) = (1 + σ) E^n / (E^n + σ); at E = 0.25, n = 0.9, σ = 0.6:
    expected = 1.6 * 0.25**0.9 / (0.25**0.9 + 0.6)
    assert float(SigmoidResponse().encode(torch.tensor(0.25, dtype=torch.float64))) == pytest.approx(expected)
    a = make_response("sigmoid", np.random.default_rng(5))
    b = make_response("sigmoid", np.random.default_rng(5))
    assert a == b and a != SigmoidResponse()


def test_sensor_noise_variance_follows_the_poisson_gaussian_model() -> None:
    noise = SensorNoise(shot=1e-3, read=1e-5)
    level = 0.3
    exposure = torch.full((3, 200, 200), level, dtype=torch.float64)
    noisy = add_sensor_noise(exposure, noise, torch.Generator().manual_seed(0))
    assert float((noisy - exposure).var()) == pytest.approx(noise.shot * level + noise.read, rel=0.03)
    again = add_sensor_noise(exposure, noise, torch.Generator().manual_seed(0))
    assert torch.equal(noisy, again)


def test_record_clips_encodes_and_quantises() -> None:
    exposure = torch.tensor([0.0, 0.2, 1.0, 3.0], dtype=torch.float64).view(1, 1, 4).expand(3, 1, 4)
    signal = record(exposure, SrgbResponse(), None, torch.Generator())
    codes = signal[0, 0] * 255.0
    assert codes.tolist() == pytest.approx([0.0, round(255 * colour.cctf_encoding(0.2)), 255.0, 255.0])
    assert torch.equal(quantize_8bit(signal), signal)
