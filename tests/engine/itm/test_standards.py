"""ITU-R operators against the numbers the standards publish."""

from __future__ import annotations

import math

import colour
import numpy as np
import pytest
import torch

from engine.color.transfer import bt1886_eotf
from engine.itm.bt2446 import BT2446A, BT2446C, MethodCCoefficients, bt2446a_hdr_luma
from engine.operators.base import StageContext


def _f64(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_bt2408_places_sdr_white_on_reference_white() -> None:
    from engine.itm.bt2408 import BT2408

    op = BT2408()
    y = _f64([0.0, 0.18, 1.0])
    assert op.curve(y, StageContext()).tolist() == pytest.approx([0.0, 0.18 * 203.0, 203.0])
    assert float(op.curve(_f64([1.0]), StageContext(reference_white=300.0))) == pytest.approx(300.0)


def test_bt2446a_luma_curve_reaches_1000_nits_at_code_255() -> None:
    # Table 3: at Y'' = 255 the exponent is 1.2466 and 255^E = 1000 (the HDR peak) to 0.1%.
    assert float(bt2446a_hdr_luma(_f64([1.0]))) == pytest.approx(1.0, rel=1e-3)
    # The two quadratics meet at the knee Y'' = 70 (continuity of the published fit).
    below, above = bt2446a_hdr_luma(_f64([70.0 / 255.0, 70.0001 / 255.0]))
    assert float(above) == pytest.approx(float(below), rel=1e-4)


def test_bt2446a_anchor_points_for_a_1000_nit_target() -> None:
    signal = np.array([0.5, 0.7, 0.9, 1.0])
    # The signal goes to SDR-relative light with BT.1886 (gamma 2.4, zero black), which
    # colour-science computes independently.
    relative = colour.models.eotf_BT1886(signal, L_B=0, L_W=1)
    np.testing.assert_allclose(relative, bt1886_eotf(torch.from_numpy(signal)).numpy(), rtol=1e-12)
    nits = BT2446A().curve(torch.from_numpy(relative), StageContext(peak_nits=1000.0)).numpy()
    np.testing.assert_allclose(nits, [76.0, 218.0, 592.0, 1000.0], rtol=0.005)


def test_bt2446a_scales_with_the_target_peak() -> None:
    y = _f64([0.05, 0.5, 1.0])
    base = BT2446A().curve(y, StageContext(peak_nits=1000.0))
    assert torch.allclose(BT2446A().curve(y, StageContext(peak_nits=4000.0)), 4.0 * base)


def test_bt2446c_derived_coefficients_match_the_published_ones() -> None:
    c = BT2446C().coefficients()
    # ITU-R BT.2446-1 §6.1.4 lists k2 = 15.09968 and k4 = 78.99439 for k1 = 0.83802, k3 = 0.74204.
    assert c.k2 == pytest.approx(15.09968, rel=1e-5)
    assert c.k4 == pytest.approx(78.99439, rel=1e-5)
    assert c.hdr_ip == pytest.approx(58.535 / 0.83802)


def test_bt2446c_inverse_is_the_inverse_of_the_tone_curve() -> None:
    c = MethodCCoefficients.from_parameters(0.83802, 0.74204, 58.535)
    hdr = torch.logspace(-2, 4, 500, dtype=torch.float64)
    assert torch.allclose(c.inverse_tone_map(c.tone_map(hdr)), hdr, rtol=1e-10)
    # The log branch joins the line with the same value and slope at the inflection point.
    ip = c.hdr_ip
    eps = 1e-6 * ip
    left, right = c.tone_map(_f64([ip - eps, ip + eps]))
    assert float(right - left) / (2 * eps) == pytest.approx(c.k1, rel=1e-4)


# The published coefficients (ITU-R BT.2446-1 §6.1.4), evaluated by hand below.
K1, K2, K3, K4 = 0.83802, 15.09968, 0.74204, 78.99439
HDR_IP = 58.535 / K1


def test_bt2446c_sdr_anchors() -> None:
    op = BT2446C()
    ctx = StageContext()
    # HDR reference white (203 cd/m²) tone-maps to about 90.65 cd/m² SDR; the inverse returns it.
    sdr_of_reference = float(op.coefficients().tone_map(_f64([203.0])))
    assert sdr_of_reference == pytest.approx(K2 * math.log(203.0 / HDR_IP - K3) + K4, rel=1e-5)
    assert float(op.curve(_f64([sdr_of_reference / 100.0]), ctx)) == pytest.approx(203.0, rel=1e-9)
    # Below the knee (58.535 cd/m² SDR) the expansion is linear, HDR = SDR / k1.
    assert float(op.curve(_f64([0.3]), ctx)) == pytest.approx(30.0 / 0.83802, rel=1e-12)
    # SDR peak white (100 cd/m²) lands at about 332.6 cd/m².
    expected_peak = HDR_IP * (math.exp((100.0 - K4) / K2) + K3)
    assert float(op.curve(_f64([1.0]), ctx)) == pytest.approx(expected_peak, rel=1e-5)
