"""Transfer functions: published values, round trips, and colour-science as a peer."""

from __future__ import annotations

import colour
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.color import transfer as tf

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
nits = st.floats(min_value=0.0, max_value=10000.0, allow_nan=False)


def t(values: list[float] | float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize(
    ("luminance", "signal"),
    [(0.0, 0.0000007), (100.0, 0.5081), (203.0, 0.5807), (1000.0, 0.7518), (10000.0, 1.0)],
)
def test_pq_published_values(luminance: float, signal: float) -> None:
    # ITU-R BT.2100 / BT.2408 Table 1: 100 nits -> 0.508, 203 -> 0.58, 1000 -> 0.75.
    assert float(tf.pq_inverse_eotf(t(luminance))) == pytest.approx(signal, abs=5e-5)


def test_hlg_published_values() -> None:
    # BT.2100: the OETF knee at E = 1/12 gives E' = 0.5, E = 1 gives E' = 1.
    assert float(tf.hlg_oetf(t(1.0 / 12.0))) == pytest.approx(0.5, abs=1e-12)
    assert float(tf.hlg_oetf(t(1.0))) == pytest.approx(1.0, abs=1e-7)
    # BT.2408: HDR reference white (203 nits) is HLG signal 0.75 on a 1000-nit display.
    grey = t([203.0, 203.0, 203.0]).view(3, 1, 1)
    assert float(tf.hlg_inverse_eotf(grey, 1000.0)[0]) == pytest.approx(0.75, abs=2e-3)
    assert tf.hlg_system_gamma(1000.0) == pytest.approx(1.2)
    assert tf.hlg_system_gamma(2000.0) == pytest.approx(1.2 + 0.42 * np.log10(2.0))


def test_srgb_and_bt1886_published_values() -> None:
    assert float(tf.srgb_eotf(t(0.5))) == pytest.approx(0.214041, abs=1e-6)
    assert float(tf.srgb_eotf(t(0.04045))) == pytest.approx(0.04045 / 12.92)
    # BT.1886 with Lw = 100, Lb = 0 is a pure 2.4 power law.
    assert float(tf.bt1886_eotf(t(0.5), 100.0, 0.0)) == pytest.approx(100.0 * 0.5**2.4)
    # With a black level, code 0 gives exactly Lb and code 1 gives Lw.
    assert float(tf.bt1886_eotf(t(0.0), 100.0, 0.1)) == pytest.approx(0.1, rel=1e-9)
    assert float(tf.bt1886_eotf(t(1.0), 100.0, 0.1)) == pytest.approx(100.0, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(nits)
def test_pq_round_trip(l: float) -> None:
    assert float(tf.pq_eotf(tf.pq_inverse_eotf(t(l)))) == pytest.approx(l, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(unit)
def test_hlg_oetf_round_trip(e: float) -> None:
    assert float(tf.hlg_inverse_oetf(tf.hlg_oetf(t(e)))) == pytest.approx(e, rel=1e-9, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(unit)
def test_srgb_gamma_bt1886_round_trips(v: float) -> None:
    # IEC 61966-2-1's two thresholds (0.04045 and 0.0031308) disagree by ~3e-8 at the junction.
    assert float(tf.srgb_inverse_eotf(tf.srgb_eotf(t(v)))) == pytest.approx(v, abs=5e-8)
    assert float(tf.gamma_inverse_eotf(tf.gamma_eotf(t(v), 2.2), 2.2)) == pytest.approx(v, abs=1e-9)
    back = tf.bt1886_inverse_eotf(tf.bt1886_eotf(t(v), 300.0, 0.05), 300.0, 0.05)
    assert float(back) == pytest.approx(v, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(unit, min_size=3, max_size=3), st.sampled_from([400.0, 1000.0, 2000.0]))
def test_hlg_eotf_round_trip(rgb: list[float], peak: float) -> None:
    signal = t(rgb).view(3, 1, 1)
    if float(signal.max()) < 1e-3:
        return  # below that the OOTF's luminance term underflows and colour is undefined
    back = tf.hlg_inverse_eotf(tf.hlg_eotf(signal, peak), peak)
    assert torch.allclose(back, signal, atol=1e-7)


def test_against_colour_science() -> None:
    x = np.linspace(0.0, 1.0, 1001)
    xt = torch.from_numpy(x)
    np.testing.assert_allclose(tf.pq_eotf(xt).numpy(), colour.models.eotf_ST2084(x), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(tf.hlg_oetf(xt).numpy(), colour.models.oetf_BT2100_HLG(x), atol=1e-9)
    np.testing.assert_allclose(
        tf.srgb_inverse_eotf(xt).numpy(), colour.models.eotf_inverse_sRGB(x), atol=1e-9
    )
    np.testing.assert_allclose(
        tf.bt1886_eotf(xt, 100.0, 0.1).numpy(), colour.models.eotf_BT1886(x, L_B=0.1, L_W=100.0), rtol=1e-9
    )
    # HLG EOTF of an RGB ramp against colour-science's BT.2100 HLG EOTF (method "ITU-R BT.2100-2").
    rgb = np.stack([x, x**1.3, x**0.7], axis=0).reshape(3, -1, 1)
    ours = tf.hlg_eotf(torch.from_numpy(rgb), 1000.0).numpy()
    peer = colour.models.eotf_BT2100_HLG(rgb.reshape(3, -1).T, L_B=0, L_W=1000).T.reshape(3, -1, 1)
    np.testing.assert_allclose(ours, peer, rtol=1e-6, atol=1e-6)


def test_bt709_oetf_published_values_and_peer() -> None:
    # ITU-R BT.709-6 item 1.2: the linear segment meets the power law at L = 0.018, V = 0.081
    # (to the 3e-4 the standard's rounded constants leave); reference white maps to 1 and 18 %
    # grey to 0.409.
    assert float(tf.bt709_oetf(t(0.018))) == pytest.approx(0.081, abs=3e-4)
    assert float(tf.bt709_oetf(t(0.0179))) == pytest.approx(4.5 * 0.0179, abs=1e-12)
    assert float(tf.bt709_oetf(t(1.0))) == pytest.approx(1.0, abs=1e-12)
    assert float(tf.bt709_oetf(t(0.18))) == pytest.approx(0.4090, abs=1e-4)
    x = np.linspace(0.0, 1.0, 1001)
    xt = torch.from_numpy(x)
    np.testing.assert_allclose(tf.bt709_oetf(xt).numpy(), colour.models.oetf_BT709(x), atol=1e-12)
    # On a grid that steps over the 3e-4 of signal the OETF skips at its cut, where the inverse
    # holds the cut's light and colour-science extends the linear segment.
    np.testing.assert_allclose(tf.bt709_inverse_oetf(xt).numpy(), colour.models.oetf_inverse_BT709(x),
                               atol=1e-12)
    gap = torch.linspace(0.0805, 0.0815, 101, dtype=torch.float64)
    assert bool((tf.bt709_inverse_oetf(gap).diff() >= 0).all())  # continuous and monotone there


def test_bt709_camera_oetf_continues_the_standard_above_white() -> None:
    # Up to nominal white it is the standard's OETF; above, the same power law (a camera's
    # super-whites before its knee): V(2) = 1.099 * 2^0.45 - 0.099.
    x = torch.linspace(-0.5, 1.0, 1501, dtype=torch.float64)
    torch.testing.assert_close(tf.bt709_camera_oetf(x), tf.bt709_oetf(x), rtol=0.0, atol=0.0)
    assert float(tf.bt709_camera_oetf(t(2.0))) == pytest.approx(1.099 * 2.0**0.45 - 0.099, abs=1e-12)
    assert float(tf.bt709_oetf(t(2.0))) == pytest.approx(1.0, abs=1e-12)


@given(unit)
def test_bt709_oetf_round_trip(e: float) -> None:
    assert float(tf.bt709_inverse_oetf(tf.bt709_oetf(t(e)))) == pytest.approx(e, abs=1e-12)


def test_no_nan_out_of_range() -> None:
    wild = t([-1.0, -1e-9, 0.0, 1.0, 2.0, 1e9])
    for fn in (tf.srgb_eotf, tf.srgb_inverse_eotf, tf.pq_eotf, tf.pq_inverse_eotf, tf.hlg_oetf,
               tf.bt709_oetf, tf.bt709_inverse_oetf):
        assert torch.isfinite(fn(wild)).all()
