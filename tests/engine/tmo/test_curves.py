"""Curve TMOs: published anchor values, monotonicity, LUT accuracy and well-behaved extremes."""

from __future__ import annotations

import math

import colour
import numpy as np
import pytest
import torch

from engine.operators.base import CurveOperator, StageContext
from engine.operators.catalogue import make_operator, operators
from engine.stats import FrameStats
from engine.tmo.bt2446a import bt2446a_luma
from engine.tmo.filmic import HABLE_W, aces_fitted, hable
from engine.tmo.reinhard import estimate_key
from tests.engine.tmo.conftest import STATS, grey_frame

CURVES = sorted(c.name for c in operators("tmo") if issubclass(c, CurveOperator))


def _curve(name: str, nits: float | list[float], ctx: StageContext, **params: object) -> np.ndarray:
    op = make_operator("tmo", name, params)
    assert isinstance(op, CurveOperator)
    return op.curve(torch.tensor(nits, dtype=torch.float64), ctx).numpy()


def test_catalogue_lists_the_curves() -> None:
    assert CURVES == ["aces", "bt2390", "bt2446a", "drago", "hable", "ocio-view", "reinhard"]


def test_aces_fitted_published_values() -> None:
    # Narkowicz 2015: f(x) = x(2.51x + 0.03) / (x(2.43x + 0.59) + 0.14).
    x = torch.tensor([0.0, 0.18, 1.0, 100.0], dtype=torch.float64)
    expected = [0.0, 0.18 * 0.4818 / (0.18 * 1.0274 + 0.14), 2.54 / 3.16, 1.0]
    assert aces_fitted(x).tolist() == pytest.approx(expected, rel=1e-12)
    ctx = StageContext()
    # The operator pre-exposes by 0.6 against reference white: 203/0.6 nits is x = 1.
    assert _curve("aces", 203.0 / 0.6, ctx) == pytest.approx(2.54 / 3.16, rel=1e-12)


def test_hable_normalises_at_its_white_point() -> None:
    # Hable 2010 with A..F = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30: f(W) / f(W) = 1, f(0) = 0.
    x = torch.tensor([0.0, HABLE_W], dtype=torch.float64)
    assert hable(x).tolist() == pytest.approx([0.0, 1.0], abs=1e-12)
    ctx = StageContext()
    assert _curve("hable", HABLE_W / 2.0 * 203.0, ctx) == pytest.approx(1.0, rel=1e-12)
    # Uncharted 2's f(2) / f(11.2) for diffuse white with ExposureBias 2, from the formula.
    f = lambda v: (v * (0.15 * v + 0.05) + 0.004) / (v * (0.15 * v + 0.5) + 0.06) - 0.02 / 0.3  # noqa: E731
    assert _curve("hable", 203.0, ctx) == pytest.approx(f(2.0) / f(11.2), rel=1e-12)


def test_reinhard_global_anchors() -> None:
    ctx = StageContext(stats=STATS)
    # L = a Lw / Lavg = 1 gives L / (1 + L) = 0.5 when nothing burns out.
    at_one = STATS.log_average / 0.18
    assert _curve("reinhard", at_one, ctx, white=1e6) == pytest.approx(0.5, rel=1e-6)
    # The log-average itself lands on the key: 0.18 / 1.18.
    assert _curve("reinhard", STATS.log_average, ctx, white=1e6) == pytest.approx(0.18 / 1.18, rel=1e-6)
    # L_white (default: the frame maximum) maps to exactly 1.
    assert _curve("reinhard", STATS.maximum, ctx) == pytest.approx(1.0, rel=1e-12)
    assert _curve("reinhard", 500.0, ctx, white=500.0) == pytest.approx(1.0, rel=1e-12)


def test_reinhard_automatic_key() -> None:
    # Reinhard 2002 "Parameter estimation" eq. 4: 0.18 at the log-midpoint, x4 at the maximum.
    mid = FrameStats(log_average=1.0, peak=90.0, maximum=100.0, minimum=0.01)
    assert estimate_key(mid) == pytest.approx(0.18)
    assert estimate_key(FrameStats(100.0, 100.0, 100.0, 0.01)) == pytest.approx(0.72)
    assert estimate_key(FrameStats(0.01, 100.0, 100.0, 0.01)) == pytest.approx(0.045)
    bright = FrameStats(log_average=10.0, peak=90.0, maximum=100.0, minimum=0.01)
    a = 0.18 * 4 ** ((2 * math.log2(10) - math.log2(0.01) - math.log2(100)) / (math.log2(1e4)))
    ctx = StageContext(stats=bright)
    assert _curve("reinhard", 10.0, ctx, auto_key=True, white=1e6) == pytest.approx(a / (1 + a), rel=1e-9)


