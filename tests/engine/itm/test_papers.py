"""Operators from papers: their published formulas and constants, and their spatial behaviour."""

from __future__ import annotations

import math

import pytest
import torch

from engine.color.luminance import luminance
from engine.itm.akyuz import Akyuz, akyuz_expand
from engine.itm.huo import Huo
from engine.itm.kovaleski import Kovaleski, brightness_enhancement
from engine.itm.masia import (
    GAMMA_LIMITS,
    Masia09,
    Masia17,
    image_key,
    masia09_gamma,
    masia17_gamma,
)
from engine.itm.meylan import Meylan, diffuse_white, meylan_curve
from engine.operators.base import StageContext
from engine.stats import FrameStats


def _f64(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def _grey(value: float, h: int = 32, w: int = 48) -> torch.Tensor:
    return torch.full((3, h, w), value)


# -- Akyüz et al. 2007 ---------------------------------------------------------------------------
def test_akyuz_endpoints_and_power() -> None:
    y = _f64([0.0, 0.25, 1.0])
    assert akyuz_expand(y, 1000.0, 1.0).tolist() == pytest.approx([0.0, 250.0, 1000.0])
    assert akyuz_expand(y, 1000.0, 2.2).tolist() == pytest.approx([0.0, 1000.0 * 0.25**2.2, 1000.0])
    # (Y - Ymin) / (Ymax - Ymin): the range endpoints map to 0 and k.
    assert akyuz_expand(_f64([0.1, 0.6]), 500.0, 1.0, 0.1, 0.6).tolist() == pytest.approx([0.0, 500.0])
    assert float(Akyuz().curve(_f64([1.0]), StageContext(peak_nits=4000.0))) == pytest.approx(4000.0)


# -- Masia et al. 2009 / 2017 ----------------------------------------------------------------------
def test_image_key_is_the_log_position_of_the_average() -> None:
    stats = FrameStats(log_average=0.1, peak=1.0, maximum=1.0, minimum=0.001)
    assert image_key(stats) == pytest.approx((math.log(0.1) - math.log(0.001)) / -math.log(0.001))
    assert image_key(FrameStats(0.5, 0.5, 0.5, 0.5)) == 0.5  # no contrast, no key


@pytest.mark.parametrize(("key", "gamma"), [(0.6017, 0.0), (0.7, 1.026), (0.8, 2.070), (0.9, 3.114)])
def test_masia09_gamma_line(key: float, gamma: float) -> None:
    assert masia09_gamma(key) == pytest.approx(gamma, abs=1e-3)


def test_masia17_multilinear_gamma() -> None:
    # gamma = 2.4379 + 0.2319 ln(Lavg) - 1.1228 k + 0.0085 p_ov
    assert masia17_gamma(1.0, 0.0, 0.0) == pytest.approx(2.4379)
    assert masia17_gamma(math.e, 0.0, 0.0) == pytest.approx(2.4379 + 0.2319)
    assert masia17_gamma(1.0, 1.0, 100.0) == pytest.approx(2.4379 - 1.1228 + 0.85)
    assert masia17_gamma(0.2, 0.7, 5.0) == pytest.approx(2.4379 - 0.37323 - 0.78596 + 0.0425, abs=1e-4)


def test_masia_curves_use_the_frame_statistics() -> None:
    stats = FrameStats(log_average=0.3, peak=1.0, maximum=1.0, minimum=0.01, clipped_fraction=0.04)
    ctx = StageContext(stats=stats)
    y = _f64([0.5])
    key = image_key(stats)
    g09 = masia09_gamma(key)
    assert float(Masia09().curve(y, ctx)) == pytest.approx(1000.0 * 0.5**g09)
    g17 = masia17_gamma(0.3, key, 4.0)
    assert float(Masia17().curve(y, ctx)) == pytest.approx(1000.0 * 0.5**g17)
    # A dark key gives a negative fitted gamma, which is held at the lower limit.
    dark = StageContext(stats=FrameStats(log_average=0.011, peak=1.0, maximum=1.0, minimum=0.01))
    assert float(Masia09().curve(y, dark)) == pytest.approx(1000.0 * 0.5 ** GAMMA_LIMITS[0])


def test_masia_measures_the_frame_when_no_statistics_are_given() -> None:
    frame = torch.linspace(0.01, 1.0, 64).expand(3, 8, 64).contiguous()
    from engine.stats import measure

    with_stats = Masia09().apply(frame, StageContext(stats=measure(luminance(frame))))
    assert torch.equal(Masia09().apply(frame, StageContext()), with_stats)


# -- Meylan et al. 2006 ----------------------------------------------------------------------------
def test_meylan_piecewise_linear_curve() -> None:
    omega, rho, peak = 0.8, 0.67, 1000.0
    out = meylan_curve(_f64([0.0, 0.4, 0.8, 0.9, 1.0]), omega, rho, peak)
    s1, s2 = rho / omega, (1 - rho) / (1 - omega)
    expected = [0.0, s1 * 0.4 * peak, rho * peak, (rho + s2 * 0.1) * peak, peak]
    assert out.tolist() == pytest.approx(expected)


def test_meylan_finds_diffuse_white_below_a_small_specular_highlight() -> None:
    # The low-pass filter is max(H, W) / 50 = 8 px wide here: a 2x2 glint is averaged away.
    frame = _grey(0.6, 200, 400)
    frame[:, 60:62, 80:82] = 1.0
    omega = diffuse_white(luminance(frame))
    assert 0.6 <= omega < 0.66
    out = luminance(Meylan().apply(frame, StageContext()))
    # The diffuse level goes to about rho * peak, the highlight to the peak.
    assert float(out[0, 61, 81]) == pytest.approx(1000.0, rel=1e-4)
    assert float(out[0, 10, 10]) == pytest.approx(float(meylan_curve(_f64([0.6]), omega, 0.67, 1000.0)))
    fixed = Meylan(Meylan.Params(omega=0.5, rho=0.5)).apply(frame, StageContext())
    assert float(luminance(fixed)[0, 10, 10]) == pytest.approx(500.0 + 0.1 / 0.5 * 500.0, rel=1e-4)


# -- Huo et al. 2014 --------------------------------------------------------------------------------
@pytest.mark.parametrize("level", [0.05, 0.2])
def test_huo_on_a_uniform_frame(level: float) -> None:
    # Uniform: L = L_max = L_local = log average, so L_out = (2 (peak L)^n)^(1/n).
    n = 0.86
    out = luminance(Huo().apply(_grey(level), StageContext()))
    expected = min(1000.0 * level * 2.0 ** (1.0 / n), 1000.0)
    assert float(out.mean()) == pytest.approx(expected, rel=1e-3)
    assert float(out.std()) < 1e-3 * expected


def test_huo_expands_bright_regions_more_than_dark_ones() -> None:
    frame = _grey(0.05, 64, 64)
    frame[:, :, 32:] = 0.5
    out = luminance(Huo().apply(frame, StageContext()))
    gain_dark = float(out[0, 32, 5]) / 0.05
    gain_bright = float(out[0, 32, 60]) / 0.5
    assert gain_bright > 1.5 * gain_dark


# -- Kovaleski & Oliveira 2014 ---------------------------------------------------------------------
def test_kovaleski_without_clipping_is_a_linear_stretch() -> None:
    frame = torch.linspace(0.0, 0.5, 48).expand(3, 32, 48).contiguous()
    out = luminance(Kovaleski().apply(frame, StageContext()))
    assert torch.allclose(out, luminance(frame) * 1000.0 / 4.0, rtol=1e-5, atol=1e-4)


def test_kovaleski_brightness_enhancement_spreads_but_stops_at_edges() -> None:
    h, w = 90, 160
    frame = _grey(0.5, h, w)
    frame[:, :, :40] = 0.01  # a dark region behind a strong edge
    frame[:, 40:50, 100:110] = 1.0  # a clipped highlight in the bright region
    bef = brightness_enhancement(frame, 230 / 255, 40.0, 25 / 255, 4.0)
    assert float(bef.min()) >= 1.0 - 1e-6 and float(bef.max()) <= 4.0 + 1e-6
    at_highlight = float(bef[0, 45, 105])
    near = float(bef[0, 45, 80])  # bright side, 25 px from the highlight
    across = float(bef[0, 45, 30])  # dark side, beyond the edge
    assert at_highlight > near > across
    assert across < 1.05
    out = luminance(Kovaleski().apply(frame, StageContext()))
    assert float(out[0, 45, 105]) > 2.0 * 250.0
