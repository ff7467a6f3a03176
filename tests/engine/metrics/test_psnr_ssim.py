"""PSNR (PU21 and μ-law) and SSIM: exact cases with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from engine.metrics.psnr import mu_law, psnr, psnr_mu, pu21_psnr
from engine.metrics.pu21 import pu21_decode, pu21_encode
from engine.metrics.ssim import SSIM_K1, pu21_ssim, ssim


def hdr_frame(seed: int = 0, h: int = 24, w: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.exp(torch.randn(3, h, w, generator=g, dtype=torch.float64) * 1.5) * 50.0


def test_identical_images_give_infinite_psnr_and_unit_ssim() -> None:
    x = hdr_frame()
    assert pu21_psnr(x, x) == math.inf
    assert psnr_mu(x, x) == math.inf
    assert pu21_ssim(x, x) == pytest.approx(1.0, abs=1e-12)


def test_pu21_psnr_of_a_known_pu_offset() -> None:
    ref = hdr_frame(1).clamp(0.01, 9000.0)
    test = pu21_decode(pu21_encode(ref) + 2.0)
    # A uniform error of 2 PU units against the reference code's peak of 256.
    assert pu21_psnr(test, ref) == pytest.approx(20 * math.log10(256 / 2), abs=1e-6)


def test_psnr_mu_of_a_known_offset_in_the_mu_domain() -> None:
    ref = hdr_frame(2)
    peak = float(ref.max()) * 1.5  # headroom so the offset image stays below the peak
    d = 0.01
    t = mu_law(ref / peak) + d
    test = torch.expm1(t * math.log1p(5000.0)) / 5000.0 * peak
    assert psnr_mu(test, ref, peak=peak) == pytest.approx(-20 * math.log10(d), abs=1e-6)
    # μ-law anchor points: T(0) = 0, T(1) = 1.
    ends = mu_law(torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert ends.tolist() == pytest.approx([0.0, 1.0], abs=1e-15)


def test_region_mask_restricts_the_error() -> None:
    ref = hdr_frame(3)
    test = ref.clone()
    test[:, :, :8] *= 2.0
    inside = torch.zeros(1, *ref.shape[1:], dtype=torch.float64)
    inside[:, :, 16:] = 1.0
    assert pu21_psnr(test, ref, inside) == math.inf
    assert math.isfinite(pu21_psnr(test, ref, 1.0 - inside))
    assert math.isnan(psnr(test, ref, 1.0, torch.zeros_like(inside)))


def test_ssim_of_constant_images_is_the_luminance_term() -> None:
    a, b, data_range = 0.3, 0.5, 1.0
    x = torch.full((1, 16, 16), a, dtype=torch.float64)
    y = torch.full((1, 16, 16), b, dtype=torch.float64)
    c1 = (SSIM_K1 * data_range) ** 2
    # With no variance the contrast-structure term is C2 / C2 = 1 (Wang et al. 2004, eq. 13).
    assert ssim(x, y, data_range) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-6)


def test_ssim_falls_with_noise() -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.rand(1, 32, 32, generator=g, dtype=torch.float64)
    scores = [ssim(x + s * torch.randn(1, 32, 32, generator=g, dtype=torch.float64), x, 1.0)
              for s in (0.01, 0.05, 0.2)]
    assert 1.0 > scores[0] > scores[1] > scores[2]
