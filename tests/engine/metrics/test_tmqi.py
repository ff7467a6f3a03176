"""TMQI (Yeganeh & Wang 2013): published constants, known answers and a scipy cross-check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import signal, stats

from engine.metrics.tmqi import (
    BLOCK_SIZE,
    BRIGHTNESS_MEAN,
    BRIGHTNESS_STD,
    CONTRAST_SCALE,
    CONTRAST_SHAPE,
    SCALE_FREQUENCIES,
    SCALE_WEIGHTS,
    TMQI_A,
    TMQI_ALPHA,
    TMQI_BETA,
    block_std,
    contrast_threshold,
    mannos_csf,
    statistical_naturalness,
    stretch_hdr,
    tmqi,
    tmqi_terms,
)


def texture(h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand((h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_published_constants() -> None:
    # Yeganeh & Wang 2013, eq. 15 and §III: a, α, β; 5 scales with these weights; the
    # naturalness model's Gaussian (115.94, 27.99) and Beta (4.4, 10.1) on σ / 64.29.
    assert (TMQI_A, TMQI_ALPHA, TMQI_BETA) == (0.8012, 0.3046, 0.7088)
    assert SCALE_WEIGHTS == (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
    assert SCALE_FREQUENCIES == (16.0, 8.0, 4.0, 2.0, 1.0)
    assert (BRIGHTNESS_MEAN, BRIGHTNESS_STD) == (115.94, 27.99)
    assert (CONTRAST_SHAPE, CONTRAST_SCALE) == ((4.4, 10.1), 64.29)
    assert BLOCK_SIZE == 11


def test_csf_thresholds() -> None:
    # Mannos & Sakrison's CSF peaks near 8 cycles/degree, so the threshold is lowest there.
    freqs = np.linspace(0.5, 30.0, 600)
    assert 7.0 < freqs[int(np.argmax([mannos_csf(f) for f in freqs]))] < 9.0
    # τ = 128 / (1.4 CSF(f)), worked by hand: CSF(16) = 260 · 1.8432 · e^{-1.824^1.1} ≈ 69.08.
    assert contrast_threshold(16.0) == pytest.approx(128.0 / (1.4 * 69.08), rel=1e-3)
    assert min(SCALE_FREQUENCIES, key=contrast_threshold) == 8.0


def test_identical_structure_scores_one_and_inverted_structure_zero() -> None:
    ldr = texture(192, 192)
    hdr = 0.5 + 1000.0 * ldr  # the same structure at any scale and offset
    same = tmqi(hdr, ldr)
    assert same.s == pytest.approx(1.0, abs=5e-3)
    assert min(same.s_scales) > 0.95
    inverted = tmqi(hdr, 1.0 - ldr)
    assert inverted.s < 1e-6
    assert max(inverted.s_scales) < -0.9


def test_hdr_scale_does_not_matter() -> None:
    hdr = torch.exp(6.0 * texture(176, 200, seed=1))
    ldr = texture(176, 200, seed=2) * 0.5 + hdr.log() / 12.0
    one, four = tmqi(hdr, ldr), tmqi(4.0 * hdr, ldr)
    assert four.q == pytest.approx(one.q, rel=1e-6)
    assert four.s == pytest.approx(one.s, rel=1e-6)


def test_naturalness_known_values() -> None:
    flat = torch.full((1, 44, 44), BRIGHTNESS_MEAN, dtype=torch.float64)
    # σ = 0 is outside the Beta density's support: a flat image is not natural at all.
    assert float(statistical_naturalness(flat)) == 0.0
    # Every 11x11 block with the mean of the brightness model and σ at the Beta mode: N = 1.
    a, b = CONTRAST_SHAPE
    block = texture(11, 11, seed=3)
    block = (block - block.mean()) / block.std() * CONTRAST_SCALE * (a - 1) / (a + b - 2) + BRIGHTNESS_MEAN
    natural = block.repeat(4, 5)[None]
    assert float(statistical_naturalness(natural)) == pytest.approx(1.0, abs=1e-12)
    # One standard deviation of the brightness model off: P_m = e^{-1/2}.
    brighter = natural + BRIGHTNESS_STD
    assert float(statistical_naturalness(brighter)) == pytest.approx(math.exp(-0.5), abs=1e-12)


def test_block_std_follows_blkproc() -> None:
    # MATLAB's blkproc pads partial blocks with zeros, std divides by n - 1, and every pixel of
    # the (unpadded) image carries its block's value.
    image = texture(25, 30, seed=4) * 255.0
    padded = np.zeros((33, 33))
    padded[:25, :30] = image.numpy()
    per_pixel = np.zeros((25, 30))
    for r in range(0, 33, 11):
        for c in range(0, 33, 11):
            per_pixel[r:r + 11, c:c + 11] = np.std(padded[r:r + 11, c:c + 11], ddof=1)
    assert float(block_std(image[None])) == pytest.approx(per_pixel.mean(), rel=1e-12)


def test_finest_scale_matches_a_scipy_computation() -> None:
    # Eq. 3 at f = 16 written with scipy's 'valid' correlation and normal CDF.
    hdr = torch.exp(8.0 * texture(176, 176, seed=5))
    ldr = 255.0 * (hdr.log() / 8.0) ** 0.7
    x, y = stretch_hdr(hdr).numpy(), ldr.numpy()
    g = signal.windows.gaussian(11, 1.5)
    window = np.outer(g, g) / np.outer(g, g).sum()

    def local(img: np.ndarray) -> np.ndarray:
        return signal.correlate2d(img, window, mode="valid")

    mx, my = local(x), local(y)
    sx = np.sqrt(np.maximum(local(x * x) - mx**2, 0.0))
    sy = np.sqrt(np.maximum(local(y * y) - my**2, 0.0))
    cov = local(x * y) - mx * my
    csf = 100.0 * 2.6 * (0.0192 + 0.114 * 16.0) * np.exp(-((0.114 * 16.0) ** 1.1))
    tau = 128.0 / (1.4 * csf)
    px, py = stats.norm.cdf(sx, tau, tau / 3.0), stats.norm.cdf(sy, tau, tau / 3.0)
    s_map = (2 * px * py + 0.01) / (px**2 + py**2 + 0.01) * (cov + 10.0) / (sx * sy + 10.0)
    assert tmqi(hdr, ldr / 255.0).s_scales[0] == pytest.approx(float(s_map.mean()), rel=1e-6)


def test_differentiable_in_the_ldr_image() -> None:
    hdr = torch.exp(8.0 * texture(2, 176, seed=6).repeat(88, 1)).view(1, 176, 176)
    ldr = (120.0 + 30.0 * torch.randn((1, 176, 176), dtype=torch.float64,
                                      generator=torch.Generator().manual_seed(7))).requires_grad_()
    q, _, _, _ = tmqi_terms(hdr, ldr, eps=1e-6)
    q.sum().backward()
    assert ldr.grad is not None and bool(torch.isfinite(ldr.grad).all())
    assert float(ldr.grad.abs().sum()) > 0.0


def test_rejects_frames_too_small_for_five_scales() -> None:
    with pytest.raises(ValueError, match="176"):
        tmqi(texture(100, 200), texture(100, 200))