def test_drago_maps_the_maximum_to_one() -> None:
    ctx = StageContext(stats=STATS)
    for bias in (0.6, 0.85, 1.0):
        assert _curve("drago", STATS.maximum, ctx, bias=bias) == pytest.approx(1.0, rel=1e-9)
    # With b = 0.5 the exponent ln b / ln 0.5 is 1:
    # L_d = ln(Lw + 1) / ln(2 + 8 Lw / Lwmax) / log10(Lwmax + 1).
    lw, lw_max = 100.0 / STATS.log_average, STATS.maximum / STATS.log_average
    expected = math.log(lw + 1) / math.log(2 + 8 * lw / lw_max) / math.log10(lw_max + 1)
    assert _curve("drago", 100.0, ctx, bias=0.5) == pytest.approx(expected, rel=1e-9)


def _pq(nits: float) -> float:
    return float(colour.models.eotf_inverse_ST2084(nits))


def test_bt2390_eetf_knee_peak_and_spline() -> None:
    """BT.2390-10 §5.4.1, with colour-science's ST 2084 as the PQ peer."""
    source, target = 1000.0, 300.0
    ctx = StageContext(peak_nits=source, display_peak=target)
    max_lum = _pq(target) / _pq(source)
    ks = 1.5 * max_lum - 0.5
    ks_nits = float(colour.models.eotf_ST2084(ks * _pq(source)))
    # Below the knee: identity (relative to the display peak).
    below = [0.01, 1.0, 50.0, 0.98 * ks_nits]
    assert _curve("bt2390", below, ctx) * target == pytest.approx(below, rel=1e-6)
    # The source peak lands on the target peak.
    assert _curve("bt2390", source, ctx) == pytest.approx(1.0, rel=1e-6)
    # Half-way along the spline: P(T = 1/2) = KS / 2 + (1 - KS) / 8 + maxLum / 2.
    e1 = (ks + 1.0) / 2.0
    p = 0.5 * ks + 0.125 * (1 - ks) + 0.5 * max_lum
    nits_in = float(colour.models.eotf_ST2084(e1 * _pq(source)))
    nits_out = float(colour.models.eotf_ST2084(p * _pq(source)))
    assert _curve("bt2390", nits_in, ctx) * target == pytest.approx(nits_out, rel=1e-5)
    # A target black lifts the bottom by minLum (1 - E2)^4: black maps to the target black.
    assert _curve("bt2390", 0.0, ctx, target_min=0.05) * target == pytest.approx(0.05, rel=1e-4)


def test_bt2446a_constants_and_anchors() -> None:
    """BT.2446-1 Method A for a 1000 cd/m² input and a 100 cd/m² SDR target."""
    ctx = StageContext(peak_nits=1000.0, display_peak=100.0)
    # rho_HDR = 1 + 32 (0.1)^(1/2.4) = 13.2598 and the curve's end points: 0 -> 0, L_HDR -> 1.
    assert pytest.approx(13.2598, abs=1e-4) == 1 + 32 * 0.1 ** (1 / 2.4)
    assert _curve("bt2446a", [0.0, 1000.0, 5000.0], ctx).tolist() == pytest.approx([0.0, 1.0, 1.0])
    # The three pieces of Y'c meet at 0.7399 and 0.9909; the 4-decimal constants leave a
    # step of 5.5e-4 in Y'c at 0.7399, under 1e-3 after the SDR step.
    yp = torch.tensor([0.7399, 0.9909], dtype=torch.float64)
    rho_hdr = 1 + 32 * 0.1 ** (1 / 2.4)
    y_hdr = (rho_hdr**yp - 1) / (rho_hdr - 1)  # inverts the Y'p step
    left, right = bt2446a_luma(y_hdr - 1e-9), bt2446a_luma(y_hdr + 1e-9)
    assert torch.allclose(left, right, atol=1e-3)
    # HDR reference white (203 cd/m², BT.2408) lands near 69% of the SDR signal, below SDR white.
    signal = _curve("bt2446a", 203.0, ctx) ** (1 / 2.4)
    assert 0.68 < float(signal) < 0.70
    # A 500-nit SDR display shows the 100-nit curve at a fifth of its peak.
    bright = StageContext(peak_nits=1000.0, display_peak=500.0)
    assert _curve("bt2446a", 203.0, bright) == pytest.approx(_curve("bt2446a", 203.0, ctx) / 5.0)


