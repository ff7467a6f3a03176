"""Spatial TMOs: Durand & Dorsey's base compression, Reinhard's dodging and burning, Reinhard & Devlin."""

from __future__ import annotations

import math

import pytest
import torch

from engine.color.luminance import luminance
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from engine.stats import FrameStats
from engine.tmo.reinhard_devlin import contrast_exponent
from tests.engine.tmo.conftest import STATS, grey_frame


def _halves(dark: float, bright: float, h: int = 48, w: int = 96) -> torch.Tensor:
    frame = torch.full((3, h, w), dark)
    frame[..., w // 2 :] = bright
    return frame


def test_durand_compresses_the_base_to_the_target_contrast() -> None:
    # Three decades between the halves; the base layer is squeezed to the 5:1 target contrast
    # while the edge stays sharp (the bilateral base does not blur across it).
    frame = _halves(10.0, 10000.0)
    out = luminance(make_operator("tmo", "durand").apply(frame, StageContext()))
    w = frame.shape[-1]
    bright, dark = out[..., w // 2 + 1 :].mean(), out[..., : w // 2 - 1].mean()
    assert float(bright) == pytest.approx(1.0, rel=0.02)  # the brightest base sits at the peak
    assert float(bright / dark) == pytest.approx(5.0, rel=0.05)
    ten = make_operator("tmo", "durand", {"contrast": 10.0}).apply(frame, StageContext())
    assert float(luminance(ten)[..., w // 2 + 1 :].mean() / luminance(ten)[..., : w // 2 - 1].mean()) == (
        pytest.approx(10.0, rel=0.05)
    )


def test_durand_keeps_fine_detail() -> None:
    # A +-10% checkerboard inside each half of a three-decade frame keeps its contrast exactly:
    # the detail layer is not compressed, only the base.
    h, w = 48, 96
    checker = 1.0 + 0.1 * ((torch.arange(h).view(h, 1) + torch.arange(w).view(1, w)) % 2 * 2 - 1)
    frame = _halves(10.0, 10000.0, h, w) * checker
    out = luminance(make_operator("tmo", "durand").apply(frame, StageContext()))
    for cols in (slice(8, 40), slice(56, 88)):
        ratio = out[0, 8:40, cols][:, 0::2] / out[0, 8:40, cols][:, 1::2]
        expected = frame[0, 8:40, cols][:, 0::2] / frame[0, 8:40, cols][:, 1::2]
        assert torch.allclose(ratio, expected, rtol=0.01)


def test_reinhard_local_on_a_flat_frame_is_the_global_curve() -> None:
    # Flat: every centre-surround difference is 0, V1 = L at every scale, L_d = L / (1 + L).
    frame = torch.full((3, 24, 32), STATS.log_average)
    out = make_operator("tmo", "reinhard-local").apply(frame, StageContext(stats=STATS))
    assert torch.allclose(out, torch.full_like(out, 0.18 / 1.18), rtol=1e-4)


def test_reinhard_local_dodges_a_small_bright_spot() -> None:
    # A bright spot on a dark field: the local adaptation keeps it below the global L / (1 + L)
    # of its own level's neighbourhood, i.e. it is darker than a flat frame of the same level
    # would be, and its surround is not.
    frame = torch.full((3, 64, 64), STATS.log_average)
    frame[:, 30:34, 30:34] = 50.0 * STATS.log_average
    ctx = StageContext(stats=STATS)
    out = luminance(make_operator("tmo", "reinhard-local").apply(frame, ctx))
    spot_global = 0.18 * 50.0 / (1 + 0.18 * 50.0)
    assert float(out[0, 31, 31]) < 1.0
    assert float(out[0, 31, 31]) > float(out[0, 5, 5])
    assert float(out[0, 5, 5]) == pytest.approx(0.18 / 1.18, rel=1e-3)
    assert float(out[0, 31, 31]) == pytest.approx(spot_global, rel=0.2)


def test_reinhard_devlin_normalises_to_the_statistics() -> None:
    # Black maps to 0 and a grey pixel at the frame maximum to 1 (eq. 4 + normalisation).
    nits = torch.tensor([0.0, STATS.log_average, STATS.maximum], dtype=torch.float64)
    for light in (0.0, 0.5, 1.0):
        op = make_operator("tmo", "reinhard-devlin", {"light": light})
        out = op.apply(grey_frame(nits), StageContext(stats=STATS))
        assert out[1, 0].tolist() == pytest.approx([0.0, out[1, 0, 1].item(), 1.0], abs=1e-5)
        assert 0.0 < out[1, 0, 1].item() < 1.0


def test_reinhard_devlin_global_adaptation_formula() -> None:
    # a = 0, c = 0: V = I / (I + (f L_av)^m) with f = exp(-f'), m from eq. 8, then normalised;
    # intensities in units of L_av.
    m = contrast_exponent(STATS)
    lmax, lav, lmin = math.log(STATS.maximum), math.log(STATS.log_average), math.log(STATS.minimum)
    k = (lmax - lav) / (lmax - lmin)
    assert m == pytest.approx(0.3 + 0.7 * k**1.4)
    f = math.exp(-1.0)
    v = lambda i: (i / STATS.log_average) / (i / STATS.log_average + f**m)  # noqa: E731
    nits = torch.tensor([5.0, 200.0], dtype=torch.float64)
    params = {"light": 0.0, "chromatic": 0.0, "intensity": 1.0}
    out = make_operator("tmo", "reinhard-devlin", params).apply(grey_frame(nits), StageContext(stats=STATS))
    expected = [v(5.0) / v(STATS.maximum), v(200.0) / v(STATS.maximum)]
    assert out[1, 0].tolist() == pytest.approx(expected, rel=1e-4)


def test_reinhard_devlin_chromatic_adaptation_neutralises_a_cast() -> None:
    # c = 1, a = 0, m = 1: each channel adapts to its own average, V = k L / (k L + f k L_av), so a
    # uniform cast k is divided out exactly; with c = 0 it stays.
    cast = torch.tensor([2.0, 1.0, 0.5]).view(3, 1, 1)
    frame = (10.0 ** torch.linspace(0, 2, 64)).view(1, 8, 8) * cast
    log_average = float(luminance(frame).log().mean().exp())
    ctx = StageContext(stats=FrameStats(log_average=log_average, peak=200.0, maximum=200.0, minimum=1.0))
    params = {"chromatic": 1.0, "light": 0.0, "contrast": 1.0}
    neutral = make_operator("tmo", "reinhard-devlin", params).apply(frame, ctx)
    kept = make_operator("tmo", "reinhard-devlin", {**params, "chromatic": 0.0}).apply(frame, ctx)
    assert torch.allclose(neutral[0], neutral[2], atol=1e-5)
    assert torch.allclose(neutral[1], neutral[2], atol=1e-5)
    assert float((kept[0] - kept[2]).abs().min()) > 0.01


def test_spatial_operators_measure_the_frame_without_statistics() -> None:
    stats_module = pytest.importorskip("engine.stats")
    frame = _halves(1.0, 400.0, 16, 16)
    for name in ("reinhard-local", "reinhard-devlin", "reinhard"):
        op = make_operator("tmo", name)
        measured = StageContext(stats=stats_module.measure(luminance(frame)))
        assert torch.allclose(op.apply(frame, StageContext()), op.apply(frame, measured))
