"""PU21 against the reference encoder's formula and its designed anchor points."""

from __future__ import annotations

import math

import pytest
import torch

from engine.metrics.pu21 import PU21_BANDING_GLARE, pu21_decode, pu21_encode


def reference_formula(y: float) -> float:
    """The formula of gfxdisp/pu21 matlab/pu21_encoder.m, evaluated in float64 scalar arithmetic."""
    p = PU21_BANDING_GLARE
    y = min(max(y, 0.005), 10000.0)
    return p[6] * (((p[0] + p[1] * y ** p[3]) / (1 + p[2] * y ** p[3])) ** p[4] - p[5])


def test_banding_glare_parameters_are_the_published_ones() -> None:
    assert PU21_BANDING_GLARE == (0.353487901, 0.3734658629, 8.277049286e-05, 0.9062562627,
                                  0.09150303166, 0.9099517204, 596.3148142)


@pytest.mark.parametrize("nits", [0.005, 0.1, 1.0, 10.0, 100.0, 203.0, 1000.0, 4000.0, 10000.0])
def test_encode_matches_the_reference_formula(nits: float) -> None:
    got = float(pu21_encode(torch.tensor(nits, dtype=torch.float64)))
    assert got == pytest.approx(reference_formula(nits), rel=1e-12, abs=1e-9)


def test_anchor_points() -> None:
    # PU21 is fitted so that the SDR range 0.005..100 cd/m² spans about 0..256, like 8-bit sRGB.
    v = pu21_encode(torch.tensor([0.005, 100.0, 10000.0], dtype=torch.float64))
    assert abs(float(v[0])) < 1e-6
    assert float(v[1]) == pytest.approx(256.38, abs=0.01)
    assert float(v[2]) == pytest.approx(595.39, abs=0.01)


def test_monotonic_clamped_and_invertible() -> None:
    y = torch.logspace(math.log10(0.005), 4.0, 2000, dtype=torch.float64)
    v = pu21_encode(y)
    assert bool((v.diff() > 0).all())
    torch.testing.assert_close(pu21_decode(v), y, rtol=1e-9, atol=0.0)
    outside = pu21_encode(torch.tensor([0.0, 1e-4, 2e4, 1e6], dtype=torch.float64))
    assert float(outside[0]) == float(outside[1]) == pytest.approx(float(v[0]))
    assert float(outside[2]) == float(outside[3]) == pytest.approx(float(v[-1]))


def test_float32_on_the_input_device() -> None:
    y = torch.tensor([1.0, 100.0], dtype=torch.float32)
    v = pu21_encode(y)
    assert v.dtype == torch.float32 and v.device == y.device
    assert float(v[1]) == pytest.approx(256.38, abs=0.01)