@pytest.mark.parametrize("name", CURVES)
@pytest.mark.parametrize("color", ["ratio", "mantiuk"])
def test_curve_is_monotonic_and_the_lut_matches_it(name: str, color: str) -> None:
    op = make_operator("tmo", name, {"color": color})
    assert isinstance(op, CurveOperator)
    ctx = StageContext(stats=STATS)
    lo, hi = op.input_range(ctx)
    nits = torch.logspace(math.log10(lo), math.log10(hi), 2000, dtype=torch.float64)
    exact = op.curve(nits, ctx)
    assert bool(torch.all(exact[1:] >= exact[:-1] - 1e-12)), "curve must not decrease"
    applied = op.apply(grey_frame(nits), ctx)[1, 0].double()
    # The baked gain LUT reproduces the analytic curve within 0.1%.
    assert torch.allclose(applied, exact, rtol=1e-3, atol=1e-9)


EXTREMES = {
    "black": torch.zeros(3, 4, 4),
    "white": torch.full((3, 4, 4), 10000.0),
    "single colour": torch.tensor([300.0, 20.0, 2.0]).view(3, 1, 1).expand(3, 4, 4).clone(),
    "deep shadow": torch.full((3, 4, 4), 1e-6),
    "sun": torch.full((3, 4, 4), 1e5),
    "mixed": torch.tensor([0.0, 1e-6, 1.0, 1e5]).view(1, 1, 4).expand(3, 4, 4).clone(),
}


@pytest.mark.parametrize("name", sorted(c.name for c in operators("tmo")))
@pytest.mark.parametrize("frame_name", sorted(EXTREMES))
def test_extreme_frames_give_finite_output(name: str, frame_name: str) -> None:
    frame = EXTREMES[frame_name]
    y = frame.mean().item()
    stats = FrameStats(log_average=max(y, 1e-9), peak=float(frame.max()), maximum=float(frame.max()),
                       minimum=float(frame.min()))
    op = make_operator("tmo", name)
    out = op.apply(frame, StageContext(stats=stats))
    assert out.shape == frame.shape
    assert bool(torch.isfinite(out).all())
    assert float(out.min()) >= 0.0


def test_ocio_view_curve_is_ocio_on_the_neutral_axis() -> None:
    """The ACES 2.0 SDR view of OCIO's studio config: its own processors on grey, and the ACES
    mid-grey anchor (scene 0.18 -> 10 cd/m² on a 100 cd/m² display, Y = 0.1)."""
    import PyOpenColorIO

    ctx = StageContext()
    nits = np.array([0.18 * 203.0, 203.0, 4.0 * 203.0])
    ours = _curve("ocio-view", nits.tolist(), ctx)
    config = PyOpenColorIO.Config.CreateFromFile("ocio://studio-config-latest")
    display, view = "Rec.1886 Rec.709 - Display", "ACES 2.0 - SDR 100 nits (Rec.709)"
    grey = np.repeat((nits / 203.0).astype(np.float32)[:, None], 3, axis=1)
    config.getProcessor("Linear Rec.2020", display, view,
                        PyOpenColorIO.TRANSFORM_DIR_FORWARD).getDefaultCPUProcessor().applyRGB(grey)
    encoding = config.getColorSpace(display).getTransform(PyOpenColorIO.COLORSPACE_DIR_FROM_REFERENCE)
    config.getProcessor(encoding, PyOpenColorIO.TRANSFORM_DIR_INVERSE).getDefaultCPUProcessor().applyRGB(grey)
    assert ours == pytest.approx(grey[:, 1], abs=1e-4)
    assert ours[0] == pytest.approx(0.1, abs=1e-3)
    # Against a 200 cd/m² display the same light is half as much of its peak.
    brighter = _curve("ocio-view", 203.0, StageContext(display_peak=200.0))
    assert brighter == pytest.approx(ours[1] / 2, rel=1e-6)
